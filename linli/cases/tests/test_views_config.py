"""Work-order settings (cases.configure): every page refuses non-admins; categories, units and members,
routing rules (with the route tester), keyword rules (with the classifier box and retraining), deadline
policies, calendar changes and Open311 clients are created, edited and deleted with their bad input
refused per field, nothing half-written, and an audit record for each change."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from linli.cases import deadlines, workcal
from linli.cases.models import (
    CalendarDay,
    Category,
    ClassifierModel,
    DeadlinePolicy,
    HandlingUnit,
    KeywordRule,
    Open311Client,
    RoutingRule,
)
from linli.cases.open311 import clients
from linli.cases.tests.helpers import open_case
from linli.core.models import AuditRecord

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """CalendarDay rows are rolled back after each test; the process-wide calendar must forget them too."""
    workcal.invalidate()
    yield
    workcal.invalidate()


@pytest.fixture
def admin(world, client_for):
    """The administrator, reading English (messages are checked by their English text)."""
    type(world.users["admin"]).objects.filter(pk=world.users["admin"].pk).update(language="en")
    return client_for("admin")


def _audits(object_type: str, action: str | None = None):
    qs = AuditRecord.objects.filter(object_type=object_type)
    return qs.filter(action=action) if action else qs


def _errors(response) -> str:
    return response.content.decode()


# ---------------------------------------------------------------------------- access


def _pages(world) -> list[tuple[str, str]]:
    unit = world.units["a-urban"]
    rule = RoutingRule.objects.first()
    cat = Category.objects.get(code="0503")
    policy = DeadlinePolicy.objects.first()
    kw = KeywordRule.objects.create(keyword="摊贩", category=cat, weight=1)
    day = CalendarDay.objects.create(date=dt.date(2027, 3, 3), working=False, name="x")
    client, _key = clients.issue("app")
    return [
        ("get", reverse("cases:config")),
        ("get", reverse("cases:config-categories")),
        ("get", reverse("cases:config-category-create")),
        ("get", reverse("cases:config-category-edit", args=[cat.pk])),
        ("post", reverse("cases:config-category-delete", args=[cat.pk])),
        ("get", reverse("cases:config-units")),
        ("get", reverse("cases:config-unit-create")),
        ("get", reverse("cases:config-unit-edit", args=[unit.pk])),
        ("post", reverse("cases:config-unit-member-add", args=[unit.pk])),
        ("post", reverse("cases:config-unit-member-remove", args=[unit.pk, world.users["handler"].pk])),
        ("get", reverse("cases:config-routing")),
        ("get", reverse("cases:config-routing-create")),
        ("get", reverse("cases:config-routing-edit", args=[rule.pk])),
        ("post", reverse("cases:config-routing-delete", args=[rule.pk])),
        ("get", reverse("cases:config-keywords")),
        ("get", reverse("cases:config-keyword-create")),
        ("get", reverse("cases:config-keyword-edit", args=[kw.pk])),
        ("post", reverse("cases:config-keyword-delete", args=[kw.pk])),
        ("post", reverse("cases:config-retrain")),
        ("get", reverse("cases:config-deadlines")),
        ("get", reverse("cases:config-deadline-create")),
        ("get", reverse("cases:config-deadline-edit", args=[policy.pk])),
        ("post", reverse("cases:config-deadline-delete", args=[policy.pk])),
        ("get", reverse("cases:config-calendar")),
        ("get", reverse("cases:config-day-create")),
        ("get", reverse("cases:config-day-edit", args=[day.pk])),
        ("post", reverse("cases:config-day-delete", args=[day.pk])),
        ("get", reverse("cases:config-clients")),
        ("post", reverse("cases:config-clients")),
        ("post", reverse("cases:config-client-active", args=[client.pk])),
    ]


def test_urls_are_the_contract_names():
    assert reverse("cases:config") == "/cases/config/"


@pytest.mark.parametrize("name", ["community", "street", "nobody", "dispatcher", "secadmin", "resident"])
def test_everyone_but_the_admin_gets_403_and_nothing_changes(world, client_for, name):
    client = client_for(name)
    pages = _pages(world)
    counts = (RoutingRule.objects.count(), KeywordRule.objects.count(), CalendarDay.objects.count())
    audits = AuditRecord.objects.count()
    for method, url in pages:
        response = getattr(client, method)(url, {"name": "x", "username": "grid", "active": "0"})
        assert response.status_code == 403, (name, url)
    assert counts == (RoutingRule.objects.count(), KeywordRule.objects.count(), CalendarDay.objects.count())
    assert AuditRecord.objects.count() == audits
    assert Open311Client.objects.get().active


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("cases:config"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_admin_sees_every_page(world, admin):
    for method, url in _pages(world):
        if method == "get":
            assert admin.get(url).status_code == 200, url


def test_index_links_and_counts(world, admin):
    html = admin.get(reverse("cases:config")).content.decode()
    for name in ("categories", "units", "routing", "keywords", "deadlines", "calendar", "clients"):
        assert reverse(f"cases:config-{name}") in html
    top = Category.objects.filter(parent__isnull=True).count()
    leaf = Category.objects.filter(parent__isnull=False).count()
    assert f"{top} top-level, {leaf} second-level, 0 inactive" in html
    assert f"{HandlingUnit.objects.count()} units" in html
    assert f"{RoutingRule.objects.count()} rules" in html


def test_index_warns_of_a_year_without_holidays_until_they_are_entered(world, admin):
    from linli.cases import holidays
    from linli.cases.views.config import uncovered_years

    last = max(holidays.YEARS)
    assert uncovered_years(dt.date(last, 6, 1)) == []  # a published year, far from its end
    assert uncovered_years(dt.date(last, 11, 15)) == [last + 1]  # its last weeks: deadlines reach into the next
    assert uncovered_years(dt.date(last + 1, 3, 1)) == [last + 1]
    CalendarDay.objects.create(date=dt.date(last + 1, 1, 1), working=False, name="元旦")
    assert uncovered_years(dt.date(last, 11, 15)) == []
    CalendarDay.objects.all().delete()
    html = admin.get(reverse("cases:config")).content.decode()
    missing = uncovered_years()
    for year in missing:
        assert f"The holidays of {year} are not in Linli yet" in html
        assert f"{reverse('cases:config-calendar')}?year={year}" in html
    if not missing:
        assert "are not in Linli yet" not in html


# ---------------------------------------------------------------------------- categories


def test_category_create_edit_and_codes(world, admin):
    url = reverse("cases:config-category-create")
    ok = {"name_zh": "噪声监测", "name_en": "Noise monitoring", "default_priority": "normal", "active": "on"}
    assert admin.post(url, {**ok, "code": "10"}).status_code == 302
    top = Category.objects.get(code="10")
    assert top.parent is None and top.active
    assert admin.post(url, {**ok, "code": "1001"}).status_code == 302
    assert Category.objects.get(code="1001").parent == top
    assert _audits("cases.category", "create").count() == 2

    for bad in ("9", "091", "ab", "10011", "1201"):  # not 2/4 digits, or no top level 12
        response = admin.post(url, {**ok, "code": bad})
        assert response.status_code == 400, bad
    assert "already used" in _errors(admin.post(url, {**ok, "code": "1001"}))
    response = admin.post(url, {**ok, "code": "1002", "name_zh": ""})
    assert response.status_code == 400
    assert not Category.objects.filter(code__in=["9", "091", "1201", "1002"]).exists()

    edit = reverse("cases:config-category-edit", args=[top.pk])
    response = admin.post(edit, {**ok, "code": "77", "name_zh": "噪声", "default_priority": "high"})
    assert response.status_code == 302
    top.refresh_from_db()
    assert top.code == "10" and top.name_zh == "噪声" and top.default_priority == "high" and top.active
    rec = _audits("cases.category", "update").get(object_id=str(top.pk))
    assert rec.after == {"default_priority": "high", "name_zh": "噪声"}


def test_category_delete_only_when_unused(world, admin):
    leaf = Category.objects.get(code="0503")
    open_case(world, category="0503")
    response = admin.post(reverse("cases:config-category-delete", args=[leaf.pk]))
    assert response.status_code == 302
    assert Category.objects.filter(pk=leaf.pk).exists()
    top = Category.objects.get(code="05")  # has children
    admin.post(reverse("cases:config-category-delete", args=[top.pk]))
    assert Category.objects.filter(pk=top.pk).exists()
    # deactivating is the way
    edit = reverse("cases:config-category-edit", args=[leaf.pk])
    admin.post(edit, {"name_zh": leaf.name_zh, "name_en": leaf.name_en, "default_priority": "normal"})
    leaf.refresh_from_db()
    assert not leaf.active

    unused = Category.objects.get(code="0506")
    KeywordRule.objects.create(keyword="群租房", category=unused)
    assert admin.post(reverse("cases:config-category-delete", args=[unused.pk])).status_code == 302
    assert not Category.objects.filter(pk=unused.pk).exists()
    assert not KeywordRule.objects.filter(keyword="群租房").exists()
    assert _audits("cases.category", "delete").filter(object_id=str(unused.pk)).exists()
    assert _audits("cases.keywordrule", "delete").exists()


# ---------------------------------------------------------------------------- units and members


def test_unit_create_edit_members(world, admin):
    a = world.areas
    url = reverse("cases:config-unit-create")
    data = {"code": "a-market", "name": "劝业场市场监管所", "kind": "market", "area": a["A"].pk, "active": "on"}
    response = admin.post(url, data)
    assert response.status_code == 302
    unit = HandlingUnit.objects.get(code="a-market")
    assert unit.area == a["A"] and unit.active
    assert _audits("cases.handlingunit", "create").filter(object_id=str(unit.pk)).exists()

    assert "already used" in _errors(admin.post(url, data))
    response = admin.post(url, {**data, "code": "x-1", "kind": "market", "estates": [world.estates["E1"].pk]})
    assert response.status_code == 400 and "property company" in _errors(response)
    assert not HandlingUnit.objects.filter(code="x-1").exists()
    response = admin.post(url, {**data, "code": "bad code!"})
    assert response.status_code == 400

    edit = reverse("cases:config-unit-edit", args=[unit.pk])
    response = admin.post(edit, {**data, "name": "市场监管所", "phone": "022-1234", "active": ""})
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.name == "市场监管所" and unit.phone == "022-1234" and not unit.active

    add = reverse("cases:config-unit-member-add", args=[unit.pk])
    response = admin.post(add, {"username": "no-such-user"})
    assert response.status_code == 400 and "no-such-user" in _errors(response)
    assert admin.post(add, {"username": "street"}).status_code == 302
    assert list(unit.members.values_list("username", flat=True)) == ["street"]
    rec = _audits("cases.handlingunit", "update").filter(object_id=str(unit.pk)).order_by("-seq").first()
    assert rec.after == {"members": [world.users["street"].pk]}
    search = admin.get(edit, {"q": "handler"}).content.decode()
    assert "handler_b" in search
    remove = reverse("cases:config-unit-member-remove", args=[unit.pk, world.users["street"].pk])
    assert admin.post(remove).status_code == 302
    assert not unit.members.exists()


def test_unit_list_filters(world, admin):
    html = admin.get(reverse("cases:config-units"), {"kind": "urban"}).content.decode()
    assert "劝业场街道城管科" in html and "小白楼街道城管科" in html and "新华物业公司" not in html
    html = admin.get(reverse("cases:config-units"), {"area": world.areas["B"].pk}).content.decode()
    assert "小白楼街道城管科" in html and "开封道社区居委会" in html and "劝业场街道城管科" not in html


# ---------------------------------------------------------------------------- routing rules


def test_routing_rule_create_edit_delete(world, admin):
    a, units = world.areas, world.units
    cat = Category.objects.get(code="0504")
    url = reverse("cases:config-routing-create")
    response = admin.post(url, {"category": cat.pk, "area": a["A"].pk, "unit": units["a-urban"].pk})
    assert response.status_code == 302
    rule = RoutingRule.objects.get(category=cat, area=a["A"])
    assert rule.unit == units["a-urban"]
    assert _audits("cases.routingrule", "create").filter(object_id=str(rule.pk)).exists()

    # duplicate (category, area)
    response = admin.post(url, {"category": cat.pk, "area": a["A"].pk, "unit": units["a-police"].pk})
    assert response.status_code == 400 and "already a rule" in _errors(response)
    # unit of street B does not serve community A1
    response = admin.post(url, {"category": cat.pk, "area": a["A1"].pk, "unit": units["b-urban"].pk})
    assert response.status_code == 400 and "neither contains nor lies within" in _errors(response)
    # a street unit serves the communities inside the street; a community unit the street around it
    assert admin.post(url, {"category": cat.pk, "area": a["A1-1"].pk, "unit": units["a-urban"].pk}).status_code == 302
    response = admin.post(url, {"category": cat.pk, "area": a["B"].pk, "unit": units["b1-community"].pk})
    assert response.status_code == 302
    # anywhere needs a city-wide unit
    response = admin.post(url, {"category": cat.pk, "area": "", "unit": units["a-urban"].pk})
    assert response.status_code == 400 and "whole city" in _errors(response)
    assert RoutingRule.objects.filter(category=cat).count() == 3

    edit = reverse("cases:config-routing-edit", args=[rule.pk])
    response = admin.post(edit, {"category": cat.pk, "area": a["A"].pk, "unit": units["a-police"].pk, "note": "n"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.unit == units["a-police"] and rule.note == "n"
    assert admin.post(reverse("cases:config-routing-delete", args=[rule.pk])).status_code == 302
    assert not RoutingRule.objects.filter(pk=rule.pk).exists()
    assert _audits("cases.routingrule", "delete").filter(object_id=str(rule.pk)).exists()


def test_route_tester_names_the_winning_rule(world, admin):
    a = world.areas
    url = reverse("cases:config-routing")
    vending = Category.objects.get(code="0503")
    html = admin.get(url, {"category": vending.pk, "area": a["A1-1"].pk}).content.decode()
    assert "劝业场街道城管科" in html  # 0503 in street A beats "any category" in A1
    html = admin.get(url, {"category": Category.objects.get(code="0101").pk, "area": a["A1-1"].pk}).content.decode()
    assert 'class="result"' in html and "新华里社区居委会" in html
    html = admin.get(url, {"category": "", "area": a["B1-1"].pk}).content.decode()
    assert "开封道社区居委会" in html
    RoutingRule.objects.filter(area=a["B1"]).delete()
    html = admin.get(url, {"category": "", "area": a["B1-1"].pk}).content.decode()
    assert "result none" in html


# ---------------------------------------------------------------------------- keyword rules and classifier


def test_keyword_rule_create_edit_delete(world, admin):
    leaf = Category.objects.get(code="0503")
    url = reverse("cases:config-keyword-create")
    assert admin.post(url, {"keyword": " 摆摊 ", "category": leaf.pk, "weight": "2", "active": "on"}).status_code == 302
    rule = KeywordRule.objects.get(keyword="摆摊")
    assert rule.weight == 2.0 and rule.active
    assert _audits("cases.keywordrule", "create").filter(object_id=str(rule.pk)).exists()

    bad = [
        ({"keyword": "  ", "category": leaf.pk, "weight": "1"}, "keyword"),
        ({"keyword": "长" * 41, "category": leaf.pk, "weight": "1"}, "40"),
        ({"keyword": "x", "category": Category.objects.get(code="05").pk, "weight": "1"}, "second-level"),
        ({"keyword": "x", "category": leaf.pk, "weight": "0.05"}, "0.1"),
        ({"keyword": "x", "category": leaf.pk, "weight": "6"}, "0.1"),
        ({"keyword": "摆摊", "category": leaf.pk, "weight": "1"}, "already"),
    ]
    for data, text in bad:
        response = admin.post(url, data)
        assert response.status_code == 400 and text in _errors(response), data
    assert KeywordRule.objects.count() == 1

    edit = reverse("cases:config-keyword-edit", args=[rule.pk])
    assert admin.post(edit, {"keyword": "摆摊", "category": leaf.pk, "weight": "0.5"}).status_code == 302
    rule.refresh_from_db()
    assert rule.weight == 0.5 and not rule.active
    assert admin.post(edit, {"keyword": "摆摊", "category": leaf.pk, "weight": "9"}).status_code == 400
    rule.refresh_from_db()
    assert rule.weight == 0.5
    assert admin.post(reverse("cases:config-keyword-delete", args=[rule.pk])).status_code == 302
    assert not KeywordRule.objects.exists()
    assert _audits("cases.keywordrule").count() == 3


def test_try_the_classifier_and_retrain(world, admin):
    url = reverse("cases:config-keywords")
    html = admin.get(url, {"text": "小区门口有流动摊贩占道经营 晚上很吵"}).content.decode()
    assert 'class="result"' in html and "%" in html
    before = ClassifierModel.objects.count()
    response = admin.post(reverse("cases:config-retrain"), follow=True)
    assert response.status_code == 200
    row = ClassifierModel.objects.filter(active=True).order_by("-created_at", "-pk").first()
    assert ClassifierModel.objects.count() >= min(before + 1, 5) and row.samples > 0
    assert str(round(row.heldout_second * 100)) + "%" in response.content.decode()
    assert _audits("cases.classifiermodel", "create").filter(object_id=str(row.pk)).exists()


# ---------------------------------------------------------------------------- deadline policies


def test_deadline_policy_create_edit_delete(world, admin):
    leaf = Category.objects.get(code="0301")
    url = reverse("cases:config-deadline-create")
    data = {
        "category": leaf.pk,
        "priority": "high",
        "response_value": "2",
        "response_unit": "hours",
        "resolution_value": "1",
        "resolution_unit": "days",
        "warn_percent": "80",
    }
    assert admin.post(url, data).status_code == 302
    policy = DeadlinePolicy.objects.get(category=leaf, priority="high")
    day = workcal.calendar().day_minutes
    assert (policy.response_minutes, policy.resolution_minutes, policy.natural_time) == (120, day, False)
    assert _audits("cases.deadlinepolicy", "create").filter(object_id=str(policy.pk)).exists()
    limits = deadlines.limits_for(leaf, "high")
    assert (limits.response_minutes, limits.resolution_minutes, limits.warn_percent) == (120, day, 80)

    bad = [
        ({"response_value": "0"}, "more than zero"),
        ({"resolution_value": "-1"}, "more than zero"),
        ({"response_value": "3", "response_unit": "days"}, "cannot be shorter"),
        ({"warn_percent": "100"}, "1 to 99"),
        ({"warn_percent": "0"}, "1 to 99"),
        ({}, "already a policy"),
    ]
    for change, text in bad:
        response = admin.post(url, {**data, **change})
        assert response.status_code == 400 and text in _errors(response), change
    assert DeadlinePolicy.objects.filter(category=leaf).count() == 1

    edit = reverse("cases:config-deadline-edit", args=[policy.pk])
    page = admin.get(edit).content.decode()
    assert 'value="2"' in page and 'value="1"' in page
    natural = {**data, "natural_time": "on", "resolution_value": "2", "resolution_unit": "days"}
    assert admin.post(edit, natural).status_code == 302
    policy.refresh_from_db()
    assert policy.natural_time and policy.resolution_minutes == 2 * 1440
    assert "natural time" in admin.get(reverse("cases:config-deadlines")).content.decode()
    assert admin.post(reverse("cases:config-deadline-delete", args=[policy.pk])).status_code == 302
    assert not DeadlinePolicy.objects.filter(pk=policy.pk).exists()
    assert _audits("cases.deadlinepolicy", "delete").exists()


# ---------------------------------------------------------------------------- calendar


def test_calendar_override_shifts_a_deadline(world, admin):
    tz = timezone.get_current_timezone()
    start = dt.datetime(2027, 3, 1, 9, 0, tzinfo=tz)  # a Monday; 2027 has no built-in notice
    limits = deadlines.Limits(60, 5 * workcal.calendar().day_minutes, False)
    _r, due_before, _w = deadlines.due_dates(start, limits)
    assert due_before.date() == dt.date(2027, 3, 8)

    url = reverse("cases:config-day-create")
    response = admin.post(url, {"date": "2027-03-03", "working": "0", "name": "台风停工"})
    assert response.status_code == 302 and "year=2027" in response["Location"]
    day = CalendarDay.objects.get(date=dt.date(2027, 3, 3))
    assert not day.working and day.name == "台风停工"
    _r, due_after, _w = deadlines.due_dates(start, limits)
    assert due_after.date() == dt.date(2027, 3, 9)
    assert _audits("cases.calendarday", "create").filter(object_id=str(day.pk)).exists()

    html = admin.get(reverse("cases:config-calendar"), {"year": 2027}).content.decode()
    assert "台风停工" in html and 'title="2027-03-03 台风停工 · ' in html

    # a working Saturday brings it back
    assert admin.post(url, {"date": "2027-03-06", "working": "1"}).status_code == 302
    assert deadlines.due_dates(start, limits)[1].date() == dt.date(2027, 3, 8)

    edit = reverse("cases:config-day-edit", args=[day.pk])
    assert admin.post(edit, {"date": "2027-03-03", "working": "1", "name": ""}).status_code == 302
    day.refresh_from_db()
    assert day.working
    assert admin.post(reverse("cases:config-day-delete", args=[day.pk])).status_code == 302
    assert not CalendarDay.objects.filter(pk=day.pk).exists()
    assert _audits("cases.calendarday").count() == 4


def test_calendar_bad_input(world, admin):
    url = reverse("cases:config-day-create")
    for data in (
        {"date": "2027-02-30", "working": "0"},
        {"date": "tomorrow", "working": "0"},
        {"date": "", "working": "0"},
        {"date": "2027-03-03", "working": "maybe"},
        {"date": "2027-03-03", "working": "0", "name": "x" * 41},
    ):
        assert admin.post(url, data).status_code == 400, data
    assert admin.post(url, {"date": "2027-03-03", "working": "0"}).status_code == 302
    response = admin.post(url, {"date": "2027-03-03", "working": "1"})
    assert response.status_code == 400 and "already has an entry" in _errors(response)
    assert CalendarDay.objects.count() == 1


def test_calendar_shows_the_statutory_year(world, admin):
    html = admin.get(reverse("cases:config-calendar"), {"year": 2026}).content.decode()
    assert "国办发明电〔2025〕7号" in html
    assert html.count('class="holiday') >= 15 and 'class="adjusted' in html
    assert "国庆节" in html


# ---------------------------------------------------------------------------- Open311 clients


def test_open311_key_is_shown_once_and_stored_hashed(world, admin):
    url = reverse("cases:config-clients")
    response = admin.post(url, {"name": "城市服务App", "contact": "ops@example.org"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    key = re.search(r'<code id="new-key">([^<]+)</code>', response.content.decode()).group(1)
    client = Open311Client.objects.get(name="城市服务App")
    assert client.key_digest == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(Open311Client.objects.values().get(pk=client.pk))
    assert clients.authenticate(key) == client
    listing = admin.get(url).content.decode()
    assert key not in listing and client.key_prefix in listing
    rec = _audits("cases.open311client", "create").get(object_id=str(client.pk))
    assert key not in str(rec.after) and client.key_digest not in str(rec.after)

    response = admin.post(url, {"name": "城市服务App"})
    assert response.status_code == 400 and "already" in _errors(response)
    assert admin.post(url, {"name": "  "}).status_code == 400
    assert Open311Client.objects.count() == 1

    toggle = reverse("cases:config-client-active", args=[client.pk])
    assert admin.post(toggle, {"active": "0"}).status_code == 302
    assert clients.authenticate(key) is None
    assert admin.post(toggle, {"active": "1"}).status_code == 302
    assert clients.authenticate(key) == client
    assert _audits("cases.open311client", "update").count() == 2
