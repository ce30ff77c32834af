"""Work orders over /api/v1/cases: scope, filters, detail without unmasked data, reporting, acting, conflicts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Q
from django.utils import timezone

from linli.accounts.models import ApiToken
from linli.api.tests.conftest import ApiClient, assert_error
from linli.cases import services
from linli.cases.models import Channel, HandlingUnit, Status, WorkOrder
from linli.cases.tests.helpers import open_case
from linli.testing.world import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(world):
    """api("grid") -> a client sending a fresh bearer token of that world user; api() is anonymous."""

    def make(name: str | None = None) -> ApiClient:
        return ApiClient(ApiToken.issue(world.users[name])[1] if name else None)

    return make


@pytest.fixture
def two(world):
    """One case in community A1 (grid A1-1) and one in community B1."""
    a = open_case(world, user="community", grid="A1-1", category="0202", description="路灯不亮")
    b = open_case(world, user="community_b", grid="B1-1", category="0502", description="广场舞噪音")
    return a, b


def test_list_is_scoped_and_paged(world, api, two):
    a, b = two
    mine = api("community").get("/cases").json()
    assert mine["count"] == 1 and [r["id"] for r in mine["results"]] == [a.pk]
    assert set(mine) == {"count", "limit", "offset", "results"}
    row = mine["results"][0]
    assert row["number"] == a.number and row["status"] == "submitted" and row["category"]["code"] == "0202"
    assert row["version"] == a.version and row["due_state"] == "ok"
    assert [r["id"] for r in api("community_b").get("/cases").json()["results"]] == [b.pk]
    assert api("street").get("/cases").json()["count"] == 1
    assert api("admin").get("/cases").json()["count"] == 0  # configuring is not seeing cases
    assert api("nobody").get("/cases").json()["count"] == 0
    assert api("handler_b").get("/cases").json()["count"] == 0  # no case for its unit yet
    # the reporter sees their own case wherever it is
    own = open_case(world, user="resident", grid="B1-1", category="0103")
    assert [r["id"] for r in api("resident").get("/cases").json()["results"]] == [own.pk]


def test_out_of_scope_case_is_404(world, api, two):
    a, _b = two
    client = api("community_b")
    assert_error(client.get(f"/cases/{a.pk}"), 404, "not_found")
    r = client.post(f"/cases/{a.pk}/actions/comment", {"version": a.version, "note": "看看"})
    assert_error(r, 404, "not_found")
    assert WorkOrder.objects.get(pk=a.pk).version == a.version


def test_filters(world, api, two):
    a, _b = two
    client = api("street")
    other = open_case(world, user="community", grid="A1-2", category="0101", description="垃圾没人清运")
    services.act(world.users["community"], other.pk, "accept")
    assert [r["id"] for r in client.get("/cases", status="accepted").json()["results"]] == [other.pk]
    assert client.get("/cases", status="submitted,accepted").json()["count"] == 2
    assert_error(client.get("/cases", status="lost"), 400, "validation_error")
    assert [r["id"] for r in client.get("/cases", category="0202").json()["results"]] == [a.pk]
    assert [r["id"] for r in client.get("/cases", category="01").json()["results"]] == [other.pk]
    WorkOrder.objects.filter(pk=a.pk).update(resolve_due=timezone.now() - dt.timedelta(hours=1))
    assert [r["id"] for r in client.get("/cases", overdue="true").json()["results"]] == [a.pk]
    assert [r["id"] for r in client.get("/cases", overdue="false").json()["results"]] == [other.pk]
    assert [r["id"] for r in client.get("/cases", q=a.number).json()["results"]] == [a.pk]
    assert [r["id"] for r in client.get("/cases", q="垃圾").json()["results"]] == [other.pk]
    assert_error(client.get("/cases", overdue="maybe"), 422, "validation_error")


def test_detail_has_the_timeline_and_masks_the_caller(world, api):
    case = open_case(
        world,
        user="community",
        channel=Channel.HOTLINE,
        category="0202",
        caller_name="李四",
        caller_phone="13912345678",
    )
    r = api("community").get(f"/cases/{case.pk}")
    assert r.status_code == 200, r.content
    data = r.json()
    assert "13912345678" not in r.content.decode()
    assert data["caller_phone_masked"] == "139****5678" and data["caller_name"] == "李四"
    assert [e["action"] for e in data["timeline"]] == ["submit", "accept"]
    assert data["timeline"][0]["actor_name"] and data["timeline"][1]["to_status"] == "accepted"
    assert "dispatch" in data["actions"] and "rate" not in data["actions"]
    assert data["photos"] == 0 and data["co_handlers"] == []


def test_anonymous_reporter_is_not_named(world, api):
    case = open_case(world, user="resident", category="0103", anonymous=True)
    data = api("community").get(f"/cases/{case.pk}").json()
    assert data["anonymous"] is True and data["caller_name"] == ""
    resident = world.users["resident"]
    assert all(str(resident) not in e["actor_name"] for e in data["timeline"])


def test_report_at_a_house(world, api, django_capture_on_commit_callbacks):
    house = world.house_in("A1-1")
    body = {"description": "楼道灯坏了", "house_code": house.display_code, "category": "0303"}
    with django_capture_on_commit_callbacks(execute=True):
        r = api("grid").post("/cases", body)
    assert r.status_code == 201, r.content
    data = r.json()
    case = WorkOrder.objects.get(pk=data["id"])
    assert case.channel == Channel.API and case.house_id == house.pk and case.reporter == world.users["grid"]
    assert data["category"]["code"] == "0303" and data["timeline"][0]["action"] == "submit"
    # a house outside the reporter's area is refused
    r = api("grid").post("/cases", {**body, "house_code": world.house_in("B1-1").code})
    assert assert_error(r, 400, "validation_error")["fields"]["house_code"]


def test_report_at_a_point(world, api):
    r = api("grid").post("/cases", {"description": "井盖丢了", "lat": 39.125, "lng": 117.205})
    assert r.status_code == 201, r.content
    assert WorkOrder.objects.get(pk=r.json()["id"]).grid_id == world.areas["A1-1"].pk
    # grid_b's area is B1-1: the point falls in A1-1
    assert_error(api("grid_b").post("/cases", {"description": "井盖丢了", "lat": 39.125, "lng": 117.205}), 400)
    # residents may pin anywhere
    assert api("resident").post("/cases", {"description": "井盖丢了", "lat": 39.125, "lng": 117.205}).status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"lat": 39.125, "lng": 117.205}, 422, "description"),
        ({"description": "x", "lat": 39.125, "lng": 117.205, "colour": "red"}, 422, "colour"),
        ({"description": "x", "lat": 99, "lng": 117.205}, 422, "lat"),
        ({"description": "x"}, 400, "lat"),
        ({"description": "x", "lat": 39.125}, 400, "lng"),
        ({"description": "x", "lat": 39.125, "lng": 117.205, "category": "03"}, 400, "category"),
        ({"description": "x", "lat": 39.125, "lng": 117.205, "caller_phone": "123"}, 400, "caller_phone"),
        ({"description": "x", "lat": 10.0, "lng": 10.0}, 400, "location"),
    ],
)
def test_report_refuses_bad_bodies(world, api, body, status, field):
    before = WorkOrder.objects.count()
    err = assert_error(api("grid").post("/cases", body), status)
    assert field in err["fields"], err
    assert WorkOrder.objects.count() == before


def test_report_needs_the_permission(world, api):
    assert_error(api("nobody").post("/cases", {"description": "x", "lat": 39.125, "lng": 117.205}), 403)
    assert_error(api().post("/cases", {"description": "x", "lat": 39.125, "lng": 117.205}), 401)


def test_act_with_optimistic_locking(world, api, two):
    a, _b = two
    first, second = api("community"), api("street")
    unit = world.units["a1-community"].pk
    r = first.post(f"/cases/{a.pk}/actions/dispatch", {"version": a.version, "unit": unit, "note": "请处理"})
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["status"] == "dispatched" and data["version"] == a.version + 1
    assert data["lead_unit"]["id"] == unit and data["timeline"][-1]["action"] == "dispatch"
    # the second dispatcher still looks at the old version: told who changed it, nothing written
    r = second.post(f"/cases/{a.pk}/actions/reassign", {"version": a.version, "unit": unit, "note": "改派"})
    err = assert_error(r, 409, "conflict")
    assert "community" in err["message"] or "社区" in err["message"]
    case = WorkOrder.objects.get(pk=a.pk)
    assert case.version == a.version + 1 and case.events.count() == 2
    # a transition the state machine refuses
    err = assert_error(first.post(f"/cases/{a.pk}/actions/close", {"version": case.version}), 409, "invalid_transition")
    assert err["message"]
    # the unit's member goes on with the current version
    r = api("grid").post(f"/cases/{a.pk}/actions/start", {"version": case.version})
    assert r.status_code == 200 and r.json()["status"] == Status.IN_PROGRESS


def test_act_refuses_bad_bodies(world, api, two):
    a, _b = two
    client = api("community")
    assert_error(client.post(f"/cases/{a.pk}/actions/fly", {"version": a.version}), 422, "validation_error")
    err = assert_error(client.post(f"/cases/{a.pk}/actions/dispatch", {"unit": 1}), 422, "validation_error")
    assert "version" in err["fields"]
    err = assert_error(client.post(f"/cases/{a.pk}/actions/reject", {"version": a.version}), 400, "validation_error")
    assert "note" in err["fields"]
    err = assert_error(client.post(f"/cases/{a.pk}/actions/accept", {"version": a.version, "rating": "satisfied"}), 400)
    assert "rating" in err["fields"]
    err = assert_error(client.post(f"/cases/{a.pk}/actions/dispatch", {"version": a.version, "unit": 999999}), 400)
    assert "unit" in err["fields"]
    assert_error(client.post(f"/cases/{a.pk}/actions/comment", raw="{", body=None), 400, "malformed_request")
    assert WorkOrder.objects.get(pk=a.pk).version == a.version


def test_act_without_permission_is_403(world, api, two):
    a, _b = two
    err = assert_error(api("grid").post(f"/cases/{a.pk}/actions/dispatch", {"version": a.version, "unit": 1}), 403)
    assert err["code"] == "permission_denied"


def test_openapi_schema_lists_the_case_endpoints(world, api):
    # the schema as a whole is validated by linli/api/tests/test_schema.py (manage.py validate_openapi)
    paths = api().get("/openapi.json").json()["paths"]
    for path in ("/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/cases/{case_id}/actions/{action}"):
        assert path in paths


def test_word_search_covers_90_days_unless_asked_for_more(world, api):
    client = api("street")
    old = open_case(world, user="community", grid="A1-2", category="0101", description="楼下垃圾站满了没人清运")
    WorkOrder.objects.filter(pk=old.pk).update(submitted_at=timezone.now() - dt.timedelta(days=120))
    old.refresh_from_db()
    assert client.get("/cases", q="垃圾站").json()["count"] == 0
    since = (timezone.localdate() - dt.timedelta(days=200)).isoformat()
    assert [r["id"] for r in client.get("/cases", q="垃圾站", since=since).json()["results"]] == [old.pk]
    # a case number finds the case whenever it was reported
    assert [r["id"] for r in client.get("/cases", q=old.number).json()["results"]] == [old.pk]
    assert_error(client.get("/cases", since="yesterday"), 422, "validation_error")


def test_word_search_finds_every_word_in_any_case_closed_cases_too(world, api):
    # all the words, in the title or the description, in any case; closed cases are found as well as open ones
    client = api("street")
    leak = open_case(
        world, user="community", grid="A1-1", category="0202", title="Pipe", description="三楼卫生间往下漏水"
    )
    other = open_case(world, user="community", grid="A1-1", category="0202", title="水管", description="漏了一地 水漏")
    WorkOrder.objects.filter(pk=leak.pk).update(status=Status.CLOSED)

    def ids(q):
        return {r["id"] for r in client.get("/cases", q=q).json()["results"]}

    assert ids("漏水") == {leak.pk}
    assert ids("PIPE 漏水") == {leak.pk}
    assert ids("漏") == {leak.pk, other.pk}
    assert ids("pipe 水管") == set()
    assert ids("水 漏了一地") == {other.pk}
    # out of scope: a community user of B1 sees none of A1's cases
    assert api("community_b").get("/cases", q="漏").json()["count"] == 0


def test_word_search_reads_the_bigram_index_of_the_whole_history(world):
    # the API's word search finds its candidates in wo_words (migration 0011), not by reading every case
    from django.db import connection

    from linli.cases import words

    if connection.vendor != "postgresql":
        pytest.skip("the bigram index exists on PostgreSQL only")
    # the condition the API adds matches the index's expression (which index serves a period is the planner's
    # choice by table size: on a test table of a few rows it may as well read the date index)
    qs = WorkOrder.objects.filter(words.words_q(["漏水"])).order_by()
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")  # a tiny test table would be read whole otherwise
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert "wo_words" in plan, plan


def test_word_search_runs_with_its_own_work_mem(world, api, settings):
    # a city's word search intersects bitmaps of a million rows: with too little work_mem they turn lossy and
    # PostgreSQL re-runs the bigram function on every row (linli/cases/words.py search_limits)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "postgresql":
        pytest.skip("work_mem is PostgreSQL's")
    settings.LINLI_WORD_SEARCH_WORK_MEM = "64MB"
    case = open_case(world, user="community", grid="A1-1", category="0202", description="楼上漏水")
    client = api("street")
    with CaptureQueriesContext(connection) as ctx:
        assert [r["id"] for r in client.get("/cases", q="漏水").json()["results"]] == [case.pk]
    sql = [q["sql"] for q in ctx.captured_queries]
    first = next(i for i, s in enumerate(sql) if "set_config('work_mem'" in s)
    assert "64MB" in sql[first]
    assert any("COUNT(" in s for s in sql[first:])  # the search runs after it, in the same transaction
    with CaptureQueriesContext(connection) as ctx:
        client.get("/cases", q=case.number)  # a case number needs no such memory
    assert not any("work_mem" in q["sql"] for q in ctx.captured_queries)


def test_word_search_counts_every_match_with_the_page(world, api):
    # the count comes with the page (COUNT(*) OVER ()); a page past the end still says how many there are
    cases = [
        open_case(world, user="community", grid="A1-1", category="0202", description=f"{i}楼漏水") for i in range(3)
    ]
    client = api("street")
    first = client.get("/cases", q="漏水", limit=2).json()
    assert first["count"] == 3 and [r["id"] for r in first["results"]] == [c.pk for c in cases[::-1][:2]]
    second = client.get("/cases", q="漏水", limit=2, offset=2).json()
    assert second["count"] == 3 and [r["id"] for r in second["results"]] == [cases[0].pk]
    past = client.get("/cases", q="漏水", limit=2, offset=9).json()
    assert past["count"] == 3 and past["results"] == []
    nothing = client.get("/cases", q="漏水 没有这个词").json()
    assert nothing["count"] == 0 and nothing["results"] == []


def test_word_search_finds_what_my_unit_assists_with_in_the_period(world, api):
    # a unit member's scope includes the cases the unit assists with, listed by id for the period
    from linli.cases.models import CoHandler

    assisted = open_case(world, user="community_b", grid="B1-1", category="0202", description="楼上漏水")
    old = open_case(world, user="community_b", grid="B1-1", category="0202", description="地下室漏水")
    not_mine = open_case(world, user="community_b", grid="B1-1", category="0202", description="厨房漏水")
    for case in (assisted, old):
        CoHandler.objects.create(work_order=case, unit=world.units["a-urban"])
    WorkOrder.objects.filter(pk=old.pk).update(submitted_at=timezone.now() - dt.timedelta(days=120))
    client = api("handler")

    def ids(**params):
        return {r["id"] for r in client.get("/cases", q="漏水", **params).json()["results"]}

    assert assisted.pk in ids() and old.pk not in ids() and not_mine.pk not in ids()
    since = (timezone.localdate() - dt.timedelta(days=200)).isoformat()
    assert old.pk in ids(since=since) and not_mine.pk not in ids(since=since)


def test_word_search_reads_a_street_s_period_and_a_city_s_bigrams(world, api):
    # a street's or district's search reads its own cases of the period (wo_street_time…) and tests the words
    # on each; a city-wide search asks the bigram index first (linli/cases/words.py narrow_scope)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case = open_case(world, user="community", grid="A1-1", category="0202", description="楼上漏水")
    city_user = make_user("city-staff", "street", area=world.areas["city"])
    city = ApiClient(ApiToken.issue(city_user)[1])
    # a member of a unit serving the whole city (a city department) leads the city's cases: the bigram index too
    member = make_user("city-dept", "handler", area=world.areas["A"])
    HandlingUnit.objects.create(code="city-housing", name="市房管局", kind="housing", area=world.areas["city"])
    HandlingUnit.objects.get(code="city-housing").members.add(member)
    case.lead_unit = HandlingUnit.objects.get(code="city-housing")
    case.save(update_fields=["lead_unit"])
    dept = ApiClient(ApiToken.issue(member)[1])
    for name, client, indexed in (("street", api("street"), False), ("city", city, True), ("city unit", dept, True)):
        with CaptureQueriesContext(connection) as ctx:
            assert [r["id"] for r in client.get("/cases", q="漏水").json()["results"]] == [case.pk], name
        sql = " ".join(q["sql"] for q in ctx.captured_queries)
        assert ("linli_bigrams" in sql) is (indexed and connection.vendor == "postgresql"), name


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a",
        "楼道灯坏了",
        "三楼 漏水\t漏水",
        "Ab c\u3000d",
        "WiFi 没信号 wifi",
        "x" * 3 + "漏水" * 2,
        "　漏\n水 ",
        "é É",
    ],
)
def test_the_bigram_function_gives_each_pair_of_characters_but_spaces(db, text):
    # cases migration 0013: the set of lower-case character pairs without a space, as the indexes hold them
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("linli_bigrams is PostgreSQL's")
    with connection.cursor() as cur:
        cur.execute("SELECT linli_bigrams(%s)", [text])
        got = set(cur.fetchone()[0])
        cur.execute("SELECT lower(%s)", [text])
        low = cur.fetchone()[0]
    assert got == {low[i : i + 2] for i in range(len(low) - 1) if not any(c.isspace() for c in low[i : i + 2])}


def test_a_long_period_of_assisted_cases_is_read_by_subquery_not_listed(world, api, monkeypatch):
    # the assisted cases of a period go to PostgreSQL as a list of ids only while the list is short
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from linli.cases import models
    from linli.cases.models import CoHandler

    cases = [open_case(world, user="community_b", grid="B1-1", category="0202", description="漏水") for _ in range(3)]
    for case in cases:
        CoHandler.objects.create(work_order=case, unit=world.units["a-urban"])
    client = api("handler")
    monkeypatch.setattr(models, "LISTED_IDS_MAX", 2)
    with CaptureQueriesContext(connection) as ctx:
        found = {r["id"] for r in client.get("/cases", q="漏水").json()["results"]}
    assert found == {c.pk for c in cases}
    assert any('"cases_cohandler"' in q["sql"] and "IN (SELECT" in q["sql"].upper() for q in ctx.captured_queries)


def test_a_word_search_that_finds_nothing_reads_once(world, api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api("street")
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/cases", q="没有这个词").json()["count"] == 0
    assert not any("COUNT(*) AS" in q["sql"].upper() and "OVER" not in q["sql"].upper() for q in ctx.captured_queries)


def test_a_search_past_its_time_limit_is_cancelled_with_a_clear_message(world, api, settings, monkeypatch):
    # LINLI_WORD_SEARCH_SECONDS: PostgreSQL cancels the search (statement_timeout) and the caller is told how
    # to narrow it, in their language; the connection is usable afterwards
    from django.db import connection
    from django.db.models import BooleanField
    from django.db.models.expressions import RawSQL

    from linli.cases import words

    if connection.vendor != "postgresql":
        pytest.skip("statement_timeout is PostgreSQL's")
    open_case(world, user="community", grid="A1-1", category="0202", description="楼上漏水")
    settings.LINLI_WORD_SEARCH_SECONDS = 1
    slow = words.words_q

    def sleepy(terms, **kwargs):  # a search that takes longer than its limit
        return slow(terms, **kwargs) & Q(RawSQL("pg_sleep(1.5) IS NOT NULL", [], output_field=BooleanField()))

    monkeypatch.setattr(words, "words_q", sleepy)
    client = api("street")
    err = assert_error(client.get("/cases", q="漏水"), 422, "search_too_broad")
    assert "1 秒" in err["message"] and "q" in err["fields"]  # the site's language, zh-hans
    monkeypatch.setattr(words, "words_q", slow)
    assert client.get("/cases", q="漏水").json()["count"] == 1
