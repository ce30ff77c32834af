"""Devices for the IoT tests, on top of the shared test world (linli/testing/world.py)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from linli.iot.credentials import issue_secret
from linli.iot.ingest import Message
from linli.iot.models import Device, DeviceKind
from linli.iot.rules import ensure_default_rules


def make_device(world, code: str, kind: str, grid: str = "A1-1", **kw) -> Device:
    d = Device(code=code, kind=kind, grid=world.areas[grid], house=world.house_in(grid), **kw)
    d.copy_areas_from_grid()
    d.save()
    return d


@pytest.fixture
def iot(world):
    """Default rules and a device of each kind in grid A1-1 (the bracelet on the resident living alone), a
    gateway with a leak sensor, and a bracelet in grid B1-1. `iot.secrets[code]` is each device's secret."""
    ensure_default_rules()
    alone = world.resident_in("A1-1")
    ns = SimpleNamespace(world=world, secrets={})
    ns.bracelet = make_device(world, "BR-1", DeviceKind.BRACELET, resident=alone)
    ns.button = make_device(world, "CB-1", DeviceKind.CALL_BUTTON, resident=alone)
    ns.smoke = make_device(world, "SM-1", DeviceKind.SMOKE)
    ns.abnormal = make_device(world, "AB-1", DeviceKind.ABNORMAL, resident=alone)
    ns.meter = make_device(world, "WM-1", DeviceKind.WATER_METER, resident=alone)
    ns.gateway = make_device(world, "GW-1", DeviceKind.GATEWAY)
    ns.leak = make_device(world, "LK-1", DeviceKind.LEAK, gateway=ns.gateway)
    ns.bracelet_b = make_device(world, "BR-B", DeviceKind.BRACELET, grid="B1-1", resident=world.resident_in("B1-1"))
    for d in (ns.bracelet, ns.button, ns.smoke, ns.gateway, ns.leak, ns.bracelet_b):
        ns.secrets[d.code] = issue_secret(d)
    return ns


def ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


def msg(kind: str, code: str, payload, at: dt.datetime | None = None, gateway: bool = False) -> Message:
    topic_kind = {"telemetry": "telemetry", "event": "events", "status": "status"}[kind]
    topic = f"linli/v1/{'gateways' if gateway else 'devices'}/{code}/{topic_kind}"
    return Message.from_topic(topic, payload, at or timezone.now())
