"""linli_bigrams in linear time.

The SQL function of migration 0010 took substr(lower(t), i, 2) for each position: lower() of the whole text and
a walk from its start, for every character, so its cost grew with the square of the text's length (≈ 60 µs a case
of 30 characters, 3.5 ms for 300). Each new row version of a case runs it once for each bigram index, which made
the deadline sweep's catch-up and the index builds slow (docs/benchmarks.md). This one splits the lowered text
into characters once and walks the array: the same bigrams (the same set; it may repeat one, which a GIN index
stores once), so the indexes built with the old function stay valid and need no rebuild. One exception: on a
database with an ICU collation, lower('İ') is two characters, and the old function then left out a text's last
bigrams; where titles or descriptions contain İ, run REINDEX INDEX CONCURRENTLY on wo_words and wo_open_words.
"""

from importlib import import_module

from django.db import migrations

from linli.core import migration_ops as ix

FUNCTION = r"""
CREATE OR REPLACE FUNCTION linli_bigrams(t text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  c text[] := string_to_array(lower(t), NULL);
  r text[] := '{}';
  g text;
BEGIN
  FOR i IN 1 .. coalesce(cardinality(c), 0) - 1 LOOP
    g := c[i] || c[i + 1];
    IF g !~ '[[:space:]]' THEN
      r := r || g;
    END IF;
  END LOOP;
  RETURN r;
END
$$
"""

# backwards: the function as migration 0010 made it
QUADRATIC = import_module("linli.cases.migrations.0010_open_case_words").FUNCTION


class Migration(migrations.Migration):
    dependencies = [("cases", "0012_place_time_indexes")]
    operations = [ix.postgres_sql(FUNCTION, QUADRATIC)]
