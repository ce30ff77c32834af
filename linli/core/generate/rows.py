"""Rows for one street: estates, buildings, units, houses, households, residents and everything around them.

A street is the unit of work (one process builds it, one transaction loads it). Primary keys are chosen
here, from per-grid blocks above the tables' current maximum, so streets can be built in parallel and
loaded with COPY. ID numbers are unique because every street of a district owns its own slice of the
3-digit sequence space (GB 11643 digits 15-17) for each birth date and sex.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
import math
import os
import random
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from linli.core import crypto
from linli.core.generate import names
from linli.core.generate.plan import AreaPlan
from linli.core.generate.population import ETHNIC_GROUPS, Person, add_labels, household, mobile
from linli.core.idnumber import _USCC_CHARS, make_id_number, uscc_check_char

# table key -> (db table, columns); filled by loader.table_columns() from the models.
BLOCKS = {
    "org": 16,
    "estate": 4,
    "building": 40,
    "unit": 128,
    "house": 400,
    "household": 300,
    "resident": 2000,
    "label": 4000,
    "occupancy": 2000,
    "contact": 1000,
    "facility": 16,
}
BUILDING_TYPES = [  # kind, floors, units, houses per floor and unit, floor area range, weight
    ("walkup", 6, 3, 2, (45, 78), 0.5),
    ("mid", 11, 2, 2, (70, 110), 0.3),
    ("tower", 18, 2, 3, (80, 140), 0.2),
]
SHOP_KINDS = ["便利店", "超市", "理发店", "药店", "早点铺", "菜店", "五金店", "洗衣店", "快递驿站", "包子铺"]
SOCIAL_KINDS = ["志愿服务队", "老年协会", "文体队", "调解委员会"]
COMPANY_WORDS = "鑫诚 万家 安居 泰达 华厦 顺驰 金厦 宏达 佳和 津安 和美 乐居 康泰 永安 诚信 中环".split()
# TAKEN: blind indexes of ID numbers already in the database (set before workers fork).
TAKEN: set[str] = set()
_NUMERALS = "一二三四五六七八九十"


@dataclass
class StreetTask:
    street: AreaPlan
    region: str
    slot_base: int
    slot_width: int
    seed: int
    bases: dict[str, int]
    labels: dict[str, int]
    today: dt.date
    now: str
    fmt: str  # "copy" (text for PostgreSQL COPY) or "rows" (tuples)


@dataclass
class StreetRows:
    street_code: str
    tables: dict[str, Any] = field(default_factory=dict)  # row tuples ("rows") or COPY text ("copy")
    counts: dict[str, int] = field(default_factory=dict)


def _j(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _square(lng: float, lat: float, half: float) -> str:
    x0, y0, x1, y1 = (round(v, 6) for v in (lng - half, lat - half * 0.8, lng + half, lat + half * 0.8))
    return _j({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})


def _uscc(region: str, n: int) -> str:
    body = ""
    for _ in range(9):
        n, r = divmod(n, 31)
        body = _USCC_CHARS[r] + body
    first17 = f"91{region}{body}"
    return first17 + uscc_check_char(first17)


class _Sealer:
    """crypto.encrypt and crypto.blind_index with the keys looked up once (same output; tested)."""

    def __init__(self):
        self.aead, self.key = crypto._keys(settings.FIELD_ENCRYPTION_KEY)

    def encrypt(self, value: str) -> str:
        nonce = os.urandom(12)
        return crypto.PREFIX + base64.b64encode(nonce + self.aead.encrypt(nonce, value.encode(), None)).decode()

    def blind_index(self, value: str) -> str:
        return hmac.digest(self.key, value.upper().encode(), "sha256").hex()


class _Ids:
    def __init__(self, bases: dict[str, int], index: int):
        self.next = {k: bases[k] + index * BLOCKS[k] for k in BLOCKS}
        self.limit = {k: self.next[k] + BLOCKS[k] for k in BLOCKS}

    def __call__(self, key: str) -> int:
        n = self.next[key]
        if n >= self.limit[key]:
            raise RuntimeError(f"id block for {key} exhausted")
        self.next[key] = n + 1
        return n


class StreetBuilder:
    def __init__(self, task: StreetTask):
        self.t = task
        self.rng = random.Random(f"{task.seed}:{task.street.code}")
        self.out: dict[str, list[tuple]] = {k: [] for k in BLOCKS}
        self.seq: dict[tuple[dt.date, str], int] = {}
        self.crypto = _Sealer()

    # ID numbers ------------------------------------------------------------------------------------------
    def id_number(self, p: Person) -> tuple[str, str]:
        birth = p.birth
        while True:
            key = (birth, p.sex)
            c = self.seq.get(key, 0)
            if c >= self.t.slot_width:
                birth += dt.timedelta(days=1)
                continue
            self.seq[key] = c + 1
            seq = 2 * (self.t.slot_base + c) + (1 if p.sex == "M" else 0)
            number = make_id_number(self.t.region, birth, seq, p.sex)
            digest = self.crypto.blind_index(number)
            if digest in TAKEN:
                continue
            p.birth = birth
            return number, digest

    # the street --------------------------------------------------------------------------------------------
    def build(self) -> StreetRows:
        for community in self.t.street.children:
            self.community(community)
        result = StreetRows(self.t.street.code, counts={k: len(v) for k, v in self.out.items()})
        if self.t.fmt == "rows":
            result.tables = self.out
        else:
            result.tables = {k: _copy_text(v) for k, v in self.out.items()}
        return result

    def community(self, c: AreaPlan) -> None:
        rng, now = self.rng, self.t.now
        grids = c.children
        ids = {g.id: _Ids(self.t.bases, g.index) for g in grids}
        first = ids[grids[0].id]
        short = c.name.removesuffix("社区")
        lng, lat = c.center
        kinds = [
            ("service_center", f"{short}社区党群服务中心", c),
            ("elderly", f"{short}社区日间照料中心", c),
            ("fitness", f"{short}健身广场", grids[0]),
            ("ev_charger", f"{short}电动自行车充电桩", grids[-1]),
        ]
        if rng.random() < 0.4:
            kinds.append(("clinic", f"{short}社区卫生服务站", c))
        for i, (kind, name, area) in enumerate(kinds, start=1):
            alng, alat = area.center
            self.out["facility"].append(
                (first("facility"), now, now, f"F{c.code}{i:02d}", name, kind, area.id, f"{short}{i}号", alng, alat)
            )
        for kind in rng.sample(SOCIAL_KINDS, rng.randint(1, 2)):
            self.out["org"].append(
                (
                    first("org"),
                    now,
                    now,
                    "social",
                    f"{short}社区{kind}",
                    "",
                    self.person_name(),
                    "",
                    "",
                    f"{short}社区",
                    grids[0].id,
                    c.id,
                    c.street_id,
                    c.district_id,
                    c.city_id,
                    lng,
                    lat,
                )
            )
        # estates (小区): pairs of grids, most run by a property company
        estate_of: dict[int, int] = {}
        for i in range(0, len(grids), 2):
            g = grids[i]
            company = None
            glng, glat = g.center
            if rng.random() < 0.85:
                company = ids[g.id]("org")
                self.out["org"].append(
                    (
                        company,
                        now,
                        now,
                        "property",
                        f"天津{rng.choice(COMPANY_WORDS)}物业服务有限公司",
                        _uscc(self.t.region, company),
                        self.person_name(),
                        "",
                        "",
                        f"{short}{i // 2 + 1}号院物业办公室",
                        g.id,
                        c.id,
                        c.street_id,
                        c.district_id,
                        c.city_id,
                        glng,
                        glat,
                    )
                )
            estate = ids[g.id]("estate")
            name = f"{short}小区" if i == 0 else f"{short}{_NUMERALS[i // 2]}区"
            self.out["estate"].append(
                (
                    estate,
                    now,
                    now,
                    f"E{g.code}",
                    name,
                    c.id,
                    c.street_id,
                    c.district_id,
                    c.city_id,
                    company,
                    f"{short}{i // 2 + 1}号院",
                    None,
                    glng,
                    glat,
                )
            )
            for gg in grids[i : i + 2]:
                estate_of[gg.id] = estate
        for g in grids:
            self.grid(c, g, ids[g.id], estate_of[g.id])

    def person_name(self) -> str:
        rng = self.rng
        return names.full_name(rng, rng.choice("MF"), rng.randint(1965, 1995))

    def grid(self, c: AreaPlan, g: AreaPlan, ids: _Ids, estate: int | None) -> None:
        rng, now, out = self.rng, self.t.now, self.out
        located = (g.id, c.id, c.street_id, c.district_id, c.city_id)
        short = c.name.removesuffix("社区")
        # shops
        x0, y0, x1, y1 = g.bbox  # type: ignore[misc]
        for _ in range(rng.randint(2, 4)):
            kind = rng.choice(SHOP_KINDS)
            out["org"].append(
                (
                    ids("org"),
                    now,
                    now,
                    "shop",
                    f"{rng.choice(names.SURNAMES[:30])}记{kind}",
                    "",
                    self.person_name(),
                    *self.sealed(mobile(rng)),
                    f"{short}底商{rng.randint(1, 60)}号",
                    *located,
                    round(rng.uniform(x0, x1), 6),
                    round(rng.uniform(y0, y1), 6),
                )
            )
        # buildings, units, houses
        need = math.ceil(g.households / 0.9)
        houses: list[tuple[int, int | None, str]] = []  # (id, estate id, code)
        specs = []
        capacity = 0
        while capacity < need:
            spec = rng.choices(BUILDING_TYPES, weights=[b[5] for b in BUILDING_TYPES])[0]
            specs.append(spec)
            capacity += spec[1] * spec[2] * spec[3]
        k = math.ceil(math.sqrt(len(specs)))
        dx, dy = (x1 - x0) / k, (y1 - y0) / k
        for n, (_kind, floors, units, per_floor, area_range, _w) in enumerate(specs, start=1):
            bid = ids("building")
            b_code = f"{g.code}{n:03d}"
            b_estate = estate if rng.random() < 0.9 else None
            lng = round(x0 + ((n - 1) % k + 0.5) * dx, 6)
            lat = round(y1 - ((n - 1) // k + 0.5) * dy, 6)
            out["building"].append(
                (
                    bid,
                    now,
                    now,
                    *located,
                    b_code,
                    f"{n}号楼",
                    b_estate,
                    floors,
                    f"{short}{n}号楼",
                    _square(lng, lat, dx * 0.3),
                    lng,
                    lat,
                )
            )
            for u in range(1, units + 1):
                uid = ids("unit")
                out["unit"].append((uid, now, now, bid, u))
                for floor in range(1, floors + 1):
                    for pos in range(1, per_floor + 1):
                        hid = ids("house")
                        room = floor * 100 + pos
                        size = f"{rng.uniform(*area_range):.2f}"
                        out["house"].append(
                            (
                                hid,
                                now,
                                now,
                                *located,
                                f"{b_code}{u:02d}{room:04d}",
                                bid,
                                uid,
                                b_estate,
                                floor,
                                str(room),
                                "residential",
                                size,
                            )
                        )
                        houses.append((hid, b_estate, f"{b_code}{u:02d}{room:04d}"))
        for hid, h_estate, h_code in rng.sample(houses, g.households):
            self.household(located, hid, h_estate, h_code, ids)

    def sealed(self, value: str) -> tuple[str, str]:
        return self.crypto.encrypt(value), self.crypto.blind_index(value)

    def household(self, located: tuple, hid: int, estate: int | None, h_code: str, ids: _Ids) -> None:
        rng, t, now, out = self.rng, self.t, self.t.now, self.out
        today = t.today
        kind, members = household(rng, today)
        for p in members:  # fix birth dates first: the ID number may move one by a day
            p.id_number, p.id_hash = self.id_number(p)
        renting = rng.random() < 0.17 and kind not in ("single_elder", "elder_couple", "three_generations")
        add_labels(rng, kind, members, today, dibao=rng.random() < 0.02)
        hh_id = ids("household")
        head_id = None
        hh_kind = "renting" if renting else ("registered" if rng.random() < 0.7 else "resident")
        for i, p in enumerate(members):
            rid = ids("resident")
            head_id = head_id or rid
            age = p.age_on(today)
            has_phone = age >= 14 and rng.random() < (0.6 if age >= 85 else 0.93)
            phone_enc, phone_hash = self.sealed(mobile(rng)) if has_phone else ("", "")
            out["resident"].append(
                (
                    rid,
                    now,
                    now,
                    p.name,
                    self.crypto.encrypt(p.id_number),
                    p.id_hash,
                    p.birth.isoformat(),
                    p.sex,
                    phone_enc,
                    phone_hash,
                    ETHNIC_GROUPS[rng.randrange(len(ETHNIC_GROUPS))],
                    hh_id,
                    p.relation,
                    "active",
                    None,
                    "",
                )
            )
            for code in p.labels:
                out["label"].append((ids("label"), rid, t.labels[code]))
            if renting:
                relation = "tenant"
                since = today - dt.timedelta(days=rng.randint(30, 5 * 365))
            else:
                relation = "owner" if i == 0 else ("registered_away" if rng.random() < 0.04 else "lives")
                since = today - dt.timedelta(days=rng.randint(365, 30 * 365))
            out["occupancy"].append(
                (ids("occupancy"), now, now, rid, hid, relation, since.isoformat(), *located, estate)
            )
            if age >= 60:
                fam = p.name[:2] if p.name[:2] in names.SURNAMES else p.name[0]
                child_year = min(today.year - 18, p.birth.year + rng.randint(24, 32))
                out["contact"].append(
                    (
                        ids("contact"),
                        now,
                        now,
                        rid,
                        names.full_name(rng, rng.choice("MF"), child_year, fam),
                        "子女" if rng.random() < 0.85 else "亲属",
                        *self.sealed(mobile(rng)),
                    )
                )
        out["household"].append((hh_id, now, now, f"{h_code}01", hid, hh_kind, head_id))


def _copy_text(rows: list[tuple]) -> str:
    return "".join("\t".join("\\N" if v is None else str(v) for v in row) + "\n" for row in rows)


def build_street(task: StreetTask) -> StreetRows:
    return StreetBuilder(task).build()
