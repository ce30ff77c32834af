"""The data generator behind `manage.py generate` and `manage.py demo`.

plan.py lays out the area tree of a scale, rows.py builds the rows of one street (in worker processes when
asked), load.py writes them (COPY on PostgreSQL), run.py ties it together and writes one audit record.
"""
