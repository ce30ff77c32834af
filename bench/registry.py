#!/usr/bin/env python3
"""Registry benchmark (`make bench`): generate and load a Tianjin scale on PostgreSQL, then time
a street's resident list, a community's house list and a grid's map data through the real views,
beside a bare Django view and a SELECT 1 round trip measured in the same run.

    bin/with-postgres .venv/bin/python bench/registry.py [--scale city] [--workers 2] [--requests 60]
    make bench BENCH_ARGS="--scale district"

Prints the figures and writes them as JSON under var/; docs/benchmarks.md records a run. If a view
does not exist yet, the query it would run is timed directly through the scoped queryset, labelled so.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
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
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402

TARGET_MS = 300.0


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    with connection.cursor() as cur:
        cur.execute("SELECT version()")
        db = cur.fetchone()[0].split(",")[0]
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(mem_gb, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": db,
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def timed(fn, n: int, warmup: int = 3) -> dict:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return {"n": n, "p50": pct(out, 0.5), "p95": pct(out, 0.95), "mean": statistics.fmean(out)}


def resolve(name: str, area) -> str | None:
    for args in ((), (area.pk,)):
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return None


def bench_users(street, community, grid):
    from linli.accounts.models import Assignment, Role, User

    users = {}
    for role, area in (("street", street), ("community", community), ("grid", grid)):
        u, _ = User.objects.get_or_create(username=f"bench-{role}")
        Assignment.objects.get_or_create(user=u, role=Role.objects.get(code=role), area=area)
        users[role] = u
    return users


def direct_query(kind: str, user):
    from linli.people.models import Resident
    from linli.places.models import Area, Building, House

    def run():
        if kind == "residents":
            qs = Resident.objects.for_user(user).order_by("name", "id")
            qs.count()
            return [(r.name, r.id_number_masked, r.phone_masked) for r in qs[:50]]
        if kind == "houses":
            qs = House.objects.for_user(user).select_related("building", "unit").order_by("code")
            qs.count()
            return [str(h) for h in qs[:50]]
        areas = list(Area.objects.for_user(user).filter(level="grid").values("id", "code", "name", "boundary"))
        bs = list(Building.objects.for_user(user).values("id", "code", "name", "lng", "lat", "footprint"))
        return json.dumps({"areas": areas, "buildings": bs}, ensure_ascii=False)

    return run


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="city")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="measure the data already in the database instead of generating (a second run)",
    )
    opts = ap.parse_args()
    if connection.vendor != "postgresql":
        print("bench/registry.py: run it under bin/with-postgres (DATABASE_URL=postgres://...)", file=sys.stderr)
    call_command("migrate", verbosity=0)
    info = machine()
    print(
        f"machine: {info['nproc']} cores, {info['ram_gb']} GB RAM, {info['cpu']}; {info['database']}; "
        f"Python {info['python']}, Django {info['django']}; {info['date']}"
    )

    from linli.core.generate.run import generate
    from linli.people.models import EmergencyContact, Household, Occupancy, Resident
    from linli.places.models import Area, Building, House

    if opts.reuse and Area.objects.filter(level="grid").exists():
        load_file = ROOT / "var" / f"bench-registry-load-{opts.scale}.json"
        load = json.loads(load_file.read_text()) if load_file.exists() else {"scale": opts.scale, "reused": True}
        print(f"load: reusing the {opts.scale} data already loaded ({load})")
        summary = None
    else:
        summary = generate(opts.scale, seed=opts.seed, workers=opts.workers)
    load = (
        load
        if summary is None
        else {
            "scale": opts.scale,
            "seconds": round(summary.seconds, 1),
            "rows": summary.rows,
            "rows_per_s": round(summary.rows_per_second),
            "mode": summary.mode,
            "workers": opts.workers,
        }
    )
    sizes = {
        "districts": Area.objects.filter(level="district").count(),
        "streets": Area.objects.filter(level="street").count(),
        "communities": Area.objects.filter(level="community").count(),
        "grids": Area.objects.filter(level="grid").count(),
        "buildings": Building.objects.count(),
        "houses": House.objects.count(),
        "households": Household.objects.count(),
        "residents": Resident.objects.count(),
        "occupancies": Occupancy.objects.count(),
        "emergency_contacts": EmergencyContact.objects.count(),
    }
    if summary is not None:
        (ROOT / "var").mkdir(exist_ok=True)
        (ROOT / "var" / f"bench-registry-load-{opts.scale}.json").write_text(json.dumps(load))
        print(
            f"load: {opts.scale} scale, {summary.rows:,} rows in {summary.seconds:.1f} s = "
            f"{summary.rows_per_second:,.0f} rows/s "
            f"({summary.mode}, {opts.workers} workers)"
        )
    print("dataset: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))

    # a typical street, community and grid: the middle of the ordered lists
    streets = list(Area.objects.filter(level="street").order_by("code").values_list("pk", flat=True))
    street = Area.objects.get(pk=streets[len(streets) // 2])
    community = Area.objects.filter(level="community", street=street).order_by("code").first()
    grid = Area.objects.filter(level="grid", community=community).order_by("code").first()
    users = bench_users(street, community, grid)
    scope_sizes = {
        "street residents": Resident.objects.for_user(users["street"]).count(),
        "community houses": House.objects.for_user(users["community"]).count(),
        "grid buildings": Building.objects.for_user(users["grid"]).count(),
    }
    print(
        f"measured areas: street {street.code} {street.name}, community {community.code}, grid {grid.code}; "
        + ", ".join(f"{k} {v:,}" for k, v in scope_sizes.items())
    )

    results = []
    with override_settings(ROOT_URLCONF="peer_urls", DEBUG=False):
        peer_client = Client()
        peer = timed(lambda: peer_client.get("/__bench__/ping"), opts.requests)

        def select1():
            with connection.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchone()

        sel = timed(select1, opts.requests)
        results.append(("bare Django view (peer)", "view", peer))
        results.append(("SELECT 1 round trip", "query", sel))
        for label, name, role, area, kind in (
            ("street's resident list", "people:resident-list", "street", street, "residents"),
            ("community's house list", "places:house-list", "community", community, "houses"),
            ("grid's map data", "places:map-data", "grid", grid, "map"),
        ):
            url = resolve(name, area)
            if url:
                c = Client()
                c.force_login(users[role])
                status = c.get(url).status_code
                r = timed(lambda c=c, url=url: c.get(url), opts.requests)
                r["status"] = status
                results.append((f"{label} ({url})", "view", r))
            else:
                r = timed(direct_query(kind, users[role]), opts.requests)
                results.append((f"{label} (queryset only: view {name} not found)", "queryset", r))

    print(f"\n{'what':62} {'via':9} {'p50 ms':>8} {'p95 ms':>8} {'p50/peer':>9} {'p95/300ms':>9}")
    for label, via, r in results:
        ratio_peer = r["p50"] / peer["p50"] if peer["p50"] else 0
        print(
            f"{label[:62]:62} {via:9} {r['p50']:8.2f} {r['p95']:8.2f} {ratio_peer:9.1f} {r['p95'] / TARGET_MS:9.3f}"
            + (f"  HTTP {r['status']}" if "status" in r else "")
        )
    report = {
        "machine": info,
        "load": load,
        "sizes": sizes,
        "scope_sizes": scope_sizes,
        "areas": {"street": street.code, "community": community.code, "grid": grid.code},
        "results": [{"what": lab, "via": via, **r} for lab, via, r in results],
    }
    out = Path(settings.VAR_DIR) / f"bench-registry-{opts.scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"\nraw figures: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
