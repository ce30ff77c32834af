"""Device jobs on Huey (docs/jobs.md): `check_devices` every minute — offline detection, the inactivity and
meter-idle rules, telemetry partitions ahead, pruning the msg_id dedupe table. `manage.py check_devices` runs
the same once. One run at a time across workers (a Huey lock); idempotent, so a run cut short is finished by
the next.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task
from huey.exceptions import TaskLockedException

from linli.iot import alarms, ingest, rules
from linli.iot.models import Device, Rule

logger = logging.getLogger("linli.jobs")

CHECK_LOCK = HUEY.lock_task("iot-check-devices")
ELDERLY_AGE = 60
LIVING_ALONE = "living_alone"  # people.Label code of 独居 (people migration 0003)


def _candidates(ruleset: rules.RuleSet, kind: str) -> dict[int, Rule]:
    """device id -> the rule of this kind in force, for the devices that have one."""
    out: dict[int, Rule] = {}
    kinds_with_default = {dk for dk, rs in ruleset.defaults.items() if any(r.kind == kind for r in rs)}
    overridden = {dev for dev, rs in ruleset.overrides.items() if any(r.kind == kind for r in rs)}
    q = Q(kind__in=kinds_with_default) | Q(pk__in=overridden)
    for d in Device.objects.filter(q, active=True).only("pk", "kind"):
        for r in ruleset.for_device(d):
            if r.kind == kind:
                out[d.pk] = r
    return out


def _raise_periodic(device_id: int, rule: Rule, now: dt.datetime, due, offline: bool = False) -> bool:
    """Lock the device, re-check `due(device, state)`, raise and remember it in the rule state."""
    with transaction.atomic():
        device = Device.objects.select_for_update(of=("self",)).filter(pk=device_id).first()
        if device is None:
            return False
        if not isinstance(device.state, dict):
            device.state = {}
        state = device.state.setdefault(rules.STATE_KEY, {})
        if not due(device, state):
            return False
        rules.mark(rule, state)
        fields = ["state"]
        if offline:
            device.online = False
            fields.append("online")
        device.save(update_fields=fields)
        alarms.raise_alarm(device, rule.alarm_type, at=now, severity=rule.severity, rule=rule, data=dict(rule.params))
        return True


def check_devices(now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    local = now.astimezone(ZoneInfo(settings.TIME_ZONE))
    started = time.monotonic()
    ruleset = rules.RuleSet()
    done: dict[str, float] = {"offline": 0, "inactivity": 0, "meter_idle": 0}

    # offline: nothing heard within the rule's minutes (never-seen devices are not installed yet)
    for device_id, rule in _candidates(ruleset, Rule.Kind.OFFLINE).items():
        cutoff = now - dt.timedelta(minutes=rule.params["minutes"])

        def offline_due(d, state, cutoff=cutoff, rule=rule):
            return d.last_seen_at is not None and d.last_seen_at < cutoff and not state.get(rules.rule_key(rule))

        if Device.objects.filter(pk=device_id, last_seen_at__lt=cutoff).exists():
            done["offline"] += _raise_periodic(device_id, rule, now, offline_due, offline=True)

    # inactivity and meter idle: only for a cared-for resident living alone (meters: and elderly)
    alone = set(Device.objects.filter(resident__labels__code=LIVING_ALONE, active=True).values_list("pk", flat=True))
    for device_id, rule in _candidates(ruleset, Rule.Kind.INACTIVITY).items():
        if device_id not in alone:
            continue

        def inactive_due(d, state, rule=rule):
            since = d.installed_on and dt.datetime.combine(d.installed_on, dt.time(), tzinfo=dt.UTC)
            return rules.inactivity_due(rule, state, now, local, since or d.created_at)

        done["inactivity"] += _raise_periodic(device_id, rule, now, inactive_due)
    for device_id, rule in _candidates(ruleset, Rule.Kind.METER_IDLE).items():
        if device_id not in alone:
            continue

        def idle_due(d, state, rule=rule):
            age = d.resident.age_on(local.date()) if d.resident_id else None
            return age is not None and age >= ELDERLY_AGE and rules.meter_idle_due(rule, state, now)

        done["meter_idle"] += _raise_periodic(device_id, rule, now, idle_due)

    done["partitions"] = len(ingest.ensure_partitions())
    done["pruned"] = ingest.prune_seen() + ingest.prune_rejected()
    done["seconds"] = round(time.monotonic() - started, 3)
    return done


@db_periodic_task(crontab(minute="*"))
def check_devices_task() -> dict | None:
    try:
        with CHECK_LOCK:
            result = check_devices()
    except TaskLockedException:
        logger.info("device check skipped: another worker is checking")
        return None
    if result["offline"] or result["inactivity"] or result["meter_idle"]:
        logger.info("device check: %s", result)
    return result
