"""A small, fixed world for tests: two streets, three communities, four grids, one user per role,
and for every in-scope user a twin place they must never see.

    city 天津市 120100000000
    └─ district 和平区 120101000000
       ├─ street A 劝业场街道 120101001000
       │  ├─ community A1 新华里社区 120101001001
       │  │  ├─ grid A1-1 120101001001001   building 1 (estate E1: 新华里小区, property P1)
       │  │  └─ grid A1-2 120101001001002   building 1
       │  └─ community A2 福明里社区 120101001002
       │     └─ grid A2-1 120101001002001   building 1
       └─ street B 小白楼街道 120101002000
          └─ community B1 开封道社区 120101002001
             └─ grid B1-1 120101002001001   building 1 (estate E2: 开封道小区, property P2)

Work orders: linli/cases/testing.py adds handling units, routing rules and two handler users.

Every building has two houses (unit 1, rooms 101 and 102); each house one household and one resident.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings

from linli.accounts.models import Assignment, Role, User
from linli.cases.models import HandlingUnit
from linli.cases.testing import build_cases
from linli.core.idnumber import make_id_number
from linli.core.models import LinliModel
from linli.people import services as people
from linli.people.models import Label, Organization, Resident
from linli.places import services as places
from linli.places.models import Area, Building, Estate, House

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[117.20, 39.12], [117.21, 39.12], [117.21, 39.13], [117.20, 39.13], [117.20, 39.12]]],
}


@dataclass
class World:
    areas: dict[str, Area] = field(default_factory=dict)
    estates: dict[str, Estate] = field(default_factory=dict)
    buildings: dict[str, Building] = field(default_factory=dict)
    houses: dict[str, House] = field(default_factory=dict)  # "A1-1/101"
    residents: dict[str, Resident] = field(default_factory=dict)  # same keys as houses
    orgs: dict[str, Organization] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    units: dict[str, HandlingUnit] = field(default_factory=dict)  # work-order handling units
    password: str = settings.DEMO_PASSWORD

    def resident_in(self, grid_key: str) -> Resident:
        return self.residents[f"{grid_key}/101"]

    def house_in(self, grid_key: str) -> House:
        return self.houses[f"{grid_key}/101"]


def make_user(
    username: str,
    role: str | None = None,
    *,
    area: Area | None = None,
    estate: Estate | None = None,
    password: str = settings.DEMO_PASSWORD,
    **extra,
) -> User:
    user = User.objects.create_user(username=username, password=password, **extra)
    if role:
        Assignment.objects.create(user=user, role=Role.objects.get(code=role), area=area, estate=estate)
    return user


def build_world() -> World:
    w = World()
    a = w.areas
    a["city"] = places.create_area(None, level="city", code="120100000000", name="天津市")
    a["district"] = places.create_area(None, level="district", code="120101000000", name="和平区", parent=a["city"])
    a["A"] = places.create_area(None, level="street", code="120101001000", name="劝业场街道", parent=a["district"])
    a["B"] = places.create_area(None, level="street", code="120101002000", name="小白楼街道", parent=a["district"])
    a["A1"] = places.create_area(None, level="community", code="120101001001", name="新华里社区", parent=a["A"])
    a["A2"] = places.create_area(None, level="community", code="120101001002", name="福明里社区", parent=a["A"])
    a["B1"] = places.create_area(None, level="community", code="120101002001", name="开封道社区", parent=a["B"])
    for key, parent, code in (
        ("A1-1", "A1", "120101001001001"),
        ("A1-2", "A1", "120101001001002"),
        ("A2-1", "A2", "120101001002001"),
        ("B1-1", "B1", "120101002001001"),
    ):
        a[key] = places.create_area(
            None, level="grid", code=code, name=f"{a[parent].name}第{code[-1]}网格", parent=a[parent], boundary=SQUARE
        )

    w.orgs["P1"] = people.save_organization(
        None, kind="property", name="新华物业公司", uscc="91120101MA05L6W01E", grid=a["A1-1"]
    )
    w.orgs["P2"] = people.save_organization(None, kind="property", name="开封道物业公司", grid=a["B1-1"])
    w.orgs["shop"] = people.save_organization(
        None, kind="shop", name="福明里便利店", grid=a["A2-1"], phone="13900001111"
    )
    places.create_facility(
        None,
        code="F120101001001001",
        name="新华里社区养老驿站",
        kind="elderly",
        area=a["A1-1"],
        address="新华里3号楼底商",
    )
    places.create_facility(None, code="F120101002001001", name="开封道健身广场", kind="fitness", area=a["B1-1"])
    w.estates["E1"] = places.create_estate(
        None, code="E120101001001", name="新华里小区", community=a["A1"], property_company=w.orgs["P1"]
    )
    w.estates["E2"] = places.create_estate(
        None, code="E120101002001", name="开封道小区", community=a["B1"], property_company=w.orgs["P2"]
    )

    labels = {label.code: label for label in Label.objects.all()}
    seq = 0
    for grid_key in ("A1-1", "A1-2", "A2-1", "B1-1"):
        estate = w.estates["E1"] if grid_key == "A1-1" else w.estates["E2"] if grid_key == "B1-1" else None
        b = places.create_building(
            None, grid=a[grid_key], number=1, name="1号楼", estate=estate, floors=6, lng=117.205, lat=39.125, units=1
        )
        w.buildings[grid_key] = b
        for room in (101, 102):
            h = places.create_house(None, building=b, unit_number=1, room=room)
            key = f"{grid_key}/{room}"
            w.houses[key] = h
            seq += 1
            born = dt.date(1950, 3, seq) if room == 101 else dt.date(1990, 6, seq)
            r = people.save_resident(
                None,
                house=h,
                name=f"居民{grid_key}-{room}",
                id_number=make_id_number("120101", born, seq * 2, "M" if seq % 2 else "F"),
                phone=f"1380000{seq:04d}",
                labels=[labels["living_alone"]] if room == 101 else [],
            )
            people.create_household(None, house=h, head=r)
            w.residents[key] = r

    u = w.users
    u["admin"] = make_user("admin", "admin")
    u["secadmin"] = make_user("secadmin", "secadmin")
    u["auditor"] = make_user("auditor", "auditor")
    u["street"] = make_user("street", "street", area=a["A"])
    u["community"] = make_user("community", "community", area=a["A1"])
    u["grid"] = make_user("grid", "grid", area=a["A1-1"])
    u["property"] = make_user("property", "property", estate=w.estates["E1"])
    u["dispatcher"] = make_user("dispatcher", "dispatcher", area=a["A"])
    u["shift_lead"] = make_user("shift_lead", "shift_lead", area=a["A"])
    u["rescuer"] = make_user("rescuer", "rescuer", area=a["A"])
    u["provider"] = make_user("provider", "provider")
    u["resident"] = make_user("resident", "resident")
    Resident.objects.filter(pk=w.resident_in("A1-1").pk).update(user=u["resident"])
    u["nobody"] = make_user("nobody")
    # twins: same roles, other places
    u["street_b"] = make_user("street_b", "street", area=a["B"])
    u["community_b"] = make_user("community_b", "community", area=a["B1"])
    u["grid_b"] = make_user("grid_b", "grid", area=a["B1-1"])
    u["property_b"] = make_user("property_b", "property", estate=w.estates["E2"])
    u["dispatcher_b"] = make_user("dispatcher_b", "dispatcher", area=a["B"])
    u["rescuer_b"] = make_user("rescuer_b", "rescuer", area=a["B"])
    build_cases(w)
    return w


def world_keys(w: World) -> dict[str, dict[str, int]]:
    return {
        name: {k: obj.pk for k, obj in getattr(w, name).items()}
        for name in ("areas", "estates", "buildings", "houses", "residents", "orgs", "users", "units")
    }


_MODELS: dict[str, type[LinliModel] | type[User]] = {
    "areas": Area,
    "estates": Estate,
    "buildings": Building,
    "houses": House,
    "residents": Resident,
    "orgs": Organization,
    "users": User,
    "units": HandlingUnit,
}


def load_world(keys: dict[str, dict[str, int]]) -> World | None:
    """Fresh objects for a world already in the database (None if it has been flushed)."""
    w = World()
    for name, model in _MODELS.items():
        found = model.objects.in_bulk(list(keys[name].values()))
        if len(found) != len(keys[name]):
            return None
        setattr(w, name, {k: found[pk] for k, pk in keys[name].items()})
    return w
