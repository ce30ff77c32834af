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


# an interrupted CONCURRENTLY build leaves an INVALID index that IF NOT EXISTS would keep: drop it first
DROP_INVALID = """
SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE c.relname = 'wo_words' AND NOT i.indisvalid
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cur:
            cur.execute(DROP_INVALID)
            if cur.fetchone():
                cur.execute("DROP INDEX CONCURRENTLY wo_words")
        schema_editor.execute(INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS wo_words")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("cases", "0010_open_case_words")]
    operations = [migrations.RunPython(create, drop)]
