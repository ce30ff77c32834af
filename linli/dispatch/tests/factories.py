"""Devices, alarms and rescuers for the dispatch tests, on the test world (linli/testing/world.py).

Alarms are written directly (the models are fixed) and announced with linli.iot.signals.alarms_changed, as
ingestion does, so these tests do not depend on the rule engine.
"""

from __future__ import annotations

import itertools

from django.db import transaction
from django.utils import timezone

from linli.dispatch.models import Rescuer
from linli.iot.models import LIFE_SAFETY, Alarm, Device
from linli.iot.signals import alarms_changed

_seq = itertools.count(1)
HOME = {
    "A1-1": (39.1250, 117.2050),
    "A1-2": (39.1262, 117.2071),
    "A2-1": (39.1230, 117.2120),
    "B1-1": (39.1180, 117.2200),
}


def make_device(world, grid: str = "A1-1", kind: str = "bracelet", code: str | None = None) -> Device:
    house = world.house_in(grid)
    device = Device(
        code=code or f"T-{grid}-{kind}-{next(_seq)}",
        kind=kind,
        grid=world.areas[grid],
        house=house,
        resident=world.resident_in(grid),
        online=True,
    )
    device.copy_areas_from_grid()
    device.save()
    return device


def make_alarm(
    world,
    grid: str = "A1-1",
    type: str = "sos",
    severity: str = "critical",
    device: Device | None = None,
    at=None,
    announce: bool = True,
) -> Alarm:
    device = device or make_device(world, grid)
    at = at or timezone.now()
    lat, lng = HOME[grid]
    with transaction.atomic():
        alarm = Alarm.objects.create(
            device=device,
            type=type,
            severity=severity,
            life_safety=type in LIFE_SAFETY,
            resident=device.resident,
            house=device.house,
            grid_id=device.grid_id,
            community_id=device.community_id,
            street_id=device.street_id,
            district_id=device.district_id,
            city_id=device.city_id,
            lat=lat,
            lng=lng,
            raised_at=at,
            last_at=at,
            message="SOS",
        )
        if announce:
            alarms_changed([alarm.pk], "raised")
    return alarm


def make_rescuer(
    world, user: str = "rescuer", area: str = "A", at=(39.1260, 117.2060), status=Rescuer.Status.AVAILABLE, **kw
) -> Rescuer:
    rescuer, _ = Rescuer.objects.update_or_create(
        user=world.users[user],
        defaults={
            "area": world.areas[area],
            "status": status,
            "lat": at[0] if at else None,
            "lng": at[1] if at else None,
            "position_at": timezone.now() if at else None,
            **kw,
        },
    )
    return rescuer
