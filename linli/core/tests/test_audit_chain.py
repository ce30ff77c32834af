"""The audit chain: intact after real actions; tampering and deletion are detected and named."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from linli.core.audit import verify_chain
from linli.core.models import AuditRecord
from linli.people import services

pytestmark = pytest.mark.django_db


def act(world, client_for):
    c = client_for("grid")
    r = world.residents["A1-1/101"]
    c.post(f"/people/residents/{r.pk}/reveal/", {"field": "phone", "purpose": "联系本人确认"})
    services.save_resident(world.users["grid"], r, name="链上居民")
    client_for("secadmin").post(f"/accounts/users/{world.users['nobody'].pk}/active/", {"active": "0"})


def test_chain_intact_after_several_actions(world, client_for):
    act(world, client_for)
    report = verify_chain()
    assert report.ok and report.checked == AuditRecord.objects.count() > 50
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert f"{report.checked} records checked" in out.getvalue()


def _tamper(seq: int) -> None:
    table = AuditRecord._meta.db_table
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with pytest.raises(DatabaseError), transaction.atomic():
                cur.execute(f"UPDATE {table} SET purpose = %s WHERE seq = %s", ["篡改", seq])
            cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER core_auditrecord_append_only")
            try:
                cur.execute(f"UPDATE {table} SET purpose = %s WHERE seq = %s", ["篡改", seq])
            finally:
                cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER core_auditrecord_append_only")
        else:
            cur.execute(f"UPDATE {table} SET purpose = %s WHERE seq = %s", ["篡改", seq])


def test_changed_record_is_named(world, client_for):
    act(world, client_for)
    target = AuditRecord.objects.filter(action="reveal").get()
    _tamper(target.seq)
    assert AuditRecord.objects.get(seq=target.seq).purpose == "篡改"
    report = verify_chain()
    assert not report.ok and report.first_broken.seq == target.seq
    assert "hash" in report.reason
    with pytest.raises(CommandError) as exc:
        call_command("verify_audit")
    assert f"seq={target.seq}" in str(exc.value) and exc.value.returncode == 1


def test_deleting_the_last_record_is_detected(world, client_for):
    act(world, client_for)
    last = AuditRecord.objects.order_by("-seq").first()
    with connection.cursor() as cur:
        # conftest sets linli.audit_purge=on on PostgreSQL, which the trigger allows for DELETE
        cur.execute(f"DELETE FROM {AuditRecord._meta.db_table} WHERE seq = %s", [last.seq])
    report = verify_chain()
    assert not report.ok and report.first_broken.seq == last.seq
    assert "missing" in report.reason
    with pytest.raises(CommandError, match=f"seq={last.seq}"):
        call_command("verify_audit")


def test_records_refuse_orm_update_and_delete(world):
    rec = AuditRecord.objects.first()
    with pytest.raises(PermissionError):
        rec.save()
    with pytest.raises(PermissionError):
        rec.delete()
    with pytest.raises(PermissionError):
        AuditRecord.objects.all().update(purpose="x")
