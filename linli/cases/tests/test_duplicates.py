"""Duplicate detection: same place, time, category and words → proposed; anything else, or out of scope → not."""

from __future__ import annotations

import datetime as dt

import pytest

from linli.cases import duplicates
from linli.cases.models import Category, Status, WorkOrder
from linli.cases.tests.helpers import open_case

pytestmark = pytest.mark.django_db

LAMP = {"title": "楼道灯坏了", "description": "3号楼2单元楼道灯坏了一个星期 晚上老人下楼看不见"}
LAMP_AGAIN = {"title": "楼道灯不亮", "description": "3号楼2单元的楼道灯一直不亮 晚上下楼看不见 请尽快修"}
VENDOR = {"title": "门口有人摆摊", "description": "小区南门口每天早上有人占道摆摊卖菜 车都过不去"}


def _case(world, grid="A1-1", category="0202", **text):
    text = text or LAMP
    return open_case(world, grid=grid, category=category, **text)


def _set(case, **fields) -> WorkOrder:
    WorkOrder.objects.filter(pk=case.pk).update(**fields)
    return WorkOrder.objects.get(pk=case.pk)


def _found(case, base) -> list[int]:
    return [c.pk for c, _score in duplicates.candidates(case, base)]


def test_similar_chinese_text_scores_above_the_threshold():
    a, b, c = (duplicates.bigrams(f"{t['title']} {t['description']}") for t in (LAMP, LAMP_AGAIN, VENDOR))
    assert duplicates.text_similarity(a, b) >= duplicates.TEXT_THRESHOLD
    assert duplicates.text_similarity(a, c) < duplicates.TEXT_THRESHOLD
    assert duplicates.text_similarity(a, a) == pytest.approx(1.0)
    assert duplicates.haversine_m(39.125, 117.205, 39.126, 117.205) == pytest.approx(111.2, abs=0.5)


def test_same_place_time_category_and_words_is_proposed(world):
    first = _case(world)
    second = _case(world, **LAMP_AGAIN)
    base = WorkOrder.objects.for_user(world.users["community"], "view")
    found = duplicates.candidates(second, base)
    assert [c.pk for c, _ in found] == [first.pk]
    assert 0 < found[0][1] <= 1
    # and the other way round: the earlier case sees the later one
    assert _found(first, base) == [second.pk]


def test_better_matches_come_first(world):
    far = _set(_case(world, **LAMP_AGAIN), lat=39.1259, lng=117.205)  # about 100 m north
    near = _case(world, **LAMP_AGAIN)
    case = _case(world)
    base = WorkOrder.objects.all()
    assert _found(case, base) == [near.pk, far.pk]
    assert duplicates.candidates(case, base, limit=1)[0][0].pk == near.pk


def test_other_category_is_not_proposed(world):
    lamp = Category.objects.get(code="0202")
    other = Category.objects.get(code="0303")
    first = _set(_case(world, category="0303"), category=other, suggested_category=other)
    case = _set(_case(world, **LAMP_AGAIN), category=lamp, suggested_category=lamp)
    assert _found(case, WorkOrder.objects.all()) == []
    # the same suggested category is enough
    _set(first, suggested_category=lamp)
    assert _found(case, WorkOrder.objects.all()) == [first.pk]


def test_too_far_is_not_proposed(world):
    first = _case(world)
    _set(first, lat=first.lat + 0.003)  # about 330 m
    case = _case(world, **LAMP_AGAIN)
    assert _found(case, WorkOrder.objects.all()) == []
    assert [c.pk for c, _ in duplicates.candidates(case, WorkOrder.objects.all(), radius_m=500)] == [first.pk]


def test_too_old_is_not_proposed(world):
    first = _case(world)
    case = _case(world, **LAMP_AGAIN)
    _set(first, submitted_at=case.submitted_at - dt.timedelta(hours=73))
    assert _found(case, WorkOrder.objects.all()) == []
    _set(first, submitted_at=case.submitted_at - dt.timedelta(hours=70))
    assert _found(case, WorkOrder.objects.all()) == [first.pk]


def test_different_text_is_not_proposed(world):
    _case(world, **VENDOR)
    case = _case(world)
    assert _found(case, WorkOrder.objects.all()) == []


def test_merged_rejected_and_the_case_itself_are_not_proposed(world):
    merged = _case(world)
    rejected = _case(world)
    case = _case(world, **LAMP_AGAIN)
    _set(merged, status=Status.MERGED)
    _set(rejected, status=Status.REJECTED)
    assert _found(case, WorkOrder.objects.all()) == []


def test_cases_without_coordinates_match_by_house_or_grid(world):
    first = _set(_case(world), lat=None, lng=None)
    case = _set(_case(world, **LAMP_AGAIN), lat=None, lng=None)
    assert _found(case, WorkOrder.objects.all()) == [first.pk]
    _set(first, house=world.house_in("A1-2"), grid=world.areas["A1-2"])
    assert _found(case, WorkOrder.objects.all()) == []


def test_out_of_scope_duplicates_are_never_proposed(world):
    # B1-1's building stands at the same coordinates as A1-1's in the test world
    theirs = _case(world, grid="B1-1")
    mine = _case(world, **LAMP_AGAIN)
    assert theirs.lat == mine.lat and theirs.lng == mine.lng
    assert _found(mine, WorkOrder.objects.all()) == [theirs.pk]
    assert _found(mine, WorkOrder.objects.for_user(world.users["community"], "view")) == []
    assert _found(mine, WorkOrder.objects.for_user(world.users["nobody"], "view")) == []
    assert _found(theirs, WorkOrder.objects.for_user(world.users["community_b"], "view")) == []


def test_a_page_of_cases_costs_two_queries(world, django_assert_num_queries):
    cases = [_case(world) for _ in range(4)] + [_case(world, **VENDOR)]
    base = WorkOrder.objects.for_user(world.users["street"], "view")
    base.exists()  # the user's scope is read once per request, before the page
    # the candidates' ids (one UNION ALL of index-driven SELECTs), then the candidates themselves
    with django_assert_num_queries(2):
        found = duplicates.candidates_for_many(cases, base)
    assert set(found) == {c.pk for c in cases[:4]}
    assert all(len(v) == 3 for v in found.values())


@pytest.mark.parametrize(
    ("here", "there"),
    [
        # across the edge where PostgreSQL's rounding starts a new cell (x.5 / 200 degrees)…
        ((39.00245, 117.20245), (39.00255, 117.20255)),
        # …and across the edge where SQLite's truncation does (whole multiples of 1/200 degree)
        ((39.00495, 117.20495), (39.00505, 117.20505)),
        # south-west to north-east across a box's width: the far corners of neighbouring cells
        ((39.00400, 117.20400), (39.00520, 117.20520)),
    ],
)
def test_neighbours_in_the_next_cell_are_proposed(world, here, there):
    first = _set(_case(world), lat=there[0], lng=there[1])
    second = _set(_case(world, **LAMP_AGAIN), lat=here[0], lng=here[1])
    assert duplicates.haversine_m(*here, *there) < duplicates.RADIUS_M
    assert _found(second, WorkOrder.objects.all()) == [first.pk]
    assert _found(first, WorkOrder.objects.all()) == [second.pk]


def test_cells_of_the_box_cover_a_larger_radius(world):
    first = _set(_case(world), lat=39.0100, lng=117.2000)
    second = _set(_case(world, **LAMP_AGAIN), lat=39.0100 + 900 / duplicates.M_PER_DEGREE, lng=117.2000)
    assert _found(second, WorkOrder.objects.all()) == []
    found = duplicates.candidates(second, WorkOrder.objects.all(), radius_m=1000)
    assert [c.pk for c, _ in found] == [first.pk]


def test_a_case_without_coordinates_meets_its_grid(world):
    first = _set(_case(world), lat=None, lng=None)
    second = _case(world, **LAMP_AGAIN)
    assert second.lat is not None
    assert _found(second, WorkOrder.objects.all()) == [first.pk]
    assert _found(first, WorkOrder.objects.all()) == [second.pk]
