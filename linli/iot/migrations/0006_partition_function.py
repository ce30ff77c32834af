"""A function that adds a month's telemetry partition, callable by the application role, on PostgreSQL.

Only the owner of iot_telemetry may add partitions, and the application role must not own the tables
(docs/deployment.md). The check_devices job runs as the application role, so it calls
linli_telemetry_partition(month), a SECURITY DEFINER function that runs with the rights of the role that ran
this migration (the owner) and can do exactly one thing: add the partition of the month of the given day, if
it is missing. Its name comes from the date, never from the caller, and search_path is fixed, so calling it
cannot do anything else.
"""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION linli_telemetry_partition(month date) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  start date := date_trunc('month', month)::date;
  stop date := (date_trunc('month', month) + interval '1 month')::date;
  name text := format('iot_telemetry_y%sm%s', to_char(start, 'YYYY'), to_char(start, 'MM'));
BEGIN
  IF to_regclass(name) IS NOT NULL THEN
    RETURN NULL;
  END IF;
  EXECUTE format(
    'CREATE TABLE %I PARTITION OF iot_telemetry FOR VALUES FROM (%L) TO (%L)',
    name, start::text || ' 00:00:00+00', stop::text || ' 00:00:00+00'
  );
  RETURN name;
END
$$
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)  # no placeholders: format()'s %I and %L are SQL
        from linli.iot.ingest import ensure_partitions

        ensure_partitions(connection=schema_editor.connection)  # this month's and the next two


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS linli_telemetry_partition(date)")


class Migration(migrations.Migration):
    dependencies = [("iot", "0005_device_maintainer")]
    operations = [migrations.RunPython(create, drop)]
