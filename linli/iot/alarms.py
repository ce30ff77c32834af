"""Alarm actions: raise (one open alarm per device and type; a repeat is counted), clear, close.

Every state change is audited (raises and closes; repeats only bump a counter) and announced after commit
through linli.iot.signals.alarms_changed. Maintenance alarms (offline, low battery, tamper) open a work order
for the property company or maintainer through linli.cases.services.open_from_machine.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit
from linli.iot.models import LIFE_SAFETY, OPEN_ALARM, Alarm, AlarmStatus, AlarmType, CloseReason, Device, Rule
from linli.iot.signals import alarms_changed

logger = logging.getLogger("linli.iot")

MAINTENANCE = frozenset({AlarmType.OFFLINE, AlarmType.LOW_BATTERY, AlarmType.TAMPER})
# the work-order category for device maintenance (../shared/taxonomy.md: 0303 common-area repair, property company)
MAINTENANCE_CATEGORY = "0303"
CLOSE_PERMS = ("dispatch.console", "iot.manage")


def _open(device_id: int, alarm_type: str):
    return Alarm.objects.filter(device_id=device_id, type=alarm_type, status__in=OPEN_ALARM)


def raise_alarm(
    device: Device,
    alarm_type: str,
    *,
    at: dt.datetime,
    severity: str,
    rule: Rule | None = None,
    device_ts: dt.datetime | None = None,
    message: str = "",
    data: dict | None = None,
) -> tuple[Alarm, bool]:
    """Open the device's alarm of this type, or count a repeat on the open one. Returns (alarm, created).
    Safe against a concurrent raise: the insert runs in a savepoint and falls back to the update when the
    one-open-alarm constraint fires. Call inside a transaction."""
    with transaction.atomic():
        for _attempt in range(3):
            if _open(device.pk, alarm_type).update(count=F("count") + 1, last_at=at, version=F("version") + 1):
                alarm = _open(device.pk, alarm_type).get()
                alarms_changed([alarm.pk], "repeated")
                return alarm, False
            alarm = Alarm(
                device=device,
                rule=rule,
                type=alarm_type,
                severity=severity,
                life_safety=alarm_type in LIFE_SAFETY,
                message=message[:200],
                data=data or {},
                resident_id=device.resident_id,
                house_id=device.house_id,
                estate_id=device.estate_id,
                grid_id=device.grid_id,
                community_id=device.community_id,
                street_id=device.street_id,
                district_id=device.district_id,
                city_id=device.city_id,
                lat=device.lat,
                lng=device.lng,
                device_ts=device_ts,
                raised_at=at,
                last_at=at,
            )
            try:
                with transaction.atomic():
                    alarm.save()
            except IntegrityError:
                continue  # someone opened it a moment ago: count ours on theirs
            audit.record_change(alarm, None, audit.snapshot(alarm), username="iot")
            if alarm_type in MAINTENANCE:
                _open_work_order(alarm, device)
            alarms_changed([alarm.pk], "raised")
            return alarm, True
    raise RuntimeError("could not raise the alarm")  # pragma: no cover - three lost races in a row


def _open_work_order(alarm: Alarm, device: Device) -> None:
    """A maintenance alarm becomes a work order; a failure here must not lose the alarm."""
    from linli.cases.services import open_from_machine

    title = _("Device %(code)s: %(alarm)s") % {"code": device.code, "alarm": alarm.get_type_display()}
    where = device.location or ""
    description = _("%(alarm)s reported by %(kind)s %(code)s %(where)s. Check or repair the device.") % {
        "alarm": alarm.get_type_display(),
        "kind": device.get_kind_display(),
        "code": device.code,
        "where": where,
    }
    try:
        with transaction.atomic():
            case, _created = open_from_machine(
                "iot",
                f"{device.code}:{alarm.type}",
                title=title,
                description=description,
                area=device.grid,
                category_code=MAINTENANCE_CATEGORY,
                house=device.house,
                lat=device.lat,
                lng=device.lng,
            )
            Alarm.objects.filter(pk=alarm.pk).update(work_order=case)
            alarm.work_order = case
    except Exception:
        logger.exception("could not open a work order for alarm %s", alarm.pk)


def clear_alarms(device_id: int, alarm_type: str, *, at: dt.datetime) -> list[int]:
    """The condition ended: open alarms of this device and type become cleared."""
    ids = list(_open(device_id, alarm_type).values_list("pk", flat=True))
    if ids:
        Alarm.objects.filter(pk__in=ids, status__in=OPEN_ALARM).update(
            status=AlarmStatus.CLEARED, cleared_at=at, version=F("version") + 1
        )
        for pk in ids:
            audit.record(
                "update",
                object_type="iot.alarm",
                object_id=str(pk),
                object_repr=f"alarm {pk}",
                before={"status": "open"},
                after={"status": AlarmStatus.CLEARED},
                username="iot",
            )
        alarms_changed(ids, "cleared")
    return ids


def close_alarm(actor, alarm_id: int, reason: str, note: str = "", expected_version: int | None = None) -> Alarm:
    """Close an alarm as handled, false alarm or test. The actor needs dispatch.console or iot.manage and the
    alarm in their area (404 otherwise). A cleared alarm can be closed too; a closed one cannot."""
    if reason not in CloseReason.values:
        raise ValidationError({"reason": [_("Choose why the alarm is closed: handled, false alarm or test.")]})
    if reason != CloseReason.RESOLVED and not (note or "").strip():
        raise ValidationError({"note": [_("Say why this was a false alarm or a test.")]})
    if len(note or "") > 500:
        raise ValidationError({"note": [_("At most 500 characters.")]})
    if actor is not None:
        if not any(actor.has_linli_perm(p) for p in CLOSE_PERMS):
            raise PermissionDenied(_("You do not have permission to do this."))
        if not Alarm.objects.for_user(actor, "view").filter(pk=alarm_id).exists():
            raise Http404
    with transaction.atomic():
        alarm = Alarm.objects.select_for_update().filter(pk=alarm_id).first()
        if alarm is None:
            raise Http404
        if expected_version is not None and alarm.version != expected_version:
            raise ValidationError(_("Someone changed this alarm while you were looking at it. Reload it."))
        if alarm.status == AlarmStatus.CLOSED:
            raise ValidationError(_("This alarm is already closed."))
        before = audit.snapshot(alarm)
        alarm.status = AlarmStatus.CLOSED
        alarm.closed_at = timezone.now()
        alarm.closed_by = actor
        alarm.close_reason = reason
        alarm.close_note = (note or "").strip()
        alarm.version += 1
        alarm.save()
        audit.record_change(alarm, before, audit.snapshot(alarm), user=actor)
        alarms_changed([alarm.pk], "closed")
    return alarm
