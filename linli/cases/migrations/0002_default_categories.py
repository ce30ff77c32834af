from django.db import migrations


def load(apps, schema_editor):
    from linli.cases.taxonomy import load_default_categories, load_default_policies

    load_default_categories(apps.get_model("cases", "Category"))
    load_default_policies(apps.get_model("cases", "DeadlinePolicy"))


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
