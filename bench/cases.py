#!/usr/bin/env python3
"""Work-order benchmark: case history at district or city scale on PostgreSQL; the dispatcher's queue, case
search, the KPI tables and the overview for a street, a district and the city, timed through the real views;
and the deadline sweep over all open cases. A bare Django view and a SELECT 1 round trip are measured in the
same run as peers.

    DATABASE_URL=postgres://… .venv/bin/python bench/cases.py --generate district   # load, then measure
    DATABASE_URL=postgres://… .venv/bin/python bench/cases.py                      # measure what is loaded
    DATABASE_URL=postgres://… .venv/bin/python bench/cases.py --generate city --rollup

The registry (`manage.py generate --scale district|city`) must be loaded first. Prints the figures and
writes them as JSON under var/ (bench-cases-<label>.json); docs/benchmarks.md records a run. Sweeps run
inside a transaction that is rolled back, so the data stays as generated and the run can be repeated.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
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
from django.test.utils import override_settings  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from registry import TARGET_MS, machine, timed  # noqa: E402

SWEEP_TARGET_S = 10.0


def bench_users(street, district, city):
    """Street-office staff assigned to a street, a district and the city: the three supervisors."""
    from linli.accounts.models import Assignment, Role, User

    role = Role.objects.get(code="street")
    users = {}
    for key, area in (("street", street), ("district", district), ("city", city)):
        u, _ = User.objects.get_or_create(username=f"bench-cases-{key}")
        Assignment.objects.filter(user=u).exclude(area=area).delete()
        Assignment.objects.get_or_create(user=u, role=role, area=area)
        users[key] = u
    return users


def url(name: str, query: str = "") -> str | None:
    try:
        return reverse(name) + (f"?{query}" if query else "")
    except NoReverseMatch:
        return None


class RollbackError(Exception):
    pass


def sweep_runs() -> list[dict]:
    """Steady state (the data as generated: marks up to the generation time) and the worst case (every open
    case unmarked, as after a sweep outage), each in a transaction rolled back afterwards."""
    from linli.cases.models import WorkOrder
    from linli.cases.sweep import ACTIVE, sweep

    runs = []
    for label, reset in (("steady state", False), ("worst case: every open case unmarked", True)):
        row = {"what": f"deadline sweep, {label}"}
        try:
            with transaction.atomic():
                if reset:
                    t = time.perf_counter()
                    row["reset"] = WorkOrder.objects.filter(status__in=ACTIVE).update(
                        warned_at=None, overdue_at=None, escalated_to=None, escalation_level=0
                    )
                    row["reset_s"] = round(time.perf_counter() - t, 2)
                t = time.perf_counter()
                r = sweep()
                row.update(
                    seconds=round(time.perf_counter() - t, 2),
                    warned=r.warned,
                    overdue=r.overdue,
                    escalated=r.escalated,
                    notified=r.notified,
                )
                t = time.perf_counter()
                again = sweep()
                row["second_pass_s"] = round(time.perf_counter() - t, 2)
                row["second_pass_marked"] = again.warned + again.overdue
                raise RollbackError
        except RollbackError:
            pass
        except Exception as exc:  # noqa: BLE001 - report and go on with the pages
            row["error"] = f"{type(exc).__name__}: {exc}"[:300]
        runs.append(row)
    return runs


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--generate", choices=["district", "city"], help="generate this case history first")
    ap.add_argument("--district", default=None)
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--label", default="", help="name of the JSON file under var/ (default: loaded scale)")
    ap.add_argument("--rollup", action="store_true", help="rebuild the daily roll-up over the whole history first")
    ap.add_argument("--no-sweep", action="store_true")
    opts = ap.parse_args()
    if connection.vendor != "postgresql":
        print("bench/cases.py: run it against PostgreSQL (DATABASE_URL=postgres://...)", file=sys.stderr)
    call_command("migrate", verbosity=0)
    info = machine()
    print(
        f"machine: {info['nproc']} cores, {info['ram_gb']} GB RAM, {info['cpu']}; {info['database']}; "
        f"Python {info['python']}, Django {info['django']}; {info['date']}"
    )
    from linli.cases.models import CaseEvent, HandlingUnit, WorkOrder
    from linli.places.models import Area

    load = None
    if opts.generate:
        from linli.core.generate.cases import generate_cases

        s = generate_cases(opts.generate, district=opts.district)
        load = {
            "scale": s.scale,
            "cases": s.cases,
            "events": s.events,
            "seconds": round(s.seconds, 1),
            "cases_per_s": round(s.rows_per_second),
            "phases": {k: round(v, 1) for k, v in s.phases.items()},
            "by_status": s.by_status,
            "mode": s.mode,
        }
        print(f"load: {json.dumps(load, ensure_ascii=False)}")
    rollup_s = None
    if opts.rollup:
        from linli.cases import rollup

        first = WorkOrder.objects.order_by("submitted_at").values_list("submitted_at", flat=True).first()
        if first is not None:
            t = time.perf_counter()
            days = rollup.rebuild_range(timezone.localtime(first).date(), timezone.localdate())
            rollup_s = round(time.perf_counter() - t, 1)
            print(f"roll-up: rebuilt the whole history in {rollup_s} s ({days})")

    now = timezone.now()
    open_q = WorkOrder.objects.open()
    with connection.cursor() as cur:
        cur.execute("SELECT pg_total_relation_size('cases_workorder'), pg_total_relation_size('cases_caseevent')")
        wo_bytes, ev_bytes = cur.fetchone()
    sizes = {
        "grids with cases": WorkOrder.objects.values("grid").distinct().count(),
        "districts with cases": WorkOrder.objects.values("district").distinct().count(),
        "cases": WorkOrder.objects.count(),
        "open": open_q.count(),
        "open overdue": open_q.filter(resolve_due__lte=now).exclude(status="suspended").count(),
        "events": CaseEvent.objects.count(),
        "handling units": HandlingUnit.objects.count(),
        "workorder table GB": round(wo_bytes / 1e9, 2),
        "event table GB": round(ev_bytes / 1e9, 2),
    }
    print("dataset: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))

    # the measured areas: the busiest district with cases, its middle street, the city
    district_id = WorkOrder.objects.values_list("district", flat=True).order_by("district").distinct().first()
    district = Area.objects.get(pk=district_id)
    streets = list(Area.objects.filter(level="street", district=district).order_by("code"))
    street = streets[len(streets) // 2]
    city = Area.objects.get(pk=district.city_id)
    users = bench_users(street, district, city)
    in_scope = {
        "street cases": WorkOrder.objects.filter(street=street).count(),
        "street open": open_q.filter(street=street).count(),
        "district cases": WorkOrder.objects.filter(district=district).count(),
        "district open": open_q.filter(district=district).count(),
        "city open": open_q.count(),
    }
    print(
        f"measured areas: street {street.code} {street.name}, district {district.code} {district.name}, city "
        f"{city.code}; " + ", ".join(f"{k} {v:,}" for k, v in in_scope.items())
    )
    # a search term that hits: a word of a common category's title; a case number
    sample = WorkOrder.objects.filter(street=street).order_by("-id").first()
    number = sample.number if sample else "20260101"
    word = "漏水"

    results = []
    with override_settings(ROOT_URLCONF="peer_urls", DEBUG=False):
        peer_client = Client()
        peer = timed(lambda: peer_client.get("/__bench__/ping"), opts.requests)

        def select1():
            with connection.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchone()

        results.append(("bare Django view (peer)", "", peer))
        results.append(("SELECT 1 round trip", "", timed(select1, opts.requests)))
        pages = [
            ("dispatcher queue", "cases:workbench", ""),
            ("queue, overdue only", "cases:workbench", "overdue=on"),
            (f"case search “{word}”", "cases:workbench", f"q={word}"),
            ("case search by number", "cases:workbench", f"q={number}"),
            ("KPI tables, this month", "cases:kpi", ""),
            ("KPI tables, last 90 days", "cases:kpi", "period=90"),
            ("overview", "cases:overview", ""),
        ]
        for who in ("street", "district", "city"):
            c = Client(raise_request_exception=False)
            c.force_login(users[who])
            for label, name, query in pages:
                u = url(name, query)
                if u is None:
                    results.append((f"{who}: {label} ({name} not found)", "", None))
                    continue
                status = c.get(u).status_code
                if status != 200:
                    results.append((f"{who}: {label} (HTTP {status}, not timed)", u, None))
                    continue
                r = timed(lambda c=c, u=u: c.get(u), opts.requests)
                r["status"] = status
                results.append((f"{who}: {label}", u, r))
            api = f"/api/v1/cases?q={word}"
            status = c.get(api).status_code
            if status == 200:
                r = timed(lambda c=c, api=api: c.get(api), opts.requests)
                r["status"] = status
                results.append((f"{who}: API case search “{word}”", api, r))

    print(f"\n{'what':44} {'url':34} {'p50 ms':>8} {'p95 ms':>8} {'p50/peer':>9} {'p95/300ms':>9}")
    for label, u, r in results:
        if r is None:
            print(f"{label[:44]:44} (not measured)")
            continue
        ratio = r["p50"] / peer["p50"] if peer["p50"] else 0
        print(
            f"{label[:44]:44} {u[:34]:34} {r['p50']:8.2f} {r['p95']:8.2f} {ratio:9.1f} {r['p95'] / TARGET_MS:9.3f}"
            + (f"  HTTP {r['status']}" if "status" in r else "")
        )
    sweeps = [] if opts.no_sweep else sweep_runs()
    for s in sweeps:
        extra = f"{s['seconds']:.2f} s = {s['seconds'] / SWEEP_TARGET_S:.3f} of 10 s" if "seconds" in s else s["error"]
        print(f"{s['what']}: {extra}; " + ", ".join(f"{k} {v}" for k, v in s.items() if k not in ("what",)))
    report = {
        "machine": info,
        "load": load,
        "rollup_rebuild_s": rollup_s,
        "sizes": sizes,
        "in_scope": in_scope,
        "areas": {"street": street.code, "district": district.code, "city": city.code},
        "results": [{"what": lab, "url": u, **(r or {})} for lab, u, r in results],
        "sweeps": sweeps,
        "measured_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    label = opts.label or (opts.generate or f"{sizes['districts with cases']}-districts")
    out = Path(settings.VAR_DIR) / f"bench-cases-{label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    print(f"\nraw figures: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
