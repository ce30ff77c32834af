"""A word index over the whole case history, for the API's word search over a period, on PostgreSQL.

The same expression as wo_open_words (migration 0010), without its limit to open cases; see linli/cases/words.py.
Built CONCURRENTLY, so an upgrade does not lock the case table while it builds (≈ 90 s for 1.3 M cases on two
cores, docs/benchmarks.md); the migration therefore runs outside a transaction.
"""

from django.db import migrations

INDEX = """
CREATE INDEX CONCURRENTLY IF NOT EXISTS wo_words ON cases_workorder
USING gin (linli_bigrams(title || ' ' || description))
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS wo_words")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("cases", "0010_open_case_words")]
    operations = [migrations.RunPython(create, drop)]
