"""The job queue's tables on PostgreSQL (Huey's PostgresHuey, used in production when REDIS_URL is empty).

Huey would create them itself when a process starts, but the application role (linli_app) may not
create tables (docs/deployment.md); `migrate` runs as the owner, so they are created here and granted
like every other table. The DDL is Huey's own, so it matches the installed version. Nothing on SQLite.
"""

from django.conf import settings
from django.db import migrations


def create_queue_tables(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from huey.storage import PostgresStorage

    prefix = settings.HUEY.get("table_prefix", "huey") if isinstance(settings.HUEY, dict) else "huey"
    storage = PostgresStorage("linli", create_tables=False, table_prefix=prefix)
    with schema_editor.connection.cursor() as cursor:
        for sql in storage.ddl:
            cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_delivery_once")]

    operations = [migrations.RunPython(create_queue_tables, migrations.RunPython.noop, elidable=False)]
