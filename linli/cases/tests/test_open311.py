"""Open311 GeoReport v2 conformance: every endpoint in JSON and XML, filters, POST, errors and privacy."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from xml.etree import ElementTree as ET

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from linli.cases import services
from linli.cases.models import CaseEvent, Category, Channel, Open311Client, Priority, Status, WorkOrder
from linli.cases.open311 import clients
from linli.cases.tests.helpers import open_case

pytestmark = pytest.mark.django_db

BASE = "/open311/v2"
FORMATS = ("json", "xml")
SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
ATTRIBUTE_FIELDS = [
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
]
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


def get(path: str, fmt: str = "json", **params):
    return Client().get(f"{BASE}/{path}.{fmt}", params)


def post(fmt: str = "json", headers: dict | None = None, **data):
    return Client(enforce_csrf_checks=True).post(f"{BASE}/requests.{fmt}", data, headers=headers or {})


def body(response, fmt: str):
    assert response["Content-Type"] == (
        "application/json; charset=utf-8" if fmt == "json" else "text/xml; charset=utf-8"
    )
    text = response.content.decode("utf-8")
    if fmt == "json":
        return json.loads(text)
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(text)


def xml_records(root: ET.Element, root_tag: str, child_tag: str) -> list[dict[str, str | None]]:
    assert root.tag == root_tag
    assert all(child.tag == child_tag for child in root)
    return [{el.tag: el.text for el in child} for child in root]


def error_of(response, status: int, fmt: str = "json") -> str:
    assert response.status_code == status, response.content
    data = body(response, fmt)
    if fmt == "json":
        assert isinstance(data, list) and data
        assert set(data[0]) == {"code", "description"}
        assert data[0]["code"] == status and data[0]["description"]
        return data[0]["description"]
    assert data.tag == "errors" and [e.tag for e in data] == ["error"] * len(data)
    assert [c.tag for c in data[0]] == ["code", "description"]
    assert data[0].find("code").text == str(status)
    return data[0].find("description").text


@pytest.fixture
def key(world) -> str:
    _client, key = clients.issue("街道随手拍", "dev@example.org")
    return key


@pytest.fixture
def cases(world):
    """An open street-light case, a resolved noise case, a neighbour dispute (never public)."""
    u = world.users
    light = open_case(world, category="0202", description="路灯不亮")
    noise = open_case(world, grid="A1-2", category="0502", description="夜里施工噪音")
    noise = services.act(u["community"], noise.pk, "dispatch", unit=world.units["a1-community"])
    noise = services.act(u["grid"], noise.pk, "start")
    noise = services.act(u["grid"], noise.pk, "resolve", note="已协调施工方停工")
    dispute = open_case(world, category="0601", description="邻居漏水不赔偿")
    return {"light": light, "noise": noise, "dispute": dispute}


# ---------------------------------------------------------------- discovery and services


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery(world, fmt):
    r = get("discovery", fmt)
    assert r.status_code == 200
    data = body(r, fmt)
    if fmt == "json":
        assert list(data) == ["changeset", "contact", "key_service", "endpoints"]
        (endpoint,) = data["endpoints"]
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert endpoint["url"].endswith("/open311/v2/")
        assert endpoint["type"] in ("production", "test")
        assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    else:
        assert data.tag == "discovery"
        assert [c.tag for c in data] == ["changeset", "contact", "key_service", "endpoints"]
        endpoints = data.find("endpoints")
        assert [e.tag for e in endpoints] == ["endpoint"]
        endpoint = endpoints[0]
        assert [c.tag for c in endpoint] == ["specification", "url", "changeset", "type", "formats"]
        assert [f.tag for f in endpoint.find("formats")] == ["format", "format"]
        assert {f.text for f in endpoint.find("formats")} == {"text/xml", "application/json"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_list_every_active_leaf_category(world, fmt):
    Category.objects.filter(code="0306").update(active=False)
    leaves = list(
        Category.objects.filter(active=True, parent__isnull=False).order_by("code").values_list("code", flat=True)
    )
    r = get("services", fmt, jurisdiction_id="linli.local")
    assert r.status_code == 200
    data = body(r, fmt)
    rows = data if fmt == "json" else xml_records(data, "services", "service")
    assert [row["service_code"] for row in rows] == leaves
    assert "0306" not in leaves and "03" not in leaves
    for row in rows:
        assert list(row) == SERVICE_FIELDS
    elevator = next(row for row in rows if row["service_code"] == "0301")
    assert elevator["service_name"] == "电梯故障" and elevator["group"] == "物业服务"
    assert elevator["type"] == "realtime"
    assert elevator["metadata"] is True if fmt == "json" else elevator["metadata"] == "true"


def test_services_speak_the_requested_language(world):
    by_param = {s["service_code"]: s for s in get("services", locale="en").json()}
    assert by_param["0301"]["service_name"] == "Elevator fault"
    assert by_param["0301"]["group"] == "Property services"
    by_header = Client().get(f"{BASE}/services.json", headers={"Accept-Language": "en-US,en;q=0.8"}).json()
    assert {s["service_code"]: s["service_name"] for s in by_header}["0202"] == "Street light out"
    assert {s["service_code"]: s["service_name"] for s in get("services").json()}["0202"] == "路灯故障"


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition(world, fmt):
    r = get("services/0301", fmt)
    assert r.status_code == 200
    data = body(r, fmt)
    if fmt == "json":
        assert data["service_code"] == "0301"
        attributes = data["attributes"]
        for a in attributes:
            assert list(a) == ATTRIBUTE_FIELDS
            assert isinstance(a["variable"], bool) and isinstance(a["required"], bool)
            assert isinstance(a["order"], int)
        by_code = {a["code"]: a for a in attributes}
        stuck = by_code["elevator_stuck_person"]
        assert stuck["datatype"] == "singlevaluelist" and stuck["required"] is True
        assert [v["key"] for v in stuck["values"]] == ["yes", "no"]
        assert by_code["house_code"]["datatype"] == "string" and by_code["house_code"]["required"] is False
        assert sorted(a["order"] for a in attributes) == [1, 2, 3]
    else:
        assert data.tag == "service_definition"
        assert [c.tag for c in data] == ["service_code", "attributes"]
        assert data.find("service_code").text == "0301"
        attributes = data.find("attributes")
        assert [a.tag for a in attributes] == ["attribute"] * 3
        for a in attributes:
            assert [c.tag for c in a] == ATTRIBUTE_FIELDS
        stuck = next(a for a in attributes if a.find("code").text == "elevator_stuck_person")
        assert stuck.find("required").text == "true"
        values = stuck.find("values")
        assert [v.tag for v in values] == ["value", "value"]
        assert [[c.tag for c in v] for v in values] == [["key", "name"], ["key", "name"]]
        assert values[0].find("name").text == "是"
    plain = get("services/0202").json()
    assert [a["code"] for a in plain["attributes"]] == ["house_code", "anonymous"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_is_404(world, fmt):
    assert "9998" in error_of(get("services/9998", fmt), 404, fmt)
    error_of(get("services/03", fmt), 404, fmt)  # a group is not a service


@pytest.mark.parametrize("fmt", FORMATS)
def test_foreign_jurisdiction_is_404_on_every_endpoint(world, fmt, cases):
    for path in ("discovery", "services", "services/0202", "requests", f"requests/{cases['light'].number}"):
        error_of(get(path, fmt, jurisdiction_id="example.org"), 404, fmt)
    assert get("services", fmt, jurisdiction_id="").status_code == 200  # empty counts as not sent


# ---------------------------------------------------------------- reading requests


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_list_fields_and_types(world, cases, fmt):
    r = get("requests", fmt)
    assert r.status_code == 200
    data = body(r, fmt)
    rows = data if fmt == "json" else xml_records(data, "service_requests", "request")
    assert [row["service_request_id"] for row in rows] == [cases["noise"].number, cases["light"].number]
    for row in rows:
        assert list(row) == REQUEST_FIELDS
    light = next(row for row in rows if row["service_request_id"] == cases["light"].number)
    noise = next(row for row in rows if row["service_request_id"] == cases["noise"].number)
    assert light["status"] == "open" and noise["status"] == "closed"
    assert noise["status_notes"] == "已协调施工方停工"
    assert noise["agency_responsible"] == "新华里社区居委会"
    assert light["service_code"] == "0202" and light["service_name"] == "路灯故障"
    assert light["description"] == "路灯不亮"
    for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
        parsed = dt.datetime.fromisoformat(light[name])
        assert parsed.utcoffset() is not None  # w3c with the time zone
    if fmt == "json":
        assert isinstance(light["lat"], float) and isinstance(light["long"], float)
        assert light["media_url"] is None and light["address_id"] is None
    else:
        assert float(light["lat"]) and light["media_url"] is None


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(row["service_request_id"] for row in response.json())


def test_requests_filters(world, cases):
    light, noise = cases["light"].number, cases["noise"].number
    assert ids(get("requests", status="open")) == [light]
    assert ids(get("requests", status="closed")) == [noise]
    assert ids(get("requests", status="open,closed")) == sorted([light, noise])
    assert ids(get("requests", service_code="0202")) == [light]
    assert ids(get("requests", service_code="0202,0502")) == sorted([light, noise])
    # service_request_id overrides every other argument
    assert ids(get("requests", service_request_id=noise, status="open")) == [noise]
    assert ids(get("requests", service_request_id=f"{light},{noise}")) == sorted([light, noise])
    # the number carries the date: the right id with another date is not that case
    assert ids(get("requests", service_request_id="19990101" + light[8:])) == []


def test_requests_date_range(world, cases):
    old = timezone.now() - dt.timedelta(days=120)
    WorkOrder.objects.filter(pk=cases["noise"].pk).update(submitted_at=old)
    noise = WorkOrder.objects.get(pk=cases["noise"].pk).number
    light = cases["light"].number
    assert ids(get("requests")) == [light]  # default: the last 90 days
    start = (old - dt.timedelta(days=1)).isoformat()
    end = (old + dt.timedelta(days=1)).isoformat()
    assert ids(get("requests", start_date=start, end_date=end)) == [noise]
    assert ids(get("requests", start_date=start)) == [noise]  # start + 90 days
    utc = (timezone.now() - dt.timedelta(days=1)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(get("requests", start_date=utc)) == [light]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "pending"},
        {"start_date": "yesterday"},
        {"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-06-01T00:00:00Z"},  # > 90 days
        {"start_date": "2025-03-01T00:00:00Z", "end_date": "2025-02-01T00:00:00Z"},
        {"service_request_id": "abc"},
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_bad_filters_are_400(world, params, fmt):
    error_of(get("requests", fmt, **params), 400, fmt)


def test_requests_unknown_service_code_is_404(world):
    error_of(get("requests", service_code="0202,7777"), 404)


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_request_is_a_one_element_list(world, cases, fmt):
    r = get(f"requests/{cases['noise'].number}", fmt)
    assert r.status_code == 200
    data = body(r, fmt)
    rows = data if fmt == "json" else xml_records(data, "service_requests", "request")
    assert len(rows) == 1 and rows[0]["service_request_id"] == cases["noise"].number
    assert list(rows[0]) == REQUEST_FIELDS
    error_of(get("requests/20250101999999", fmt), 404, fmt)
    error_of(get(f"requests/{cases['dispute'].number}", fmt), 404, fmt)  # disputes are not public


def test_rejected_and_merged_requests_explain_why(world, cases):
    u = world.users
    rejected = open_case(world, category="0103", description="小区绿化不好看")
    services.act(u["community"], rejected.pk, "reject", note="属于物业合同范围，请联系物业 022-23456789")
    twin = open_case(world, category="0202", description="路灯坏了")
    services.act(u["community"], twin.pk, "merge", into=cases["light"].pk)
    rows = {r["service_request_id"]: r for r in get("requests", status="closed").json()}
    assert rows[rejected.number]["status_notes"].startswith("属于物业合同范围")
    assert "23456789" not in rows[rejected.number]["status_notes"]  # the landline is masked
    assert cases["light"].number in rows[twin.number]["status_notes"]


# ---------------------------------------------------------------- privacy


def test_public_lists_carry_no_personal_data(world):
    house = world.house_in("A1-1")
    case = open_case(
        world,
        user="community",
        channel=Channel.HOTLINE,
        category="0202",
        caller_name="张三丰",
        caller_phone="13912345678",
        description="路灯坏了，回电13912345678，身份证120101198507090421",
    )
    assert case.caller_phone == "13912345678" and case.house_id == house.pk
    texts = []
    for fmt in FORMATS:
        texts.append(get("requests", fmt).content.decode())
        texts.append(get(f"requests/{case.number}", fmt).content.decode())
    row = get(f"requests/{case.number}").json()[0]
    assert row["lat"] == round(case.lat, 3) and row["long"] == round(case.lng, 3)
    assert "1号楼" in row["address"] and "新华里社区" in row["address"]
    for text in texts:
        assert case.number in text
        for secret in ("张三丰", "13912345678", "120101198507090421", house.code, house.display_code, "1-101"):
            assert secret not in text, secret


# ---------------------------------------------------------------- creating requests


def test_post_with_lat_long_creates_the_case(world, key, django_capture_on_commit_callbacks):
    before = WorkOrder.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        r = post(
            api_key=key,
            jurisdiction_id="linli.local",
            service_code="0202",
            lat="39.125",
            long="117.205",
            address_string="新华里3号楼东侧",
            description="路灯一直不亮",
            first_name="三",
            last_name="张",
            phone="13912345678",
            email="zhang@example.org",
            device_id="abc-123",
            account_id="u-42",
            media_url="https://img.example.org/p/1.jpg",
            **{"attribute[anonymous]": "no"},
        )
    assert r.status_code == 201, r.content
    (row,) = r.json()
    assert list(row) == ["service_request_id", "service_notice", "account_id"]
    assert row["account_id"] == "u-42" and row["service_notice"]
    assert WorkOrder.objects.count() == before + 1
    case = WorkOrder.objects.latest("pk")
    assert row["service_request_id"] == case.number
    assert case.channel == Channel.OPEN311 and case.open311_client.name == "街道随手拍"
    assert case.category.code == "0202" and case.grid_id == world.areas["A1-1"].pk
    assert (case.lat, case.lng, case.address) == (39.125, 117.205, "新华里3号楼东侧")
    assert case.caller_name == "张三" and case.caller_phone == "13912345678"
    assert "zhang@example.org" not in json.dumps(list(CaseEvent.objects.filter(work_order=case).values("note", "data")))
    media = CaseEvent.objects.get(work_order=case, action="comment")
    assert "https://img.example.org/p/1.jpg" in media.note
    token = r["X-Open311-Token"]
    for fmt in FORMATS:
        t = get(f"tokens/{token}", fmt)
        assert t.status_code == 200
        data = body(t, fmt)
        rows = data if fmt == "json" else xml_records(data, "service_requests", "request")
        assert rows == [{"service_request_id": case.number, "token": token}]
        error_of(get("tokens/nope", fmt), 404, fmt)


@pytest.mark.parametrize("how", ["address_id", "attribute"])
def test_post_at_a_house_in_xml(world, key, how):
    house = world.house_in("B1-1")
    location = {"address_id": house.display_code} if how == "address_id" else {"attribute[house_code]": house.code}
    r = post("xml", api_key=key, service_code="0302", description="楼上漏水", **location)
    assert r.status_code == 201, r.content
    rows = xml_records(body(r, "xml"), "service_requests", "request")
    assert list(rows[0]) == ["service_request_id", "service_notice", "account_id"]
    case = WorkOrder.objects.latest("pk")
    assert rows[0]["service_request_id"] == case.number
    assert case.house_id == house.pk and case.grid_id == world.areas["B1-1"].pk


def test_trapped_person_makes_the_elevator_case_urgent(world, key):
    house = world.house_in("A1-1")
    r = post(api_key=key, service_code="0301", address_id=house.code, **{"attribute[elevator_stuck_person]": "yes"})
    assert r.status_code == 201, r.content
    case = WorkOrder.objects.latest("pk")
    assert case.priority == Priority.URGENT and case.description == "电梯故障"
    r = post(api_key=key, service_code="0301", address_id=house.code, **{"attribute[elevator_stuck_person]": "no"})
    assert WorkOrder.objects.latest("pk").priority == Priority.HIGH


def test_anonymous_post_keeps_no_name_or_phone(world, key):
    r = post(
        api_key=key,
        service_code="0202",
        lat="39.125",
        long="117.205",
        first_name="三",
        last_name="张",
        phone="13912345678",
        **{"attribute[anonymous]": "yes"},
    )
    assert r.status_code == 201, r.content
    case = WorkOrder.objects.latest("pk")
    assert case.anonymous and case.caller_name == "" and case.caller_phone == ""


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_or_missing_key_is_403(world, key, fmt):
    before = WorkOrder.objects.count()
    base = {"service_code": "0202", "lat": "39.125", "long": "117.205"}
    error_of(post(fmt, api_key="o311_wrong", **base), 403, fmt)
    error_of(post(fmt, **base), 403, fmt)
    client = Open311Client.objects.get()
    clients.set_active(client, False)
    error_of(post(fmt, api_key=key, **base), 403, fmt)
    assert WorkOrder.objects.count() == before


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        ({"service_code": "7777", "lat": "39.125", "long": "117.205"}, 404, "7777"),
        ({"lat": "39.125", "long": "117.205"}, 400, "service_code"),
        ({"service_code": "0202"}, 400, "lat"),
        ({"service_code": "0202", "lat": "39.125"}, 400, "long"),
        ({"service_code": "0202", "lat": "139", "long": "117.2"}, 400, "lat"),
        ({"service_code": "0202", "lat": "north", "long": "117.2"}, 400, "lat"),
        ({"service_code": "0202", "lat": "10", "long": "10"}, 400, ""),  # outside the area served
        ({"service_code": "0202", "address_string": "火星路1号"}, 400, "address_string"),
        ({"service_code": "0202", "address_id": "120101001001001"}, 400, "24"),
        ({"service_code": "0202", "address_id": "1" * 24}, 400, "1" * 24),
        ({"service_code": "0301", "address_id": "X"}, 400, "elevator_stuck_person"),  # required attribute
        ({"service_code": "0202", "lat": "39.125", "long": "117.205", "attribute[floor]": "3"}, 400, "floor"),
        (
            {"service_code": "0202", "lat": "39.125", "long": "117.205", "attribute[anonymous]": "maybe"},
            400,
            "maybe",
        ),
        ({"service_code": "0202", "lat": "39.125", "long": "117.205", "phone": "12345"}, 400, ""),
        ({"service_code": "0202", "lat": "39.125", "long": "117.205", "email": "not-an-email"}, 400, ""),
        ({"service_code": "0202", "lat": "39.125", "long": "117.205", "media_url": "file:///etc/passwd"}, 400, ""),
        ({"service_code": "0202", "lat": "39.125", "long": "117.205", "description": "长" * 2001}, 400, "2,000"),
        ({"service_code": "0202", "lat": "39.125", "long": "117.205", "jurisdiction_id": "x.org"}, 404, "x.org"),
    ],
)
def test_post_refuses_bad_input_and_writes_nothing(world, key, data, status, words):
    before = (WorkOrder.objects.count(), CaseEvent.objects.count())
    message = error_of(post(api_key=key, locale="en", **data), status)
    assert words in message
    assert (WorkOrder.objects.count(), CaseEvent.objects.count()) == before


def test_wrong_methods_and_paths(world):
    r = Client().put(f"{BASE}/requests.json")
    error_of(r, 405)
    assert "POST" in r["Allow"]
    error_of(Client().post(f"{BASE}/services.xml"), 405, "xml")
    error_of(Client().get(f"{BASE}/requests.csv"), 404)
    error_of(Client().get(f"{BASE}/nothing.xml"), 404, "xml")


# ---------------------------------------------------------------- keys


def test_client_command_creates_lists_and_disables(world):
    out = StringIO()
    call_command("open311_client", "create", "--name", "网格通", "--contact", "ops@example.org", stdout=out)
    key = next(line.split(": ", 1)[1] for line in out.getvalue().splitlines() if line.startswith("api_key: "))
    client = Open311Client.objects.get(name="网格通")
    assert client.key_digest == clients.digest_of(key) and key not in client.key_digest
    listing = StringIO()
    call_command("open311_client", "list", stdout=listing)
    assert client.key_prefix in listing.getvalue() and key not in listing.getvalue()
    data = {"service_code": "0202", "lat": "39.125", "long": "117.205"}
    assert post(api_key=key, **data).status_code == 201
    call_command("open311_client", "disable", str(client.pk), stdout=StringIO())
    error_of(post(api_key=key, **data), 403)
    assert WorkOrder.objects.filter(open311_client=client, status=Status.SUBMITTED).count() == 1


def test_request_list_queries_do_not_grow_with_the_rows(world, django_assert_max_num_queries):
    for grid in ("A1-1", "A1-2"):
        open_case(world, grid=grid, category="0202")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert len(get("requests").json()) == 2
    for grid in ("A1-1", "A1-2", "A2-1", "B1-1"):
        case = open_case(world, grid=grid, category="0103")
        services.act(world.users["street" if grid != "B1-1" else "street_b"], case.pk, "reject", note="不属实")
    with django_assert_max_num_queries(len(few) + 1):  # + the reasons of the rejected cases, in one query
        assert len(get("requests").json()) == 6
