"""Which rescuer to send: the available, on-shift rescuer who reaches the place first.

Travel-time model (documented in docs; the response benchmark uses the same function):

    minutes = START_MINUTES + straight_line_km × ROAD_FACTOR / SPEED_KMH[travel mode] × 60

- straight-line distance: haversine between the rescuer's position and the incident;
- ROAD_FACTOR 1.35: city streets are longer than the straight line (the circuity of urban road networks
  measured in Chinese and European cities is 1.2–1.5; 1.35 is a middle value for an old town of lanes);
- SPEED_KMH: on foot 4.5, e-bike 15, car 20 (a car in Beijing's inner districts averages about 20 km/h at
  peak; an e-bike in lanes about 15 km/h);
- START_MINUTES 1.5: from accepting on the phone to moving (stairs, unlocking the bike).

The rescuer's position is their last shared one if it is at most POSITION_FRESH_MINUTES old, otherwise their
station (base_lat/lng); a rescuer with neither is not recommended (the console still lets a dispatcher pick
them by hand).

Who is eligible: status AVAILABLE (on duty, not on a job), serving an area that contains the incident (their
area is the incident's grid, community, street, district or city), and on shift: a rescuer in a crew is on
shift while one of the crew's shifts runs; a rescuer without a crew is on shift whenever on duty.

`policy="travel"` (Linli's policy) ranks by travel minutes; `policy="straight"` by straight-line distance
(the baseline the benchmark compares against).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from linli.dispatch.models import Rescuer

EARTH_KM = 6371.0088
ROAD_FACTOR = 1.35
START_MINUTES = 1.5
SPEED_KMH: dict[str, float] = {Rescuer.Travel.FOOT: 4.5, Rescuer.Travel.EBIKE: 15.0, Rescuer.Travel.CAR: 20.0}
POSITION_FRESH_MINUTES = 30


def km_between(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle (straight-line) distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


def position_of(rescuer: Rescuer, now: dt.datetime | None = None) -> tuple[float, float] | None:
    now = now or timezone.now()
    fresh = rescuer.position_at and now - rescuer.position_at <= dt.timedelta(minutes=POSITION_FRESH_MINUTES)
    if rescuer.lat is not None and rescuer.lng is not None and fresh:
        return rescuer.lat, rescuer.lng
    if rescuer.base_lat is not None and rescuer.base_lng is not None:
        return rescuer.base_lat, rescuer.base_lng
    if rescuer.lat is not None and rescuer.lng is not None:
        return rescuer.lat, rescuer.lng
    return None


def minutes_for_km(km: float, travel: str) -> float:
    speed = SPEED_KMH.get(travel) or SPEED_KMH[Rescuer.Travel.EBIKE]
    return START_MINUTES + km * ROAD_FACTOR / speed * 60


def travel_minutes(rescuer: Rescuer, lat: float, lng: float, now: dt.datetime | None = None) -> float | None:
    """Estimated minutes for `rescuer` to reach (lat, lng); None without a known position."""
    pos = position_of(rescuer, now)
    if pos is None:
        return None
    return minutes_for_km(km_between(pos[0], pos[1], lat, lng), rescuer.travel)


@dataclass
class Candidate:
    rescuer: Rescuer
    km: float
    minutes: float


def on_shift_q(now: dt.datetime) -> Q:
    return Q(crew__isnull=True) | Q(crew__shifts__starts_at__lte=now, crew__shifts__ends_at__gt=now)


def eligible(area_ids, now: dt.datetime | None = None):
    """Available, on-shift rescuers serving one of `area_ids` (the incident's grid…city)."""
    now = now or timezone.now()
    return (
        Rescuer.objects.filter(status=Rescuer.Status.AVAILABLE, area_id__in=[a for a in area_ids if a])
        .filter(on_shift_q(now))
        .distinct()
        .select_related("user")
    )


def rank(rescuers, lat: float, lng: float, policy: str = "travel", now=None) -> list[Candidate]:
    now = now or timezone.now()
    out = []
    for r in rescuers:
        pos = position_of(r, now)
        if pos is None:
            continue
        km = km_between(pos[0], pos[1], lat, lng)
        out.append(Candidate(r, km, minutes_for_km(km, r.travel)))
    key = (lambda c: (c.km, c.rescuer.pk)) if policy == "straight" else (lambda c: (c.minutes, c.rescuer.pk))
    return sorted(out, key=key)


def candidates_for(incident, policy: str = "travel", now=None) -> list[Candidate]:
    if incident.lat is None or incident.lng is None:
        return []
    areas = (incident.grid_id, incident.community_id, incident.street_id, incident.district_id, incident.city_id)
    return rank(eligible(areas, now), incident.lat, incident.lng, policy, now)


def recommend(incident, policy: str = "travel", now=None) -> Candidate | None:
    found = candidates_for(incident, policy, now)
    return found[0] if found else None
