"""What a generator run will build: the area tree with ids, codes, names and rectangles.

Scales: tiny (tests: 1 community, 2 grids, ~50 households), demo (one street, 3 communities, 13 grids),
street (~75 grids), district (one Tianjin district), city (all of Tianjin: 16 districts, 281 streets,
5,846 communities, 21,066 grids). Every grid holds 200-250 households (25 at tiny scale).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from linli.core.generate import tianjin

SCALES = ("tiny", "demo", "street", "district", "city")
DEFAULT_DISTRICT = {"tiny": "120101", "demo": "120101", "street": "120103", "district": "120104", "city": ""}
DEMO_COMMUNITIES = ["新华里社区", "福明里社区", "开封道社区"]

# Grid cell sizes in degrees (lng, lat): dense central districts have small grids.
_CENTRAL = {"120101", "120102", "120103", "120104", "120105", "120106"}
# District blocks on the map, north to south (a rough picture of Tianjin, not its real outline).
_LAYOUT = [
    ["120114", "120113", "120115", "120119"],
    ["120111", "120106", "120105", "120117"],
    ["120118", "120104", "120101", "120102"],
    ["120112", "120103", "120110", "120116"],
]
CENTER = (117.20, 39.12)


@dataclass
class AreaPlan:
    id: int
    level: str
    code: str
    name: str
    parent_id: int | None
    city_id: int | None = None
    district_id: int | None = None
    street_id: int | None = None
    community_id: int | None = None
    bbox: tuple[float, float, float, float] | None = None  # min lng, min lat, max lng, max lat
    households: int = 0  # grids only
    index: int = 0  # grids only: position in this run, selects the id blocks
    children: list[AreaPlan] = field(default_factory=list)

    @property
    def boundary(self) -> dict | None:
        if self.bbox is None:
            return None
        x0, y0, x1, y1 = (round(v, 6) for v in self.bbox)
        return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}

    @property
    def center(self) -> tuple[float | None, float | None]:
        if self.bbox is None:
            return None, None
        return round((self.bbox[0] + self.bbox[2]) / 2, 6), round((self.bbox[1] + self.bbox[3]) / 2, 6)


def cell_size(region: str) -> tuple[float, float]:
    return (0.0022, 0.0018) if region in _CENTRAL else (0.0045, 0.0036)


def _pack(sizes: list[tuple[int, int]]) -> tuple[int, int, list[tuple[int, int]]]:
    """Place blocks (w, h) in rows of about sqrt(n) blocks: (width, height, origin of each block)."""
    cols = max(1, math.ceil(math.sqrt(len(sizes))))
    origins, x, y, row_h, width = [], 0, 0, 0, 0
    for i, (w, h) in enumerate(sizes):
        if i and i % cols == 0:
            x, y, row_h = 0, y + row_h, 0
        origins.append((x, y))
        x += w
        row_h, width = max(row_h, h), max(width, x)
    return width, y + row_h, origins


def _community_size(n: int) -> tuple[int, int]:
    return (2, math.ceil(n / 2)) if n > 1 else (1, 1)


def _street_cells(grid_counts: list[int]) -> tuple[int, int, list[list[tuple[int, int]]]]:
    """Communities as blocks two grids wide, packed into the street: (width, height, cells per community)."""
    width, height, origins = _pack([_community_size(n) for n in grid_counts])
    cells = [[(ox + i % 2, oy + i // 2) for i in range(n)] for n, (ox, oy) in zip(grid_counts, origins, strict=True)]
    return width, height, cells


def _district_blocks(streets: list[list[int]]) -> tuple[int, int, list[tuple[int, int]]]:
    return _pack([_street_cells(st)[:2] for st in streets])


def district_origins(seed: int) -> dict[str, tuple[float, float]]:
    """North-west corner (lng, lat) of each district's block, centred on Tianjin."""
    shape = dict(tianjin.city_shape(seed))
    size = {}
    for region, streets in shape.items():
        w, h, _o = _district_blocks(streets)
        dx, dy = cell_size(region)
        size[region] = (w * dx, h * dy)
    col_w = [max(size[row[c]][0] for row in _LAYOUT) for c in range(4)]
    row_h = [max(size[r][1] for r in row) for row in _LAYOUT]
    gap = 0.01
    total_w, total_h = sum(col_w) + 3 * gap, sum(row_h) + 3 * gap
    x0, y0 = CENTER[0] - total_w / 2, CENTER[1] + total_h / 2
    out = {}
    for r, row in enumerate(_LAYOUT):
        for c, region in enumerate(row):
            out[region] = (x0 + sum(col_w[:c]) + c * gap, y0 - sum(row_h[:r]) - r * gap)
    return out


class IdAllocator:
    def __init__(self, start: int):
        self.next = start

    def __call__(self) -> int:
        self.next += 1
        return self.next - 1


@dataclass
class Plan:
    scale: str
    seed: int
    city: AreaPlan
    districts: list[AreaPlan]
    new_areas: list[AreaPlan]  # streets and below, in creation order
    streets: list[AreaPlan]
    # per street: (district region, slot base, slot width) for the ID number sequence space
    slots: dict[int, tuple[str, int, int]]
    existing: dict[str, int]  # codes of city/districts already in the database -> id

    @property
    def grids(self) -> list[AreaPlan]:
        return [a for a in self.new_areas if a.level == "grid"]

    @property
    def households(self) -> int:
        return sum(g.households for g in self.grids)


def shape_for(scale: str, seed: int, district: str) -> list[tuple[str, list[list[int]], list[str] | None]]:
    """(district region, grid counts per community per street, fixed community names) for a scale."""
    if scale == "tiny":
        return [(district, [[2]], ["新华里社区"])]
    if scale == "demo":
        return [(district, [[4, 5, 4]], DEMO_COMMUNITIES)]
    if scale == "street":
        rng = random.Random(seed)
        counts = tianjin.largest_remainder(75, [rng.uniform(0.6, 1.4) for _ in range(21)])
        return [(district, [counts], None)]
    shape = tianjin.city_shape(seed)
    if scale == "district":
        return [(r, st, None) for r, st in shape if r == district]
    return [(r, st, None) for r, st in shape]


def build_plan(scale: str, seed: int, district: str | None, existing: dict[str, int], next_area_id: int) -> Plan:
    """Lay out the areas of a run. `existing` maps codes of city/district areas already stored to their ids."""
    if scale not in SCALES:
        raise ValueError(scale)
    district = district or DEFAULT_DISTRICT[scale]
    if scale != "city" and district not in tianjin.DISTRICT_NAMES:
        raise ValueError(district)
    rng = random.Random(seed)
    new_id = IdAllocator(next_area_id)
    city_id = existing.get(tianjin.CITY_CODE) or new_id()
    city = AreaPlan(city_id, "city", tianjin.CITY_CODE, tianjin.CITY_NAME, None)
    origins = district_origins(seed)
    full_streets = dict((r, len(st)) for r, st in tianjin.city_shape(seed))
    lo, hi = (25, 25) if scale == "tiny" else (200, 250)
    districts, new_areas, streets, slots = [], [], [], {}
    grid_index = 0
    for region, street_shapes, fixed_names in shape_for(scale, seed, district):
        code = f"{region}000000"
        d = AreaPlan(
            existing.get(code) or new_id(), "district", code, tianjin.DISTRICT_NAMES[region], city.id, city_id=city.id
        )
        districts.append(d)
        dx, dy = cell_size(region)
        ox, oy = origins[region]
        _w, _h, street_origins = _district_blocks(street_shapes)
        snames = tianjin.street_names(region, len(street_shapes), rng)
        n_slots = full_streets[region] if scale in ("district", "city") else 1
        width = 500 // n_slots
        for si, (grid_counts, (sx, sy)) in enumerate(zip(street_shapes, street_origins, strict=True)):
            s_code = f"{region}{si + 1:03d}000"
            s = AreaPlan(new_id(), "street", s_code, snames[si], d.id, city_id=city.id, district_id=d.id)
            new_areas.append(s)
            streets.append(s)
            slots[s.id] = (region, si * width, width)
            sw, sh, cells = _street_cells(grid_counts)
            s.bbox = (ox + sx * dx, oy - (sy + sh) * dy, ox + (sx + sw) * dx, oy - sy * dy)
            cnames = fixed_names or tianjin.community_names(len(grid_counts), rng)
            for ci, (_n, comm_cells) in enumerate(zip(grid_counts, cells, strict=True)):
                c = AreaPlan(
                    new_id(),
                    "community",
                    f"{s_code[:9]}{ci + 1:03d}",
                    cnames[ci],
                    s.id,
                    city_id=city.id,
                    district_id=d.id,
                    street_id=s.id,
                )
                new_areas.append(c)
                s.children.append(c)
                xs = [cx for cx, _cy in comm_cells]
                ys = [cy for _cx, cy in comm_cells]
                c.bbox = (
                    ox + (sx + min(xs)) * dx,
                    oy - (sy + max(ys) + 1) * dy,
                    ox + (sx + max(xs) + 1) * dx,
                    oy - (sy + min(ys)) * dy,
                )
                for gi, (cx, cy) in enumerate(comm_cells):
                    g = AreaPlan(
                        new_id(),
                        "grid",
                        f"{c.code}{gi + 1:03d}",
                        f"{c.name}第{gi + 1}网格",
                        c.id,
                        city_id=city.id,
                        district_id=d.id,
                        street_id=s.id,
                        community_id=c.id,
                    )
                    x0, y1 = ox + (sx + cx) * dx, oy - (sy + cy) * dy
                    g.bbox = (x0, y1 - dy, x0 + dx, y1)
                    g.households = rng.randint(lo, hi)
                    g.index = grid_index
                    grid_index += 1
                    new_areas.append(g)
                    c.children.append(g)
    return Plan(scale, seed, city, districts, new_areas, streets, slots, existing)
