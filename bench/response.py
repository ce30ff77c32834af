#!/usr/bin/env python3
"""Response benchmark: time to scene in a simulated district like Shijingshan (石景山), Linli's dispatch policy
against nearest-by-straight-line dispatch, with the seeds' 18 minutes as the reference.

    .venv/bin/python bench/response.py                      # 365 days, seed 42, the documented assumptions
    .venv/bin/python bench/response.py --days 90 --load 3   # three times the alarm rate

No server and no database: the district, its people and its rescuers are plain Python; the policies are the
ones the console uses (linli/dispatch/recommend.py: `rank(rescuers, lat, lng, policy)`, "travel" is Linli's,
"straight" the baseline), and who is on duty comes from the roster (linli/dispatch/roster.py: `crew_for`).
A third policy, "ideal", knows the simulated road network exactly: the most any estimate could gain.
Every policy sees the same alarms, call-backs and on-scene times (drawn once from the seed).

The model (every figure an assumption, written here so it can be argued with):

District. 11.0 km east–west × 7.7 km north–south (≈ 85 km², Shijingshan is 84.4 km²), at 39.906 N 116.170 E.
Streets run north–south and east–west: travel follows the grid (Manhattan distance) times 1.08 for lanes
and turns. A barrier runs north–south at x = 3.6 km (in Shijingshan: the railway and the Yongding diversion
canal): cars cross only on three road bridges (y = 1.2, 4.0, 6.8 km); on foot or by e-bike there are also
footbridges every 1.0 km. So the straight line is often not the fastest way, and a car on the other side of
the canal can lose to a walker on the same side.

People. WEARERS bracelet wearers (default 1,200); 65 % live around 14 residential clusters (old work-unit
estates; normal, σ 0.5 km), 35 % anywhere; each snapped to the nearest street corner of a 250 m grid.

Alarms, per wearer per year: SOS presses 6 (most are accidental or tests and end at the call-back; 20 % need
a rescuer), fall detections 1.5 (40 % need a rescuer). That is 1.8 rescues per wearer per year, ≈ 5.9 a day
for 1,200 wearers. By hour: the presses follow the day — weights 0.4 per night hour (00–06), 1.0 from 06 to
08, 1.6 from 08 to 12, 1.3 from 12 to 18, 1.0 from 18 to 22, 0.6 from 22 to 24.

The call. Acknowledged after 15 s + exponential(mean 20 s); the call-back takes 45–120 s (uniform); then the
dispatcher sends the rescuer the policy chose. If nobody is free, the incident waits for the first rescuer
who becomes free (first come, first served).

Rescuers. 20 in three crews (7, 7, 6) on the three-shift roster (night 00–08, day 08–16, evening 16–24); each
crew: 2 cars, 3 e-bikes, 2 on foot (the 6-person crew 2 on foot less one e-bike). Each has a station: one of
7 elderly-care stations (养老驿站) spread over the district. After a job the rescuer is free at the scene and
rides back to the station; a rescuer between jobs shares a fresh GPS position.
True travel: road km / speed + preparation + 1.5 min from the street to the door (stairs, finding the flat).
Speeds: on foot 4.5 km/h; e-bike 14 km/h; car 25 km/h at night (22–06), 14 km/h at the peaks (07–09,
17–19), 18 km/h otherwise. Preparation: on foot 0.5 min, e-bike 1.0 min, car 2.5 min (to the car, out of
the car park). On scene: 25 min + exponential(mean 20 min), then back to the station.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import random
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
os.environ.setdefault("LINLI_MODE", "test")

import django  # noqa: E402

django.setup()

from linli.dispatch import recommend, roster  # noqa: E402

# ----------------------------------------------------------------------------- the district

WIDTH_KM, HEIGHT_KM = 11.0, 7.7
LAT0, LNG0 = 39.906, 116.170
KM_PER_LAT = 110.574
KM_PER_LNG = 111.320 * math.cos(math.radians(LAT0))
LANE_FACTOR = 1.08
BLOCK_KM = 0.25
CANAL_X = 3.6
ROAD_BRIDGES = (1.2, 4.0, 6.8)
FOOTBRIDGES = tuple(0.5 + i for i in range(8))
STATIONS = ((1.6, 2.0), (1.8, 5.8), (5.0, 1.6), (5.5, 5.5), (7.6, 3.4), (9.4, 1.8), (9.6, 6.0))

FOOT, EBIKE, CAR = "foot", "ebike", "car"
PREP_MIN = {FOOT: 0.5, EBIKE: 1.0, CAR: 2.5}
DOOR_MIN = 1.5
REFERENCE_MIN = 18.0

SOS_PER_YEAR, SOS_REAL = 6.0, 0.20
FALL_PER_YEAR, FALL_REAL = 1.5, 0.40
HOUR_WEIGHT = [0.4] * 6 + [1.0] * 2 + [1.6] * 4 + [1.3] * 6 + [1.0] * 4 + [0.6] * 2
CREWS: tuple[list[str], ...] = (
    [CAR, CAR, EBIKE, EBIKE, EBIKE, FOOT, FOOT],
    [CAR, CAR, EBIKE, EBIKE, EBIKE, FOOT, FOOT],
    [CAR, CAR, EBIKE, EBIKE, FOOT, FOOT],
)


def speed_kmh(mode: str, hour: int) -> float:
    if mode == FOOT:
        return 4.5
    if mode == EBIKE:
        return 14.0
    if hour >= 22 or hour < 6:
        return 25.0
    if 7 <= hour < 9 or 17 <= hour < 19:
        return 14.0
    return 18.0


def road_km(a: tuple[float, float], b: tuple[float, float], mode: str) -> float:
    """Distance along the street grid, over a bridge when the canal lies between."""
    (x1, y1), (x2, y2) = a, b
    if (x1 < CANAL_X) == (x2 < CANAL_X):
        return (abs(x1 - x2) + abs(y1 - y2)) * LANE_FACTOR
    bridges = ROAD_BRIDGES if mode == CAR else ROAD_BRIDGES + FOOTBRIDGES
    return min(abs(x1 - x2) + abs(y1 - yb) + abs(yb - y2) for yb in bridges) * LANE_FACTOR


def true_minutes(a, b, mode: str, hour: int) -> float:
    return PREP_MIN[mode] + road_km(a, b, mode) / speed_kmh(mode, hour) * 60 + DOOR_MIN


def latlng(p: tuple[float, float]) -> tuple[float, float]:
    return LAT0 + p[1] / KM_PER_LAT, LNG0 + p[0] / KM_PER_LNG


# ----------------------------------------------------------------------------- people, alarms, rescuers


def place_wearers(rng: random.Random, n: int) -> list[tuple[float, float]]:
    clusters = [(rng.uniform(0.8, WIDTH_KM - 0.8), rng.uniform(0.8, HEIGHT_KM - 0.8)) for _ in range(14)]
    out: list[tuple[float, float]] = []
    while len(out) < n:
        if rng.random() < 0.65:
            cx, cy = rng.choice(clusters)
            x, y = rng.gauss(cx, 0.5), rng.gauss(cy, 0.5)
        else:
            x, y = rng.uniform(0, WIDTH_KM), rng.uniform(0, HEIGHT_KM)
        if 0 <= x <= WIDTH_KM and 0 <= y <= HEIGHT_KM:
            out.append((round(x / BLOCK_KM) * BLOCK_KM, round(y / BLOCK_KM) * BLOCK_KM))
    return out


@dataclass
class Call:
    t: float  # minutes from the start, when the alarm is received
    where: tuple[float, float]
    ack: float  # minutes to acknowledge
    callback: float  # minutes of call-back
    service: float  # minutes on scene


def make_calls(rng: random.Random, wearers, days: int, load: float) -> tuple[list[Call], int]:
    """The rescues (alarms that need a rescuer) and the count of all alarms, over `days` days."""
    per_day = len(wearers) * load * (SOS_PER_YEAR + FALL_PER_YEAR) / 365
    real_share = (SOS_PER_YEAR * SOS_REAL + FALL_PER_YEAR * FALL_REAL) / (SOS_PER_YEAR + FALL_PER_YEAR)
    total_w = sum(HOUR_WEIGHT)
    calls, alarms = [], 0
    for day in range(days):
        for hour in range(24):
            lam = per_day * HOUR_WEIGHT[hour] / total_w
            n = _poisson(rng, lam)
            alarms += n
            for _ in range(n):
                if rng.random() >= real_share:
                    continue
                t = day * 1440 + hour * 60 + rng.uniform(0, 60)
                calls.append(
                    Call(
                        t,
                        rng.choice(wearers),
                        ack=0.25 + rng.expovariate(1 / (20 / 60)),
                        callback=rng.uniform(0.75, 2.0),
                        service=25 + rng.expovariate(1 / 20),
                    )
                )
    calls.sort(key=lambda c: c.t)
    return calls, alarms


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


@dataclass
class Rescuer:
    """What recommend.rank reads (lat/lng, position_at, base, travel, pk) and what the simulation tracks."""

    pk: int
    crew: int
    travel: str
    base: tuple[float, float]
    pos: tuple[float, float] = (0.0, 0.0)
    free_at: float = 0.0  # minute the rescuer leaves the last scene
    home_at: float = 0.0  # minute back at the station
    busy: float = 0.0
    lat: float = 0.0
    lng: float = 0.0
    base_lat: float = 0.0
    base_lng: float = 0.0
    position_at: dt.datetime | None = None


def make_rescuers() -> list[Rescuer]:
    out, pk = [], 0
    for c, modes in enumerate(CREWS):
        for i, mode in enumerate(modes):
            pk += 1
            base = STATIONS[(i + 2 * c) % len(STATIONS)]
            r = Rescuer(pk, c, mode, base, pos=base)
            r.base_lat, r.base_lng = latlng(base)
            out.append(r)
    return out


# ----------------------------------------------------------------------------- the simulation

START = dt.datetime(2026, 1, 5, tzinfo=roster.TZ)


def on_duty_crew(t: float) -> int:
    moment = START + dt.timedelta(minutes=t)
    return roster.crew_for(moment.date(), moment.hour // 8)


def next_shift_start(t: float) -> float:
    return (math.floor(t / 480) + 1) * 480


def where_now(r: Rescuer, t: float) -> tuple[float, float]:
    """At the last scene until they leave, then riding back (counted at the scene), then at the station."""
    return r.base if t >= r.home_at else r.pos


def policy_recommend(name: str):
    """Linli's ('travel') or the baseline ('straight') ranking, exactly as the console calls it."""

    def choose(free: list[Rescuer], dest, t: float) -> Rescuer:
        now = START + dt.timedelta(minutes=t)
        for r in free:
            r.lat, r.lng = latlng(where_now(r, t))
            r.position_at = now
        lat, lng = latlng(dest)
        return recommend.rank(free, lat, lng, policy=name, now=now)[0].rescuer  # type: ignore[return-value]

    return choose


def policy_ideal(free: list[Rescuer], dest, t: float) -> Rescuer:
    hour = int((t % 1440) // 60)
    return min(free, key=lambda r: (true_minutes(where_now(r, t), dest, r.travel, hour), r.pk))


@dataclass
class Result:
    policy: str
    scene: list[float] = field(default_factory=list)
    waited: int = 0
    modes: dict = field(default_factory=dict)
    busy_share: float = 0.0
    estimate_error: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        s = sorted(self.scene)
        return {
            "policy": self.policy,
            "incidents": len(s),
            "mean_min": round(statistics.fmean(s), 2),
            "median_min": round(_pct(s, 0.5), 2),
            "p90_min": round(_pct(s, 0.9), 2),
            "max_min": round(s[-1], 1),
            "within_18": round(sum(1 for v in s if v <= REFERENCE_MIN) / len(s), 4),
            "waited": self.waited,
            "utilisation": round(self.busy_share, 4),
            "sent_by_mode": self.modes,
        }


def _pct(s: list[float], f: float) -> float:
    pos = (len(s) - 1) * f
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def simulate(calls: list[Call], days: int, name: str, choose) -> Result:
    rescuers = make_rescuers()
    res = Result(name, modes={FOOT: 0, EBIKE: 0, CAR: 0})
    for c in calls:
        ready = c.t + c.ack + c.callback  # the dispatcher sends someone now
        t = ready
        while True:
            crew = on_duty_crew(t)
            free = [r for r in rescuers if r.crew == crew and r.free_at <= t]
            if free:
                break
            waiting = [r.free_at for r in rescuers if r.crew == crew]
            t = min(min(waiting), next_shift_start(t))
        if t > ready:
            res.waited += 1
        r = choose(free, c.where, t)
        hour = int((t % 1440) // 60)
        travel = true_minutes(where_now(r, t), c.where, r.travel, hour)
        arrive = t + travel
        res.scene.append(arrive - c.t)
        res.modes[r.travel] += 1
        r.free_at = arrive + c.service
        r.home_at = r.free_at + true_minutes(c.where, r.base, r.travel, hour) - DOOR_MIN
        r.busy += r.home_at - t
        r.pos = c.where
    on_duty_minutes = days * 1440 * sum(len(m) for m in CREWS) / 3
    res.busy_share = sum(r.busy for r in rescuers) / on_duty_minutes
    return res


# ----------------------------------------------------------------------------- run


def machine() -> dict:
    cpu, mem = "unknown", 0.0
    try:
        cpu = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")
            ),
            cpu,
        )
        mem = next(
            int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal")
        )
        mem = mem / 1024 / 1024
    except (OSError, StopIteration):
        pass
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(mem, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def run(days: int, seed: int, wearers_n: int, load: float) -> dict:
    rng = random.Random(seed)
    wearers = place_wearers(rng, wearers_n)
    calls, alarms = make_calls(rng, wearers, days, load)
    results = [
        simulate(calls, days, "straight", policy_recommend("straight")),
        simulate(calls, days, "linli", policy_recommend("travel")),
        simulate(calls, days, "ideal", policy_ideal),
    ]
    return {
        "dataset": {
            "days": days,
            "seed": seed,
            "wearers": wearers_n,
            "load": load,
            "alarms": alarms,
            "rescues": len(calls),
            "rescuers": sum(len(m) for m in CREWS),
            "district_km2": round(WIDTH_KM * HEIGHT_KM, 1),
        },
        "results": [r.summary() for r in results],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--wearers", type=int, default=1200)
    p.add_argument("--load", type=float, default=1.0, help="multiply the alarm rates")
    p.add_argument("--json", default=None, help="write the figures here (default var/bench-response-<load>.json)")
    a = p.parse_args()
    if a.days < 1 or a.wearers < 1 or a.load <= 0:
        p.error("--days, --wearers and --load must be positive")
    info = machine()
    out = run(a.days, a.seed, a.wearers, a.load)
    out["machine"] = info
    d = out["dataset"]
    print(
        f"machine: {info['nproc']} cores, {info['ram_gb']} GB RAM, {info['cpu']}; "
        f"Python {info['python']}; {info['date']}"
    )
    print(
        f"dataset: simulated district {d['district_km2']} km², {d['wearers']:,} bracelet wearers, "
        f"{d['rescuers']} rescuers in three crews, {d['days']} days, seed {d['seed']}, load ×{d['load']}: "
        f"{d['alarms']:,} alarms, {d['rescues']:,} rescues"
    )
    print(f"{'policy':<10}{'mean':>7}{'median':>8}{'p90':>7}{'max':>7}{'≤18 min':>9}{'waited':>8}{'util.':>7}  sent by")
    for r in out["results"]:
        print(
            f"{r['policy']:<10}{r['mean_min']:>7.2f}{r['median_min']:>8.2f}{r['p90_min']:>7.2f}{r['max_min']:>7.1f}"
            f"{100 * r['within_18']:>8.1f}%{r['waited']:>8}{100 * r['utilisation']:>6.1f}%  {r['sent_by_mode']}"
        )
    path = Path(a.json) if a.json else ROOT / "var" / f"bench-response-{a.load:g}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
