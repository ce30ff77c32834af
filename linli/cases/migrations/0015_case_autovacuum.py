"""Vacuum the case table after a small share of it has changed (PostgreSQL).

The dispatch queue reads the open cases from an index alone (wo_open_queue) only where the visibility map marks
their pages all-visible; a page changed since the last VACUUM sends each of its rows back to the table. By
default autovacuum waits until a fifth of a table has changed or been inserted: 3.4 M of a city's 17 M cases,
months of reports, so the pages of the open cases — the newest and the most changed — would almost never be
marked. At city scale the queue took 794 ms with 650 k changed rows not yet vacuumed and 195 ms after VACUUM
(docs/benchmarks.md). These settings vacuum (and analyze) after 0.2 % / 1 % of the rows: a few times a day at
city scale. PostgreSQL skips the index pass of a vacuum that finds few dead rows, so each run is short.
"""

from django.db import migrations

from linli.core import migration_ops as ix

SETTINGS = {
    "autovacuum_vacuum_scale_factor": "0.002",
    "autovacuum_vacuum_insert_scale_factor": "0.002",
    "autovacuum_analyze_scale_factor": "0.01",
}


OPTIONS = ", ".join(f"{k} = {v}" for k, v in SETTINGS.items())


class Migration(migrations.Migration):
    dependencies = [("cases", "0014_leaner_case_indexes")]
    operations = [
        ix.postgres_sql(
            f"ALTER TABLE cases_workorder SET ({OPTIONS})", f"ALTER TABLE cases_workorder RESET ({', '.join(SETTINGS)})"
        )
    ]
