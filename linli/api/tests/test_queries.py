"""Query-count guards: the number of queries of a list does not grow with its rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from linli.core.idnumber import make_id_number
from linli.people import services as people
from linli.people.models import Label
from linli.places import services as places

pytestmark = pytest.mark.django_db


def queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(path, limit=100)
    assert r.status_code == 200, r.content
    return len(ctx.captured_queries)


def add_rows(world, n: int) -> None:
    import datetime as dt

    building = world.buildings["A1-1"]
    labels = list(Label.objects.all()[:2])
    for i in range(n):
        house = places.create_house(None, building=building, unit_number=2, room=201 + i)
        r = people.save_resident(
            None,
            house=house,
            name=f"新居民{i}",
            labels=labels,
            phone=f"1370000{i:04d}",
            id_number=make_id_number("120101", dt.date(1960, 1, 1 + i), 500 + i, "M"),
        )
        people.save_emergency_contact(None, r, name="联系人", phone="13600000000")


@pytest.mark.parametrize("path", ["/residents", "/houses", "/buildings", "/organizations", "/areas", "/estates"])
@pytest.mark.parametrize("user", ["grid", "street", "resident"])
def test_list_queries_do_not_grow_with_rows(world, api, path, user):
    client = api(user)
    queries(client, path)  # warm-up: last_used_at of the fresh token
    small = queries(client, path)
    add_rows(world, 8)
    big = queries(client, path)
    assert big == small, (path, small, big)
    assert small <= 9, (path, small)


def test_rows_were_really_added(world, api):
    client = api("grid")
    before = client.get("/residents").json()["count"]
    add_rows(world, 3)
    assert client.get("/residents").json()["count"] == before + 3
    assert client.get("/houses").json()["count"] == 2 + 3
