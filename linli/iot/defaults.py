"""The rules every device type starts with (installed by `ensure_default_rules()`, run by migration 0003).

An admin edits them on the rules page; a rule for one device replaces the type's rule of the same kind and
alarm. Each row: (device type, rule kind, alarm type, severity, params) — params as in linli.iot.models.Rule.
"""

from __future__ import annotations

from linli.iot.models import AlarmType as A
from linli.iot.models import DeviceKind as D
from linli.iot.models import Severity as S  # noqa: N817

EVENT, THRESHOLD, INACTIVITY, METER_IDLE, OFFLINE, LOW_BATTERY = (
    "event",
    "threshold",
    "inactivity",
    "meter_idle",
    "offline",
    "low_battery",
)

BATTERY = {"below": 20}

DEFAULT_RULES: list[tuple[str, str, str, str, dict]] = [
    # Beidou bracelet: SOS, fall, heart rate, location, battery
    (D.BRACELET, EVENT, A.SOS, S.CRITICAL, {"event": "sos"}),
    (D.BRACELET, EVENT, A.FALL, S.CRITICAL, {"event": "fall"}),
    (D.BRACELET, THRESHOLD, A.HEART_RATE, S.MAJOR, {"value": "heart_rate", "min": 40, "max": 140, "for_seconds": 60}),
    (D.BRACELET, LOW_BATTERY, A.LOW_BATTERY, S.WARNING, BATTERY),
    (D.BRACELET, OFFLINE, A.OFFLINE, S.MINOR, {"minutes": 30}),
    # emergency call button: what elderly people use most
    (D.CALL_BUTTON, EVENT, A.SOS, S.CRITICAL, {"event": "sos"}),
    (D.CALL_BUTTON, LOW_BATTERY, A.LOW_BATTERY, S.WARNING, BATTERY),
    (D.CALL_BUTTON, OFFLINE, A.OFFLINE, S.MINOR, {"minutes": 60}),
    (D.SMOKE, EVENT, A.SMOKE, S.CRITICAL, {"event": "smoke"}),
    (D.SMOKE, EVENT, A.TAMPER, S.MINOR, {"event": "tamper"}),
    (D.SMOKE, LOW_BATTERY, A.LOW_BATTERY, S.WARNING, BATTERY),
    (D.SMOKE, OFFLINE, A.OFFLINE, S.MINOR, {"minutes": 60}),
    (D.GAS, EVENT, A.GAS, S.CRITICAL, {"event": "gas"}),
    (D.GAS, EVENT, A.TAMPER, S.MINOR, {"event": "tamper"}),
    (D.GAS, OFFLINE, A.OFFLINE, S.MINOR, {"minutes": 30}),
    (D.LEAK, EVENT, A.LEAK, S.MAJOR, {"event": "leak"}),
    (D.LEAK, LOW_BATTERY, A.LOW_BATTERY, S.WARNING, BATTERY),
    (D.LEAK, OFFLINE, A.OFFLINE, S.MINOR, {"minutes": 60}),
    (D.ABNORMAL, INACTIVITY, A.INACTIVITY, S.MAJOR, {"hours": 12, "night_hours": 16, "night": "22:00-07:00"}),
    (D.ABNORMAL, EVENT, A.TAMPER, S.MINOR, {"event": "tamper"}),
    (D.ABNORMAL, LOW_BATTERY, A.LOW_BATTERY, S.WARNING, BATTERY),
    (D.ABNORMAL, OFFLINE, A.OFFLINE, S.MINOR, {"minutes": 60}),
    (D.GATEWAY, OFFLINE, A.OFFLINE, S.MAJOR, {"minutes": 10}),
    (D.WATER_METER, METER_IDLE, A.WATER_IDLE, S.MAJOR, {"value": "water_total", "hours": 24}),
    (D.WATER_METER, OFFLINE, A.OFFLINE, S.MINOR, {"minutes": 24 * 60}),
    (D.POWER_METER, OFFLINE, A.OFFLINE, S.MINOR, {"minutes": 24 * 60}),
    (D.GATE, EVENT, A.TAMPER, S.MINOR, {"event": "tamper"}),
    (D.GATE, OFFLINE, A.OFFLINE, S.MINOR, {"minutes": 30}),
    (D.CAMERA, EVENT, A.CAMERA, S.WARNING, {"event": "fire_lane_blocked"}),
    (D.CAMERA, EVENT, A.OTHER, S.WARNING, {"event": "garbage_violation"}),
    (D.CAMERA, OFFLINE, A.OFFLINE, S.MINOR, {"minutes": 30}),
]
