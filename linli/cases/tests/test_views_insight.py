"""The supervisor's pages: overview, KPI tables, export, analysis, hot-spot map and proactive cases —
permissions, scope, bad input and query counts."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from linli.cases import rollup
from linli.cases.models import Channel, WorkOrder
from linli.cases.tests.helpers import dispatched, open_case
from linli.core.models import AuditRecord

pytestmark = pytest.mark.django_db

PAGES = ["cases:overview", "cases:kpi", "cases:analysis", "cases:kpi-export", "cases:hotspots"]


def _some_cases(world):
    a = dispatched(world, title="A街道的井盖丢了", category="0203")
    WorkOrder.objects.filter(pk=a.pk).update(resolve_due=timezone.now() - dt.timedelta(hours=5))
    b = dispatched(
        world, grid="B1-1", unit="b1-community", dispatcher="community_b", title="B街道的路灯坏了", category="0202"
    )
    WorkOrder.objects.filter(pk=b.pk).update(resolve_due=timezone.now() - dt.timedelta(hours=5))
    return a, b


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("user", ["grid", "resident", "handler", "nobody", "admin"])
def test_without_cases_supervise_is_403(client_for, name, user):
    assert client_for(user).get(reverse(name)).status_code == 403


def test_anonymous_goes_to_login(client):
    response = client.get(reverse("cases:overview"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_overview_shows_only_the_scope(world, client_for):
    a, b = _some_cases(world)
    page = client_for("street").get(reverse("cases:overview")).content.decode()
    assert a.title in page and b.title not in page
    page_b = client_for("street_b").get(reverse("cases:overview")).content.decode()
    assert b.title in page_b and a.title not in page_b
    assert a.number not in page_b


def test_overview_query_count_does_not_grow(world, client_for, django_assert_max_num_queries):
    for _ in range(3):
        _some_cases(world)
    client = client_for("street")
    client.get(reverse("cases:overview"))
    with django_assert_max_num_queries(14):
        assert client.get(reverse("cases:overview")).status_code == 200
    for _ in range(5):
        _some_cases(world)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("cases:overview")).status_code == 200


def test_kpi_page_by_area_and_unit(world, client_for, django_assert_max_num_queries):
    _some_cases(world)
    client = client_for("street")
    with django_assert_max_num_queries(14):
        page = client.get(reverse("cases:kpi")).content.decode()
    assert world.areas["A1"].name in page and world.areas["A2"].name in page
    assert world.areas["B1"].name not in page
    with django_assert_max_num_queries(14):
        page = client.get(reverse("cases:kpi") + "?by=unit&sort=satisfaction_rate").content.decode()
    assert world.units["a1-community"].name in page and world.units["b1-community"].name not in page
    # drill into a community: its grids
    page = client.get(reverse("cases:kpi") + f"?area={world.areas['A1'].pk}").content.decode()
    assert world.areas["A1-1"].name in page


def test_kpi_area_out_of_scope_is_404(world, client_for):
    client = client_for("street_b")
    for key in ("A", "A1", "A1-1"):
        assert client.get(reverse("cases:kpi") + f"?area={world.areas[key].pk}").status_code == 404
        assert client.get(reverse("cases:hotspots") + f"?area={world.areas[key].pk}").status_code == 404
    assert client.get(reverse("cases:kpi") + "?area=nope").status_code == 404
    # community A1 may not open its street
    assert client_for("community").get(reverse("cases:kpi") + f"?area={world.areas['A'].pk}").status_code == 404


def test_kpi_bad_period_says_why(world, client_for):
    response = client_for("street").get(reverse("cases:kpi") + "?period=custom&start=2026-13-01")
    assert response.status_code == 200
    assert "YYYY-MM-DD" in response.content.decode()


@pytest.mark.parametrize("language, header", [("zh-hans", "办结率"), ("en", "Resolution rate")])
def test_export_xlsx_in_users_language_and_audited(world, client_for, language, header):
    world.users["street"].__class__.objects.filter(pk=world.users["street"].pk).update(language=language)
    _some_cases(world)
    client = client_for("street")
    client.cookies["django_language"] = language
    before = AuditRecord.objects.filter(action="export").count()
    response = client.get(reverse("cases:kpi-export") + "?period=30", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(response.content))
    assert len(wb.sheetnames) == 2
    sheet = wb.worksheets[0]
    headers = [c.value for c in sheet[2]]
    assert header in headers
    names = {r[1] for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert world.areas["A1"].name in names and world.areas["B1"].name not in names
    units = {r[1] for r in wb.worksheets[1].iter_rows(min_row=3, values_only=True)}
    assert world.units["b1-community"].name not in units
    records = AuditRecord.objects.filter(action="export").order_by("-seq")
    assert records.count() == before + 1
    assert records[0].object_type == "cases.kpi" and records[0].username == "street"


def test_analysis_page_and_map(world, client_for):
    _some_cases(world)
    client = client_for("street")
    page = client.get(reverse("cases:analysis")).content.decode()
    assert 'id="chart-data"' in page and "echarts.min.js" in page and "cdn" not in page.lower()
    data = client.get(reverse("cases:hotspots") + "?period=30").json()
    ids = {f["properties"]["id"]: f["properties"]["count"] for f in data["features"]}
    assert world.areas["B1-1"].pk not in ids
    assert ids[world.areas["A1-1"].pk] == 1
    data_b = client_for("street_b").get(reverse("cases:hotspots") + "?period=30").json()
    assert {f["properties"]["id"] for f in data_b["features"]} <= {world.areas["B1-1"].pk}


def test_proactive_creates_one_case_in_scope(world, client_for):
    client = client_for("street")
    grid = world.areas["A1-2"]
    url = reverse("cases:proactive")
    response = client.post(url, {"grid": grid.pk, "category": "02"})
    assert response.status_code == 302
    made = WorkOrder.objects.filter(channel=Channel.PROACTIVE)
    assert made.count() == 1
    case = made.get()
    assert case.grid_id == grid.pk and case.category.code.startswith("02") and case.reporter == world.users["street"]
    # a second click is refused with a message, nothing written
    response = client.post(url, {"grid": grid.pk, "category": "02", "next": reverse("cases:analysis")}, follow=True)
    assert made.count() == 1
    assert case.number in response.content.decode()


def test_proactive_out_of_scope_or_bad_input_refused(world, client_for):
    url = reverse("cases:proactive")
    client = client_for("street_b")
    assert client.post(url, {"grid": world.areas["A1-1"].pk, "category": "02"}).status_code == 404
    assert client.post(url, {"grid": "x", "category": "02"}).status_code == 404
    assert client.post(url, {"grid": world.areas["B1"].pk, "category": "02"}).status_code == 404  # not a grid
    client.post(url, {"grid": world.areas["B1-1"].pk, "category": "77"})
    assert client_for("grid").post(url, {"grid": world.areas["A1-1"].pk, "category": "02"}).status_code == 403
    assert client.get(url).status_code == 405
    assert not WorkOrder.objects.filter(channel=Channel.PROACTIVE).exists()


def test_pages_read_the_rollup_for_past_days(world, client_for):
    case = open_case(world, title="上周的垃圾没人清", category="0101")
    past = timezone.now() - dt.timedelta(days=3)
    WorkOrder.objects.filter(pk=case.pk).update(submitted_at=past)
    client = client_for("street")
    table = client.get(reverse("cases:kpi-export") + "?period=7").content
    sheet = load_workbook(io.BytesIO(table)).worksheets[0]
    total = list(sheet.iter_rows(values_only=True))[-1]
    assert total[3] == 0  # not rolled up yet
    rollup.rebuild(timezone.localdate(past))
    sheet = load_workbook(io.BytesIO(client.get(reverse("cases:kpi-export") + "?period=7").content)).worksheets[0]
    assert list(sheet.iter_rows(values_only=True))[-1][3] == 1
