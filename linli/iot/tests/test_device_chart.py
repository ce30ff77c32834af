"""The device page's 24-hour chart reads Beijing time (settings.TIME_ZONE), as the rest of the page does,
whatever the clock of the browser that draws it."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from linli.iot import provision
from linli.iot.ingest import ingest
from linli.iot.models import DeviceKind
from linli.iot.tests.conftest import ms, msg

pytestmark = pytest.mark.django_db


def test_chart_times_are_beijing_wall_clock_drawn_as_utc(world, client_for, settings):
    assert settings.TIME_ZONE == "Asia/Shanghai"
    d = provision.create_device(
        None, code="BR-C1", kind=DeviceKind.BRACELET, house=world.houses["A1-1/101"], resident=None
    )
    # two readings at whole minutes, an hour ago and 50 minutes ago
    base = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(hours=1)
    ats = [base, base + dt.timedelta(minutes=10)]
    for i, at in enumerate(ats):
        ingest([msg("telemetry", d.code, {"msg_id": f"c{i}", "ts": ms(at), "values": {"heart_rate": 70 + i}}, at=at)])

    r = client_for("community").get(reverse("iot:device-detail", args=[d.pk]))
    body = r.content.decode()
    chart = json.loads(re.search(r'id="device-chart-data"[^>]*>(.*?)</script>', body, re.S)[1])
    points = chart["series"][0]["points"]
    shown = [dt.datetime.fromtimestamp(p[0] / 1000, tz=dt.UTC) for p in points]
    # read as UTC, the chart's times are the Beijing clock: 8 hours ahead of the real UTC instant
    local = [timezone.localtime(a) for a in ats]
    assert [(s.hour, s.minute) for s in shown] == [(a.hour, a.minute) for a in local]
    assert shown[0] - ats[0] == dt.timedelta(hours=8)
    assert "useUTC: true" in body  # the chart draws them as given, not in the browser's zone
