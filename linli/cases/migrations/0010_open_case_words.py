"""A word index of the open cases for the dispatcher's search, on PostgreSQL.

Chinese words are mostly two characters and pg_trgm needs three, so the index holds each open case's
character bigrams (linli_bigrams: "楼道灯坏了" → {楼道, 道灯, 灯坏, 坏了}) in a GIN index limited to open cases;
a search for 漏水 becomes `linli_bigrams(title || ' ' || description) @> '{漏水}'` and reads only the matching
cases. SQLite has neither the function nor the index; there the search reads the queue (a street's).
"""

from django.db import migrations

OPEN = "('submitted', 'accepted', 'dispatched', 'in_progress', 'returned', 'suspended')"

FUNCTION = r"""
CREATE OR REPLACE FUNCTION linli_bigrams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT g), '{}')
  FROM (SELECT substr(lower(t), i, 2) AS g FROM generate_series(1, char_length(t) - 1) AS i) AS s
  WHERE g !~ '[[:space:]]'
$$
"""

INDEX = f"""
CREATE INDEX IF NOT EXISTS wo_open_words ON cases_workorder
USING gin (linli_bigrams(title || ' ' || description)) WHERE status IN {OPEN}
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)
        schema_editor.execute(INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS wo_open_words")
        schema_editor.execute("DROP FUNCTION IF EXISTS linli_bigrams(text)")


class Migration(migrations.Migration):
    dependencies = [("cases", "0009_open_queue_index")]
    operations = [migrations.RunPython(create, drop)]
