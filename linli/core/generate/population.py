"""Households and people with a Chinese city's make-up.

Household types and their weights are tuned so that a generated population matches Tianjin's
7th-census age structure (0-14 ≈ 13%, 15-59 ≈ 65%, 60+ ≈ 22%), an average household of about
2.5 people, and about 12% of the elderly living alone.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from linli.core.generate import names


@dataclass
class Person:
    sex: str
    birth: dt.date
    relation: str  # 本人 配偶 子女 父母 孙子女 兄弟姐妹
    name: str = ""
    labels: list[str] = field(default_factory=list)
    id_number: str = ""
    id_hash: str = ""

    def age_on(self, day: dt.date) -> int:
        return day.year - self.birth.year - ((day.month, day.day) < (self.birth.month, self.birth.day))


# (kind, weight)
HOUSEHOLD_TYPES = [
    ("single_elder", 0.075),
    ("elder_couple", 0.13),
    ("single_adult", 0.16),
    ("couple", 0.16),
    ("family", 0.23),
    ("three_generations", 0.10),
    ("couple_adult_child", 0.14),
]
_KINDS = [k for k, _w in HOUSEHOLD_TYPES]
_KIND_WEIGHTS = [w for _k, w in HOUSEHOLD_TYPES]
ETHNIC_GROUPS = ["汉族"] * 960 + ["回族"] * 20 + ["满族"] * 12 + ["蒙古族"] * 4 + ["朝鲜族"] * 2 + ["土家族"] * 2
MOBILE_PREFIXES = (
    "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 166 176 177 178 180 181 "
    "182 183 185 186 187 188 189 191 198 199"
).split()


def _birth(rng: random.Random, today: dt.date, lo: int, hi: int) -> dt.date:
    """A birth date for someone aged lo..hi (inclusive) today."""
    age_days = rng.randint(lo * 365 + 1, hi * 365 + 364)
    return today - dt.timedelta(days=age_days)


def _other(sex: str) -> str:
    return "F" if sex == "M" else "M"


def _sex(rng: random.Random) -> str:
    return "M" if rng.random() < 0.5 else "F"


def _children(rng: random.Random, today: dt.date, parent_age: int, lo: int, hi: int, relation: str) -> list[Person]:
    n = 1 if rng.random() < 0.75 else 2
    top = max(lo, min(hi, parent_age - 20))
    return [Person(_sex(rng), _birth(rng, today, lo, top), relation) for _ in range(n)]


def household(rng: random.Random, today: dt.date) -> tuple[str, list[Person]]:
    """One household: its type and members, head first."""
    kind = rng.choices(_KINDS, weights=_KIND_WEIGHTS)[0]
    s = _sex(rng)
    if kind == "single_elder":
        members = [Person("F" if rng.random() < 0.62 else "M", _birth(rng, today, 60, 95), "本人")]
    elif kind == "elder_couple":
        age = rng.randint(60, 88)
        members = [
            Person("M", _birth(rng, today, age, age), "本人"),
            Person("F", _birth(rng, today, max(55, age - 4), age + 1), "配偶"),
        ]
    elif kind == "single_adult":
        members = [Person(s, _birth(rng, today, 20, 59), "本人")]
    elif kind == "couple":
        age = rng.choice([rng.randint(23, 38), rng.randint(40, 64)])
        members = [
            Person(s, _birth(rng, today, age, age), "本人"),
            Person(_other(s), _birth(rng, today, max(20, age - 4), age + 3), "配偶"),
        ]
    elif kind == "family":
        age = rng.randint(27, 52)
        members = [
            Person(s, _birth(rng, today, age, age), "本人"),
            Person(_other(s), _birth(rng, today, max(22, age - 4), age + 3), "配偶"),
        ]
        members += _children(rng, today, age, 0, 22, "子女")
    elif kind == "three_generations":
        age = rng.randint(30, 48)
        grand = rng.randint(57, 82)
        couple = [
            Person(s, _birth(rng, today, age, age), "本人"),
            Person(_other(s), _birth(rng, today, max(24, age - 4), age + 3), "配偶"),
        ]
        kids = _children(rng, today, age, 0, 16, "子女")
        grands = [Person("F", _birth(rng, today, grand, grand + 3), "父母")]
        if rng.random() < 0.6:
            grands.append(Person("M", _birth(rng, today, grand, grand + 3), "父母"))
        if rng.random() < 0.35:  # the grandparent is the registered head
            for p in couple:
                p.relation = "子女" if p.relation == "本人" else "其他"
            for p in kids:
                p.relation = "孙子女"
            grands[0].relation = "本人"
            for p in grands[1:]:
                p.relation = "配偶"
            members = grands + couple + kids
        else:
            members = couple + kids + grands
    else:  # couple_adult_child
        age = rng.randint(46, 62)
        members = [
            Person(s, _birth(rng, today, age, age), "本人"),
            Person(_other(s), _birth(rng, today, max(40, age - 4), age + 3), "配偶"),
            Person(_sex(rng), _birth(rng, today, 18, min(34, age - 21)), "子女"),
        ]
    _name_family(rng, members)
    return kind, members


def _name_family(rng: random.Random, members: list[Person]) -> None:
    """Children take the father's surname; spouses and parents keep their own."""
    family = names.surname(rng)
    head = members[0]
    father_family = family if head.sex == "M" else names.surname(rng)
    for p in members:
        if p.relation in ("本人",):
            fam = family
        elif p.relation in ("子女", "孙子女"):
            fam = father_family if rng.random() < 0.93 else family
        elif p.relation == "配偶" and head.sex == "F":
            fam = father_family
        else:
            fam = None
        p.name = names.full_name(rng, p.sex, p.birth.year, fam)


def add_labels(rng: random.Random, kind: str, members: list[Person], today: dt.date, dibao: bool) -> None:
    """Population labels in realistic proportions."""
    for p in members:
        age = p.age_on(today)
        labels = p.labels
        if kind == "single_elder":
            labels.append("living_alone")
        elif kind == "elder_couple" and age >= 60:
            labels.append("empty_nest")
        disabled_rate = 0.13 if age >= 60 else 0.035
        if rng.random() < disabled_rate:
            labels.append("disabled")
        if dibao:
            labels.append("dibao")
        if age >= 18 and rng.random() < (0.11 if age >= 50 else 0.065):
            labels.append("party_member")
        if 14 <= age <= 28 and rng.random() < 0.35:
            labels.append("league_member")
        if p.sex == "M" and age >= 22 and rng.random() < 0.035:
            labels.append("veteran")
            if rng.random() < 0.2:
                labels.append("youfu")
        if age >= 40 and rng.random() < 0.012:
            labels.append("severe_illness")
        if age >= 60 and (
            ("living_alone" in labels and age >= 80)
            or "disabled" in labels
            or ("dibao" in labels)
            or "severe_illness" in labels
        ):
            labels.append("key_care")


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"
