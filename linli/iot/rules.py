"""Rules: validation of their parameters, which rules apply to a device, the engine that turns a message into
alarm decisions, and export/import as JSON.

The engine is pure: `evaluate(rules, state, msg)` reads and updates the device's rule state (a dict kept in
Device.state under "_rules") and returns decisions; linli/iot/ingest.py applies them through linli/iot/alarms.py.
Periodic rules (offline, inactivity, meter idle) are evaluated by `check_devices` (linli/iot/tasks.py).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.services import require_perm
from linli.iot import defaults
from linli.iot.models import AlarmType, Device, DeviceKind, Rule, Severity

Kind = Rule.Kind
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
HHMM_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
STATE_KEY = "_rules"
# alarms that end by themselves when the condition ends
CLEARABLE = frozenset({Kind.THRESHOLD, Kind.OFFLINE, Kind.LOW_BATTERY})
# a low battery clears this many points above the rule's level, so a reading wavering at the level does not raise
# and clear (and open and resolve a work order) again and again
BATTERY_CLEAR_MARGIN = 5
# what counts as a sign of life for the inactivity rule
ACTIVITY_EVENTS = frozenset({"motion", "door", "presence", "activity", "sos", "fall"})
ACTIVITY_VALUES = ("motion", "door", "presence", "steps")


# ---------------------------------------------------------------- parameters


def _number(params: dict, key: str, errors: list, *, low: float, high: float, required: bool = True):
    value = params.get(key)
    if value is None:
        if required:
            errors.append(_("Set “%(name)s”.") % {"name": key})
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errors.append(_("“%(name)s” must be a number.") % {"name": key})
        return None
    if not low <= value <= high:
        errors.append(_("“%(name)s” must be between %(low)s and %(high)s.") % {"name": key, "low": low, "high": high})
        return None
    return value


def validate_params(kind: str, params: Any) -> dict:
    """Return the cleaned parameters for a rule kind, or raise ValidationError({"params": [...]})."""
    if not isinstance(params, dict):
        raise ValidationError({"params": [_("Parameters must be a JSON object.")]})
    errors: list[str] = []
    allowed: tuple[str, ...]
    if kind == Kind.EVENT:
        allowed = ("event",)
        event = params.get("event")
        if not isinstance(event, str) or not NAME_RE.match(event):
            errors.append(_("Name the event: letters, digits, '_', '.' or '-', at most 64."))
    elif kind == Kind.THRESHOLD:
        allowed = ("value", "min", "max", "for_seconds")
        if not isinstance(params.get("value"), str) or not NAME_RE.match(params["value"]):
            errors.append(_("Name the measured value, e.g. heart_rate."))
        low = _number(params, "min", errors, low=-1e9, high=1e9, required=False)
        high = _number(params, "max", errors, low=-1e9, high=1e9, required=False)
        if params.get("min") is None and params.get("max") is None:
            errors.append(_("Set a minimum, a maximum or both."))
        if low is not None and high is not None and low >= high:
            errors.append(_("The minimum must be below the maximum."))
        _number(params, "for_seconds", errors, low=0, high=86400)
    elif kind == Kind.INACTIVITY:
        allowed = ("hours", "night_hours", "night")
        _number(params, "hours", errors, low=1, high=168)
        _number(params, "night_hours", errors, low=1, high=168, required=False)
        night = params.get("night")
        if night is not None and (not isinstance(night, str) or not HHMM_RE.match(night)):
            errors.append(_("Write the night as HH:MM-HH:MM, e.g. 22:00-07:00."))
    elif kind == Kind.METER_IDLE:
        allowed = ("value", "hours")
        if not isinstance(params.get("value"), str) or not NAME_RE.match(params["value"]):
            errors.append(_("Name the meter reading, e.g. water_total."))
        _number(params, "hours", errors, low=1, high=720)
    elif kind == Kind.OFFLINE:
        allowed = ("minutes",)
        _number(params, "minutes", errors, low=1, high=30 * 24 * 60)
    elif kind == Kind.LOW_BATTERY:
        allowed = ("below",)
        _number(params, "below", errors, low=1, high=99)
    else:
        raise ValidationError({"kind": [_("Unknown rule kind.")]})
    extra = sorted(set(params) - set(allowed))
    if extra:
        errors.append(_("Unknown parameters: %(names)s.") % {"names": ", ".join(map(str, extra))})
    if errors:
        raise ValidationError({"params": errors})
    return {k: params[k] for k in allowed if k in params}


def clean_rule(rule: Rule) -> None:
    """Check a rule before saving it; raises ValidationError with field messages."""
    errors: dict[str, list[str]] = {}
    if rule.device_kind not in DeviceKind.values:
        errors["device_kind"] = [_("Unknown device type.")]
    if rule.alarm_type not in AlarmType.values:
        errors["alarm_type"] = [_("Unknown alarm.")]
    if rule.severity not in Severity.values:
        errors["severity"] = [_("Unknown severity.")]
    if rule.device_id is not None and rule.device is not None and rule.device.kind != rule.device_kind:
        errors["device"] = [_("The device is not of this type.")]
    try:
        rule.params = validate_params(rule.kind, rule.params)
    except ValidationError as e:
        for k, v in e.message_dict.items():
            errors.setdefault(k, []).extend(v)
    if errors:
        raise ValidationError(errors)


def ensure_default_rules(rule_model=None) -> int:
    """Create the default rules that do not exist yet (never changes an edited one); returns how many."""
    model = rule_model or Rule
    existing = set(model.objects.filter(device__isnull=True).values_list("device_kind", "kind", "alarm_type"))
    new = [
        model(device_kind=dk, kind=k, alarm_type=at, severity=sev, params=dict(p))
        for dk, k, at, sev, p in defaults.DEFAULT_RULES
        if (str(dk), k, str(at)) not in existing
    ]
    model.objects.bulk_create(new)
    return len(new)


# ---------------------------------------------------------------- which rules apply


class RuleSet:
    """The enabled rules in force, loaded once (per batch or job run): type defaults replaced by overrides."""

    def __init__(self, device_ids=None):
        self.defaults: dict[str, list[Rule]] = defaultdict(list)
        self.overrides: dict[int, list[Rule]] = defaultdict(list)
        for r in Rule.objects.filter(device__isnull=True):
            self.defaults[r.device_kind].append(r)
        q = Rule.objects.filter(device__isnull=False)
        if device_ids is not None:
            q = q.filter(device_id__in=list(device_ids))
        for r in q:
            self.overrides[r.device_id].append(r)

    def for_device(self, device: Device) -> list[Rule]:
        own = self.overrides.get(device.pk, [])
        replaced = {(r.kind, r.alarm_type) for r in own}
        rules = [r for r in self.defaults.get(device.kind, []) if (r.kind, r.alarm_type) not in replaced]
        return [r for r in rules + own if r.enabled]


# ---------------------------------------------------------------- the engine


@dataclass
class Decision:
    action: str  # "raise" or "clear"
    rule: Rule
    message: str = ""
    data: dict | None = None


def _iso(t: dt.datetime) -> str:
    return t.isoformat()


def _parse(s: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(s) if s else None


def rule_key(rule: Rule) -> str:
    return f"{rule.kind}:{rule.alarm_type}"


def is_activity(event: str | None, values: dict | None) -> bool:
    if event and event in ACTIVITY_EVENTS:
        return True
    return values is not None and any(values.get(k) for k in ACTIVITY_VALUES)


def evaluate(
    rules: list[Rule],
    state: dict,
    *,
    at: dt.datetime,
    event: str | None = None,
    values: dict | None = None,
    battery: float | None = None,
    online: bool | None = None,
) -> list[Decision]:
    """Decisions for one message received at server time `at`; `online` is a status message's flag (False:
    the device, or the broker's last will for it, says it is going away). `state` is the device's rule state
    (Device.state["_rules"]); it is updated in place. Thresholds and battery raise once per episode and
    clear when the condition ends (a battery BATTERY_CLEAR_MARGIN points above its level); events raise every
    time (repeats are counted on the open alarm)."""
    out: list[Decision] = []
    values = values or {}
    if (
        battery is None
        and isinstance(values.get("battery"), int | float)
        and not isinstance(values.get("battery"), bool)
    ):
        battery = values["battery"]
    for rule in rules:
        p, key = rule.params, rule_key(rule)
        if rule.kind == Kind.EVENT:
            if event is not None and event == p.get("event"):
                out.append(Decision("raise", rule, data={"event": event}))
        elif rule.kind == Kind.THRESHOLD:
            v = values.get(p.get("value"))
            if isinstance(v, bool) or not isinstance(v, int | float):
                continue
            low, high = p.get("min"), p.get("max")
            outside = (low is not None and v < low) or (high is not None and v > high)
            st = state.get(key)
            if outside:
                if st is None:
                    st = state[key] = {"since": _iso(at), "raised": False}
                since = _parse(st["since"])
                if not st["raised"] and since is not None and (at - since).total_seconds() >= p.get("for_seconds", 0):
                    st["raised"] = True
                    out.append(Decision("raise", rule, data={"value": v, "since": st["since"]}))
            elif st is not None:
                del state[key]
                if st.get("raised"):
                    out.append(Decision("clear", rule, data={"value": v}))
        elif rule.kind == Kind.LOW_BATTERY:
            if battery is None:
                continue
            below = p.get("below", 20)
            if battery < below and not state.get(key):
                state[key] = True
                out.append(Decision("raise", rule, data={"battery": battery}))
            elif battery >= below + BATTERY_CLEAR_MARGIN and state.get(key):
                del state[key]
                out.append(Decision("clear", rule, data={"battery": battery}))
        elif rule.kind == Kind.OFFLINE:
            # raised by the periodic job; any message means the device is back, except one saying it is not
            if online is not False and state.pop(key, None):
                out.append(Decision("clear", rule))
        elif rule.kind == Kind.INACTIVITY:
            if is_activity(event, values):
                state["active_at"] = _iso(at)
                state.pop(key, None)
        elif rule.kind == Kind.METER_IDLE:
            reading = values.get(p.get("value"))
            if isinstance(reading, int | float) and not isinstance(reading, bool):
                meter = state.get("meter") or {}
                if meter.get("value") != reading:
                    state["meter"] = {"value": reading, "since": _iso(at)}
                    state.pop(key, None)
    return out


def in_night(now_local: dt.datetime, night: str | None) -> bool:
    if not night:
        return False
    m = HHMM_RE.match(night)
    if not m:
        return False
    start = dt.time(int(m[1]), int(m[2]))
    end = dt.time(int(m[3]), int(m[4]))
    t = now_local.time()
    return (start <= t or t < end) if start > end else (start <= t < end)


def inactivity_due(rule: Rule, state: dict, now: dt.datetime, now_local: dt.datetime, since_default: dt.datetime):
    """True when no activity for the rule's hours (night_hours during the night window)."""
    if state.get(rule_key(rule)):
        return False
    p = rule.params
    hours = p.get("night_hours", p["hours"]) if in_night(now_local, p.get("night")) else p["hours"]
    last = _parse(state.get("active_at")) or since_default
    return (now - last).total_seconds() >= hours * 3600


def meter_idle_due(rule: Rule, state: dict, now: dt.datetime) -> bool:
    if state.get(rule_key(rule)):
        return False
    since = _parse((state.get("meter") or {}).get("since"))
    return since is not None and (now - since).total_seconds() >= rule.params["hours"] * 3600


def mark(rule: Rule, state: dict, value=True) -> None:
    """Remember that a periodic rule raised (so the job does not raise it again every minute)."""
    state[rule_key(rule)] = value


def save_rule(actor, rule: Rule) -> Rule:
    """Create or change one rule (the rules editor). A type's rule needs city-wide iot.manage; a device's rule
    needs the device in the actor's area (404 otherwise). Raises ValidationError with field messages."""
    require_perm(actor, "iot.manage")
    if actor is not None:
        if rule.device_id is None and not actor.scope_for("iot.manage").all:
            raise PermissionDenied(_("Only administrators of the whole city may change a type's rules."))
        if (
            rule.device_id is not None
            and not Device.objects.for_user(actor, "manage").filter(pk=rule.device_id).exists()
        ):
            raise Http404
    clean_rule(rule)
    clash = Rule.objects.filter(
        device_kind=rule.device_kind, device_id=rule.device_id, kind=rule.kind, alarm_type=rule.alarm_type
    ).exclude(pk=rule.pk)
    if clash.exists():
        raise ValidationError({"alarm_type": [_("There is already a rule of this kind for this alarm.")]})
    with transaction.atomic():
        before = audit.snapshot(Rule.objects.get(pk=rule.pk)) if rule.pk else None
        rule.save()
        audit.record_change(rule, before, audit.snapshot(rule), user=actor)
    return rule


# ---------------------------------------------------------------- export and import


FIELDS = ("device_kind", "kind", "alarm_type", "severity", "params", "enabled", "note")
FORMAT = "linli-rules"


def export_rules() -> dict:
    """All rules (defaults and per-device overrides) as a JSON-able document."""
    rows = []
    for r in Rule.objects.select_related("device").order_by("device_kind", "kind", "alarm_type", "device__code"):
        row = {f: getattr(r, f) for f in FIELDS}
        row["device"] = r.device.code if r.device_id else None
        rows.append(row)
    return {"format": FORMAT, "version": 1, "rules": rows}


def import_rules(actor, data: Any) -> dict:
    """Create or update rules from an export document; all or nothing. Rows are matched on (device type or
    device, kind, alarm). Raises ValidationError({"rows": ["row 3: …", …]}) listing every bad row.
    Returns {"created": n, "updated": n, "unchanged": n}."""
    require_perm(actor, "iot.manage")
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("rules"), list):
        raise ValidationError({"file": [_("This is not a Linli rules file (format linli-rules, version 1).")]})
    if data.get("version") != 1:
        raise ValidationError({"file": [_("Unsupported rules file version.")]})
    rows = data["rules"]
    codes = {r.get("device") for r in rows if isinstance(r, dict) and r.get("device")}
    devices = Device.objects.all() if actor is None else Device.objects.for_user(actor, "manage")
    by_code = {d.code: d for d in devices.filter(code__in=codes)}
    errors: list[str] = []
    planned: list[tuple[Rule | None, Rule]] = []
    seen: set[tuple] = set()
    existing = {(r.device_kind, r.device_id, r.kind, r.alarm_type): r for r in Rule.objects.all()}
    may_edit_defaults = actor is None or actor.scope_for("iot.manage").all
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            errors.append(_("row %(n)s: not an object.") % {"n": i})
            continue
        device = None
        if row.get("device"):
            device = by_code.get(row["device"])
            if device is None:
                errors.append(_("row %(n)s: unknown device %(code)s.") % {"n": i, "code": row["device"]})
                continue
        elif not may_edit_defaults:
            errors.append(_("row %(n)s: only administrators of the whole city may change a type's rules.") % {"n": i})
            continue
        rule = Rule(
            device=device,
            device_kind=row.get("device_kind", ""),
            kind=row.get("kind", ""),
            alarm_type=row.get("alarm_type", ""),
            severity=row.get("severity", Severity.MAJOR),
            params=row.get("params", {}),
            enabled=bool(row.get("enabled", True)),
            note=str(row.get("note", ""))[:200],
        )
        try:
            clean_rule(rule)
        except ValidationError as e:
            msgs = "; ".join(m for ms in e.message_dict.values() for m in ms)
            errors.append(_("row %(n)s: %(errors)s") % {"n": i, "errors": msgs})
            continue
        key = (rule.device_kind, device.pk if device else None, rule.kind, rule.alarm_type)
        if key in seen:
            errors.append(_("row %(n)s: the same rule appears twice.") % {"n": i})
            continue
        seen.add(key)
        planned.append((existing.get(key), rule))
    if errors:
        raise ValidationError({"rows": errors})
    summary = {"created": 0, "updated": 0, "unchanged": 0}
    with transaction.atomic():
        for old, new in planned:
            if old is None:
                new.save()
                audit.record_change(new, None, audit.snapshot(new), user=actor)
                summary["created"] += 1
                continue
            before = audit.snapshot(old)
            for f in ("severity", "params", "enabled", "note"):
                setattr(old, f, getattr(new, f))
            after = audit.snapshot(old)
            if audit.changes(before, after)[1]:
                old.save()
                audit.record_change(old, before, after, user=actor)
                summary["updated"] += 1
            else:
                summary["unchanged"] += 1
    return summary
