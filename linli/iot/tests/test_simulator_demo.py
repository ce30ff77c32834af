"""The demo's devices and dispatch people (linli/core/generate/devices.py): made once, in the right places."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone

from linli.accounts.models import User
from linli.core.generate.accounts import ensure_demo_accounts
from linli.core.generate.devices import ensure_demo_iot
from linli.core.generate.plan import DEFAULT_DISTRICT
from linli.core.generate.run import generate
from linli.iot.models import Device, DeviceKind, Rule
from linli.iot.simulator import Simulator, prepare_devices
from linli.places.models import Area

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_registry")]


def test_demo_devices_crews_and_rescuers_once():
    from linli.dispatch.models import Crew, Rescuer, Shift
    from linli.dispatch.roster import on_duty

    generate("tiny", stream=io.StringIO())
    street = Area.objects.get(code=f"{DEFAULT_DISTRICT['tiny']}001000")
    ensure_demo_accounts(street)
    first = ensure_demo_iot(street)
    assert first.created > 0 and first.homes > 0
    devices = Device.objects.filter(street=street)
    # every equipped home belongs to a resident living alone and has the basic set
    for kind in (DeviceKind.CALL_BUTTON, DeviceKind.SMOKE, DeviceKind.GAS, DeviceKind.WATER_METER):
        assert devices.filter(kind=kind).count() == first.homes
    button = devices.filter(kind=DeviceKind.CALL_BUTTON).select_related("resident").first()
    assert button.resident.labels.filter(code="living_alone").exists()
    assert button.house.occupancies.filter(resident=button.resident).exists()
    assert devices.filter(kind=DeviceKind.CAMERA, house__isnull=True).exists() or not street.children.exists()
    subs = devices.filter(gateway__isnull=False)
    assert all(d.gateway.kind == DeviceKind.GATEWAY and d.gateway.house_id == d.house_id for d in subs)
    assert Rule.objects.filter(device__isnull=True).exists()
    # motion sensors start with a recent sign of life: the inactivity check raises nothing at start-up
    from linli.iot.tasks import check_devices

    check_devices()
    assert not devices.filter(alarms__type="inactivity").exists()
    # three crews, a roster around now, rescuers, the demo accounts on the crew on duty
    assert Crew.objects.filter(area=street).count() == 3
    shift = on_duty(street, timezone.now())
    assert shift is not None and Shift.objects.filter(area=street).count() >= 9
    crew = shift.crew
    assert crew.lead.username == "shift_lead"
    assert crew.members.filter(username="dispatcher").exists()
    me = Rescuer.objects.get(user__username="rescuer")
    assert me.crew == crew and me.status == Rescuer.Status.AVAILABLE and me.lat is not None
    assert Rescuer.objects.filter(area=street).count() == 10
    assert not Rescuer.objects.filter(status=Rescuer.Status.AVAILABLE).exclude(crew=crew).exists()
    assert User.objects.get(username="rescuer01").check_password("linli-demo")
    # again: nothing new
    counts = (Device.objects.count(), User.objects.count(), Rescuer.objects.count(), Shift.objects.count())
    second = ensure_demo_iot(street)
    assert second.created == 0
    assert (Device.objects.count(), User.objects.count(), Rescuer.objects.count(), Shift.objects.count()) == counts
    # the simulator finds them and an SOS comes from a call button first
    sims = prepare_devices(limit=5, issue=False)
    assert sims[0].kind == DeviceKind.CALL_BUTTON
    sim = Simulator(sims, first_alarm_after=25, seed=1, start=0)
    events = [m for t in range(60) for m in sim.tick(float(t)) if m.channel == "events"]
    assert events and events[0].payload["event"] == "sos"
