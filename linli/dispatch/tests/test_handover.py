"""Roster page and handovers: who may read, edit, hand over and receive; scope; audit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from linli.core.models import AuditRecord
from linli.dispatch import roster
from linli.dispatch.models import Crew, Handover, IncidentStatus, Rescuer, Shift
from linli.dispatch.tests.test_kpi import make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def center(world):
    a, u = world.areas["A"], world.users
    crews = [Crew.objects.create(area=a, name=f"Crew {c}") for c in "ABC"]
    roster.make_roster(a, timezone.localdate() - dt.timedelta(days=1), 3)
    now = timezone.now()
    current = roster.on_duty(a, now)
    nxt = roster.next_shift(current)
    current.crew.members.add(u["dispatcher"])
    current.crew.lead = u["shift_lead"]
    current.crew.save()
    Rescuer.objects.create(user=u["rescuer"], area=a, crew=nxt.crew)
    return {"crews": crews, "current": current, "next": nxt}


def test_roster_page_shows_week_and_who_is_on_duty(world, center, client_for):
    page = client_for("dispatcher").get(reverse("shifts:roster"))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'aria-current="time"' in body and body.count('class="slot current"') == 1
    assert center["current"].crew.name in body and "dispatcher" in body
    assert "<details>" not in body  # a call-taker reads, only a lead edits
    assert client_for("dispatcher").get(reverse("shifts:roster") + "?week=13/01/2026").status_code == 200
    # the other street's dispatcher has no crews here and cannot ask for them
    other = client_for("dispatcher_b")
    assert world.areas["A"].name not in other.get(reverse("shifts:roster")).content.decode()
    assert other.get(reverse("shifts:roster") + f"?area={world.areas['A'].pk}").status_code == 404
    assert client_for("rescuer").get(reverse("shifts:roster")).status_code == 403
    lead_page = client_for("shift_lead").get(reverse("shifts:roster")).content.decode()
    assert "<details>" in lead_page


def test_lead_swaps_crew_and_lead_audited(world, center, client_for):
    shift = center["next"]
    other_crew = next(c for c in center["crews"] if c.pk != shift.crew_id)
    other_crew.members.add(world.users["dispatcher"])
    url = reverse("shifts:shift-edit", args=[shift.pk])
    data = {"crew": other_crew.pk, "lead": world.users["dispatcher"].pk}
    assert client_for("dispatcher").post(url, data).status_code == 403
    assert client_for("dispatcher_b").post(url, data).status_code == 403
    # a lead may not make a stranger lead
    client_for("shift_lead").post(url, {"crew": other_crew.pk, "lead": world.users["street"].pk})
    assert Shift.objects.get(pk=shift.pk).crew_id == shift.crew_id
    resp = client_for("shift_lead").post(url, data)
    assert resp.status_code == 302
    changed = Shift.objects.get(pk=shift.pk)
    assert changed.crew_id == other_crew.pk and changed.lead_id == world.users["dispatcher"].pk
    rec = AuditRecord.objects.filter(object_type="dispatch.shift", object_id=str(shift.pk)).latest("seq")
    assert rec.after["crew_id"] == other_crew.pk


def test_handover_written_by_console_and_received_by_next_shift(world, center, client_for):
    make_incident(world, timezone.now(), 30, status=IncidentStatus.EN_ROUTE)
    make_incident(world, timezone.now(), 30, grid="B1-1", status=IncidentStatus.EN_ROUTE)
    current, nxt = center["current"], center["next"]
    url = reverse("shifts:handover-write", args=[current.pk])
    assert client_for("rescuer").post(url, {"note": "x"}).status_code == 403
    assert client_for("dispatcher_b").post(url, {"note": "x"}).status_code == 404
    client_for("dispatcher").post(url, {"note": "   "})
    assert not Handover.objects.exists()
    # a shift that has not started cannot hand over
    client_for("dispatcher").post(reverse("shifts:handover-write", args=[nxt.pk]), {"note": "too early"})
    assert not Handover.objects.exists()
    resp = client_for("dispatcher").post(url, {"note": "Rescuer 2 still at 新华里 3-101."})
    assert resp.status_code == 302
    h = Handover.objects.get()
    assert h.author == world.users["dispatcher"] and h.open_incidents == 1 and h.received_at is None
    assert AuditRecord.objects.filter(object_type="dispatch.handover", action="create").exists()
    page = client_for("dispatcher").get(reverse("shifts:roster")).content.decode()
    assert "新华里 3-101" in page
    receive = reverse("shifts:handover-receive", args=[h.pk])
    assert client_for("dispatcher").post(receive).status_code == 403  # the author
    assert client_for("dispatcher_b").post(receive).status_code == 404
    # the rescuer is on the next shift but is no call-taker: the page is not theirs
    assert client_for("rescuer").post(receive).status_code == 403
    nxt.crew.members.add(world.users["street"])  # street has no dispatch.console either
    assert client_for("street").post(receive).status_code == 403
    resp = client_for("shift_lead").post(receive)
    assert resp.status_code == 302
    h.refresh_from_db()
    assert h.received_by == world.users["shift_lead"] and h.received_at is not None
    client_for("shift_lead").post(receive)  # twice: nothing changes
    h2 = Handover.objects.get()
    assert h2.received_at == h.received_at
    assert AuditRecord.objects.filter(object_type="dispatch.handover", action="update").count() == 1


def test_can_receive_rules(world, center):
    current, nxt = center["current"], center["next"]
    h = roster.write_handover(current, note="ok", user=world.users["dispatcher"], now=timezone.now())
    assert not roster.can_receive(world.users["dispatcher"], h)
    assert not roster.can_receive(world.users["street"], h)
    nxt.crew.members.add(world.users["street"])
    assert roster.can_receive(world.users["street"], h)  # on the incoming shift
    assert roster.can_receive(world.users["rescuer"], h)  # a rescuer of the incoming crew
    assert roster.can_receive(world.users["shift_lead"], h)
    with pytest.raises(ValueError):
        roster.write_handover(current, note="x" * 4001, user=world.users["dispatcher"], now=timezone.now())
