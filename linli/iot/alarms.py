"""Alarm actions: raise (one open alarm per device and type; a repeat is counted), clear, close.

Every state change is audited (raises and closes; repeats only bump a counter) and announced after commit
through linli.iot.signals.alarms_changed. Maintenance alarms (offline, low battery, tamper) open a work order
(linli.cases.services.open_from_machine) that the system dispatches at once to the unit that repairs the
device (maintenance_unit); when the alarm clears, the order is resolved if nobody has started on it
(linli.cases.services.machine_recovered).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from linli.core import audit
from linli.iot.models import LIFE_SAFETY, OPEN_ALARM, Alarm, AlarmStatus, AlarmType, CloseReason, Device, Rule
from linli.iot.signals import alarms_changed

logger = logging.getLogger("linli.iot")

MAINTENANCE = frozenset({AlarmType.OFFLINE, AlarmType.LOW_BATTERY, AlarmType.TAMPER})
# Work-order categories for device maintenance (linli/cases/taxonomy.py). The taxonomy has no leaf for device
# repair. A device in a home or worn by a cared-for resident (bracelet, call button, bedroom sensor) belongs to
# the home elderly-care service it was installed for: 0701 养老服务. A device in a common area (gate, camera at
# the estate's gate): 0303 公共区域维修.
HOME_MAINTENANCE_CATEGORY = "0701"
COMMON_AREA_MAINTENANCE_CATEGORY = "0303"
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


def maintenance_category(device: Device) -> str:
    """The category code of the device's maintenance orders: home devices 0701, common-area devices 0303."""
    at_home = device.house_id is not None or device.resident_id is not None
    return HOME_MAINTENANCE_CATEGORY if at_home else COMMON_AREA_MAINTENANCE_CATEGORY


def maintenance_unit(device: Device, category=None):
    """The handling unit that repairs the device: its maintainer; else the property company serving its
    estate; else the routing rules for the category and the device's grid; else its community's unit (居委会).
    Inactive units are skipped. None: nobody is set up, and the order waits on the dispatch desk."""
    from linli.cases import routing
    from linli.cases.models import HandlingUnit

    units = HandlingUnit.objects.filter(active=True).order_by("code")
    if device.maintainer_id is not None:
        unit = units.filter(pk=device.maintainer_id).first()
        if unit is not None:
            return unit
    estate_id = device.estate_id or (device.house.estate_id if device.house is not None else None)
    if estate_id is not None:
        unit = units.filter(kind=HandlingUnit.Kind.PROPERTY, estates=estate_id).first()
        if unit is not None:
            return unit
    return routing.route(category, device.grid) or (
        units.filter(kind=HandlingUnit.Kind.COMMUNITY, area_id=device.community_id).first()
    )


def _open_work_order(alarm: Alarm, device: Device) -> None:
    """A maintenance alarm becomes a work order for the unit that repairs the device; a failure here must not
    lose the alarm. Its text is written in the site's language, whoever's request carried the message."""
    from linli.cases.services import category_by_code, open_from_machine

    with translation.override(settings.LANGUAGE_CODE):
        title = _("Device %(code)s: %(alarm)s") % {"code": device.code, "alarm": alarm.get_type_display()}
        description = _("%(alarm)s reported by %(kind)s %(code)s %(where)s. Check or repair the device.") % {
            "alarm": alarm.get_type_display(),
            "kind": device.get_kind_display(),
            "code": device.code,
            "where": device.location or "",
        }
    code = maintenance_category(device)
    try:
        with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
            category = category_by_code(code)
            case, _created = open_from_machine(
                "iot",
                f"{device.code}:{alarm.type}",
                title=title,
                description=description,
                area=device.grid,
                category_code=code,
                house=device.house,
                lat=device.lat,
                lng=device.lng,
                unit=maintenance_unit(device, category),
            )
            Alarm.objects.filter(pk=alarm.pk).update(work_order=case)
            alarm.work_order = case
    except Exception:
        logger.exception("could not open a work order for alarm %s", alarm.pk)


def clear_alarms(device_id: int, alarm_type: str, *, at: dt.datetime) -> list[int]:
    """The condition ended: open alarms of this device and type become cleared, and their work orders hear that
    the device recovered (linli.cases.services.machine_recovered)."""
    rows = list(_open(device_id, alarm_type).values_list("pk", "work_order_id"))
    ids = [pk for pk, _order in rows]
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
        for case_pk in sorted({order for _pk, order in rows if order is not None}):
            _recovered(case_pk)
        alarms_changed(ids, "cleared")
    return ids


def _recovered(case_pk: int) -> None:
    """Tell the work order its device recovered; a failure here must not undo the clearing."""
    from linli.cases.services import machine_recovered

    try:
        with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
            machine_recovered(case_pk, _("Device recovered"))
    except Exception:
        logger.exception("could not tell work order %s that its device recovered", case_pk)


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
