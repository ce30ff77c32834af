from django.db import migrations


def install(apps, schema_editor):
    from linli.iot.rules import ensure_default_rules

    ensure_default_rules(apps.get_model("iot", "Rule"))


class Migration(migrations.Migration):
    dependencies = [("iot", "0002_ingest")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
