from django.db import migrations


def create_roles(apps, schema_editor):
    from linli.core.permissions import DEFAULT_ROLES

    Role = apps.get_model("accounts", "Role")
    for code, (zh, en, kind, perms) in DEFAULT_ROLES.items():
        Role.objects.update_or_create(code=code, defaults={"name_zh": zh, "name_en": en, "scope_kind": kind,
                                                           "permissions": perms})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_initial")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
