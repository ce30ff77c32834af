"""manage.py demo --no-serve: data, the role accounts and the dispatch staff once; a second run reuses everything."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import override_settings

from linli.accounts.models import Assignment, User
from linli.cases.models import OPEN_STATUSES, CaseDayStat, HandlingUnit, WorkOrder
from linli.people.models import Resident
from linli.places.models import Area

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_registry")]

ACCOUNTS = {
    "admin",
    "secadmin",
    "auditor",
    "street",
    "community",
    "grid",
    "property",
    "handler",
    "dispatcher",
    "shift_lead",
    "rescuer",
    "provider",
    "resident",
}


def run_demo() -> str:
    out = io.StringIO()
    call_command("demo", no_serve=True, scale="tiny", stdout=out, stderr=io.StringIO())
    return out.getvalue()


@override_settings(DEMO=True)
def test_demo_twice_creates_accounts_once():
    first = run_demo()
    names = set(User.objects.values_list("username", flat=True))
    # one account per role, plus the dispatch center's extra call-takers and rescuers (linli/core/generate/devices.py)
    assert ACCOUNTS <= names
    assert all(re.fullmatch(r"(rescuer|calltaker)\d\d", name) for name in names - ACCOUNTS)
    assert len(names - ACCOUNTS) == 15
    counts = (
        User.objects.count(),
        Assignment.objects.count(),
        Resident.objects.count(),
        Area.objects.count(),
        WorkOrder.objects.count(),
    )
    second = run_demo()
    assert (
        User.objects.count(),
        Assignment.objects.count(),
        Resident.objects.count(),
        Area.objects.count(),
        WorkOrder.objects.count(),
    ) == counts
    assert "Reusing" in second and "Generating" in first
    for text in (first, second):
        assert "http://127.0.0.1:8000/" in text and "linli-demo" in text
        for name in ACCOUNTS:
            assert f"\n{name} " in text
    # scopes: grid user on one grid, property on one estate, resident bound to one house
    grid = User.objects.get(username="grid").assignments.get()
    assert grid.area.level == "grid" and grid.role.code == "grid"
    assert User.objects.get(username="property").assignments.get().estate is not None
    assert User.objects.get(username="street").assignments.get().area.level == "street"
    me = Resident.objects.get(user__username="resident")
    assert set(Resident.objects.for_user(User.objects.get(username="resident")).values_list("pk", flat=True)) == set(
        Resident.objects.filter(household=me.household).values_list("pk", flat=True)
    )
    assert authenticate(username="street", password="linli-demo") is not None
    # work orders: a history, the cases happening now, the roll-up, and the accounts in their units
    live = WorkOrder.objects.filter(external_ref__startswith="demo:")
    assert live.count() == 24 and live.filter(status__in=OPEN_STATUSES).count() >= 15
    assert live.filter(overdue_at__isnull=False).exists() and live.filter(status="resolved").exists()
    assert WorkOrder.objects.exclude(external_ref__startswith="demo:").filter(status="closed").count() > 100
    assert CaseDayStat.objects.exists()
    for name in ("community", "grid", "property", "handler"):
        assert HandlingUnit.objects.filter(members__username=name).exists(), name
    community = User.objects.get(username="community")
    assert WorkOrder.objects.for_user(community, "dispatch").filter(status="submitted").exists()


@override_settings(DEMO=False)
def test_demo_refuses_outside_demo_mode():
    with pytest.raises(CommandError, match="LINLI_MODE=demo"):
        run_demo()
    assert not User.objects.exists()
