"""On PostgreSQL, refuse UPDATE, DELETE and TRUNCATE on the audit table, even from raw SQL.

Only a session that sets linli.audit_purge = 'on' (the retention job, the test runner's
flush) may remove records; a changed record is still caught by `manage.py verify_audit`.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION linli_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('linli.audit_purge', true), '') = 'on' AND TG_OP <> 'UPDATE' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NULL END;
    END IF;
    RAISE EXCEPTION 'audit records are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditrecord_append_only
    BEFORE UPDATE OR DELETE ON core_auditrecord
    FOR EACH ROW EXECUTE FUNCTION linli_audit_append_only();
CREATE TRIGGER core_auditrecord_no_truncate
    BEFORE TRUNCATE ON core_auditrecord
    FOR EACH STATEMENT EXECUTE FUNCTION linli_audit_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS core_auditrecord_no_truncate ON core_auditrecord;
DROP TRIGGER IF EXISTS core_auditrecord_append_only ON core_auditrecord;
DROP FUNCTION IF EXISTS linli_audit_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
