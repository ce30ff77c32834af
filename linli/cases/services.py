"""Actions on work orders. Each one validates, re-checks scope and the state machine on the locked row,
changes the case, appends a timeline event, audits, and notifies after commit.

Optimistic locking: pass `expected_version` (the version the person was looking at); if someone else
acted in between, `ConflictError` says who and when, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.cases import attachments as uploads
from linli.cases import deadlines, locate, routing, workflow
from linli.cases.models import (
    CaseAttachment,
    CaseEvent,
    Category,
    Channel,
    CoHandler,
    HandlingUnit,
    Priority,
    Rating,
    Status,
    WorkOrder,
    unit_ids_of,
)
from linli.core import audit
from linli.core.services import require_perm
from linli.places.models import Area, House

log = logging.getLogger(__name__)

NEXT_LEVEL = {"grid": "community", "community": "street", "street": "district", "district": "city"}


class ConflictError(Exception):
    """Someone else changed the case after the person loaded it."""


@dataclass
class Location:
    area: Area
    house: House | None = None
    lat: float | None = None
    lng: float | None = None
    address: str = ""
    estate_id: int | None = None


@dataclass
class Report:
    """What a reporter tells us. Validated by `create_case`."""

    title: str
    description: str
    channel: str
    location: Location | None = None
    category: Category | None = None
    priority: str | None = None
    anonymous: bool = False
    photos: list = field(default_factory=list)
    caller_name: str = ""
    caller_phone: str = ""
    call_time: dt.datetime | None = None
    on_behalf_of: Any = None  # people.Resident
    external_ref: str = ""
    open311_client: Any = None
    # 自行处置: a grid worker found and fixed it on the spot
    self_handled: bool = False
    resolution: str = ""
    after_photos: list = field(default_factory=list)
    # machine sources: the category is fixed (no classifier suggestion) and the system dispatches at once
    dispatch_to: Any = None  # HandlingUnit


# ---------------------------------------------------------------- locating


def locate_house(house: House) -> Location:
    return Location(
        area=house.grid,
        house=house,
        lat=house.building.lat if hasattr(house.building, "lat") else None,
        lng=house.building.lng if hasattr(house.building, "lng") else None,
        address=str(house),
        estate_id=house.building.estate_id,
    )


def locate_point(lng: float, lat: float, address: str = "", within=None) -> Location:
    grid = locate.grid_at(lng, lat, within=within)
    if grid is None:
        raise ValidationError({"location": _("This place is outside the area Linli serves here. Check the pin.")})
    return Location(area=grid, lat=lat, lng=lng, address=address)


# ---------------------------------------------------------------- helpers


def _actor_name(actor) -> str:
    if actor is None:
        return _("system")
    return str(actor)[:150]


def _event(case: WorkOrder, action: str, actor, *, from_status: str, note: str = "", unit=None, data=None, at=None):
    return CaseEvent.objects.create(
        work_order=case,
        action=action,
        from_status=from_status,
        to_status=case.status,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=_actor_name(actor),
        at=at or timezone.now(),
        note=note,
        unit=unit,
        data=data or {},
    )


def _save_photos(case: WorkOrder, event: CaseEvent | None, checked, kind: str, actor) -> None:
    for f, content_type, ext in checked:
        att = CaseAttachment(
            work_order=case,
            event=event,
            kind=kind,
            token=uploads.new_token(),
            extension=ext,
            content_type=content_type,
            size=f.size,
            original_name=(getattr(f, "name", "") or "")[:200],
            uploaded_by=actor if actor is not None and actor.is_authenticated else None,
        )
        att.file.save(f"{att.token}.{ext}", f, save=False)
        att.save()


def case_url(case: WorkOrder) -> str:
    try:
        return reverse("cases:case-detail", args=[case.pk])
    except Exception:  # noqa: BLE001 - before the URLs exist (early tests), a notification has no link
        return ""


def _notify(users, kind: str, title, case: WorkOrder, body: str = "") -> None:
    from linli.notifications.services import notify

    notify(users, kind, title, body=body or case.title, url=case_url(case), obj=case)


def _members(unit_id: int | None):
    if not unit_id:
        return []
    unit = HandlingUnit.objects.filter(pk=unit_id).first()
    return list(unit.members.filter(is_active=True)) if unit else []


def supervisors_of(case: WorkOrder, perm: str = "cases.dispatch", area_id: int | None = None):
    """Users holding `perm` through an assignment on the case's community or street (or `area_id`)."""
    from linli.accounts.models import User, preload_assignments

    area_ids = [area_id] if area_id else [a for a in (case.community_id, case.street_id) if a]
    users = list(User.objects.filter(is_active=True, assignments__area_id__in=area_ids).distinct())
    preload_assignments(users)
    return [u for u in users if u.has_linli_perm(perm)]


def _apply_deadlines(case: WorkOrder, start: dt.datetime) -> None:
    limits = deadlines.limits_for(case.category, case.priority)
    case.response_due, case.resolve_due, case.warn_at = deadlines.due_dates(start, limits)
    case.natural_time = limits.natural_time
    case.warned_at = None
    case.overdue_at = None


def _suggest(text: str):
    try:
        from linli.cases.classifier import service as classifier

        return classifier.suggest(text)
    except Exception:  # noqa: BLE001 - a broken classifier must never stop a report
        log.exception("classifier failed")
        return None


def category_by_code(code: str | None) -> Category | None:
    """The active category with this code, or None (also for an empty code)."""
    if not code:
        return None
    return Category.objects.filter(code=code, active=True).first()


# ---------------------------------------------------------------- creating


def _validate_report(report: Report) -> None:
    errors: dict[str, list[str]] = {}
    if not (report.title or "").strip() and not (report.description or "").strip():
        errors["description"] = [_("Say what the problem is.")]
    if len(report.description or "") > 2000:
        errors["description"] = [_("At most 2,000 characters.")]
    if report.channel not in Channel.values:
        errors["channel"] = [_("Unknown channel.")]
    if report.priority and report.priority not in Priority.values:
        errors["priority"] = [_("Unknown priority.")]
    if report.location is None:
        errors["location"] = [_("Say where it is: pick the place on the map or choose a house or grid.")]
    if report.category is not None and not report.category.is_leaf:
        errors["category"] = [_("Choose a category of the second level.")]
    if report.channel == Channel.HOTLINE and not (report.caller_name or report.on_behalf_of or report.anonymous):
        errors["caller_name"] = [_("Write down the caller's name, or mark the call anonymous.")]
    if report.self_handled:
        if not (report.resolution or "").strip():
            errors["resolution"] = [_("Say what you did to fix it.")]
        if not report.photos or not report.after_photos:
            errors["photos"] = [_("A problem fixed on the spot needs a photo before and a photo after.")]
    if errors:
        raise ValidationError(errors)


def _notify_desk(case: WorkOrder) -> None:
    """Once committed, tell the dispatchers of the case's area that it waits on their desk."""
    transaction.on_commit(lambda: _notify(supervisors_of(case), "new_case", gettext_lazy("New case to dispatch"), case))


@transaction.atomic
def create_case(actor, report: Report) -> WorkOrder:
    """Open a case from any channel. Guarantees: the place is within the actor's reporting scope (staff) or
    the actor's own home (residents can report anywhere they pin); the text is classified, a unit
    proposed, the clock set; photos are checked before anything is written."""
    if actor is not None:
        require_perm(actor, "cases.report")
    _validate_report(report)
    before_photos = uploads.check_photos(report.photos)
    after_photos = uploads.check_photos(report.after_photos)
    loc = report.location
    assert loc is not None
    now = timezone.now()
    title = (report.title or "").strip() or (report.description or "").strip()[:30]
    case = WorkOrder(
        title=title[:120],
        description=(report.description or "").strip() or title,
        channel=report.channel,
        anonymous=report.anonymous,
        reporter=actor if actor is not None and actor.is_authenticated else None,
        reporter_resident=report.on_behalf_of,
        caller_name=(report.caller_name or "")[:50],
        call_time=report.call_time,
        external_ref=(report.external_ref or "")[:80],
        open311_client=report.open311_client,
        address=(loc.address or "")[:200],
        lat=loc.lat,
        lng=loc.lng,
        house=loc.house,
        estate_id=loc.estate_id,
        submitted_at=now,
    )
    if report.caller_phone:
        from linli.core.idnumber import normalize_phone

        try:
            case.caller_phone = normalize_phone(report.caller_phone)
        except ValidationError:
            raise ValidationError({"caller_phone": _("Enter a valid phone number.")}) from None
    case.copy_areas_from(loc.area)
    # a machine's fixed category is not a guess: no suggestion to override it or to show beside it
    machine_category = report.channel == Channel.DEVICE and report.category is not None
    suggestion = None if machine_category else _suggest(f"{case.title} {case.description}")
    if suggestion is not None:
        case.suggested_category = category_by_code(suggestion.code)
        case.suggestion_confidence = round(float(suggestion.confidence), 4)
    case.category = report.category or case.suggested_category
    case.priority = report.priority or (case.category.default_priority if case.category else Priority.NORMAL)
    case.proposed_unit = report.dispatch_to or routing.route(case.category, loc.area)
    _apply_deadlines(case, now)
    case.full_clean(exclude=["grid", "community", "street", "district", "city", "house", "estate", "category"])
    case.save()
    submit = _event(
        case, "submit", actor, from_status="", note=case.description[:2000], data={"channel": case.channel}, at=now
    )
    _save_photos(case, submit, before_photos, CaseAttachment.Kind.BEFORE if report.self_handled else "report", actor)

    if report.channel in (Channel.HOTLINE, Channel.STAFF) and actor is not None:
        # staff take the call: the case is accepted (受理) as it is written down
        case.status, case.accepted_at = Status.ACCEPTED, now
        case.save(update_fields=["status", "accepted_at"])
        _event(case, "accept", actor, from_status=Status.SUBMITTED, at=now)
    if report.self_handled:
        unit_ids = unit_ids_of(actor) if actor is not None else []
        case.lead_unit_id = unit_ids[0] if unit_ids else None
        case.self_handled = True
        case.status = Status.RESOLVED
        case.accepted_at = case.dispatched_at = case.started_at = case.resolved_at = now
        case.resolution = report.resolution.strip()[:2000]
        case.handler = actor
        case.save()
        done = _event(case, "self_handle", actor, from_status=Status.SUBMITTED, note=case.resolution, at=now)
        _save_photos(case, done, after_photos, CaseAttachment.Kind.AFTER, actor)
    audit.record_change(case, None, case.audit_snapshot(), user=actor)
    if not report.self_handled and report.dispatch_to is None:
        _notify_desk(case)
    return case


@transaction.atomic
def open_from_machine(
    source: str,
    external_ref: str,
    *,
    title: str,
    description: str,
    area: Area,
    category_code: str | None = None,
    priority: str | None = None,
    house: House | None = None,
    lat: float | None = None,
    lng: float | None = None,
    unit: HandlingUnit | None = None,
) -> tuple[WorkOrder, bool]:
    """The entry point for machine sources (a device alarm, a camera event). Idempotent on
    (source, external_ref): a repeat adds a note to the open case instead of opening a second one.
    A new case with a `unit` is accepted and dispatched to it by the system (dispatch_by_system); without
    one it waits on the dispatch desk. A fixed `category_code` is kept: the classifier does not guess.
    Returns (case, created)."""
    ref = f"{source}:{external_ref}"[:80]
    existing = WorkOrder.objects.select_for_update().filter(external_ref=ref, status__in=workflow.OPEN_STATUSES).first()
    if existing is not None:
        _event(existing, "comment", None, from_status=existing.status, note=description[:2000], data={"repeat": True})
        return existing, False
    loc = Location(
        area=area,
        house=house,
        lat=lat,
        lng=lng,
        address=str(house) if house else "",
        estate_id=house.building.estate_id if house else None,
    )
    report = Report(
        title=title,
        description=description,
        channel=Channel.DEVICE,
        location=loc,
        category=category_by_code(category_code),
        priority=priority,
        external_ref=ref,
        dispatch_to=unit,
    )
    case = create_case(None, report)
    if unit is not None:
        try:
            with transaction.atomic():
                case = dispatch_by_system(case, unit, str(AUTO_DISPATCH_NOTE))
        except Exception:  # the case stays, on the dispatch desk: tell the dispatchers as for any new case
            log.exception("could not dispatch machine case %s to unit %s", case.pk, unit.pk)
            _notify_desk(case)
    return case, True


AUTO_DISPATCH_NOTE = gettext_lazy("Dispatched automatically from a device alarm")
# a case in these states has not been started by anyone: the system may finish it when its machine recovers
NOT_STARTED = (Status.SUBMITTED, Status.ACCEPTED, Status.DISPATCHED)


def dispatch_by_system(case: WorkOrder, unit: HandlingUnit, note: str) -> WorkOrder:
    """The system accepts the case and dispatches it to `unit` through the workflow, so the timeline shows
    the system as the actor with `note`, the deadlines keep running and the unit's members are notified."""
    if case.status == Status.SUBMITTED:
        case = act(None, case.pk, "accept")
    return act(None, case.pk, "dispatch", unit=unit, note=note)


def _settle_requests(case: WorkOrder) -> None:
    """Mark read the unread notifications that ask someone to take up `case` (a new case, an assignment):
    the system finished it, so nobody should still be told to act on it."""
    from linli.notifications.models import Notification
    from linli.notifications.services import settle

    settle(WorkOrder, [case.pk], (Notification.Kind.ASSIGNED, Notification.Kind.NEW_CASE))


@transaction.atomic
def machine_recovered(case_pk: int, note: str) -> str:
    """The machine behind a case reports the problem gone (a device back online, its battery charged).

    A case no person has acted on is finished by the system with `note`: dispatched, it is started and resolved;
    still on the dispatch desk (no unit yet), it is closed as not accepted, since nobody is there to resolve it.
    Finished so, the unread "new case" and "assigned" notifications of the case are marked read.
    A case somebody works on (or has returned, or suspended) only gets `note` on its timeline, and its
    handler (else its unit, else the dispatchers) is told. A finished case is left alone.
    Returns "resolved", "rejected", "noted" or "" (nothing done)."""
    case = WorkOrder.objects.select_for_update(of=("self",)).filter(pk=case_pk).first()
    if case is None or case.status not in workflow.OPEN_STATUSES:
        return ""
    # a person who acted on it (reopened it, returned it, re-dispatched it, wrote on it) decides, not the system
    touched = case.events.filter(actor__isnull=False).exists()
    if case.status in NOT_STARTED and not touched:
        try:
            with transaction.atomic():
                if case.status == Status.DISPATCHED:
                    act(None, case.pk, "start")
                    act(None, case.pk, "resolve", note=note)
                    outcome = "resolved"
                else:
                    act(None, case.pk, "reject", note=note)
                    outcome = "rejected"
                _settle_requests(case)
                return outcome
        except (workflow.TransitionError, ValidationError):
            pass  # e.g. assisting units still at work: they decide, like anyone who started
    act(None, case.pk, "comment", note=note)
    handler = case.handler if case.handler_id and case.handler.is_active else None
    users = [handler] if handler else (_members(case.lead_unit_id) or supervisors_of(case))
    transaction.on_commit(lambda: _notify(users, "progress", gettext_lazy("The device is working again"), case, note))
    return "noted"


# ---------------------------------------------------------------- acting on a case


def _load(actor, pk: int, action: str, expected_version: int | None) -> tuple[WorkOrder, workflow.Action]:
    """Lock the case, check the version, the permission, the scope and the state machine."""
    spec = workflow.ACTIONS.get(action)
    if spec is None:
        raise workflow.TransitionError(_("Unknown action."))
    if actor is not None:
        visible = WorkOrder.objects.for_user(actor, "view").filter(pk=pk)
        if not visible.exists():
            raise Http404
    # of=("self",): PostgreSQL cannot lock the nullable side of the outer joins to the unit and category.
    case = WorkOrder.objects.select_for_update(of=("self",)).select_related("lead_unit", "category").get(pk=pk)
    if expected_version is not None and case.version != expected_version:
        last = case.events.order_by("-at", "-pk").first()
        who = last.actor_name if last else _("someone")
        when = timezone.localtime(last.at).strftime("%H:%M:%S") if last else ""
        raise ConflictError(
            _("%(who)s changed this case at %(when)s while you were looking at it. Reload it to see what changed.")
            % {"who": who, "when": when}
        )
    workflow.check(case.status, action)
    if actor is not None:
        authorize(actor, case, spec)
    return case, spec


def authorize(actor, case: WorkOrder, spec: workflow.Action) -> None:
    if not actor.has_linli_perm(spec.permission):
        raise PermissionDenied(_("You do not have permission to do this."))
    perm_action = spec.permission.split(".", 1)[1]
    if spec.code in ("start", "return", "progress", "request_suspend", "resolve"):
        if case.lead_unit_id not in unit_ids_of(actor) and not actor.scope_for("cases.handle").all:
            raise PermissionDenied(_("Only the unit this case is dispatched to can do this."))
        return
    if spec.code == "assist_done":
        if not CoHandler.objects.filter(work_order=case, unit_id__in=unit_ids_of(actor), done_at__isnull=True).exists():
            raise PermissionDenied(_("Only an assisting unit with its part still open can do this."))
        return
    if spec.code == "escalate":
        if case.lead_unit_id in unit_ids_of(actor):
            return
        perm_action = "dispatch"
    if spec.code == "rate":
        if case.reporter_id != actor.pk:
            raise PermissionDenied(_("Only the person who reported the case can rate it."))
        return
    if spec.code == "comment":
        return
    if not WorkOrder.objects.for_user(actor, perm_action).filter(pk=case.pk).exists():
        raise PermissionDenied(_("This case is outside the area you may act on."))


def _finish(case: WorkOrder, before: dict, actor, fields: list[str] | None = None) -> None:
    case.version += 1
    case.save()
    audit.record_change(case, before, case.audit_snapshot(), user=actor)


@transaction.atomic
def act(actor, pk: int, action: str, *, expected_version: int | None = None, **kw) -> WorkOrder:
    """Run one action on one case (see workflow.ACTIONS). Keyword arguments per action:

    accept(category?, priority?), reject(note), dispatch(unit, assists=[(unit, task)], category?, priority?),
    reassign(unit, note), start(), return(note), progress(note, photos), assist_done(note),
    request_suspend(note), approve_suspend(note), deny_suspend(note), resume(note), escalate(note),
    resolve(note, photos), rate(rating, comment), callback(rating, comment, reached), reopen(note),
    close(note), merge(into), comment(note).
    """
    case, spec = _load(actor, pk, action, expected_version)
    before = case.audit_snapshot()
    from_status = case.status
    handler: Any = _HANDLERS[action]
    result = handler(actor, case, **kw)
    note, unit, data, kind, recipients, checked = result
    if spec.target is not None and case.status == from_status:
        case.status = spec.target
    event = _event(case, action, actor, from_status=from_status, note=note, unit=unit, data=data)
    if checked:
        _save_photos(case, event, checked, kind, actor)
    _finish(case, before, actor)
    if recipients:
        users, notice_kind, title = recipients
        transaction.on_commit(lambda: _notify(users, notice_kind, title, case, body=note or case.title))
    return case


def _require_note(note: str, message: str) -> str:
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": message})
    return note[:2000]


def _set_category(actor, case: WorkOrder, category: Category | None, priority: str | None) -> dict:
    data = {}
    if category is not None and category.pk != case.category_id:
        if not category.is_leaf:
            raise ValidationError({"category": _("Choose a category of the second level.")})
        data["category"] = [case.category.code if case.category else "", category.code]
        case.category = category
        case.category_corrected = case.suggested_category_id is not None and category.pk != case.suggested_category_id
    if priority and priority != case.priority:
        if priority not in Priority.values:
            raise ValidationError({"priority": _("Unknown priority.")})
        data["priority"] = [case.priority, priority]
        case.priority = priority
    if data:
        _apply_deadlines(case, case.submitted_at)
        if case.paused_minutes:
            _shift_deadlines(case, case.paused_minutes)
    return data


def _shift_deadlines(case: WorkOrder, minutes: int) -> None:
    for name in ("response_due", "resolve_due", "warn_at"):
        value = getattr(case, name)
        if value is not None:
            setattr(case, name, deadlines.add(value, minutes, case.natural_time))


def _do_accept(actor, case, category=None, priority=None, note=""):
    case.accepted_at = timezone.now()
    data = _set_category(actor, case, category, priority)
    return note, None, data, None, None, None


def _do_reject(actor, case, note=""):
    note = _require_note(note, _("Say why the case is not accepted; the reporter will read it."))
    case.closed_at = timezone.now()
    recipients = ([case.reporter], "progress", gettext_lazy("Your report was not accepted")) if case.reporter else None
    return note, None, {}, None, recipients, None


def _unit(unit) -> HandlingUnit:
    if isinstance(unit, HandlingUnit):
        return unit
    found = HandlingUnit.objects.filter(pk=unit, active=True).first() if unit else None
    if found is None:
        raise ValidationError({"unit": _("Choose the unit that will handle the case.")})
    return found


def area_chain(case: WorkOrder) -> list[int]:
    """The case's area ids from the smallest up: grid, community, street, district, city."""
    return [a for a in (case.grid_id, case.community_id, case.street_id, case.district_id, case.city_id) if a]


def serves(case: WorkOrder, unit: HandlingUnit | None, scope_unit_ids: set[int]) -> bool:
    """dispatchable_units() for one unit without a query, given the ids of the units in the dispatcher's scope."""
    return unit is not None and unit.active and (unit.area_id in area_chain(case) or unit.pk in scope_unit_ids)


def dispatchable_units(actor, case: WorkOrder):
    """Units a case may go to: those serving the case's own areas (its grid up to the city) and those
    inside the dispatcher's own scope. A community cannot hand its case to another street's community."""
    chain = area_chain(case)
    units = HandlingUnit.objects.filter(active=True)
    if actor is None:
        return units
    return units.filter(Q(area_id__in=chain) | Q(pk__in=HandlingUnit.objects.for_user(actor, "dispatch").values("pk")))


def _check_dispatchable(actor, case: WorkOrder, unit: HandlingUnit) -> None:
    if not dispatchable_units(actor, case).filter(pk=unit.pk).exists():
        raise ValidationError({"unit": _("%(unit)s does not serve this place.") % {"unit": unit.name}})


def _do_dispatch(actor, case, unit=None, assists=(), category=None, priority=None, note=""):
    lead = _unit(unit)
    _check_dispatchable(actor, case, lead)
    data = _set_category(actor, case, category, priority)
    now = timezone.now()
    case.accepted_at = case.accepted_at or now
    case.dispatched_at = now
    case.lead_unit = lead
    case.handler = None
    data["unit"] = lead.code
    if case.proposed_unit_id and case.proposed_unit_id != lead.pk:
        data["overrode_proposal"] = case.proposed_unit.code if case.proposed_unit else ""
    assist_codes = []
    for item in assists or ():
        a_unit, task = item if isinstance(item, tuple) else (item, "")
        a_unit = _unit(a_unit)
        _check_dispatchable(actor, case, a_unit)
        if a_unit.pk == lead.pk:
            continue
        CoHandler.objects.update_or_create(
            work_order=case, unit=a_unit, defaults={"task": (task or "")[:200], "done_at": None}
        )
        assist_codes.append(a_unit.code)
    if assist_codes:
        data["assists"] = assist_codes
    users = _members(lead.pk) + [u for co in case.co_handlers.select_related("unit") for u in _members(co.unit_id)]
    return note, lead, data, None, (users, "assigned", gettext_lazy("New case assigned to your unit")), None


def _do_reassign(actor, case, unit=None, note=""):
    note = _require_note(note, _("Say why the case goes to another unit."))
    previous = case.lead_unit
    lead = _unit(unit)
    if previous is not None and lead.pk == previous.pk:
        raise ValidationError({"unit": _("The case is already with this unit.")})
    _check_dispatchable(actor, case, lead)
    case.lead_unit = lead
    case.dispatched_at = timezone.now()
    case.handler = None
    case.started_at = None
    data = {"from_unit": previous.code if previous else "", "unit": lead.code}
    return note, lead, data, None, (_members(lead.pk), "assigned", gettext_lazy("New case assigned to your unit")), None


def _do_start(actor, case, note=""):
    now = timezone.now()
    case.started_at = now
    case.handler = actor
    if case.response_due and now > case.response_due:
        case.responded_late = True
    recipients = ([case.reporter], "progress", gettext_lazy("Your case is being handled")) if case.reporter else None
    return note, case.lead_unit, {}, None, recipients, None


def _do_return(actor, case, note=""):
    note = _require_note(note, _("Say why you return the case; the dispatcher needs the reason."))
    unit = case.lead_unit
    case.lead_unit = None
    case.handler = None
    case.started_at = None
    return (
        note,
        unit,
        {"unit": unit.code if unit else ""},
        None,
        (supervisors_of(case), "returned", gettext_lazy("A case was returned")),
        None,
    )


def _do_progress(actor, case, note="", photos=None):
    checked = uploads.check_photos(photos)
    note = (note or "").strip()
    if not note and not checked:
        raise ValidationError({"note": _("Write what was done, or add a photo.")})
    recipients = ([case.reporter], "progress", gettext_lazy("Progress on your case")) if case.reporter else None
    return note, case.lead_unit, {}, CaseAttachment.Kind.PROGRESS, recipients, checked


def _do_assist_done(actor, case, note=""):
    mine = CoHandler.objects.filter(work_order=case, unit_id__in=unit_ids_of(actor), done_at__isnull=True).first()
    assert mine is not None
    mine.done_at = timezone.now()
    mine.note = (note or "")[:500]
    mine.save()
    return (
        note,
        mine.unit,
        {"unit": mine.unit.code},
        None,
        (_members(case.lead_unit_id), "progress", gettext_lazy("An assisting unit finished its part")),
        None,
    )


def _do_request_suspend(actor, case, note=""):
    note = _require_note(note, _("Say why the case must wait (for example, parts on order, or the owner is away)."))
    if case.suspension_requested:
        raise workflow.TransitionError(_("A suspension is already waiting for approval."))
    case.suspension_requested = True
    return (
        note,
        case.lead_unit,
        {},
        None,
        (supervisors_of(case, "cases.supervise"), "suspension", gettext_lazy("Suspension requested")),
        None,
    )


def _do_approve_suspend(actor, case, note=""):
    if not case.suspension_requested:
        raise workflow.TransitionError(_("Nobody asked to suspend this case."))
    case.suspension_requested = False
    case.suspended_from = case.status
    case.suspended_at = timezone.now()
    return note, None, {}, None, (_members(case.lead_unit_id), "progress", gettext_lazy("Suspension approved")), None


def _do_deny_suspend(actor, case, note=""):
    if not case.suspension_requested:
        raise workflow.TransitionError(_("Nobody asked to suspend this case."))
    note = _require_note(note, _("Say why the case may not wait."))
    case.suspension_requested = False
    return note, None, {}, None, (_members(case.lead_unit_id), "progress", gettext_lazy("Suspension refused")), None


def _do_resume(actor, case, note=""):
    now = timezone.now()
    paused = deadlines.between(case.suspended_at, now, case.natural_time) if case.suspended_at else 0
    case.paused_minutes += paused
    _shift_deadlines(case, paused)
    case.status = case.suspended_from or Status.IN_PROGRESS
    case.suspended_at = None
    case.suspended_from = ""
    return (
        note,
        None,
        {"paused_minutes": paused},
        None,
        (_members(case.lead_unit_id), "progress", gettext_lazy("Case resumed")),
        None,
    )


def escalation_target(case: WorkOrder) -> Area | None:
    current = case.escalated_to or case.grid or case.community or case.street
    if current is None:
        return None
    level = NEXT_LEVEL.get(current.level)
    if level is None:
        return None
    target_id = getattr(case, f"{level}_id")
    return Area.objects.filter(pk=target_id).first() if target_id else None


def _do_escalate(actor, case, note=""):
    note = _require_note(note, _("Say why the case needs the level above."))
    target = escalation_target(case)
    if target is None:
        raise workflow.TransitionError(_("This case is already at the top level."))
    case.escalation_level += 1
    case.escalated_to = target
    users = supervisors_of(case, "cases.supervise", area_id=target.pk)
    return note, None, {"to": target.code}, None, (users, "escalated", gettext_lazy("Case escalated to you")), None


def _do_resolve(actor, case, note="", photos=None):
    note = _require_note(note, _("Say how the problem was solved; the reporter will read it."))
    open_parts = case.co_handlers.filter(done_at__isnull=True).select_related("unit")
    if open_parts:
        names = "、".join(p.unit.name for p in open_parts)
        raise workflow.TransitionError(
            _("Assisting units have not finished their part yet: %(names)s.") % {"names": names}
        )
    checked = uploads.check_photos(photos)
    now = timezone.now()
    case.resolved_at = now
    case.resolution = note
    case.handler = case.handler or actor
    if case.resolve_due and now > case.resolve_due:
        case.resolved_late = True
    recipients = (
        ([case.reporter], "rate", gettext_lazy("Your case is resolved — please rate it")) if case.reporter else None
    )
    return note, case.lead_unit, {}, CaseAttachment.Kind.AFTER, recipients, checked


def _rating(rating: str) -> str:
    if rating not in Rating.values:
        raise ValidationError({"rating": _("Choose satisfied, basically satisfied or unsatisfied.")})
    return rating


def _rated(actor, case, rating, comment, by_callback: bool):
    case.rating = _rating(rating)
    case.rating_comment = (comment or "").strip()[:500]
    case.rated_at = timezone.now()
    case.rated_by_callback = by_callback
    data = {"rating": case.rating}
    if case.rating == Rating.UNSATISFIED:
        _reopen(case)
        data["reopened"] = True
        users = _members(case.lead_unit_id) + supervisors_of(case)
        return (
            case.rating_comment,
            None,
            data,
            None,
            (users, "assigned", gettext_lazy("Reporter unsatisfied — case reopened")),
            None,
        )
    case.status = Status.REVIEWED
    return case.rating_comment, None, data, None, None, None


def _do_rate(actor, case, rating="", comment=""):
    return _rated(actor, case, rating, comment, by_callback=False)


def _do_callback(actor, case, rating="", comment="", reached=True):
    if not reached:
        # nobody answered: recorded, status unchanged, try again later
        return (
            _require_note(comment, _("Write down what happened on the call.")),
            None,
            {"reached": False},
            None,
            None,
            None,
        )
    return _rated(actor, case, rating, comment, by_callback=True)


def _reopen(case: WorkOrder) -> None:
    case.reopen_count += 1
    case.status = Status.DISPATCHED if case.lead_unit_id else Status.RETURNED
    case.resolved_at = None
    case.started_at = None
    case.handler = None
    case.resolved_late = False
    _apply_deadlines(case, timezone.now())
    CoHandler.objects.filter(work_order=case).update(done_at=None)


def _do_reopen(actor, case, note=""):
    note = _require_note(note, _("Say why the case is reopened."))
    _reopen(case)
    return (
        note,
        case.lead_unit,
        {},
        None,
        (_members(case.lead_unit_id), "assigned", gettext_lazy("Case reopened")),
        None,
    )


def _do_close(actor, case, note=""):
    case.closed_at = timezone.now()
    return note, None, {}, None, None, None


def _do_merge(actor, case, into=None, note=""):
    target = None
    if into is not None:
        target_pk = into.pk if isinstance(into, WorkOrder) else into
        if actor is not None:
            target = WorkOrder.objects.for_user(actor, "view").filter(pk=target_pk).first()
        else:
            target = WorkOrder.objects.filter(pk=target_pk).first()
    if target is None:
        raise ValidationError({"into": _("Choose the case this one repeats.")})
    if target.pk == case.pk:
        raise ValidationError({"into": _("A case cannot be merged into itself.")})
    if target.status in (Status.MERGED, Status.REJECTED):
        raise ValidationError({"into": _("That case is itself merged or not accepted; choose the case it went to.")})
    case.merged_into = target
    case.closed_at = timezone.now()
    _event(
        target,
        "merged_in",
        actor,
        from_status=target.status,
        note=f"{case.number} {case.title}",
        data={"case": case.pk},
    )
    recipients = (
        ([case.reporter], "progress", gettext_lazy("Your report joined a case already open")) if case.reporter else None
    )
    return note, None, {"into": target.pk}, None, recipients, None


def _do_comment(actor, case, note=""):
    return _require_note(note, _("Write a note.")), None, {}, None, None, None


_HANDLERS = {
    "accept": _do_accept,
    "reject": _do_reject,
    "dispatch": _do_dispatch,
    "reassign": _do_reassign,
    "start": _do_start,
    "return": _do_return,
    "progress": _do_progress,
    "assist_done": _do_assist_done,
    "request_suspend": _do_request_suspend,
    "approve_suspend": _do_approve_suspend,
    "deny_suspend": _do_deny_suspend,
    "resume": _do_resume,
    "escalate": _do_escalate,
    "resolve": _do_resolve,
    "rate": _do_rate,
    "callback": _do_callback,
    "reopen": _do_reopen,
    "close": _do_close,
    "merge": _do_merge,
    "comment": _do_comment,
}
assert set(_HANDLERS) == set(workflow.ACTIONS)
