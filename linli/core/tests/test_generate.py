"""The data generator: codes, ID numbers, denormalized areas, age structure, labels and scope on generated data."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from linli.accounts.models import Assignment, Role, User
from linli.core import codes, crypto
from linli.core.generate import plan as gen_plan
from linli.core.generate import rows, tianjin
from linli.core.idnumber import parse_id_number, validate_uscc
from linli.core.models import AuditRecord
from linli.people.models import EmergencyContact, Household, Label, Occupancy, Organization, Resident
from linli.places.models import Area, Building, Estate, House, Unit

SEQ_BEFORE = 0
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_registry")]


@pytest.fixture
def tiny():
    global SEQ_BEFORE
    SEQ_BEFORE = AuditRecord.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    out, err = io.StringIO(), io.StringIO()
    call_command("generate", scale="tiny", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_city_shape_matches_the_seed_figures():
    shape = tianjin.city_shape(1)
    assert len(shape) == 16
    assert sum(len(streets) for _r, streets in shape) == 281
    assert sum(len(c) for _r, streets in shape for c in streets) == 5846
    assert sum(g for _r, streets in shape for c in streets for g in c) == 21066
    plan = gen_plan.build_plan("city", 1, None, {}, 1)
    assert len({a.code for a in plan.new_areas}) == len(plan.new_areas) == 281 + 5846 + 21066
    assert all(200 <= g.households <= 250 for g in plan.grids[:500])


def test_fast_sealing_matches_crypto():
    sealer = rows._Sealer()
    assert sealer.blind_index("12010119900101123x") == crypto.blind_index("12010119900101123X")
    assert crypto.decrypt(sealer.encrypt("13812345678")) == "13812345678"


def test_tiny_scale_invariants(tiny):
    out, err = tiny
    assert "Generated tiny" in out and "100.0%" in err
    areas = {a.pk: a for a in Area.objects.all()}
    # codes valid, unique and nested
    for a in areas.values():
        assert codes.level_of(a.code) == a.level
        if a.parent_id:
            parent = areas[a.parent_id]
            codes.validate_area_code(a.code, a.level, parent.code, parent.level)
    assert Area.objects.filter(level="grid").count() == 2
    assert Area.objects.filter(level="community").count() == 1
    for b in Building.objects.select_related("grid"):
        assert b.code.startswith(b.grid.code) and len(b.code) == 18
        assert b.footprint["type"] == "Polygon" and b.lng and b.lat
        x0, y0 = b.grid.boundary["coordinates"][0][0]
        x1, y1 = b.grid.boundary["coordinates"][0][2]
        assert x0 < b.lng < x1 and y0 < b.lat < y1
    # denormalized areas: every house, building, occupancy, estate and organization matches its grid's ancestors
    for h in House.objects.select_related("grid", "building"):
        codes.validate_house_code(h.code, h.building.code)
        g = h.grid
        assert (h.community_id, h.street_id, h.district_id, h.city_id) == (
            g.community_id,
            g.street_id,
            g.district_id,
            g.city_id,
        )
        assert h.grid_id == h.building.grid_id and h.estate_id == h.building.estate_id
    for o in Occupancy.objects.select_related("house"):
        h = o.house
        assert (o.grid_id, o.community_id, o.street_id, o.district_id, o.city_id, o.estate_id) == (
            h.grid_id,
            h.community_id,
            h.street_id,
            h.district_id,
            h.city_id,
            h.estate_id,
        )
    for e in Estate.objects.select_related("community"):
        c = e.community
        assert (e.street_id, e.district_id, e.city_id) == (c.street_id, c.district_id, c.city_id)
    for org in Organization.objects.select_related("grid"):
        assert org.community_id == org.grid.community_id and org.city_id == org.grid.city_id
        if org.uscc:
            validate_uscc(org.uscc)
    assert Organization.objects.filter(kind="property").exists()
    assert Estate.objects.filter(property_company__kind="property").exists()
    assert Unit.objects.exists()


def test_tiny_scale_people(tiny):
    residents = list(Resident.objects.all())
    households = Household.objects.count()
    assert 45 <= households <= 55
    assert len(residents) >= 2 * households
    numbers = [r.id_number for r in residents]
    assert len(set(numbers)) == len(numbers)
    for r in residents:
        info = parse_id_number(r.id_number)
        assert info.region_code == "120101"
        assert (r.birth_date, r.sex) == (info.birth_date, info.sex)
        assert r.id_number_hash == crypto.blind_index(r.id_number)
        assert r.household_id and r.relation_to_head
        assert 2 <= len(r.name) <= 4
    for hh in Household.objects.select_related("head"):
        assert hh.head.household_id == hh.pk and hh.head.relation_to_head == "本人"
    assert Occupancy.objects.count() == len(residents)
    # every elderly resident has an emergency contact
    old = [r for r in residents if r.age >= 60]
    assert old and EmergencyContact.objects.filter(resident__in=old).count() == len(old)
    # one audit record for the whole run, none per row
    recs = AuditRecord.objects.filter(action="import")
    assert recs.count() == 1 and recs.get().after["rows"]["resident"] == len(residents)
    assert AuditRecord.objects.filter(seq__gt=SEQ_BEFORE).count() == 1


def test_street_scale_age_structure_and_labels():
    """A street's worth of people (built in memory): ages and labels in a Chinese city's proportions."""
    plan = gen_plan.build_plan("demo", 3, None, {}, 1)
    labels = {code: i for i, code in enumerate(Label.objects.values_list("code", flat=True))}
    task = rows.StreetTask(
        plan.streets[0],
        "120101",
        0,
        500,
        3,
        {k: 1 for k in rows.BLOCKS},
        labels,
        dt.date(2025, 1, 1),
        "2025-01-01 00:00:00",
        "rows",
    )
    result = rows.build_street(task)
    people = result.tables["resident"]
    ages = [(dt.date(2025, 1, 1) - dt.date.fromisoformat(r[6])).days / 365.25 for r in people]
    n = len(ages)
    assert n >= 5000 and result.counts["household"] >= 2000
    assert 0.10 <= sum(a < 15 for a in ages) / n <= 0.17
    assert 0.59 <= sum(15 <= a < 60 for a in ages) / n <= 0.70
    assert 0.18 <= sum(a >= 60 for a in ages) / n <= 0.26
    by_label = {code: 0 for code in labels}
    code_of = {i: code for code, i in labels.items()}
    for _id, _rid, label in result.tables["label"]:
        by_label[code_of[label]] += 1
    elderly = sum(a >= 60 for a in ages)
    assert 0.08 <= by_label["living_alone"] / elderly <= 0.18
    assert 0.04 <= by_label["disabled"] / n <= 0.08
    assert 0.005 <= by_label["dibao"] / n <= 0.05
    assert 0.05 <= by_label["party_member"] / sum(a >= 18 for a in ages) <= 0.12
    assert by_label["league_member"] and by_label["key_care"] and by_label["veteran"]
    relations = {r[12] for r in people}
    assert {"本人", "配偶", "子女", "父母"} <= relations
    occ = {o[5] for o in result.tables["occupancy"]}
    assert {"owner", "tenant", "lives", "registered_away"} <= occ


def test_grid_user_sees_exactly_that_grids_residents(tiny):
    grid, other = Area.objects.filter(level="grid").order_by("code")
    user = User.objects.create_user("g1", password="x")
    Assignment.objects.create(user=user, role=Role.objects.get(code="grid"), area=grid)
    seen = set(Resident.objects.for_user(user).values_list("pk", flat=True))
    expected = set(Occupancy.objects.filter(house__grid=grid).values_list("resident_id", flat=True))
    assert seen == expected and seen
    assert not seen & set(Occupancy.objects.filter(house__grid=other).values_list("resident_id", flat=True))


def test_refuses_to_generate_twice(tiny):
    before = Resident.objects.count()
    with pytest.raises(CommandError, match="120101001000"):
        call_command("generate", scale="tiny", stdout=io.StringIO(), stderr=io.StringIO())
    assert Resident.objects.count() == before
    assert AuditRecord.objects.filter(action="import").count() == 1


def test_bad_arguments_are_refused():
    with pytest.raises(CommandError, match="Unknown scale"):
        call_command("generate", scale="planet", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="999999"):
        call_command("generate", scale="tiny", district="999999", stdout=io.StringIO(), stderr=io.StringIO())
    assert not Area.objects.exists()
