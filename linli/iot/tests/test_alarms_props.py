"""Property test through the database: whatever the sequence of SOS presses, battery levels and redeliveries,
there is never more than one open alarm per device and type, and the counts add up."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linli.iot.ingest import ingest
from linli.iot.models import OPEN_ALARM, Alarm, Device, SeenMessage, Telemetry
from linli.iot.tests.conftest import ms, msg

STEP = st.one_of(
    st.tuples(st.just("sos"), st.integers(0, 5)),  # msg_id from a small pool: redeliveries happen
    st.tuples(st.just("battery"), st.integers(0, 100)),
    st.tuples(st.just("close"), st.just(0)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(STEP, max_size=12))
def test_one_open_alarm_per_type_and_counts_add_up(iot, steps):
    Alarm.objects.all().delete()
    SeenMessage.objects.all().delete()
    Telemetry.objects.all().delete()
    Device.objects.filter(pk=iot.button.pk).update(state={}, battery=None)
    t = timezone.now()
    presses: set[int] = set()
    presses_since_close = 0
    for i, (what, n) in enumerate(steps):
        at = t + dt.timedelta(seconds=i)
        if what == "sos":
            ingest([msg("event", "CB-1", {"msg_id": f"sos-{n}", "ts": ms(at), "event": "sos"}, at)])
            if n not in presses:
                presses.add(n)
                presses_since_close += 1
        elif what == "battery":
            ingest([msg("status", "CB-1", {"ts": ms(at), "battery": n}, at)])
        else:
            Alarm.objects.filter(type="sos", status__in=OPEN_ALARM).update(status="closed")
            presses_since_close = 0
        for alarm_type in ("sos", "low_battery"):
            assert Alarm.objects.filter(device=iot.button, type=alarm_type, status__in=OPEN_ALARM).count() <= 1
    open_sos = Alarm.objects.filter(type="sos", status__in=OPEN_ALARM).first()
    assert (open_sos.count if open_sos else 0) == presses_since_close
    assert sum(Alarm.objects.filter(type="sos").values_list("count", flat=True)) == len(presses)
