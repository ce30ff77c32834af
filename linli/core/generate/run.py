"""One generator run: plan, refuse to overwrite, build streets (optionally in worker processes), load, audit."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.generate import load, rows
from linli.core.generate.plan import AreaPlan, Plan, build_plan
from linli.core.generate.progress import Progress
from linli.people.models import Label, Resident
from linli.places.models import Area


class GenerateError(Exception):
    pass


@dataclass
class Summary:
    scale: str
    seed: int
    mode: str = ""
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    street_codes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _bbox_union(boxes: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _area_row(a: AreaPlan, now: str) -> tuple:
    lng, lat = a.center
    boundary = a.boundary
    return (
        a.id,
        now,
        now,
        a.level,
        a.code,
        a.name,
        a.parent_id,
        a.city_id,
        a.district_id,
        a.street_id,
        a.community_id,
        rows._j(boundary) if boundary else None,
        lng,
        lat,
    )


def make_plan(scale: str, seed: int, district: str | None) -> Plan:
    from linli.core.generate import tianjin

    existing = dict(Area.objects.filter(level__in=["city", "district"]).values_list("code", "id"))
    next_id = (Area.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    try:
        plan = build_plan(scale, seed, district, existing, next_id)
    except ValueError:
        raise GenerateError(
            _("Unknown district code %(code)s: use one of %(codes)s.")
            % {"code": district, "codes": ", ".join(tianjin.DISTRICT_NAMES)}
        ) from None
    clash = list(Area.objects.filter(code__in=[s.code for s in plan.streets]).values_list("code", flat=True)[:3])
    if clash:
        raise GenerateError(
            _(
                "Area %(code)s already exists: this part of the map was generated (or entered) before. The generator "
                "never writes into existing areas; choose another district with --district, or start from an empty "
                "database."
            )
            % {"code": clash[0]}
        )
    return plan


def generate(scale: str, *, seed: int = 1, workers: int = 1, district: str | None = None, stream=None) -> Summary:
    """Generate and load a scale; everything in one transaction (nothing is half-written)."""
    started = time.monotonic()
    plan = make_plan(scale, seed, district)
    labels = dict(Label.objects.values_list("code", "id"))
    missing = {"living_alone", "disabled", "dibao", "party_member", "league_member", "key_care"} - set(labels)
    if missing:
        raise GenerateError(
            _("Population labels are missing (run migrate first): %(codes)s") % {"codes": ", ".join(sorted(missing))}
        )
    bases = load.max_ids()
    rows.TAKEN.clear()
    if Resident.objects.exists():
        rows.TAKEN.update(Resident.objects.exclude(id_number_hash="").values_list("id_number_hash", flat=True))
    now = str(connection.ops.adapt_datetimefield_value(timezone.now()))
    fmt = "copy" if connection.vendor == "postgresql" else "rows"
    today = timezone.localdate()
    tasks = [
        rows.StreetTask(
            street=s,
            region=plan.slots[s.id][0],
            slot_base=plan.slots[s.id][1],
            slot_width=plan.slots[s.id][2],
            seed=seed,
            bases=bases,
            labels=labels,
            today=today,
            now=now,
            fmt=fmt,
        )
        for s in plan.streets
    ]
    summary = Summary(scale, seed, street_codes=[s.code for s in plan.streets])
    pool = None
    results: Iterator[rows.StreetRows]
    if workers > 1 and len(tasks) > 1:
        connection.close()  # workers only compute; never share the database socket with them
        pool = multiprocessing.get_context("fork").Pool(workers)
        results = pool.imap(rows.build_street, tasks, chunksize=1)
    else:
        results = map(rows.build_street, tasks)
    progress = Progress(plan.households, _("households"), stream=stream, label=f"generate {scale} ")
    try:
        with transaction.atomic():
            summary.mode = load.begin_bulk()
            _write_areas(plan, now, summary)
            by_code = {s.code: s for s in plan.streets}
            for done, result in enumerate(results, start=1):
                for key, _label in load.TABLES:
                    load.write(key, result.tables[key])
                    summary.counts[key] = summary.counts.get(key, 0) + result.counts[key]
                households = sum(g.households for c in by_code[result.street_code].children for g in c.children)
                progress.advance(households, f"{done}/{len(tasks)} streets")
            load.reset_sequences()
            summary.seconds = time.monotonic() - started
            audit.record(
                "import",
                None,
                username="manage.py generate",
                object_id=f"generate:{scale}",
                object_repr=_("Generated data, scale %(scale)s") % {"scale": scale},
                after={
                    "scale": scale,
                    "seed": seed,
                    "streets": summary.street_codes[:20],
                    "street_count": len(summary.street_codes),
                    "rows": summary.counts,
                },
                purpose=_("synthetic demonstration data"),
            )
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    progress.finish()
    load.analyze()
    summary.seconds = time.monotonic() - started
    return summary


def _write_areas(plan: Plan, now: str, summary: Summary) -> None:
    area_rows = []
    new_districts = [d for d in plan.districts if d.code not in plan.existing]
    for d in new_districts:
        d.bbox = _bbox_union([s.bbox for s in plan.streets if s.district_id == d.id and s.bbox])
    if plan.city.code not in plan.existing:
        boxes = [d.bbox for d in plan.districts if d.bbox]
        plan.city.bbox = _bbox_union(boxes) if boxes else None
        area_rows.append(_area_row(plan.city, now))
    area_rows += [_area_row(d, now) for d in new_districts]
    area_rows += [_area_row(a, now) for a in plan.new_areas]
    if connection.vendor == "postgresql":
        load.write("places.Area", rows._copy_text(area_rows))
    else:
        load.write("places.Area", area_rows)
    summary.counts["area"] = len(area_rows)
