"""Dispatch center actions: claim an alarm, call back, dispatch a rescuer, hand over, close; the rescuer's
steps; escalation of alarms nobody takes.

Every action is a transaction that re-checks scope, is audited and leaves an IncidentEvent. Incident actions
carry the `version` the user saw (optimistic locking): if someone changed the incident meanwhile the action is
refused with a clear message instead of overwriting. Claiming is one conditional UPDATE (… WHERE claimed_by IS
NULL AND status = 'active'), so of several call-takers exactly one wins; the others learn who took it.
Alarm state changes are announced with linli.iot.signals.alarms_changed (after commit).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.audit import snapshot
from linli.dispatch import recommend as rec
from linli.dispatch.models import OPEN_INCIDENT, Incident, IncidentEvent, IncidentStatus, Rescuer, Shift
from linli.iot.models import Alarm, AlarmStatus, CloseReason
from linli.iot.signals import alarms_changed
from linli.notifications.models import Notification
from linli.notifications.services import notify

logger = logging.getLogger("linli.dispatch")

CONSOLE = "dispatch.console"
RESCUE = "dispatch.rescue"
LEAD = "dispatch.lead"
Callback = Incident.Callback
HandoverTo = Incident.HandoverTo


class ConflictError(ValidationError):
    """The incident or alarm changed under the user: nothing was written."""


# ---------------------------------------------------------------- scope


def _scoped(qs, user, perm: str):
    if user is None:
        return qs
    scope = user.scope_for(perm)
    if scope.empty:
        return qs.none()
    if scope.all:
        return qs
    return qs.filter(qs.model.scope_q(scope))


def console_alarms(user):
    """Life-safety alarms in the user's console scope."""
    return _scoped(Alarm.objects.filter(life_safety=True), user, CONSOLE)


def console_incidents(user):
    return Incident.objects.for_user(user, "console")


def console_rescuers(user):
    return Rescuer.objects.for_user(user, "console")


def open_console_alarms(user):
    return (
        console_alarms(user)
        .filter(status__in=(AlarmStatus.ACTIVE, AlarmStatus.ACKNOWLEDGED))
        .select_related(
            "device", "resident", "house__unit", "house__building", "grid", "street", "claimed_by", "incident"
        )
    )


def _require_perm(user, perm: str) -> None:
    if user is not None and not user.has_linli_perm(perm):
        raise Http404


def _name(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


# ---------------------------------------------------------------- helpers


def _event(incident: Incident, actor, action: str, note: str = "", at=None, **data) -> IncidentEvent:
    return IncidentEvent.objects.create(
        incident=incident,
        at=at or timezone.now(),
        actor=actor,
        action=action,
        status=incident.status,
        note=note[:500],
        data=data,
    )


def _area_ids(obj) -> list[int]:
    return [obj.grid_id, obj.community_id, obj.street_id, obj.district_id, obj.city_id]


def current_shift(area_ids, now=None) -> Shift | None:
    now = now or timezone.now()
    return (
        Shift.objects.filter(area_id__in=[a for a in area_ids if a], starts_at__lte=now, ends_at__gt=now)
        .order_by("-starts_at")
        .first()
    )


def _where(alarm: Alarm) -> tuple[float | None, float | None]:
    if alarm.lat is not None and alarm.lng is not None:
        return alarm.lat, alarm.lng
    device = alarm.device
    if device.lat is not None and device.lng is not None:
        return device.lat, device.lng
    house = alarm.house
    if house is not None and house.building.lat is not None:
        return house.building.lat, house.building.lng
    return alarm.grid.lat, alarm.grid.lng


def _close_alarm(alarm: Alarm, actor, reason: str, note: str, now) -> bool:
    n = Alarm.objects.filter(pk=alarm.pk, status__in=(AlarmStatus.ACTIVE, AlarmStatus.ACKNOWLEDGED)).update(
        status=AlarmStatus.CLOSED,
        closed_at=now,
        closed_by=actor,
        close_reason=reason,
        close_note=note[:500],
        version=F("version") + 1,
    )
    if n:
        audit.record(
            audit.AuditRecord.Action.UPDATE,
            alarm,
            before={"status": alarm.status},
            after={"status": AlarmStatus.CLOSED, "close_reason": reason},
            user=actor,
        )
        alarms_changed([alarm.pk], "closed")
    return bool(n)


# ---------------------------------------------------------------- claim


def claim(actor, alarm_id: int) -> Incident:
    """Take an active life-safety alarm: exactly one call-taker wins; the incident opens (received = the
    alarm's receive time, acknowledged = now) and the alarm is acknowledged."""
    _require_perm(actor, CONSOLE)
    if not console_alarms(actor).filter(pk=alarm_id).exists():
        raise Http404
    with transaction.atomic():
        now = timezone.now()
        won = Alarm.objects.filter(pk=alarm_id, claimed_by__isnull=True, status=AlarmStatus.ACTIVE).update(
            claimed_by=actor,
            claimed_at=now,
            status=AlarmStatus.ACKNOWLEDGED,
            acknowledged_at=now,
            acknowledged_by=actor,
            version=F("version") + 1,
        )
        alarm = Alarm.objects.select_related("claimed_by", "device", "house__building", "grid").get(pk=alarm_id)
        if not won:
            if alarm.claimed_by_id and alarm.claimed_by_id != actor.pk:
                raise ConflictError(_("This alarm is already taken by %(name)s.") % {"name": _name(alarm.claimed_by)})
            if alarm.claimed_by_id == actor.pk and hasattr(alarm, "incident"):
                return alarm.incident
            raise ConflictError(
                _("This alarm is no longer waiting: it is %(state)s.") % {"state": alarm.get_status_display()}
            )
        lat, lng = _where(alarm)
        incident = Incident.objects.create(
            alarm=alarm,
            status=IncidentStatus.OPEN,
            call_taker=actor,
            shift=current_shift(_area_ids(alarm), now),
            resident_id=alarm.resident_id,
            house_id=alarm.house_id,
            estate_id=alarm.estate_id,
            grid_id=alarm.grid_id,
            community_id=alarm.community_id,
            street_id=alarm.street_id,
            district_id=alarm.district_id,
            city_id=alarm.city_id,
            lat=lat,
            lng=lng,
            received_at=alarm.raised_at,
            acknowledged_at=now,
        )
        _event(incident, None, "received", at=alarm.raised_at, alarm=alarm.pk)
        _event(incident, actor, "claimed", at=now)
        audit.record(
            audit.AuditRecord.Action.UPDATE,
            alarm,
            before={"status": AlarmStatus.ACTIVE, "claimed_by": None},
            after={"status": AlarmStatus.ACKNOWLEDGED, "claimed_by": actor.pk},
            user=actor,
        )
        audit.record_change(incident, None, snapshot(incident), user=actor)
        alarms_changed([alarm.pk], "claimed")
    return incident


# ---------------------------------------------------------------- incident actions (console)


def _locked(actor, incident_id: int, version: int | None, perm: str = CONSOLE) -> Incident:
    _require_perm(actor, perm)
    qs = console_incidents(actor) if perm == CONSOLE else Incident.objects.filter(rescuer__user=actor)
    if actor is not None and not qs.filter(pk=incident_id).exists():
        raise Http404
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    if version is not None and int(version) != incident.version:
        raise ConflictError(
            _("Someone else changed this incident meanwhile (it is now: %(state)s). Reload the page and try again.")
            % {"state": incident.get_status_display()}
        )
    return incident


def _open_only(incident: Incident) -> None:
    if incident.status not in OPEN_INCIDENT:
        raise ConflictError(_("This incident is already closed."))


def _save(incident: Incident, actor, before: dict, action: str, note: str = "", **data) -> Incident:
    incident.version += 1
    incident.save()
    _event(incident, actor, action, note, **data)
    audit.record_change(incident, before, snapshot(incident), user=actor)
    return incident


def _free_rescuer(rescuer: Rescuer | None) -> None:
    if rescuer is not None:
        Rescuer.objects.filter(pk=rescuer.pk).exclude(status=Rescuer.Status.OFF_DUTY).update(
            status=Rescuer.Status.AVAILABLE
        )


def record_callback(actor, incident_id: int, version: int | None, outcome: str, note: str = "") -> Incident:
    """The call-taker rang the person back. A false alarm closes the alarm (reason: false alarm) and the
    incident."""
    if outcome not in Callback.values:
        raise ValidationError({"outcome": _("Choose what the call-back found.")})
    with transaction.atomic():
        incident = _locked(actor, incident_id, version)
        _open_only(incident)
        before = snapshot(incident)
        now = timezone.now()
        incident.callback = outcome
        incident.callback_note = (note or "").strip()[:500]
        incident.called_back_at = incident.called_back_at or now
        if outcome == Callback.FALSE_ALARM:
            incident.status = IncidentStatus.CLOSED
            incident.closed_at = now
            incident.outcome = incident.callback_note or str(Callback.FALSE_ALARM.label)
            _free_rescuer(incident.rescuer)
            _close_alarm(incident.alarm, actor, CloseReason.FALSE_ALARM, incident.callback_note, now)
        elif incident.status == IncidentStatus.OPEN:
            incident.status = IncidentStatus.CALLED_BACK
        return _save(incident, actor, before, "called_back", incident.callback_note, outcome=outcome)


def dispatch_rescuer(actor, incident_id: int, version: int | None, rescuer_id: int) -> Incident:
    """Send a rescuer (available, in the actor's scope) and tell them on their phone."""
    with transaction.atomic():
        incident = _locked(actor, incident_id, version)
        _open_only(incident)
        if incident.rescuer_id and incident.status in (
            IncidentStatus.DISPATCHED,
            IncidentStatus.EN_ROUTE,
            IncidentStatus.ON_SCENE,
        ):
            raise ConflictError(_("A rescuer is already on this incident."))
        rescuer = console_rescuers(actor).select_related("user").filter(pk=rescuer_id).first()
        if rescuer is None:
            raise ValidationError({"rescuer": _("Choose a rescuer of your center.")})
        # what Linli would have recommended at this moment (kept to measure how often dispatchers follow it)
        recommended = rec.recommend(incident) if incident.recommended_rescuer_id is None else None
        taken = Rescuer.objects.filter(pk=rescuer.pk, status=Rescuer.Status.AVAILABLE).update(
            status=Rescuer.Status.ASSIGNED
        )
        if not taken:
            rescuer.refresh_from_db(fields=["status"])
            raise ConflictError(
                _("%(name)s cannot be sent: they are %(state)s.")
                % {"name": str(rescuer), "state": rescuer.get_status_display()}
            )
        before = snapshot(incident)
        if recommended is not None:
            incident.recommended_rescuer = recommended.rescuer
        incident.rescuer = rescuer
        incident.status = IncidentStatus.DISPATCHED
        incident.dispatched_at = timezone.now()
        minutes = (
            rec.travel_minutes(rescuer, incident.lat, incident.lng)
            if incident.lat is not None and incident.lng is not None
            else None
        )
        _save(incident, actor, before, "dispatched", str(rescuer), rescuer=rescuer.pk, eta_minutes=minutes)
        alarm = incident.alarm
        notify(
            [rescuer.user],
            Notification.Kind.ASSIGNED,
            _("Emergency: %(alarm)s") % {"alarm": alarm.get_type_display()},
            body=_("%(who)s at %(where)s. Open your rescue page and accept.")
            % {
                "who": incident.resident.name if incident.resident else "—",
                "where": str(incident.house or incident.grid),
            },
            url="/dispatch/rescue/",
            obj=incident,
        )
    return incident


def record_handover(actor, incident_id: int, version: int | None, to: str, note: str = "", perm=CONSOLE) -> Incident:
    if to not in HandoverTo.values or not to:
        raise ValidationError({"to": _("Choose who took the person over.")})
    with transaction.atomic():
        incident = _locked(actor, incident_id, version, perm)
        _open_only(incident)
        before = snapshot(incident)
        incident.handover_to = to
        incident.handed_over_at = timezone.now()
        incident.status = IncidentStatus.HANDED_OVER
        return _save(incident, actor, before, "handed_over", (note or "").strip(), to=to)


def close(actor, incident_id: int, version: int | None, outcome: str, perm=CONSOLE) -> Incident:
    """Finish the incident: completed if a rescuer went, otherwise closed; the alarm closes as handled."""
    outcome = (outcome or "").strip()
    if not outcome:
        raise ValidationError({"outcome": _("Write what happened before closing.")})
    with transaction.atomic():
        incident = _locked(actor, incident_id, version, perm)
        _open_only(incident)
        before = snapshot(incident)
        now = timezone.now()
        went = incident.on_scene_at or incident.handed_over_at or incident.dispatched_at
        incident.status = IncidentStatus.COMPLETED if went else IncidentStatus.CLOSED
        incident.outcome = outcome[:2000]
        incident.closed_at = now
        _free_rescuer(incident.rescuer)
        _close_alarm(incident.alarm, actor, CloseReason.RESOLVED, outcome, now)
        return _save(incident, actor, before, "closed", outcome[:500])


# ---------------------------------------------------------------- the rescuer's phone


def my_rescuer(user) -> Rescuer | None:
    if not user.has_linli_perm(RESCUE):
        return None
    return Rescuer.objects.filter(user=user).first()


def my_incident(user) -> Incident | None:
    return (
        Incident.objects.filter(rescuer__user=user, status__in=OPEN_INCIDENT)
        .select_related("resident", "house", "grid", "alarm", "alarm__device")
        .order_by("-dispatched_at")
        .first()
    )


RESCUER_STEPS = {
    # action: (allowed from, incident status after, timestamp field, rescuer status after)
    "accept": ((IncidentStatus.DISPATCHED,), IncidentStatus.EN_ROUTE, "en_route_at", Rescuer.Status.EN_ROUTE),
    "on_scene": (
        (IncidentStatus.DISPATCHED, IncidentStatus.EN_ROUTE),
        IncidentStatus.ON_SCENE,
        "on_scene_at",
        Rescuer.Status.ON_SCENE,
    ),
}


def rescuer_step(actor, incident_id: int, version: int | None, action: str) -> Incident:
    if action not in RESCUER_STEPS:
        raise ValidationError(_("Unknown step."))
    allowed, status, field, rescuer_status = RESCUER_STEPS[action]
    with transaction.atomic():
        incident = _locked(actor, incident_id, version, RESCUE)
        if incident.status not in allowed:
            raise ConflictError(
                _("This step does not fit now: the incident is %(state)s.") % {"state": incident.get_status_display()}
            )
        before = snapshot(incident)
        now = timezone.now()
        incident.status = status
        setattr(incident, field, now)
        if action == "on_scene" and incident.en_route_at is None:
            incident.en_route_at = now
        Rescuer.objects.filter(pk=incident.rescuer_id).update(status=rescuer_status)
        return _save(incident, actor, before, action)


def rescuer_handover(actor, incident_id, version, to, note="") -> Incident:
    return record_handover(actor, incident_id, version, to, note, perm=RESCUE)


def rescuer_complete(actor, incident_id, version, outcome) -> Incident:
    return close(actor, incident_id, version, outcome, perm=RESCUE)


def set_duty(actor, on: bool) -> Rescuer:
    rescuer = my_rescuer(actor)
    if rescuer is None:
        raise Http404
    with transaction.atomic():
        rescuer = Rescuer.objects.select_for_update().get(pk=rescuer.pk)
        busy = rescuer.status in (Rescuer.Status.ASSIGNED, Rescuer.Status.EN_ROUTE, Rescuer.Status.ON_SCENE)
        if not on and busy:
            raise ConflictError(_("Finish your current incident before going off duty."))
        if busy:
            return rescuer
        before = {"status": rescuer.status}
        rescuer.status = Rescuer.Status.AVAILABLE if on else Rescuer.Status.OFF_DUTY
        rescuer.save(update_fields=["status", "updated_at"])
        audit.record_change(rescuer, before, {"status": rescuer.status}, user=actor)
    return rescuer


def share_position(actor, lat, lng) -> Rescuer:
    rescuer = my_rescuer(actor)
    if rescuer is None:
        raise Http404
    try:
        lat, lng = float(lat), float(lng)
    except (TypeError, ValueError):
        raise ValidationError(_("The position could not be read.")) from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise ValidationError(_("The position could not be read."))
    Rescuer.objects.filter(pk=rescuer.pk).update(lat=lat, lng=lng, position_at=timezone.now())
    rescuer.refresh_from_db()
    return rescuer


# ---------------------------------------------------------------- escalation


def escalate_seconds() -> int:
    return max(1, int(settings.LINLI_ALARM_ESCALATE_SECONDS))


def leads_for(alarm: Alarm, now=None) -> list:
    """Who hears about an untaken alarm: users holding dispatch.lead through an assignment on one of the
    alarm's areas, and the lead of the shift on duty there."""
    from linli.accounts.models import Assignment, User

    areas = [a for a in _area_ids(alarm) if a]
    ids = {
        a.user_id
        for a in Assignment.objects.filter(area_id__in=areas, user__is_active=True).select_related("role")
        if LEAD in a.role.permissions
    }
    shift = current_shift(areas, now)
    if shift and shift.lead_id:
        ids.add(shift.lead_id)
    return list(User.objects.filter(pk__in=ids, is_active=True))


def due_for_escalation(now=None) -> list[Alarm]:
    now = now or timezone.now()
    step = dt.timedelta(seconds=escalate_seconds())
    rows = Alarm.objects.filter(
        life_safety=True, status=AlarmStatus.ACTIVE, claimed_by__isnull=True, raised_at__lte=now - step
    ).filter(Q(escalated_at__isnull=True) | Q(escalated_at__lte=now - step))
    due = []
    for alarm in rows.select_related("device"):
        if alarm.escalated_at is None or alarm.escalated_at + step * max(1, alarm.notify_count) <= now:
            due.append(alarm)
    return due


def escalate(now=None) -> int:
    """Notify the shift leads of every alarm still untaken after the escalation time, again every interval
    until someone acts. Idempotent: each notification round is one conditional update of notify_count."""
    now = now or timezone.now()
    done = []
    for alarm in due_for_escalation(now):
        with transaction.atomic():
            n = Alarm.objects.filter(
                pk=alarm.pk, status=AlarmStatus.ACTIVE, claimed_by__isnull=True, notify_count=alarm.notify_count
            ).update(
                escalated_at=alarm.escalated_at or now, notify_count=F("notify_count") + 1, version=F("version") + 1
            )
            if not n:
                continue
            waited = int((now - alarm.raised_at).total_seconds())
            notify(
                leads_for(alarm, now),
                Notification.Kind.ESCALATED,
                _("Alarm not taken for %(s)d s: %(alarm)s") % {"s": waited, "alarm": alarm.get_type_display()},
                body=_("Nobody has claimed this alarm yet. Open the dispatch console."),
                url="/dispatch/",
                obj=alarm,
            )
            done.append(alarm.pk)
    if done:
        alarms_changed(done, "escalated")
    return len(done)
