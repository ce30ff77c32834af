"""The deadline sweep: warn before a case is due, mark it overdue and escalate it when it is late.

Runs as a periodic job (linli/cases/tasks.py) and from `manage.py sweep_deadlines`. Idempotent: a case is
warned once and escalated once per overdue period (`warned_at`, `overdue_at`), so a sweep interrupted by a
crash simply runs again. Works in batches of ids, never loads whole cases.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.cases.models import RUNNING_STATUSES, CaseEvent, HandlingUnit, WorkOrder
from linli.cases.services import NEXT_LEVEL
from linli.core import audit

ACTIVE = RUNNING_STATUSES
BATCH = 5000


@dataclass
class SweepResult:
    warned: int = 0
    overdue: int = 0
    escalated: int = 0
    notified: int = 0
    seconds: float = 0.0


def _unit_members(unit_ids: set[int]) -> dict[int, list[int]]:
    members: dict[int, list[int]] = {}
    rows = HandlingUnit.members.through.objects.filter(handlingunit_id__in=unit_ids).values_list(
        "handlingunit_id", "user_id"
    )
    for unit_id, user_id in rows:
        members.setdefault(unit_id, []).append(user_id)
    return members


def _supervisors(area_ids: set[int], perm: str) -> dict[int | None, list[int]]:
    """area id → users holding `perm` through an assignment on exactly that area."""
    from linli.accounts.models import Assignment

    out: dict[int | None, list[int]] = {}
    for a in Assignment.objects.filter(area_id__in=area_ids, user__is_active=True).select_related("role"):
        if perm in a.role.permissions:
            out.setdefault(a.area_id, []).append(a.user_id)
    return out


def _notify(rows: list[tuple[int, str, Any, str, int]]) -> int:
    """rows: (user id, kind, title, body, case id)."""
    from linli.notifications.models import Notification

    if not rows:
        return 0
    objs = [
        Notification(
            user_id=u,
            kind=k,
            title=str(t)[:200],
            body=b[:1000],
            url=f"/cases/{c}/",
            object_type="cases.workorder",
            object_id=str(c),
        )
        for u, k, t, b, c in rows
    ]
    Notification.objects.bulk_create(objs, batch_size=2000)
    return len(objs)


ESCALATE_ROWS = 1000  # (case, area) pairs per UPDATE … FROM (VALUES …)


def _mark_overdue(now: dt.datetime, targets: dict[int, int | None]) -> None:
    """Mark cases overdue and escalate each to its own target area (None: already at the top), a thousand
    cases per UPDATE … FROM (VALUES …): each row is written once, and a city-wide catch-up is a few dozen
    statements instead of one per community."""
    table = connection.ops.quote_name(WorkOrder._meta.db_table)
    pairs = list(targets.items())
    for i in range(0, len(pairs), ESCALATE_ROWS):
        chunk = pairs[i : i + ESCALATE_ROWS]
        values = ", ".join(["(%s, %s)"] * len(chunk))
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE {table} SET overdue_at = %s, version = version + 1, "
                "escalated_to_id = COALESCE(v.target, escalated_to_id), "
                "escalation_level = escalation_level + CASE WHEN v.target IS NULL THEN 0 ELSE 1 END "
                f"FROM (SELECT column1 AS case_id, CAST(column2 AS BIGINT) AS target FROM (VALUES {values}) AS pairs) "
                f"AS v WHERE {table}.id = v.case_id",
                [connection.ops.adapt_datetimefield_value(now), *[x for pair in chunk for x in pair]],
            )


def sweep(now: dt.datetime | None = None) -> SweepResult:
    started = timezone.now()
    now = now or started
    result = SweepResult()
    _warn(now, result)
    _overdue(now, result)
    result.seconds = (timezone.now() - started).total_seconds()
    return result


def _warn(now: dt.datetime, result: SweepResult) -> None:
    while True:
        with transaction.atomic():
            batch = list(
                WorkOrder.objects.filter(
                    status__in=ACTIVE, warn_at__lte=now, resolve_due__gt=now, warned_at__isnull=True
                ).values_list("pk", "lead_unit_id", "title")[:BATCH]
            )
            if not batch:
                return
            WorkOrder.objects.filter(pk__in=[b[0] for b in batch]).update(warned_at=now)
            members = _unit_members({b[1] for b in batch if b[1]})
            rows = [
                (u, "due_soon", _("Case due soon"), title, pk)
                for pk, unit, title in batch
                for u in members.get(unit, [])
            ]
            result.notified += _notify(rows)
            result.warned += len(batch)


def _overdue(now: dt.datetime, result: SweepResult) -> None:
    while True:
        with transaction.atomic():
            batch = list(
                WorkOrder.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status__in=ACTIVE, resolve_due__lte=now, overdue_at__isnull=True)
                .values_list(
                    "pk",
                    "status",
                    "lead_unit_id",
                    "title",
                    "escalated_to__level",
                    "grid_id",
                    "community_id",
                    "street_id",
                    "district_id",
                    "city_id",
                )[:BATCH]
            )
            if not batch:
                return
            events, targets = [], {}
            for pk, status, _unit, _title, esc_level, grid, community, street, district, city in batch:
                ids = {"grid": grid, "community": community, "street": street, "district": district, "city": city}
                current = esc_level or ("grid" if grid else "community" if community else "street")
                level = NEXT_LEVEL.get(current)
                target = ids.get(level) if level else None
                targets[pk] = target
                events.append(
                    CaseEvent(
                        work_order_id=pk,
                        action="escalate" if target else "overdue",
                        from_status=status,
                        to_status=status,
                        actor_name=str(_("system")),
                        at=now,
                        note=str(
                            _("Overdue: escalated automatically to the level above.") if target else _("Overdue.")
                        ),
                        data={"to_area": target, "automatic": True},
                    )
                )
            ids_all = [b[0] for b in batch]
            _mark_overdue(now, targets)
            by_target: dict[int, list[int]] = {}
            for pk, target in targets.items():
                if target:
                    by_target.setdefault(target, []).append(pk)
            CaseEvent.objects.bulk_create(events, batch_size=2000)
            members = _unit_members({b[2] for b in batch if b[2]})
            sups = _supervisors(set(by_target), "cases.supervise")
            rows = []
            for pk, _s, unit, title, *_rest in batch:
                rows += [(u, "overdue", _("Case overdue"), title, pk) for u in members.get(unit, [])]
                if targets[pk]:
                    rows += [
                        (u, "escalated", _("Overdue case escalated to you"), title, pk)
                        for u in sups.get(targets[pk], [])
                    ]
            result.notified += _notify(rows)
            result.overdue += len(batch)
            result.escalated += sum(len(v) for v in by_target.values())
            # one audit record per batch, naming every case the system changed
            audit.record(
                "update",
                object_type="cases.workorder",
                object_id="sweep",
                object_repr=f"deadline sweep: {len(batch)} overdue",
                after={"overdue": ids_all, "escalated_to": {str(k): v for k, v in by_target.items()}},
            )
