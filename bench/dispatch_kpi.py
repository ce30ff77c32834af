#!/usr/bin/env python3
"""Dispatch KPI benchmark: a busy district center's year of incidents on PostgreSQL, then the KPI report
(`linli.dispatch.kpi.report`) and the KPI page (/dispatch/kpi/) timed for a street's shift lead and the
district's.

    bin/with-postgres .venv/bin/python bench/dispatch_kpi.py                 # generate, then measure
    bin/with-postgres .venv/bin/python bench/dispatch_kpi.py --explain       # and EXPLAIN ANALYZE the year
    DATABASE_URL=postgres://… .venv/bin/python bench/dispatch_kpi.py --no-generate   # measure what is loaded

The data (seeded, written with bulk_create; ends now, so "the last 7 days" has data):

- one district like Shijingshan (110107) with STREETS streets, COMMUNITIES communities per street and
  GRIDS grids per community; the center's three crews and its roster on the district for the whole year;
- devices of the elderly living alone (bracelets, call buttons, smoke and gas detectors), 3 % offline now;
- INCIDENTS incidents over 365 days (one life-safety alarm each), by hour of day as the response benchmark
  (bench/response.py: busier by day), plus about 13 % of life-safety alarms that ended without an incident
  (tests, false alarms, cleared by the device) and offline alarms (about two per device a year, open for
  hours, those of the devices offline now still open);
- each incident's chain as the console writes it: received (= the alarm raised) → acknowledged (15 s +
  exp(20 s)) → called back (45–120 s). 45 % of call-backs find a false alarm (a tenth of them a test) and
  12 % all well: closed. The rest (needs help, no answer) are dispatched (10–60 s), en route, on scene
  (log-normal, median 11 minutes from dispatch; about one in five past 18 minutes from the alarm),
  completed or handed over to 120 (15 %). Incidents whose next step lies after now stay open at that step.
  The incident belongs to the shift running when it was claimed.

Timed: `kpi.report(user, period, by)` for by = shift, day, month and the periods last 7 days, last 30 days
and the whole year (365 days), as the shift lead of one street and the district's shift lead, p50/p95 over
--runs runs after one warm-up; then the same through django.test.Client (GET /dispatch/kpi/…). Prints the
figures and writes them as JSON under var/ (bench-dispatch-kpi.json); docs/benchmarks.md records runs.

The roster belongs to the district, and shifts are scoped by their area: the street's shift lead sees the
street's alarms and incidents but not the district's roster, so their rows by shift are the incidents grouped
by the shift that claimed them, without the roster's labels (as the page shows it to such a user).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
os.environ.setdefault("LINLI_MODE", "test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from registry import TARGET_MS, machine, timed  # noqa: E402

DISTRICT_CODE = "110107000000"
STREET_CODE = "110107001000"  # the street whose shift lead is measured
STREETS, COMMUNITIES, GRIDS = 10, 15, 3
INCIDENTS = 100_000
DAYS = 365
DEVICES_PER_GRID = 30
HOUR_WEIGHT = [0.4] * 6 + [1.0] * 2 + [1.6] * 4 + [1.3] * 6 + [1.0] * 4 + [0.6] * 2
BATCH = 5_000


# ----------------------------------------------------------------------------- the data


def _areas():
    from linli.places.models import Area

    def make(level, code, name, parent):
        a = Area(level=level, code=code, name=name, parent=parent, lat=39.906, lng=116.17)
        a.set_ancestors()
        a.save()
        return a

    city = make("city", "110100000000", "北京市", None)
    district = make("district", DISTRICT_CODE, "石景山区", city)
    grids = []
    for s in range(1, STREETS + 1):
        street = make("street", f"110107{s:03d}000", f"第{s}街道", district)
        for c in range(1, COMMUNITIES + 1):
            community = make("community", f"110107{s:03d}{c:03d}", f"第{s}街道第{c}社区", street)
            for g in range(1, GRIDS + 1):
                grids.append(make("grid", f"110107{s:03d}{c:03d}{g:03d}", f"{community.name}第{g}网格", community))
    return district, grids


def _users(district, street):
    from linli.accounts.models import Assignment, Role, User
    from linli.dispatch.models import Rescuer

    def user(name, role, area):
        u = User.objects.create_user(username=name)  # no password: the bench logs in with force_login
        Assignment.objects.create(user=u, role=Role.objects.get(code=role), area=area)
        return u

    takers = [user(f"bench-calltaker{i:02d}", "dispatcher", district) for i in range(1, 7)]
    lead_street = user("bench-lead-street", "shift_lead", street)
    lead_district = user("bench-lead-district", "shift_lead", district)
    from linli.dispatch import roster

    crews = roster.ensure_crews(district)
    rescuers = []
    for i in range(21):
        u = user(f"bench-rescuer{i + 1:02d}", "rescuer", district)
        rescuers.append(Rescuer.objects.create(user=u, area=district, crew=crews[i % 3], status="available"))
    return takers, rescuers, lead_street, lead_district


def _lognormal_minutes(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0, sigma))


def generate(n_incidents: int, seed: int, now: dt.datetime) -> dict:
    """The district, its devices, alarms and incidents (see the module docstring). Returns counts."""
    from linli.dispatch import roster
    from linli.dispatch.models import Incident, IncidentStatus, Shift
    from linli.iot.models import Alarm, AlarmStatus, AlarmType, CloseReason, Device, DeviceKind, Severity
    from linli.places.models import Area

    rng = random.Random(seed)
    t0 = time.perf_counter()
    tz = roster.TZ
    today = timezone.localtime(now, tz).date()
    first_day = today - dt.timedelta(days=DAYS - 1)
    with transaction.atomic():
        district, grids = _areas()
        street = Area.objects.get(pk=grids[0].street_id)
        takers, rescuers, lead_street, lead_district = _users(district, street)
        roster.make_roster(district, first_day, DAYS)
        roster.make_roster(district, today + dt.timedelta(days=1), 1)
    shifts = {
        (timezone.localtime(s.starts_at, tz).date(), s.starts_at.astimezone(tz).hour // 8): s.pk
        for s in Shift.objects.filter(area=district)
    }

    # devices: per grid, bracelets and call buttons (SOS, falls) and smoke and gas detectors
    kinds = [DeviceKind.BRACELET] * 12 + [DeviceKind.CALL_BUTTON] * 10 + [DeviceKind.SMOKE] * 4 + [DeviceKind.GAS] * 4
    devices = []
    seq = 0
    for g in grids:
        for kind in kinds[:DEVICES_PER_GRID]:
            seq += 1
            devices.append(
                Device(
                    code=f"BK-{seq:06d}",
                    kind=kind,
                    grid=g,
                    community_id=g.community_id,
                    street_id=g.street_id,
                    district_id=g.district_id,
                    city_id=g.city_id,
                    online=rng.random() >= 0.03,
                    active=True,
                    last_seen_at=now,
                )
            )
    Device.objects.bulk_create(devices, batch_size=BATCH)
    devices = list(Device.objects.filter(district=district).order_by("pk"))
    # the busier homes raise more: a weight per device (log-normal)
    weights = [math.exp(rng.gauss(0, 0.8)) for _ in devices]
    alarm_type = {
        DeviceKind.BRACELET: (AlarmType.SOS, AlarmType.FALL, AlarmType.HEART_RATE),
        DeviceKind.CALL_BUTTON: (AlarmType.SOS,),
        DeviceKind.SMOKE: (AlarmType.SMOKE,),
        DeviceKind.GAS: (AlarmType.GAS,),
    }

    start = dt.datetime.combine(first_day, dt.time(0), tzinfo=tz)
    span_days = (now - start).total_seconds() / 86400
    total_w = sum(HOUR_WEIGHT)
    cum_hours = []
    acc = 0.0
    for w in HOUR_WEIGHT:
        acc += w / total_w
        cum_hours.append(acc)

    def moment() -> dt.datetime:
        while True:
            day = rng.randrange(int(span_days) + 1)
            r = rng.random()
            hour = next(h for h, c in enumerate(cum_hours) if r <= c)
            t = start + dt.timedelta(days=day, hours=hour, seconds=rng.uniform(0, 3600))
            if t < now - dt.timedelta(seconds=5):
                return t

    n_alarms = round(n_incidents / 0.87)
    picked = rng.choices(range(len(devices)), weights=weights, k=n_alarms)
    alarms: list[Alarm] = []
    plans: list[dict | None] = []
    later = dt.timedelta
    for i, di in enumerate(picked):
        dev = devices[di]
        raised = moment()
        typ = rng.choice(alarm_type[dev.kind])
        a = Alarm(
            device=dev,
            type=typ,
            severity=Severity.CRITICAL if typ in (AlarmType.SOS, AlarmType.FALL, AlarmType.SMOKE) else Severity.MAJOR,
            life_safety=True,
            status=AlarmStatus.CLOSED,
            grid_id=dev.grid_id,
            community_id=dev.community_id,
            street_id=dev.street_id,
            district_id=dev.district_id,
            city_id=dev.city_id,
            raised_at=raised,
            last_at=raised,
            message=typ,
        )
        if i >= n_incidents:  # ended without an incident
            end = raised + later(seconds=rng.uniform(30, 300))
            r = rng.random()
            if end > now:
                a.status = AlarmStatus.ACTIVE
            elif r < 0.2:
                a.status, a.cleared_at = AlarmStatus.CLEARED, end
            else:
                a.closed_at, a.close_reason = (
                    end,
                    (CloseReason.TEST if r < 0.6 else CloseReason.FALSE_ALARM if r < 0.9 else CloseReason.RESOLVED),
                )
            alarms.append(a)
            plans.append(None)
            continue
        taker = rng.choice(takers)
        ack = raised + later(seconds=15 + rng.expovariate(1 / 20))
        callback_at = ack + later(seconds=rng.uniform(45, 120))
        r = rng.random()
        p: dict = {"taker": taker, "received": raised, "ack": ack, "status": IncidentStatus.OPEN}
        if ack > now:
            ack = now
            p["ack"] = ack
        a.claimed_by, a.claimed_at, a.acknowledged_by, a.acknowledged_at = taker, ack, taker, ack
        a.status = AlarmStatus.ACKNOWLEDGED
        if callback_at <= now:
            p["called_back"] = callback_at
            p["status"] = IncidentStatus.CALLED_BACK
            if r < 0.57:  # false alarm (a tenth of them a test) or all is well: closed at the call-back
                closed = callback_at + later(seconds=rng.uniform(20, 180))
                p["callback"] = Incident.Callback.FALSE_ALARM if r < 0.45 else Incident.Callback.OK
                if closed <= now:
                    p["status"], p["closed"] = IncidentStatus.CLOSED, closed
                    reason = (
                        CloseReason.RESOLVED
                        if r >= 0.45
                        else CloseReason.TEST
                        if r < 0.045
                        else CloseReason.FALSE_ALARM
                    )
                    a.status, a.closed_at, a.close_reason = AlarmStatus.CLOSED, closed, reason
            else:
                p["callback"] = Incident.Callback.NEEDS_HELP if r < 0.90 else Incident.Callback.NO_ANSWER
                p["rescuer"] = rng.choice(rescuers)
                steps = [("dispatched", IncidentStatus.DISPATCHED, callback_at + later(seconds=rng.uniform(10, 60)))]
                steps.append(("en_route", IncidentStatus.EN_ROUTE, steps[-1][2] + later(seconds=rng.uniform(10, 60))))
                steps.append(
                    (
                        "on_scene",
                        IncidentStatus.ON_SCENE,
                        steps[0][2] + later(minutes=_lognormal_minutes(rng, 11, 0.45)),
                    )
                )
                if rng.random() < 0.15:
                    steps.append(
                        ("handed_over", IncidentStatus.HANDED_OVER, steps[-1][2] + later(minutes=rng.uniform(5, 25)))
                    )
                    p["handover_to"] = Incident.HandoverTo.AMBULANCE
                    steps.append(("closed", IncidentStatus.COMPLETED, steps[-1][2] + later(minutes=rng.uniform(5, 20))))
                else:
                    steps.append(
                        ("closed", IncidentStatus.COMPLETED, steps[-1][2] + later(minutes=25 + rng.expovariate(1 / 20)))
                    )
                for name, status, when in steps:
                    if when > now:
                        break
                    p[name], p["status"] = when, status
                if "closed" in p:
                    a.status, a.closed_at, a.close_reason = AlarmStatus.CLOSED, p["closed"], CloseReason.RESOLVED
        alarms.append(a)
        plans.append(p)

    # offline alarms: about two per device a year, open for hours; the devices offline now have one still open
    offline = []
    for dev in devices:
        for _ in range(rng.choices((0, 1, 2, 3, 4), (0.2, 0.3, 0.25, 0.15, 0.1))[0]):
            raised = moment()
            end = raised + later(hours=_lognormal_minutes(rng, 3, 1.0))
            if end >= now:
                continue
            o = Alarm(
                device=dev,
                type=AlarmType.OFFLINE,
                severity=Severity.MINOR,
                life_safety=False,
                status=AlarmStatus.CLEARED,
                grid_id=dev.grid_id,
                community_id=dev.community_id,
                street_id=dev.street_id,
                district_id=dev.district_id,
                city_id=dev.city_id,
                raised_at=raised,
                last_at=raised,
                cleared_at=end,
            )
            if rng.random() < 0.1:
                o.status, o.cleared_at, o.closed_at, o.close_reason = (
                    AlarmStatus.CLOSED,
                    None,
                    end,
                    CloseReason.RESOLVED,
                )
            offline.append(o)
        if not dev.online:
            raised = now - later(hours=rng.uniform(1, 72))
            offline.append(
                Alarm(
                    device=dev,
                    type=AlarmType.OFFLINE,
                    severity=Severity.MINOR,
                    life_safety=False,
                    status=AlarmStatus.ACTIVE,
                    grid_id=dev.grid_id,
                    community_id=dev.community_id,
                    street_id=dev.street_id,
                    district_id=dev.district_id,
                    city_id=dev.city_id,
                    raised_at=raised,
                    last_at=raised,
                )
            )

    # open life-safety alarms: at most one per device and type (the database's constraint)
    seen = set()
    for a in alarms:
        if a.status in (AlarmStatus.ACTIVE, AlarmStatus.ACKNOWLEDGED):
            key = (a.device.pk, a.type)
            if key in seen:
                a.status = AlarmStatus.CLEARED
                a.cleared_at = a.cleared_at or now
            seen.add(key)
    Alarm.objects.bulk_create(alarms, batch_size=BATCH)
    Alarm.objects.bulk_create(offline, batch_size=BATCH)

    incidents = []
    for a, p in zip(alarms, plans, strict=True):
        if p is None:
            continue
        claimed = timezone.localtime(p["ack"], tz)
        incidents.append(
            Incident(
                alarm=a,
                status=p["status"],
                call_taker=p["taker"],
                shift_id=shifts.get((claimed.date(), claimed.hour // 8)),
                rescuer=p.get("rescuer"),
                callback=p.get("callback", ""),
                handover_to=p.get("handover_to", "") if "handed_over" in p else "",
                grid_id=a.grid_id,
                community_id=a.community_id,
                street_id=a.street_id,
                district_id=a.district_id,
                city_id=a.city_id,
                received_at=p["received"],
                acknowledged_at=p["ack"],
                called_back_at=p.get("called_back"),
                dispatched_at=p.get("dispatched"),
                en_route_at=p.get("en_route"),
                on_scene_at=p.get("on_scene"),
                handed_over_at=p.get("handed_over"),
                closed_at=p.get("closed"),
            )
        )
    Incident.objects.bulk_create(incidents, batch_size=BATCH)
    return {
        "streets": STREETS,
        "grids": len(grids),
        "devices": len(devices),
        "life-safety alarms": len(alarms),
        "offline alarms": len(offline),
        "incidents": len(incidents),
        "seconds": round(time.perf_counter() - t0, 1),
        "users": {"street": lead_street.pk, "district": lead_district.pk},
    }


# ----------------------------------------------------------------------------- measuring


def explain(user, period, by: str) -> None:
    """EXPLAIN ANALYZE every statement one report runs, slowest first."""
    from linli.dispatch import kpi

    with CaptureQueriesContext(connection) as ctx:
        kpi.report(user, period, by)
    print(f"\n== {by}, {period.label()}: {len(ctx.captured_queries)} statements")
    timed_q = []
    for q in ctx.captured_queries:
        sql = q["sql"]
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(r[0] for r in cur.fetchall())
        ms = float(plan.rsplit("Execution Time:", 1)[1].split("ms")[0])
        timed_q.append((ms, sql, plan))
    for ms, sql, plan in sorted(timed_q, key=lambda x: -x[0])[:4]:
        print(f"\n-- {ms:.1f} ms\n{sql[:1500]}\n{plan}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--incidents", type=int, default=INCIDENTS)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--no-generate", action="store_true", help="measure the data already loaded")
    ap.add_argument("--no-page", action="store_true", help="skip the page requests")
    ap.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the whole year's statements")
    ap.add_argument("--label", default="", help="suffix of the JSON file under var/")
    opts = ap.parse_args()
    if connection.vendor != "postgresql":
        print("bench/dispatch_kpi.py: run it against PostgreSQL (bin/with-postgres …)", file=sys.stderr)
    call_command("migrate", verbosity=0)
    info = machine()
    print(
        f"machine: {info['nproc']} cores, {info['ram_gb']} GB RAM, {info['cpu']}; {info['database']}; "
        f"Python {info['python']}, Django {info['django']}; {info['date']}"
    )
    from linli.accounts.models import User
    from linli.dispatch import kpi
    from linli.dispatch.models import Incident, Shift
    from linli.iot.models import Alarm, Device
    from linli.places.models import Area

    now = timezone.now()
    load = None
    if not opts.no_generate:
        load = generate(opts.incidents, opts.seed, now)
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("VACUUM ANALYZE")
        print(f"load: {json.dumps(load, ensure_ascii=False)}")
    district = Area.objects.get(code=DISTRICT_CODE)
    users = {
        "street": User.objects.get(username="bench-lead-street"),
        "district": User.objects.get(username="bench-lead-district"),
    }
    street = Area.objects.get(code=STREET_CODE)
    sizes = {
        "incidents": Incident.objects.count(),
        "alarms": Alarm.objects.count(),
        "life-safety alarms": Alarm.objects.filter(life_safety=True).count(),
        "devices": Device.objects.count(),
        "shifts": Shift.objects.count(),
        "street incidents": Incident.objects.filter(street=street).count(),
        "district incidents": Incident.objects.filter(district=district).count(),
    }
    print("dataset: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))

    today = timezone.localdate()
    periods = {
        "7 days": kpi.Period(today - dt.timedelta(days=6), today, "7"),
        "30 days": kpi.Period(today - dt.timedelta(days=29), today, "30"),
        "year": kpi.Period(today - dt.timedelta(days=DAYS - 1), today, "custom"),
    }
    if opts.explain:
        for by in ("shift", "day", "month"):
            explain(users["district"], periods["year"], by)

    results = []
    for who, user in users.items():
        for pname, period in periods.items():
            for by in ("shift", "day", "month"):
                with CaptureQueriesContext(connection) as ctx:
                    rep = kpi.report(user, period, by)
                r = timed(lambda u=user, p=period, b=by: kpi.report(u, p, b), opts.runs, warmup=1)
                r.update(queries=len(ctx.captured_queries), rows=len(rep.rows), incidents=rep.total.incidents)
                results.append((f"{who}: report {by}, {pname}", "kpi.report", r))
                print(f"  {results[-1][0]:40} p50 {r['p50']:8.1f} p95 {r['p95']:8.1f} ms", flush=True)
    if not opts.no_page:
        with override_settings(DEBUG=False):
            for who, user in users.items():
                client = Client(raise_request_exception=False)
                client.force_login(user)
                for pname, period in periods.items():
                    for by in ("shift", "day", "month"):
                        url = reverse("shifts:kpi") + f"?{period.query()}&by={by}"
                        status = client.get(url).status_code
                        r = timed(lambda c=client, u=url: c.get(u), opts.runs, warmup=0)
                        r["status"] = status
                        results.append((f"{who}: page {by}, {pname}", url, r))
                        print(f"  {results[-1][0]:40} p50 {r['p50']:8.1f} p95 {r['p95']:8.1f} ms", flush=True)

    print(f"\n{'what':40} {'p50 ms':>9} {'p95 ms':>9} {'p95/300ms':>9} {'queries':>7} {'rows':>6}")
    for label, _via, r in results:
        print(
            f"{label:40} {r['p50']:9.1f} {r['p95']:9.1f} {r['p95'] / TARGET_MS:9.2f} {r.get('queries', ''):>7} "
            f"{r.get('rows', ''):>6}" + (f"  HTTP {r['status']}" if "status" in r else "")
        )
    report = {
        "machine": info,
        "load": load,
        "sizes": sizes,
        "street": street.code,
        "results": [{"what": lab, "via": via, **r} for lab, via, r in results],
    }
    out = Path(settings.VAR_DIR) / f"bench-dispatch-kpi{('-' + opts.label) if opts.label else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    print(f"\nraw figures: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
