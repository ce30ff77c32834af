"""The dispatch center's three-shift roster (三班三运转), who is on duty, and handovers between shifts.

Three crews cover three eight-hour shifts every day, in Asia/Shanghai local time (no daylight saving since
1991, so every shift is exactly eight hours):

    night    00:00–08:00
    day      08:00–16:00
    evening  16:00–24:00

Each crew works exactly one shift per calendar day. The crews rotate *backwards* every ROTATE_DAYS days
(evening → day → night → evening …). Why backwards: with one shift per calendar day, moving a crew forwards
(night → day → evening → night) puts it from the evening shift (ends 24:00) straight onto the next night
shift (starts 00:00) with no rest at all. Backwards, the shortest rest is 8 hours (evening 24:00 → day 08:00,
day 16:00 → night 00:00), a change night → evening rests 32 hours, and while a crew keeps its shift it rests
16 hours. So every 8-hour slot has exactly one crew, and no crew ever works two shifts back to back.

The pattern is anchored on a fixed date (ANCHOR), not on the first day generated, so rosters generated in
several runs line up, and generating the same days again changes nothing (one Shift per area and start).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.core import audit
from linli.dispatch.models import OPEN_INCIDENT, Crew, Handover, Incident, Rescuer, Shift
from linli.dispatch.services import console_alarms, console_incidents
from linli.iot.models import AlarmStatus
from linli.places.models import Area

logger = logging.getLogger("linli.dispatch")

TZ = ZoneInfo("Asia/Shanghai")
# (name, start hour) in the order the shifts come in a calendar day
SLOTS = ((Shift.Name.NIGHT, 0), (Shift.Name.DAY, 8), (Shift.Name.EVENING, 16))
SHIFT_HOURS = 8
ROTATE_DAYS = 2
ANCHOR = dt.date(2024, 1, 1)
CREW_NAMES = ("A", "B", "C")
MAX_DAYS = 366


def slot_index(crew_index: int, day: dt.date, rotate_days: int = ROTATE_DAYS) -> int:
    """Which slot (0 night, 1 day, 2 evening) crew number `crew_index` (0..2) works on `day`."""
    block = (day - ANCHOR).days // rotate_days
    return (2 - crew_index - block) % 3


def crew_for(day: dt.date, slot: int, rotate_days: int = ROTATE_DAYS) -> int:
    """The crew number (0..2) on slot `slot` of `day`; the inverse of slot_index."""
    block = (day - ANCHOR).days // rotate_days
    return (2 - slot - block) % 3


def slot_bounds(day: dt.date, slot: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(SLOTS[slot][1]), tzinfo=TZ)
    return start, start + dt.timedelta(hours=SHIFT_HOURS)


def ensure_crews(area: Area) -> list[Crew]:
    """The area's three crews, ordered by name; three are created ("Crew A/B/C") if it has none."""
    crews = list(Crew.objects.filter(area=area).order_by("name", "pk"))
    if not crews:
        crews = [Crew.objects.create(area=area, name=_("Crew %(letter)s") % {"letter": c}) for c in CREW_NAMES]
    if len(crews) != 3:
        raise ValueError(
            _("The three-shift roster needs exactly three crews; %(area)s has %(n)d.") % {"area": area, "n": len(crews)}
        )
    return crews


@dataclass
class RosterResult:
    created: int
    existing: int
    crews: list[Crew]


def make_roster(area: Area, start: dt.date, days: int, *, user: User | None = None) -> RosterResult:
    """Put shifts on the roster for `days` days from `start`. Idempotent: shifts already there (perhaps
    edited by a shift lead) are kept as they are; only missing ones are created."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(_("Choose between 1 and %(max)d days.") % {"max": MAX_DAYS})
    with transaction.atomic():
        crews = ensure_crews(area)
        first, _end = slot_bounds(start, 0)
        last = slot_bounds(start + dt.timedelta(days=days - 1), 2)[1]
        have = set(
            Shift.objects.filter(area=area, starts_at__gte=first, starts_at__lt=last).values_list(
                "starts_at", flat=True
            )
        )
        new = []
        for d in range(days):
            day = start + dt.timedelta(days=d)
            for slot, (name, _hour) in enumerate(SLOTS):
                begins, ends = slot_bounds(day, slot)
                if begins in have:
                    continue
                crew = crews[crew_for(day, slot)]
                new.append(Shift(area=area, crew=crew, name=name, starts_at=begins, ends_at=ends, lead_id=crew.lead_id))
        Shift.objects.bulk_create(new, ignore_conflicts=True)
        if new:
            audit.record(
                "create",
                object_type="dispatch.shift",
                user=user,
                object_repr=f"{area.name} {start:%Y-%m-%d} +{days}"[:200],
                after={"area": area.pk, "start": start.isoformat(), "days": days, "created": len(new)},
            )
    return RosterResult(created=len(new), existing=len(have), crews=crews)


ROSTER_AHEAD_DAYS = 14


def extend_rosters(today: dt.date | None = None, days: int = ROSTER_AHEAD_DAYS) -> dict[str, int]:
    """The daily job: keep every dispatch center's roster filled `days` ahead from today (areas that have
    their three crews; shifts a lead edited stay as they are). Returns created shifts by area code."""
    today = today or timezone.localdate()
    done: dict[str, int] = {}
    for area in Area.objects.filter(pk__in=Crew.objects.values("area")).order_by("code"):
        try:
            result = make_roster(area, today, days)
        except ValueError as exc:  # not three crews: the lead has to sort the crews out first
            logger.warning("roster of %s not extended: %s", area.code, exc)
            continue
        if result.created:
            done[area.code] = result.created
    return done


# ----------------------------------------------------------------------------- who is on duty


def on_duty(area: Area, at: dt.datetime) -> Shift | None:
    """The shift on duty in `area` at `at` (start inclusive, end exclusive), or None if nobody is rostered."""
    return (
        Shift.objects.filter(area=area, starts_at__lte=at, ends_at__gt=at)
        .select_related("crew", "lead", "crew__lead")
        .first()
    )


@dataclass
class OnDuty:
    shift: Shift | None
    lead: User | None = None
    members: list[User] = field(default_factory=list)
    rescuers: list[Rescuer] = field(default_factory=list)


def who_is_on_duty(area: Area, at: dt.datetime) -> OnDuty:
    """The shift at `at`, its lead (the shift's own, else the crew's), the crew's members and rescuers."""
    shift = on_duty(area, at)
    if shift is None:
        return OnDuty(None)
    members = list(shift.crew.members.order_by("display_name", "username"))
    rescuers = list(
        Rescuer.objects.filter(crew=shift.crew).select_related("user").order_by("user__display_name", "user__username")
    )
    return OnDuty(shift, shift.lead or shift.crew.lead, members, rescuers)


def is_on_shift(user: User, shift: Shift) -> bool:
    """Whether the user works that shift: its lead, its crew's lead, a crew member or one of its rescuers."""
    if user.pk in (shift.lead_id, shift.crew.lead_id):
        return True
    return shift.crew.members.filter(pk=user.pk).exists() or Rescuer.objects.filter(crew=shift.crew, user=user).exists()


def next_shift(shift: Shift) -> Shift | None:
    return Shift.objects.filter(area=shift.area_id, starts_at__gte=shift.ends_at).order_by("starts_at").first()


# ----------------------------------------------------------------------------- editing and handovers


def change_shift(shift: Shift, *, crew: Crew, lead: User | None, user: User) -> Shift:
    """A shift lead swaps the crew or the lead of one shift. The lead must belong to the crew."""
    if crew.area_id != shift.area_id:
        raise ValueError(_("That crew does not serve this area."))
    if lead is not None and lead.pk != crew.lead_id and not crew.members.filter(pk=lead.pk).exists():
        raise ValueError(_("The shift lead must be the crew's lead or one of its members."))
    with transaction.atomic():
        shift = Shift.objects.select_for_update().get(pk=shift.pk)
        before = audit.snapshot(shift)
        shift.crew, shift.lead = crew, lead
        shift.save(update_fields=["crew", "lead", "updated_at"])
        audit.record_change(shift, before, audit.snapshot(shift), user=user)
    return shift


def open_incidents_in(area: Area, user: User | None = None) -> int:
    """Incidents still open in the area (within the user's console scope when given)."""
    qs = console_incidents(user) if user is not None else Incident.objects.all()
    return qs.filter(area.descendants_q(), status__in=OPEN_INCIDENT).count()


def waiting_alarms_in(area: Area, user: User | None = None) -> int:
    """Life-safety alarms in the area that nobody has claimed yet: the console's queue, which an outgoing shift
    hands over as surely as its open incidents (within the user's console scope when given)."""
    return (
        console_alarms(user)
        .filter(area.descendants_q(), status=AlarmStatus.ACTIVE, claimed_by__isnull=True, incident__isnull=True)
        .count()
    )


@dataclass
class Workload:
    """What is open in a center's area now: the on-duty box and the handover form show it."""

    incidents: int
    alarms: int


def workload(area: Area, user: User | None = None) -> Workload:
    return Workload(open_incidents_in(area, user), waiting_alarms_in(area, user))


def write_handover(shift: Shift, *, note: str, user: User, now: dt.datetime) -> Handover:
    """The outgoing shift's note; the open incidents in the shift's area are counted now."""
    note = (note or "").strip()
    if not note:
        raise ValueError(_("Write what the next shift needs to know."))
    if len(note) > 4000:
        raise ValueError(_("Keep the note under 4,000 characters."))
    if shift.starts_at > now:
        raise ValueError(_("A shift that has not started cannot hand over."))
    with transaction.atomic():
        handover = Handover.objects.create(
            shift=shift, author=user, note=note, open_incidents=open_incidents_in(shift.area)
        )
        audit.record_change(handover, None, audit.snapshot(handover), user=user)
    return handover


def can_receive(user: User, handover: Handover) -> bool:
    """The incoming shift receives: its lead or anyone on it; a user with dispatch.lead may too."""
    if handover.author_id == user.pk:
        return False
    incoming = next_shift(handover.shift)
    if incoming is not None and is_on_shift(user, incoming):
        return True
    return user.has_linli_perm("dispatch.lead")


def receive_handover(handover: Handover, *, user: User, now: dt.datetime) -> Handover:
    if not can_receive(user, handover):
        raise PermissionError(_("Only someone on the next shift can receive this handover."))
    with transaction.atomic():
        updated = Handover.objects.filter(pk=handover.pk, received_at__isnull=True).update(
            received_by=user, received_at=now
        )
        if not updated:
            raise ValueError(_("This handover has already been received."))
        handover.refresh_from_db()
        audit.record(
            "update",
            handover,
            before={"received_at": None},
            after={"received_at": now, "received_by": user.pk},
            user=user,
        )
    return handover
