"""Duplicate detection: cases that probably report the same problem as a given one.

A candidate has the same category (or the same suggested category), lies within a radius (or, without
coordinates, at the same house or in the same grid), was submitted within a time window either side,
is not merged or rejected, and says much the same thing: the cosine similarity of the character bigrams
of title and description reaches TEXT_THRESHOLD. Chinese has no spaces, so bigrams of characters stand
in for words ("楼道灯坏了" → 楼道 道灯 灯坏 坏了).

The database narrows by category, the cells of a latitude/longitude grid around the case and the time
window first (one index), then Python measures the distance and the text. Candidates are read through a
queryset the caller passes in (the viewer's scope): a case the viewer cannot see is never proposed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet

from linli.cases.models import CELLS_PER_DEGREE, Status, WorkOrder

RADIUS_M = 200
WINDOW_HOURS = 72
TEXT_THRESHOLD = 0.2
# how much each part weighs in the score (text, distance, time)
WEIGHTS = (0.5, 0.3, 0.2)
EARTH_RADIUS_M = 6_371_000.0
M_PER_DEGREE = 111_320.0
# cases without coordinates at the same house count as this far apart; in the same grid, half the radius
SAME_HOUSE_M = 0.0

_WORD = re.compile(r"[\w\u4e00-\u9fff]+")


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bigrams(text: str) -> Counter:
    """Character bigrams of each run of letters, digits and Chinese characters (a lone character counts)."""
    grams: Counter = Counter()
    for run in _WORD.findall((text or "").lower()):
        if len(run) == 1:
            grams[run] += 1
        for i in range(len(run) - 1):
            grams[run[i : i + 2]] += 1
    return grams


def text_similarity(a: Counter, b: Counter) -> float:
    """Cosine similarity of two bigram counts, 0..1."""
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) < len(b) else (b, a)
    dot = sum(n * large.get(g, 0) for g, n in small.items())
    if not dot:
        return 0.0
    return dot / (math.sqrt(sum(n * n for n in a.values())) * math.sqrt(sum(n * n for n in b.values())))


def _text(case) -> str:
    return f"{case.title} {case.description}"


def _categories(case) -> set[int]:
    return {c for c in (case.category_id, case.suggested_category_id) if c}


def _cell(value: float) -> int:
    """The cell the database puts a coordinate in: PostgreSQL casts a float to an integer by rounding,
    SQLite by truncating."""
    scaled = value * CELLS_PER_DEGREE
    return round(scaled) if connection.vendor == "postgresql" else int(scaled)


def _cells(lo: float, hi: float) -> list[int]:
    return list(range(_cell(lo), _cell(hi) + 1))


def _cell_sql(column: str) -> str:
    """The cell expression of wo_category_cell and wo_suggested_cell, written as the index has it (with the
    factor as a literal), so that both databases match the query to the index."""
    col = connection.ops.quote_name(column)
    if connection.vendor == "postgresql":
        return f"(({col} * {CELLS_PER_DEGREE}))::integer"
    return f"CAST(({col} * {CELLS_PER_DEGREE}) AS integer)"


def _in(values: list) -> str:
    return f"IN ({', '.join(['%s'] * len(values))})"


def _arms(case, radius_m: float, window: dt.timedelta) -> list[tuple[str, list]]:
    """One small index-driven SELECT of candidate ids per category column and place, as (sql, params): with
    coordinates, the cells the box around the case touches (index on category, cells and time), and cases
    without coordinates at the same house or in the same grid (index on grid and time). A case without any
    category looks at its place alone.

    Written as SQL: built through the ORM, the hundred SELECTs of a page of cases cost 100 ms of Python
    for 20 ms in the database."""
    q = connection.ops.quote_name
    table = q(WorkOrder._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    time = f"{q('submitted_at')} BETWEEN %s AND %s"
    span = [adapt(case.submitted_at - window), adapt(case.submitted_at + window)]
    cats = sorted(_categories(case))
    by_category = [(f"{q(column)} = %s", [cat]) for cat in cats for column in ("category_id", "suggested_category_id")]
    same_place = [
        (f"{q(column)} = %s", [value])
        for column, value in (("grid_id", case.grid_id), ("house_id", case.house_id))
        if value
    ]
    box: tuple[str, list] | None = None
    if case.lat is not None and case.lng is not None:
        dlat = radius_m / M_PER_DEGREE
        dlng = radius_m / (M_PER_DEGREE * max(math.cos(math.radians(case.lat)), 0.01))
        lat_range, lng_range = [case.lat - dlat, case.lat + dlat], [case.lng - dlng, case.lng + dlng]
        lat_cells, lng_cells = _cells(*lat_range), _cells(*lng_range)
        box = (
            f"{_cell_sql('lat')} {_in(lat_cells)} AND {_cell_sql('lng')} {_in(lng_cells)} AND {time}"
            f" AND {q('lat')} BETWEEN %s AND %s AND {q('lng')} BETWEEN %s AND %s",
            [*lat_cells, *lng_cells, *span, *lat_range, *lng_range],
        )
    arms: list[tuple[list[str], list]] = []
    for category, cat_params in by_category or [("", [])]:
        if box and category:
            arms.append(([category, box[0]], [*cat_params, *box[1]]))
        elif box:
            # no category: the grid's window, then the box (cases near a grid's edge are not proposed)
            arms.extend(([place, box[0]], [*params, *box[1]]) for place, params in same_place[:1])
        # cases without coordinates at the same place
        no_point = [f"{q('lat')} IS NULL"] if box else []
        arms.extend(
            ([place, *no_point, time, *([category] if category else [])], [*params, *span, *cat_params])
            for place, params in same_place
        )
    return [(f"SELECT {q('id')} FROM {table} WHERE {' AND '.join(conds)}", params) for conds, params in arms]


UNION_BATCH = 200  # SELECTs per UNION ALL (SQLite allows 500 terms in a compound SELECT)


def _distance(case, other, radius_m: float) -> float | None:
    """Metres between two cases, or None if they are not near enough."""
    if None not in (case.lat, case.lng, other.lat, other.lng):
        d = haversine_m(case.lat, case.lng, other.lat, other.lng)
        return d if d <= radius_m else None
    if case.house_id and case.house_id == other.house_id:
        return SAME_HOUSE_M
    if case.grid_id and case.grid_id == other.grid_id:
        return radius_m / 2
    return None


def score(case, other, *, radius_m: float, window: dt.timedelta, grams=None) -> float | None:
    """How likely `other` repeats `case`, 0..1; None if it is not a candidate at all."""
    if other.pk == case.pk or other.status in (Status.MERGED, Status.REJECTED):
        return None
    cats = _categories(case)
    if cats and not (cats & _categories(other)):
        return None
    gap = abs((other.submitted_at - case.submitted_at).total_seconds())
    if gap > window.total_seconds():
        return None
    distance = _distance(case, other, radius_m)
    if distance is None:
        return None
    text = text_similarity(grams if grams is not None else bigrams(_text(case)), bigrams(_text(other)))
    if text < TEXT_THRESHOLD:
        return None
    w_text, w_dist, w_time = WEIGHTS
    value = w_text * text + w_dist * (1 - distance / radius_m) + w_time * (1 - gap / window.total_seconds())
    return round(min(max(value, 0.0), 1.0), 3)


def candidates(
    case: WorkOrder,
    base: QuerySet,
    *,
    radius_m: float = RADIUS_M,
    window_hours: float = WINDOW_HOURS,
    limit: int = 5,
) -> list[tuple[WorkOrder, float]]:
    """Cases that probably repeat `case`, best first, as (case, score). `base` is the viewer's scope,
    e.g. `WorkOrder.objects.for_user(user, "view")`: nothing outside it is proposed."""
    return candidates_for_many([case], base, radius_m=radius_m, window_hours=window_hours, limit=limit).get(case.pk, [])


def candidates_for_many(
    cases: Iterable[WorkOrder],
    base: QuerySet,
    *,
    radius_m: float = RADIUS_M,
    window_hours: float = WINDOW_HOURS,
    limit: int = 5,
) -> dict[int, list[tuple[WorkOrder, float]]]:
    """`candidates` for a page of cases in one query: {case pk: [(candidate, score), …]}."""
    cases = [c for c in cases if c.submitted_at is not None]
    if not cases:
        return {}
    window = dt.timedelta(hours=window_hours)
    # One small index-driven SELECT per case, category column and place (see `_arms`), joined by UNION ALL:
    # an OR of all the cases' windows in one WHERE made PostgreSQL scan a district's or the city's whole
    # history, and a category's time window alone is thousands of rows at 17 M cases.
    # The viewer's scope is applied once, to the candidates found: inside every SELECT it made PostgreSQL
    # AND each small window with the bitmap of a whole district.
    parts = [arm for case in cases for arm in _arms(case, radius_m, window)]
    ids: set[int] = set()
    with connection.cursor() as cursor:
        for i in range(0, len(parts), UNION_BATCH):
            batch = parts[i : i + UNION_BATCH]
            cursor.execute(" UNION ALL ".join(sql for sql, _ in batch), [p for _, params in batch for p in params])
            ids.update(row[0] for row in cursor.fetchall())
    found = list(
        base.filter(pk__in=ids)
        .exclude(status__in=(Status.MERGED, Status.REJECTED))
        .select_related("category", "grid")
        .order_by()
    )
    result: dict[int, list[tuple[WorkOrder, float]]] = {}
    for case in cases:
        grams = bigrams(_text(case))
        scored = []
        for other in found:
            value = score(case, other, radius_m=radius_m, window=window, grams=grams)
            if value is not None:
                scored.append((other, value))
        scored.sort(key=lambda pair: (-pair[1], pair[0].submitted_at, pair[0].pk))
        if scored:
            result[case.pk] = scored[:limit]
    return result
