"""Every failure under /api/v1/ answers in the one JSON error format, in the request language."""

from __future__ import annotations

import pytest
from django.test import override_settings

from linli.api.tests.conftest import ApiClient, assert_error

pytestmark = pytest.mark.django_db


def test_unknown_paths_and_ids_are_json_404(world, api):
    client = api("grid")
    assert_error(client.get("/no-such-thing"), 404, "not_found")
    assert_error(client.get("/residents/abc"), 404, "not_found")
    assert_error(client.get("/residents/99999999"), 404, "not_found")
    assert_error(client.get("/api/v1/"), 404, "not_found")
    assert_error(ApiClient().get("/no-such-thing"), 404, "not_found")


def test_a_post_to_no_endpoint_is_json_404_not_a_csrf_page(world):
    # a device posting to a channel that does not exist ("event" for "events") gets the API's JSON, not
    # Django's HTML 403 of the CSRF check
    from django.test import Client

    strict = ApiClient(client=Client(enforce_csrf_checks=True))
    assert_error(strict.post("/devices/BR-1/event", {"msg_id": "1"}), 404, "not_found")
    assert_error(strict.post("/no-such-thing", {}), 404, "not_found")


def test_wrong_method_is_json_405_with_allow(world, api):
    r = api("grid").call("delete", f"/residents/{world.resident_in('A1-1').pk}")
    assert_error(r, 405, "method_not_allowed")
    assert set(r["Allow"].replace(" ", "").split(",")) == {"GET", "PATCH"}


def test_bad_query_parameters_are_422(world, api):
    client = api("grid")
    err = assert_error(client.get("/residents", limit="many"), 422, "validation_error")
    assert list(err["fields"]) == ["limit"]
    assert list(assert_error(client.get("/residents", limit=0), 422)["fields"]) == ["limit"]
    assert list(assert_error(client.get("/residents", offset=-1), 422)["fields"]) == ["offset"]
    assert list(assert_error(client.get("/areas", level="planet"), 422)["fields"]) == ["level"]
    assert list(assert_error(client.get("/residents", elderly="perhaps"), 422)["fields"]) == ["elderly"]


def test_unexpected_failure_is_json_500_without_details(world, api, monkeypatch):
    from linli.people.models import Resident

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Resident.objects.__class__, "for_user", boom)
    r = api("grid").get("/residents")
    err = assert_error(r, 500, "server_error")
    assert "secret internals" not in r.content.decode()
    assert err["message"]


def test_request_id_is_echoed(world, api):
    r = api("grid", **{"X-Request-ID": "req-abc-123"}).get("/residents/99999999")
    assert r["X-Request-ID"] == "req-abc-123"


def test_messages_follow_accept_language(world, api):
    en = assert_error(api("grid", **{"Accept-Language": "en"}).get("/residents/0"), 404)
    assert en["message"] == "Not found, or outside your area."
    r = api("grid", **{"Accept-Language": "zh-hans"}).get("/residents/0")
    assert r["Content-Language"] == "zh-hans"


def test_pagination_is_capped_and_deterministic(world, api):
    client = api("street")
    assert client.get("/residents").json()["limit"] == 50
    with override_settings(API_MAX_PAGE_SIZE=4, API_PAGE_SIZE=2):
        body = client.get("/residents", limit=1000).json()
        assert (body["count"], body["limit"], len(body["results"])) == (6, 4, 4)
        assert client.get("/residents").json()["limit"] == 2
    ids = [client.get("/residents", limit=1, offset=i).json()["results"][0]["id"] for i in range(6)]
    assert len(set(ids)) == 6
    assert ids == [row["id"] for row in client.get("/residents").json()["results"]]
    past = client.get("/residents", offset=100).json()
    assert past["count"] == 6 and past["results"] == []


def test_a_conflicting_write_is_409(world, api, monkeypatch):
    from django.db import IntegrityError

    from linli.places import services

    def clash(*args, **kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(services, "create_house", clash)
    r = api("community").post("/houses", {"building": world.buildings["A1-1"].pk, "unit_number": 1, "room": 301})
    err = assert_error(r, 409, "conflict")
    assert "duplicate key" not in err["message"]
