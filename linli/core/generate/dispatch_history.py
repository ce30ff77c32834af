"""A few weeks of the dispatch center's past for the demo street, so that the KPI page and the roster have
something to show: the roster from four weeks back to the end of next week, a lead for every crew, and
life-safety alarms with their incidents, each with the full timestamp chain and its timeline.

The figures are plausible rather than measured: about eight life-safety alarms a day, more by day than by
night; a call-taker of the crew on duty claims within a minute or two; about one alarm in six is a false alarm
or a test; rescuers reach most doors within the 18 minutes, a few later. Some devices also went offline for a
few hours (the KPI's offline-hours).

Idempotent: the history is written once per street (its alarms are marked in `data`); the roster and the
crews' leads are completed on every run. Records are written in bulk, without the signals that would notify
people or push pages: this is the past.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from linli.dispatch.models import Crew, Incident, IncidentEvent, IncidentStatus, Rescuer, Shift
from linli.dispatch.roster import TZ, make_roster
from linli.iot.models import Alarm, AlarmStatus, AlarmType, CloseReason, Device, DeviceKind, Severity
from linli.places.models import Area

WEEKS_BACK = 4
ALARMS_PER_DAY = 8.0
MARK = "demo_history"
# the device kinds whose alarms go to the center, and which alarms each raises (type, weight)
KIND_ALARMS: dict[str, tuple[tuple[str, int], ...]] = {
    DeviceKind.BRACELET: ((AlarmType.SOS, 7), (AlarmType.FALL, 2), (AlarmType.HEART_RATE, 1)),
    DeviceKind.CALL_BUTTON: ((AlarmType.SOS, 1),),
    DeviceKind.SMOKE: ((AlarmType.SMOKE, 1),),
    DeviceKind.GAS: ((AlarmType.GAS, 1),),
    DeviceKind.LEAK: ((AlarmType.LEAK, 1),),
    DeviceKind.ABNORMAL: ((AlarmType.INACTIVITY, 1),),
}
KIND_WEIGHT: dict[str, int] = {DeviceKind.BRACELET: 8, DeviceKind.CALL_BUTTON: 4}  # the others 1
# relative alarm rate by Beijing hour: quieter at night, busiest in the morning and early evening
HOURLY = (2, 1, 1, 1, 1, 2, 4, 6, 7, 7, 6, 5, 5, 5, 5, 6, 6, 7, 7, 6, 5, 4, 3, 2)


@dataclass
class History:
    alarms: int = 0
    incidents: int = 0
    false_alarms: int = 0
    offline: int = 0
    shifts: int = 0
    leads: int = 0


def ensure_dispatch_history(street: Area, *, seed: int = 17, now: dt.datetime | None = None) -> History:
    """The roster around today, a lead for each crew, and (once) four weeks of alarms and incidents."""
    now = now or timezone.now()
    out = History()
    today = timezone.localdate(now, TZ)
    monday = today - dt.timedelta(days=today.weekday())
    first = monday - dt.timedelta(weeks=WEEKS_BACK)
    out.shifts = make_roster(street, first, (monday + dt.timedelta(days=14) - first).days).created
    out.leads = _lead_every_crew(street)
    if Alarm.objects.filter(street=street, **{f"data__{MARK}": True}).exists():
        return out
    devices = list(Device.objects.filter(street=street, active=True, kind__in=list(KIND_ALARMS)))
    if not devices:
        return out
    with transaction.atomic():
        _write_history(street, devices, first, now - dt.timedelta(hours=2), random.Random(seed), out)
    return out


def _lead_every_crew(street: Area) -> int:
    """Give each crew without a lead its first member as lead (the demo's shift_lead leads the crew on duty),
    and each shift without one its crew's lead."""
    made = 0
    for crew in Crew.objects.filter(area=street, lead__isnull=True):
        member = crew.members.order_by("username").first()
        if member is not None:
            Crew.objects.filter(pk=crew.pk).update(lead=member)
            made += 1
    for crew in Crew.objects.filter(area=street, lead__isnull=False):
        Shift.objects.filter(crew=crew, lead__isnull=True).update(lead=crew.lead_id)
    return made


class _Roster:
    """Who was on duty when: the street's shifts in order, their crews' call-takers and rescuers."""

    def __init__(self, street: Area) -> None:
        self.shifts = list(Shift.objects.filter(area=street).select_related("crew").order_by("starts_at"))
        self.starts = [s.starts_at for s in self.shifts]
        self.members = {c.pk: list(c.members.order_by("username")) for c in Crew.objects.filter(area=street)}
        self.rescuers: dict[int, list[Rescuer]] = {}
        for r in Rescuer.objects.filter(area=street, crew__isnull=False).order_by("pk"):
            self.rescuers.setdefault(r.crew_id or 0, []).append(r)

    def at(self, moment: dt.datetime) -> Shift | None:
        i = bisect.bisect_right(self.starts, moment) - 1
        if i >= 0 and self.shifts[i].starts_at <= moment < self.shifts[i].ends_at:
            return self.shifts[i]
        return None


def _moments(start: dt.datetime, end: dt.datetime, rng: random.Random) -> list[dt.datetime]:
    """Alarm times between start and end: a Poisson process whose rate follows HOURLY."""
    mean = sum(HOURLY) / 24
    out = []
    hour = start
    while hour < end:
        local = timezone.localtime(hour, TZ)
        rate = ALARMS_PER_DAY / 24 * HOURLY[local.hour] / mean  # alarms in this hour, on average
        n = _poisson(rate, rng)
        for _ in range(n):
            moment = hour + dt.timedelta(seconds=rng.uniform(0, 3600))
            if moment < end:
                out.append(moment)
        hour += dt.timedelta(hours=1)
    return sorted(out)


def _poisson(rate: float, rng: random.Random) -> int:
    limit, k, p = math.exp(-rate), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _seconds(rng: random.Random, median: float, spread: float, low: float, high: float) -> dt.timedelta:
    """A log-normal delay (most near the median, a long tail), kept within [low, high] seconds."""
    return dt.timedelta(seconds=min(max(rng.lognormvariate(math.log(median), spread), low), high))


def _write_history(
    street: Area, devices: list[Device], first: dt.date, end: dt.datetime, rng: random.Random, out: History
) -> None:
    duty = _Roster(street)
    anyone = [u for members in duty.members.values() for u in members]
    weights = [KIND_WEIGHT.get(d.kind, 1) for d in devices]
    start = dt.datetime.combine(first, dt.time(0), tzinfo=TZ)
    alarms: list[Alarm] = []
    plans: list[dict] = []
    for raised in _moments(start, end, rng):
        device = rng.choices(devices, weights)[0]
        types, type_weights = zip(*KIND_ALARMS[device.kind], strict=True)
        shift = duty.at(raised)
        takers = (duty.members.get(shift.crew_id) if shift else None) or anyone
        taker = rng.choice(takers) if takers else None
        rescuers = duty.rescuers.get(shift.crew_id, []) if shift else []
        alarm = _alarm(device, rng.choices(types, type_weights)[0], raised)
        alarms.append(alarm)
        plans.append(_plan(alarm, taker, shift, rescuers, rng))
    alarms += _offline_alarms(devices, start, end, rng, out)
    Alarm.objects.bulk_create(alarms)
    incidents, events = [], []
    for alarm, plan in zip(alarms, plans, strict=False):  # the offline alarms come last and have no plan
        out.alarms += 1
        if plan["false"]:
            out.false_alarms += 1
        incident = plan.get("incident")
        if incident is not None:
            incident.alarm_id = alarm.pk
            incidents.append(incident)
    Incident.objects.bulk_create(incidents)
    for plan in plans:
        incident = plan.get("incident")
        if incident is not None:
            for e in plan["events"]:
                data = {"alarm": incident.alarm_id} if e["action"] == "received" else e.get("data", {})
                events.append(IncidentEvent(incident_id=incident.pk, **{**e, "data": data}))
    IncidentEvent.objects.bulk_create(events)
    out.incidents = len(incidents)


def _alarm(device: Device, kind: str, raised: dt.datetime) -> Alarm:
    return Alarm(
        device=device,
        type=kind,
        severity=Severity.CRITICAL,
        life_safety=True,
        status=AlarmStatus.CLOSED,
        message="",
        data={MARK: True},
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
        device_ts=raised - dt.timedelta(seconds=1),
        raised_at=raised,
        last_at=raised,
    )


def _plan(alarm: Alarm, taker, shift: Shift | None, rescuers: list[Rescuer], rng: random.Random) -> dict:
    """What happened to one alarm: its times and close reason set on it, and the incident and timeline to write.

    One in twenty is a test closed from the queue; of the rest, claimed within a minute or two (longer at
    night), one in seven turns out a false alarm on the call-back, one in ten is fine, the others get a
    rescuer."""
    raised = alarm.raised_at
    night = timezone.localtime(raised, TZ).hour < 7
    ack = raised + _seconds(rng, 75 if night else 40, 0.7, 8, 600)
    alarm.claimed_by = alarm.acknowledged_by = alarm.closed_by = taker
    alarm.claimed_at = alarm.acknowledged_at = ack
    if taker is None or rng.random() < 0.05:  # a test press, closed from the queue
        alarm.claimed_by = None
        alarm.claimed_at = None
        alarm.close_reason, alarm.closed_at = CloseReason.TEST, ack
        return {"false": True}
    called = ack + _seconds(rng, 60, 0.5, 15, 400)
    events = [
        {"at": raised, "actor": None, "action": "received", "status": IncidentStatus.OPEN},
        {"at": ack, "actor": taker, "action": "claimed", "status": IncidentStatus.OPEN},
    ]
    incident = Incident(
        status=IncidentStatus.COMPLETED,
        call_taker=taker,
        shift=shift,
        resident_id=alarm.resident_id,
        house_id=alarm.house_id,
        estate_id=alarm.estate_id,
        grid_id=alarm.grid_id,
        community_id=alarm.community_id,
        street_id=alarm.street_id,
        district_id=alarm.district_id,
        city_id=alarm.city_id,
        lat=alarm.lat,
        lng=alarm.lng,
        received_at=raised,
        acknowledged_at=ack,
        called_back_at=called,
    )
    roll = rng.random()
    if roll < 0.15 or not rescuers:
        false = roll < 0.15
        incident.callback = Incident.Callback.FALSE_ALARM if false else Incident.Callback.OK
        incident.callback_note = "老人误触按键，已确认平安。" if false else "已电话联系，本人平安，无需上门。"
        incident.status, incident.closed_at = IncidentStatus.CLOSED, called + _seconds(rng, 40, 0.4, 10, 300)
        alarm.close_reason = CloseReason.FALSE_ALARM if false else CloseReason.RESOLVED
        alarm.closed_at = incident.closed_at
        events += [
            {"at": called, "actor": taker, "action": "called_back", "status": IncidentStatus.CALLED_BACK},
            {
                "at": incident.closed_at,
                "actor": taker,
                "action": "closed",
                "status": IncidentStatus.CLOSED,
                "note": incident.callback_note,
            },
        ]
        return {"false": false, "incident": incident, "events": events}
    rescuer = rng.choice(rescuers)
    incident.callback = rng.choice(
        [Incident.Callback.NEEDS_HELP, Incident.Callback.NEEDS_HELP, Incident.Callback.NO_ANSWER]
    )
    incident.rescuer = incident.recommended_rescuer = rescuer
    incident.dispatched_at = called + _seconds(rng, 45, 0.5, 10, 300)
    incident.en_route_at = incident.dispatched_at + _seconds(rng, 30, 0.5, 5, 180)
    # door to door: most within 18 minutes of the alarm, a long tail beyond
    incident.on_scene_at = incident.en_route_at + _seconds(rng, 420, 0.55, 120, 2400)
    done = incident.on_scene_at + _seconds(rng, 1500, 0.5, 300, 7200)
    events += [
        {"at": called, "actor": taker, "action": "called_back", "status": IncidentStatus.CALLED_BACK},
        {"at": incident.dispatched_at, "actor": taker, "action": "dispatched", "status": IncidentStatus.DISPATCHED},
        {"at": incident.en_route_at, "actor": rescuer.user, "action": "accept", "status": IncidentStatus.EN_ROUTE},
        {"at": incident.on_scene_at, "actor": rescuer.user, "action": "on_scene", "status": IncidentStatus.ON_SCENE},
    ]
    if rng.random() < 0.12:
        incident.handover_to = Incident.HandoverTo.AMBULANCE
        incident.handed_over_at = incident.on_scene_at + _seconds(rng, 600, 0.4, 120, 3600)
        done = max(done, incident.handed_over_at + dt.timedelta(minutes=5))
        events.append(
            {
                "at": incident.handed_over_at,
                "actor": rescuer.user,
                "action": "handed_over",
                "status": IncidentStatus.HANDED_OVER,
                "data": {"to": incident.handover_to},
            }
        )
    incident.closed_at = done
    incident.outcome = "已送医，家属陪同。" if incident.handover_to else "已上门查看，老人情况稳定，已通知家属。"
    alarm.close_reason, alarm.closed_at = CloseReason.RESOLVED, done
    events.append(
        {"at": done, "actor": taker, "action": "closed", "status": IncidentStatus.COMPLETED, "note": incident.outcome}
    )
    return {"false": False, "incident": incident, "events": events}


def _offline_alarms(
    devices: list[Device], start: dt.datetime, end: dt.datetime, rng: random.Random, out: History
) -> list[Alarm]:
    """A device offline every couple of days, back after an hour to a day (battery flat, router off)."""
    alarms = []
    days = max(1, (end - start).days)
    for _ in range(days // 2):
        device = rng.choice(devices)
        raised = start + dt.timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))
        back = min(raised + _seconds(rng, 4 * 3600, 0.9, 1800, 30 * 3600), end)
        alarm = _alarm(device, AlarmType.OFFLINE, raised)
        alarm.life_safety, alarm.severity = False, Severity.WARNING
        alarm.status, alarm.cleared_at = AlarmStatus.CLEARED, back
        alarms.append(alarm)
        out.offline += 1
    return alarms
