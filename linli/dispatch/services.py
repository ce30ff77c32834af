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
from django.core.exceptions import PermissionDenied, ValidationError
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
from linli.people import services as people_services

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


# what an alarm card shows, joined in the one query of the console's list and of a live push
CONSOLE_RELATED = (
    "device",
    "resident",
    "resident__care_profile",
    "house__unit",
    "house__building",
    "house__estate",
    "estate",
    "grid",
    "community",
    "street",
    "claimed_by",
    "incident",
)


def open_console_alarms(user):
    return (
        console_alarms(user)
        .filter(status__in=(AlarmStatus.ACTIVE, AlarmStatus.ACKNOWLEDGED))
        .select_related(*CONSOLE_RELATED)
        .prefetch_related("resident__labels")
    )


def _require_perm(user, perm: str) -> None:
    if user is not None and not user.has_linli_perm(perm):
        raise Http404


def person_name(user) -> str:
    """How Linli names a staff member: their display name (User.__str__), the login name only without one."""
    return str(user) if user else ""


def masked_name(name: str) -> str:
    """张桂兰 → 张**: enough for a shift lead to tell alarms apart in an inbox, not a full name."""
    name = (name or "").strip()
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def place_text(obj) -> str:
    """Where an alarm or incident is, naming the estate and community: "新华里小区 1号楼 1-101 · 新华里社区".

    Without a house it is the grid; the street is left out (the console serves one street or district)."""
    house = getattr(obj, "house", None)
    estate = obj.estate if getattr(obj, "estate_id", None) else None
    if estate is None and house is not None and house.estate_id:
        estate = house.estate  # a device registered without its estate still sits in the house's
    community = getattr(obj, "community", None)
    if house is not None:
        here = f"{estate.name} {house}" if estate is not None else str(house)
    else:
        here = obj.grid.name
    return f"{here} · {community.name}" if community is not None and community.name not in here else here


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
                raise ConflictError(
                    _("This alarm is already taken by %(name)s.") % {"name": person_name(alarm.claimed_by)}
                )
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
    _announce(incident, action, before.get("rescuer_id"))
    return incident


def _announce(incident: Incident, action: str, previous_rescuer_id: int | None = None) -> None:
    """After commit, tell the open incident pages and the rescuer's phone that the incident changed
    (linli/dispatch/live.py); the pages then reload what they show over HTTP, in the user's scope."""
    rescuer_ids = {r for r in (incident.rescuer_id, previous_rescuer_id) if r}
    user_ids = list(Rescuer.objects.filter(pk__in=rescuer_ids).values_list("user_id", flat=True))
    change = {"id": incident.pk, "version": incident.version, "status": incident.status, "action": action}

    def send() -> None:
        from linli.dispatch import live

        try:
            live.push_incident(change, user_ids)
        except Exception:
            logger.exception("could not push incident %s (%s) to its pages", change["id"], action)

    transaction.on_commit(send)


def _free_rescuer(rescuer: Rescuer | None) -> None:
    if rescuer is not None:
        Rescuer.objects.filter(pk=rescuer.pk).exclude(status=Rescuer.Status.OFF_DUTY).update(
            status=Rescuer.Status.AVAILABLE
        )


FALSE_ALARM_NOTE_MIN = 4


def record_callback(
    actor, incident_id: int, version: int | None, outcome: str, note: str = "", confirmed: bool = False
) -> Incident:
    """The call-taker rang the person back. A false alarm closes the alarm (reason: false alarm) and the
    incident without a rescue, so it needs a note saying why and an explicit confirmation (`confirmed`)."""
    if outcome not in Callback.values:
        raise ValidationError({"outcome": _("Choose what the call-back found.")})
    note = (note or "").strip()
    if outcome == Callback.FALSE_ALARM:
        if len(note) < FALSE_ALARM_NOTE_MIN:
            raise ValidationError(
                {
                    "note": _(
                        "A false alarm closes the incident without a rescue: write in the note what the person "
                        "said (at least %(n)d characters)."
                    )
                    % {"n": FALSE_ALARM_NOTE_MIN}
                }
            )
        if not confirmed:
            raise ValidationError(
                {"confirm": _("Tick the box to confirm that this closes the incident as a false alarm.")}
            )
    with transaction.atomic():
        incident = _locked(actor, incident_id, version)
        _open_only(incident)
        before = snapshot(incident)
        now = timezone.now()
        incident.callback = outcome
        incident.callback_note = note[:500]
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
                % {"name": person_name(rescuer.user), "state": rescuer.get_status_display()}
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
        _save(incident, actor, before, "dispatched", person_name(rescuer.user), rescuer=rescuer.pk, eta_minutes=minutes)
        alarm = incident.alarm
        notify(
            [rescuer.user],
            Notification.Kind.ASSIGNED,
            _("Emergency: %(alarm)s") % {"alarm": alarm.get_type_display()},
            body=_("%(who)s at %(where)s. Open your rescue page and accept.")
            % {
                "who": incident.resident.name if incident.resident else "—",
                "where": place_text(incident),
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
        .select_related(
            "resident",
            "resident__care_profile",
            "house__building",
            "house__unit",
            "house__estate",
            "estate",
            "grid",
            "community",
            "alarm",
            "alarm__device",
        )
        .order_by("-dispatched_at")
        .first()
    )


REVEAL_PURPOSE_MIN = people_services.MIN_PURPOSE  # as on the resident page


def household_of(incident: Incident) -> list:
    """The people living at the incident's house when its device is bound to nobody (a home smoke, gas or
    leak detector): whom the dispatcher and the rescuer can call. Owners, tenants and residents who live there,
    not those only registered there; living ones, those who live there first. Empty when the alarm names its
    person. The incident's scope is the gate: whoever may see the incident may see whom to call for it."""
    from linli.people.models import Occupancy, Resident

    if incident.resident_id is not None or incident.house_id is None:
        return []
    relations = {Occupancy.Relation.LIVES: 0, Occupancy.Relation.TENANT: 1, Occupancy.Relation.OWNER: 2}
    occupancies = (
        Occupancy.objects.filter(
            house_id=incident.house_id, relation__in=relations, resident__status=Resident.Status.ACTIVE
        )
        .select_related("resident")
        .prefetch_related("resident__emergency_contacts")
        .order_by("resident__name", "resident_id")
    )
    seen: dict[int, tuple[int, object]] = {}
    for occ in occupancies:
        rank = relations[occ.relation]
        if occ.resident_id not in seen or rank < seen[occ.resident_id][0]:
            occ.resident.home_relation = occ.get_relation_display()  # type: ignore[attr-defined]
            seen[occ.resident_id] = (rank, occ.resident)
    return [r for _rank, r in sorted(seen.values(), key=lambda pair: pair[0])][:HOUSEHOLD_MAX]


HOUSEHOLD_MAX = 8


def household_member(incident: Incident, resident_id) -> object:
    """One of household_of(incident) by id, or 404."""
    for resident in household_of(incident):
        if str(resident.pk) == str(resident_id):
            return resident
    raise Http404


def incident_contact(incident: Incident, contact_id):
    """An emergency contact of the incident's person, or of someone in its household; else 404."""
    from linli.people.models import EmergencyContact

    residents = [incident.resident_id] if incident.resident_id else [r.pk for r in household_of(incident)]
    try:
        return EmergencyContact.objects.get(pk=int(contact_id), resident_id__in=residents)
    except (ValueError, TypeError, EmergencyContact.DoesNotExist):
        raise Http404 from None


OCCUPANT = "occupant-"


def rescuer_reveal(actor, incident_id: int, target: str, purpose: str) -> tuple[object, str]:
    """The full phone number of the elder ("resident"), of one of their emergency contacts (a contact's id), of
    the spare key holder ("keyholder"), or, for a home device bound to nobody, of someone living there
    ("occupant-<id>") or their contact, for the rescuer on this open incident only; audited like every reveal.
    Returns (person, number)."""
    _require_perm(actor, RESCUE)
    incident = (
        Incident.objects.filter(pk=incident_id, rescuer__user=actor, status__in=OPEN_INCIDENT)
        .select_related("resident")
        .first()
    )
    if incident is None or (incident.resident is None and incident.house_id is None):
        raise Http404
    target = str(target or "")
    if target == "resident":
        if incident.resident is None:
            raise Http404
        person: object = incident.resident
    elif target == "keyholder":
        person = _key_holder(incident)
    elif target.startswith(OCCUPANT):
        person = household_member(incident, target.removeprefix(OCCUPANT))
    else:
        person = incident_contact(incident, target)
    purpose = (purpose or "").strip()
    if len(purpose) < REVEAL_PURPOSE_MIN:
        message = _("State why you need the full number (at least %(n)d characters).")
        raise ValidationError({"purpose": message % {"n": REVEAL_PURPOSE_MIN}})
    field = "key_holder_phone" if target == "keyholder" else "phone"
    number = getattr(person, field)
    if not number:
        raise Http404
    audit.record(
        audit.AuditRecord.Action.REVEAL,
        person,
        purpose=f"{purpose} (#{incident.pk})"[:300],
        after={"field": field, "incident": incident.pk},
        user=actor,
    )
    return person, number


# ---------------------------------------------------------------- the care profile on incidents


def _key_holder(incident: Incident):
    from linli.people.services_care import profile_of

    profile = profile_of(incident.resident)
    if profile is None or not profile.key_holder_name:
        raise Http404
    return profile


def care_profile_for(actor, incident: Incident):
    """The resident's care profile for an incident page the actor may see (the caller checked that), or None.

    The first time an actor sees it on an incident, that is audited against the resident; reloads and the
    pages' live refreshes are not recorded again."""
    from linli.people.services_care import REVEALED, profile_of, record_view

    resident = incident.resident
    profile = profile_of(resident)
    if profile is None or resident is None or actor is None:
        return profile
    seen = audit.AuditRecord.objects.filter(
        action=audit.AuditRecord.Action.REVEAL,
        object_type="people.resident",
        object_id=str(resident.pk),
        user_id=actor.pk,
        after__field=REVEALED,
        after__incident=incident.pk,
    )
    if not seen.exists():
        record_view(
            actor,
            resident,
            _("care profile shown on incident #%(n)d") % {"n": incident.pk},
            incident=incident.pk,
        )
    return profile


def reveal_key_holder(actor, incident: Incident, purpose: str) -> str:
    """The spare key holder's full phone for a dispatcher on the incident (people.reveal, stated purpose)."""
    if not actor.has_linli_perm("people.reveal"):
        raise PermissionDenied(_("You do not have permission to reveal personal data."))
    profile = _key_holder(incident)
    purpose = (purpose or "").strip()
    if len(purpose) < REVEAL_PURPOSE_MIN:
        message = _("State why you need the full number (at least %(n)d characters).")
        raise ValidationError({"purpose": message % {"n": REVEAL_PURPOSE_MIN}})
    if not profile.key_holder_phone:
        raise Http404
    audit.record(
        audit.AuditRecord.Action.REVEAL,
        profile,
        purpose=f"{purpose} (#{incident.pk})"[:300],
        after={"field": "key_holder_phone", "incident": incident.pk},
        user=actor,
    )
    return profile.key_holder_phone


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


def remind_seconds() -> int:
    """How long after an escalation (and after each reminder) the shift leads are reminded of an alarm still
    untaken: LINLI_ALARM_REMIND_SECONDS, by default 5 minutes (never shorter than the escalation time)."""
    default = max(300, 5 * escalate_seconds())
    return max(escalate_seconds(), int(getattr(settings, "LINLI_ALARM_REMIND_SECONDS", default)))


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
    """Alarms still untaken whose escalation (after escalate_seconds) or next reminder (every
    remind_seconds after the escalation) is due."""
    now = now or timezone.now()
    first = dt.timedelta(seconds=escalate_seconds())
    again = dt.timedelta(seconds=remind_seconds())
    rows = Alarm.objects.filter(
        life_safety=True, status=AlarmStatus.ACTIVE, claimed_by__isnull=True, raised_at__lte=now - first
    ).filter(Q(escalated_at__isnull=True) | Q(escalated_at__lte=now - again))
    due = []
    for alarm in rows.select_related(
        "device", "resident", "house__building", "house__unit", "house__estate", "estate", "grid", "community"
    ):
        if alarm.escalated_at is None or alarm.escalated_at + again * max(1, alarm.notify_count) <= now:
            due.append(alarm)
    return due


ESCALATION_KIND = Notification.Kind.ESCALATED


def escalation_notifications(alarm_ids) -> dict[int, list[Notification]]:
    """The shift leads' escalation notifications of these alarms (one per lead and alarm), by alarm id."""
    out: dict[int, list[Notification]] = {}
    rows = Notification.objects.filter(
        kind=ESCALATION_KIND, object_type=Alarm._meta.label_lower, object_id__in=[str(i) for i in alarm_ids]
    ).select_related("user")
    for n in rows.order_by("pk"):
        out.setdefault(int(n.object_id), []).append(n)
    return out


def _waited(seconds: int) -> str:
    minutes, secs = divmod(max(0, seconds), 60)
    if minutes:
        return _("%(m)d min %(s)d s") % {"m": minutes, "s": secs}
    return _("%(s)d s") % {"s": secs}


def _escalation_text(alarm: Alarm, now) -> tuple[str, str]:
    """(title, body) of a lead's notification, in the active language: what, who (masked), where, how long."""
    who = masked_name(alarm.resident.name) if alarm.resident else alarm.device.code
    title = _("Not taken: %(alarm)s · %(who)s · %(where)s") % {
        "alarm": alarm.get_type_display(),
        "who": who,
        "where": place_text(alarm),
    }
    body = _("Waiting for %(waited)s, nobody has claimed it. Open the dispatch console and make sure it is taken.") % {
        "waited": _waited(int((now - alarm.raised_at).total_seconds()))
    }
    return title, body


def _notify_leads(alarm: Alarm, now) -> None:
    """One inbox notification per lead and alarm: created at the escalation (and passed on to the outside
    channels once), then bumped at each reminder: marked unread, moved to the top, its waiting time updated.
    A lead who came on duty since gets one of their own."""
    from django.utils import translation

    url = f"/dispatch/#alarm-{alarm.pk}"
    existing = {n.user_id: n for n in escalation_notifications([alarm.pk]).get(alarm.pk, [])}
    for lead in leads_for(alarm, now):
        with translation.override(getattr(lead, "language", "") or settings.LANGUAGE_CODE):
            title, body = _escalation_text(alarm, now)
        known = existing.get(lead.pk)
        if known is None:
            notify([lead], ESCALATION_KIND, title, body=body, url=url, obj=alarm)
        else:
            Notification.objects.filter(pk=known.pk).update(
                title=title[:200], body=body[:1000], url=url, read_at=None, created_at=now
            )


def escalate(now=None) -> int:
    """Tell the shift leads of every alarm still untaken after the escalation time, and remind them every
    remind_seconds until someone acts: one notification per lead and alarm, bumped at each reminder, and the
    console shows the alarm as escalated (and rings) each round. Idempotent: each round is one conditional
    update of notify_count, so two workers or a retried job never notify twice for the same round."""
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
            _notify_leads(alarm, now)
            done.append(alarm.pk)
    if done:
        alarms_changed(done, "escalated")
    return len(done)
