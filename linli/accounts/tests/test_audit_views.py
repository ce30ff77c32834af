"""The audit log page: only the auditor reads it; filters, verify action, query-count guard."""

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from linli.core.models import AuditRecord

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("who", ["admin", "secadmin", "street", "community", "grid", "resident", "nobody"])
def test_only_the_auditor_reads_the_log(client_for, world, who):
    c = client_for(who)
    assert c.get(reverse("accounts:audit-list")).status_code == 403
    assert c.post(reverse("accounts:audit-verify")).status_code == 403


def test_auditor_sees_and_filters(client_for, world):
    grid = client_for("grid")
    r = world.residents["A1-1/101"]
    grid.post(f"/people/residents/{r.pk}/reveal/", {"field": "id_number", "purpose": "核对户籍信息"})
    c = client_for("auditor")
    page = c.get(reverse("accounts:audit-list"))
    assert page.status_code == 200 and "核对户籍信息" in page.content.decode()
    assert r.id_number not in page.content.decode()
    reveal = c.get(reverse("accounts:audit-list"), {"action": "reveal", "user": "gri"}).context["page"].object_list
    assert [x.purpose for x in reveal] == ["核对户籍信息"]
    by_type = c.get(reverse("accounts:audit-list"), {"object_type": "people.resident"}).context["page"]
    assert by_type.paginator.count == AuditRecord.objects.filter(object_type="people.resident").count()
    today = timezone.localdate().isoformat()
    assert (
        c.get(reverse("accounts:audit-list"), {"date_from": today, "date_to": today}).context["page"].paginator.count
        == AuditRecord.objects.count()
    )
    assert c.get(reverse("accounts:audit-list"), {"date_to": "2000-01-01"}).context["page"].paginator.count == 0


def test_there_is_no_way_to_change_records(client_for, world):
    c = client_for("auditor")
    for path in ("/accounts/audit/1/edit/", "/accounts/audit/1/delete/"):
        assert c.post(path).status_code == 404


def test_verify_action_reports_ok_and_broken(client_for, world):
    c = client_for("auditor")
    ok = c.post(reverse("accounts:audit-verify"), HTTP_HX_REQUEST="true")
    assert ok.status_code == 200 and "<html" not in ok.content.decode()
    assert ok.context["report"].ok
    if connection.vendor == "sqlite":
        seq = AuditRecord.objects.order_by("seq")[3].seq
        with connection.cursor() as cur:
            cur.execute("UPDATE core_auditrecord SET username = 'mallory' WHERE seq = %s", [seq])
        broken = c.post(reverse("accounts:audit-verify"))
        assert broken.context["report"].first_broken.seq == seq
        assert f"{seq}" in broken.content.decode()


def test_audit_list_query_count(client_for, world, django_assert_max_num_queries):
    c = client_for("auditor")
    c.get(reverse("accounts:audit-list"))
    with django_assert_max_num_queries(7):  # 6 + the navigation's unread-inbox count
        response = c.get(reverse("accounts:audit-list"))
    assert len(response.context["page"].object_list) == 50
