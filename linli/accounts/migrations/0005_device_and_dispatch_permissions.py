from django.db import migrations


def add_permissions(apps, schema_editor):
    """Give the default roles their device and dispatch-center permissions (and create the shift lead role)
    without undoing an admin's other edits."""
    from linli.core.permissions import DEFAULT_ROLES

    Role = apps.get_model("accounts", "Role")
    for code, (zh, en, kind, perms) in DEFAULT_ROLES.items():
        role, created = Role.objects.get_or_create(
            code=code, defaults={"name_zh": zh, "name_en": en, "scope_kind": kind, "permissions": perms}
        )
        if created:
            continue
        missing = [p for p in perms if p.startswith(("iot.", "dispatch.")) and p not in role.permissions]
        if missing:
            role.permissions = [*role.permissions, *missing]
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_case_permissions")]
    operations = [migrations.RunPython(add_permissions, migrations.RunPython.noop)]
