"""The shared role matrix: every scoped model through no permission / in scope / out of scope,
for its list, detail, count, export and API.

The target object always lies in grid A1-1 (community A1, street A, estate E1). For each model the
users who must see it and those who must not (their twins elsewhere, and roles without the
permission) are listed; each surface is checked for both. Adding a model means adding a Case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from linli.accounts.models import ApiToken

pytestmark = pytest.mark.django_db

IN_AREA = ["grid", "community", "street"]
OUT_AREA = ["grid_b", "community_b", "street_b", "property_b"]
NO_PEOPLE = ["nobody", "provider", "auditor", "secadmin", "admin"]
NO_PLACES = ["nobody", "provider", "auditor", "secadmin"]


@dataclass
class Case:
    name: str
    target: Any  # world -> object in A1-1
    markers: Any  # object -> strings that identify it on a page
    detail: str | None
    api_detail: str | None
    list_url: str | None = None
    api_list: str | None = None
    export: str | None = None
    sees: list[str] = field(default_factory=list)
    blind: list[str] = field(default_factory=list)


CASES = [
    Case(
        "resident",
        lambda w: w.resident_in("A1-1"),
        lambda r: [r.name],
        "people:resident-detail",
        "/api/v1/residents/{pk}",
        "people:resident-list",
        "/api/v1/residents",
        "people:io-export-residents",
        sees=IN_AREA + ["property", "dispatcher", "rescuer", "resident"],
        blind=OUT_AREA + NO_PEOPLE,
    ),
    Case(
        "house",
        lambda w: w.house_in("A1-1"),
        lambda h: [h.code, h.display_code],
        "places:house-detail",
        "/api/v1/houses/{pk}",
        "places:house-list",
        "/api/v1/houses",
        "people:io-export-houses",
        sees=IN_AREA + ["property", "admin", "resident"],
        blind=OUT_AREA + NO_PLACES,
    ),
    Case(
        "household",
        lambda w: w.resident_in("A1-1").household,
        lambda h: [h.code],
        "people:household-detail",
        "/api/v1/households/{pk}",
        sees=IN_AREA + ["property", "resident"],
        blind=OUT_AREA + NO_PEOPLE,
    ),
    Case(
        "grid",
        lambda w: w.areas["A1-1"],
        lambda a: [a.code],
        "places:area-detail",
        "/api/v1/areas/{pk}",
        "places:area-list",
        "/api/v1/areas",
        sees=IN_AREA + ["admin"],
        blind=OUT_AREA + NO_PLACES,
    ),
    Case(
        "building",
        lambda w: w.buildings["A1-1"],
        lambda b: [b.code],
        "places:building-detail",
        "/api/v1/buildings/{pk}",
        sees=IN_AREA + ["property", "admin"],
        blind=OUT_AREA + NO_PLACES,
    ),
    Case(
        "estate",
        lambda w: w.estates["E1"],
        lambda e: [e.code],
        "places:estate-detail",
        "/api/v1/estates/{pk}",
        "places:estate-list",
        "/api/v1/estates",
        sees=["grid", "community", "street", "property", "admin"],
        blind=["grid_b", "community_b", "street_b", "property_b"] + NO_PLACES,
    ),
    Case(
        "organization",
        lambda w: w.orgs["P1"],
        lambda o: [o.name],
        "people:organization-detail",
        "/api/v1/organizations/{pk}",
        "people:organization-list",
        "/api/v1/organizations",
        sees=["grid", "community", "street", "property", "admin"],
        blind=["grid_b", "community_b", "street_b", "property_b", "nobody", "provider", "auditor", "secadmin"],
    ),
]

MATRIX = [(case, user, True) for case in CASES for user in case.sees] + [
    (case, user, False) for case in CASES for user in case.blind
]


def ids(param):
    case, user, sees = param
    return f"{case.name}-{user}-{'sees' if sees else 'blind'}"


def api_client(user) -> Client:
    _, key = ApiToken.issue(user)
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def contains_any(body: str, markers: list[str]) -> bool:
    return any(m in body for m in markers)


@pytest.mark.parametrize("param", MATRIX, ids=ids)
def test_detail_page(world, client_for, param):
    case, user, sees = param
    obj = case.target(world)
    response = client_for(user).get(reverse(case.detail, args=[obj.pk]))
    if sees:
        assert response.status_code == 200
    else:
        assert response.status_code in (403, 404)
        assert not contains_any(response.content.decode(), case.markers(obj))


@pytest.mark.parametrize("param", MATRIX, ids=ids)
def test_api_detail(world, param):
    case, user, sees = param
    obj = case.target(world)
    response = api_client(world.users[user]).get(case.api_detail.format(pk=obj.pk))
    if sees:
        assert response.status_code == 200
    else:
        assert response.status_code in (403, 404)
        assert "error" in response.json()
        assert not contains_any(response.content.decode(), case.markers(obj))


LISTED = [p for p in MATRIX if p[0].list_url]


@pytest.mark.parametrize("param", LISTED, ids=ids)
def test_list_page(world, client_for, param):
    case, user, sees = param
    obj = case.target(world)
    response = client_for(user).get(reverse(case.list_url))
    body = response.content.decode()
    if sees:
        assert response.status_code == 200 and contains_any(body, case.markers(obj))
    else:
        assert response.status_code in (200, 403)
        assert not contains_any(body, case.markers(obj))


@pytest.mark.parametrize("param", [p for p in MATRIX if p[0].api_list], ids=ids)
def test_api_list_and_count(world, param):
    case, user, sees = param
    obj = case.target(world)
    u = world.users[user]
    response = api_client(u).get(case.api_list, {"limit": 500})
    if response.status_code == 403:
        assert not sees
        return
    assert response.status_code == 200
    data = response.json()
    pks = {row["id"] for row in data["results"]}
    assert (obj.pk in pks) == sees
    model = type(obj)
    assert data["count"] == model.objects.for_user(u).count()


@pytest.mark.parametrize("param", [p for p in MATRIX if p[0].export], ids=ids)
def test_export(world, client_for, param):
    import io

    import openpyxl

    case, user, sees = param
    obj = case.target(world)
    response = client_for(user).get(reverse(case.export))
    if response.status_code in (403, 404):
        assert not sees or user == "resident"
        return
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    cells = " ".join(str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for c in row)
    if not sees:
        assert not contains_any(cells, case.markers(obj))


def test_dashboard_counts_only_in_scope(world, client_for):
    from linli.people.models import Resident

    body_b = client_for("grid_b").get("/").content.decode()
    body_a = client_for("community").get("/").content.decode()
    n_a = Resident.objects.for_user(world.users["community"]).count()
    assert n_a == 4
    assert ">4<" in body_a.replace(" ", "")
    assert ">4<" not in body_b.replace(" ", "")
