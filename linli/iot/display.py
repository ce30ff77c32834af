"""How the device pages show what devices say: labelled, unit-formatted values, readable readings, rule
parameters and rejection reasons, in the reader's language.

Devices report open-ended JSON (docs/devices.md), so every function here falls back to the raw key and value
for what it does not know; nothing is dropped. The data itself keeps its codes (exports and the API use them).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from django.utils import formats, timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from linli.iot.models import AlarmType

# -- values ------------------------------------------------------------------------------------------------


def _number(value: Any, places: int | None = None) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if places == 0 or (places is None and float(value).is_integer()):
        return formats.number_format(int(round(value)), use_l10n=True, force_grouping=True)
    if places is None:  # as many decimals as it has, at most two
        return formats.number_format(round(value, 2), use_l10n=True, force_grouping=True)
    return formats.number_format(round(value, places), places, use_l10n=True, force_grouping=True)


def _yes_no(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def _duration(seconds: Any) -> str:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return str(seconds)
    now = timezone.now()
    return timesince(now - dt.timedelta(seconds=float(seconds)), now, depth=2)


def _unit(template: str, places: int | None = None, key: str = "v") -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return str(value)
        return _(template) % {key: _number(value, places)}

    fmt.template = template  # type: ignore[attr-defined]
    return fmt


# key -> (label, formatter). Labels are lazy: this table is built once, read in each request's language.
VALUES: dict[str, tuple[Any, Callable[[Any], str]]] = {
    "battery": (gettext_lazy("Battery"), _unit(gettext_noop("%(v)s %%"), 0)),
    "heart_rate": (gettext_lazy("Heart rate"), _unit(gettext_noop("%(v)s bpm"), 0)),
    "steps": (gettext_lazy("Steps"), lambda v: _number(v, 0)),
    "signal": (gettext_lazy("Signal"), _unit(gettext_noop("%(v)s dBm"), 0)),
    "temperature": (gettext_lazy("Temperature"), _unit(gettext_noop("%(v)s °C"), 1)),
    "smoke": (gettext_lazy("Smoke level"), lambda v: _number(v)),
    "gas_lel": (gettext_lazy("Gas concentration"), _unit(gettext_noop("%(v)s %% LEL"))),
    "level": (gettext_lazy("Level"), lambda v: _number(v)),
    "water_total": (gettext_lazy("Water meter reading"), _unit(gettext_noop("%(v)s m³"), 3)),
    "power_total": (gettext_lazy("Electricity meter reading"), _unit(gettext_noop("%(v)s kWh"), 2)),
    "leak": (gettext_lazy("Water detected"), _yes_no),
    "motion": (gettext_lazy("Movement"), _yes_no),
    "door": (gettext_lazy("Door open"), _yes_no),
    "online": (gettext_lazy("Online"), _yes_no),
    "sub_devices": (gettext_lazy("Sub-devices connected"), lambda v: _number(v, 0)),
    "uptime": (gettext_lazy("Running for"), _duration),
    "passes": (gettext_lazy("Passes"), lambda v: _number(v, 0)),
    "people": (gettext_lazy("People seen"), lambda v: _number(v, 0)),
}
POSITION_KEYS = ("lat", "lng")
# numeric values worth a line over the last 24 hours, in this order
CHARTED = ("heart_rate", "battery", "temperature", "gas_lel", "smoke", "water_total", "power_total", "steps")

EVENTS = {
    "sos": AlarmType.SOS.label,
    "fall": AlarmType.FALL.label,
    "smoke": AlarmType.SMOKE.label,
    "gas": AlarmType.GAS.label,
    "leak": AlarmType.LEAK.label,
    "tamper": AlarmType.TAMPER.label,
    "fire_lane_blocked": gettext_lazy("fire lane blocked"),
    "garbage_violation": gettext_lazy("rubbish left outside the bins"),
}


def value_unit(key: str) -> str:
    """The unit alone ("bpm", "%"), or "" for counts and unknown values."""
    template = getattr(VALUES.get(key, (None, None))[1], "template", "")
    return (_(template) % {"v": ""}).strip() if template else ""


def value_label(key: str) -> str:
    known = VALUES.get(key)
    return str(known[0]) if known else key


def value_text(key: str, value: Any) -> str:
    known = VALUES.get(key)
    if known:
        return known[1](value)
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, int | float):
        return _number(value)
    return str(value)


def position_text(lat: Any, lng: Any) -> str:
    try:
        return f"{float(lat):.5f}, {float(lng):.5f}"
    except (TypeError, ValueError):
        return f"{lat}, {lng}"


def labelled(values: dict, skip: tuple[str, ...] = ()) -> list[dict]:
    """[{"key", "label", "text", "known"}] for a dict of values; lat/lng become one "position" entry."""
    out = []
    values = {k: v for k, v in (values or {}).items() if not str(k).startswith("_") and k not in skip}
    if all(k in values for k in POSITION_KEYS):
        lat, lng = values.pop("lat"), values.pop("lng")
        if "position" not in skip:
            out.append({"key": "position", "label": _("Position"), "text": position_text(lat, lng), "known": True})
    known = [k for k in VALUES if k in values]
    for key in known + sorted(k for k in values if k not in VALUES):
        value = values[key]
        text = value_text(key, value) if not isinstance(value, dict | list) else _compact(value)
        out.append({"key": key, "label": value_label(key), "text": text, "known": key in VALUES})
    return out


def _compact(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)[:200]


def event_label(name: str) -> str:
    label = EVENTS.get(name)
    return str(label) if label is not None else name


def reading(values: dict) -> dict:
    """One stored message (telemetry values, or {"event", "data"} for an event) as {"event", "items"}."""
    values = values or {}
    if set(values) <= {"event", "data"} and isinstance(values.get("event"), str):
        data = values.get("data")
        data = data if isinstance(data, dict) else {}
        return {"event": event_label(values["event"]), "event_code": values["event"], "items": labelled(data)}
    return {"event": None, "event_code": None, "items": labelled(values)}


# -- time --------------------------------------------------------------------------------------------------


def ago(when: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """ "now" under a minute, else the largest unit: "16 hours ago", never "16 hours, 10 minutes"."""
    if when is None:
        return ""
    now = now or timezone.now()
    if (now - when).total_seconds() < 60:
        return _("now")
    return _("%(t)s ago") % {"t": timesince(when, now, depth=1)}


# -- rule parameters ---------------------------------------------------------------------------------------


_seconds = _unit(gettext_noop("%(n)s s"), key="n")
_minutes = _unit(gettext_noop("%(n)s min"), key="n")
_hours = _unit(gettext_noop("%(n)s h"), key="n")


def rule_params(kind: str, params: dict) -> list[dict]:
    """A rule's parameters as [{"label", "text"}], with the measured value's own unit for thresholds."""
    params = dict(params or {})
    measured = str(params.get("value") or "")
    label = {
        "event": lambda: _("Event"),
        "value": lambda: _("Measured value"),
        "min": lambda: _("Alarm below"),
        "max": lambda: _("Alarm above"),
        "for_seconds": lambda: _("Held for"),
        "hours": lambda: _("No activity for") if kind == "inactivity" else _("No use for"),
        "night_hours": lambda: _("At night, no activity for"),
        "night": lambda: _("Night"),
        "minutes": lambda: _("No message for"),
        "below": lambda: _("Battery below"),
    }
    text: dict[str, Callable[[Any], str]] = {
        "event": lambda v: event_label(str(v)),
        "value": lambda v: value_label(str(v)),
        "min": lambda v: value_text(measured, v),
        "max": lambda v: value_text(measured, v),
        "for_seconds": _seconds,
        "hours": _hours,
        "night_hours": _hours,
        "night": str,
        "minutes": _minutes,
        "below": lambda v: value_text("battery", v),
    }
    out = []
    for key in [k for k in label if k in params] + sorted(k for k in params if k not in label):
        value = params[key]
        if key in label:
            out.append({"label": label[key](), "text": text[key](value), "key": key})
        else:
            shown = _compact(value) if isinstance(value, dict | list) else str(value)
            out.append({"label": key, "text": shown, "key": key})
    return out


# -- rejected messages -------------------------------------------------------------------------------------

REASON_LABELS = {
    "bad_topic": gettext_lazy("Wrong topic"),
    "too_large": gettext_lazy("Too large"),
    "bad_json": gettext_lazy("Not JSON"),
    "bad_shape": gettext_lazy("Wrong shape"),
    "bad_msg_id": gettext_lazy("Bad message id"),
    "bad_ts": gettext_lazy("Bad time stamp"),
    "bad_values": gettext_lazy("Bad values"),
    "bad_event": gettext_lazy("Bad event"),
    "bad_status": gettext_lazy("Bad status"),
    "unknown_device": gettext_lazy("Unknown device"),
    "not_sub_device": gettext_lazy("Not this gateway's sub-device"),
    "bad_secret": gettext_lazy("Wrong or missing secret"),
    "error": gettext_lazy("Processing error"),
}


def reason_label(code: str) -> str:
    label = REASON_LABELS.get(code)
    return str(label) if label is not None else code


def reason_help(code: str) -> str:
    from linli.iot.ingest import REASONS

    text = REASONS.get(code)
    return str(text) if text is not None else ""


# ingest.py stores details as "<code>" or "<code>: <param>"; older rows hold free text, shown as it is
DETAIL_RE = re.compile(r"^([a-z_]+)(?:: (.*))?$", re.S)
DETAILS: dict[str, Callable[[str], str]] = {
    "missing": lambda p: _("%(name)s is missing") % {"name": p} if p else _("missing"),
    "unknown_keys": lambda p: _("keys the contract does not have: %(keys)s") % {"keys": p},
    "not_object": lambda p: _("The message must be a JSON object."),
    "bad_device_code": lambda p: _("device_code is missing or not a device code"),
    "got": lambda p: _("received: %(value)s") % {"value": p},
    "bad_name": lambda p: _("value name not allowed: %(name)s") % {"name": p},
    "bad_value": lambda p: _("%(name)s is not a number, true/false or a short text") % {"name": p},
    "out_of_range": lambda p: _("%(name)s is out of range") % {"name": p},
    "data_too_large": lambda p: _("data is larger than 2 KB"),
    "bytes": lambda p: _("%(n)s bytes") % {"n": p},
    "json_at": lambda p: _("error at line %(line)s, column %(column)s") % _line_column(p),
    "not_utf8": lambda p: _("not UTF-8 text"),
    "items": lambda p: _("%(n)s payloads in one request") % {"n": p},
}


def _line_column(p: str) -> dict[str, str]:
    line, _sep, column = (p or "").partition(":")
    return {"line": line, "column": column}


def detail_text(detail: str) -> str:
    """The stored detail in the reader's language; free text (older rows, exceptions) as it is."""
    m = DETAIL_RE.match(detail or "")
    if m and m[1] in DETAILS:
        return DETAILS[m[1]](m[2] or "")
    return detail or ""
