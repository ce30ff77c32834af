"""The dispatch desk: the workbench queue (scope, contents, ordering, filters, one-click dispatch, merge,
query count) and hotline intake (happy path, bad input, scope)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from linli.cases import services
from linli.cases.models import Category, Channel, Priority, Status, WorkOrder
from linli.cases.tests.helpers import dispatched, open_case, png
from linli.core import crypto

pytestmark = pytest.mark.django_db

DESK = "/cases/desk/"
INTAKE = "/cases/desk/new/"


def _set(case, **fields) -> WorkOrder:
    WorkOrder.objects.filter(pk=case.pk).update(**fields)
    return WorkOrder.objects.get(pk=case.pk)


def _numbers(html: str) -> list[str]:
    """Case numbers in queue order."""
    return re.findall(r'id="case-(\d+)"', html)


def _page(client, **params) -> str:
    response = client.get(DESK, params)
    assert response.status_code == 200
    return response.content.decode()


# ---------------------------------------------------------------------------- workbench


def test_urls_are_the_contract_names():
    assert reverse("cases:workbench") == DESK
    assert reverse("cases:intake") == INTAKE


@pytest.mark.parametrize("name", ["grid", "property", "handler", "resident", "nobody", "dispatcher"])
def test_users_without_dispatch_get_403(world, client_for, name):
    case = open_case(world)
    client = client_for(name)
    assert client.get(DESK).status_code == 403
    assert client.get(reverse("cases:desk-panel", args=[case.pk])).status_code == 403


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get(DESK)
    assert response.status_code == 302 and "login" in response["Location"]


def test_queue_is_scoped(world, client_for):
    mine = open_case(world, grid="A1-1")
    theirs = open_case(world, grid="B1-1")
    html = _page(client_for("community"))
    assert _numbers(html) == [str(mine.pk)]
    assert theirs.number not in html
    html_b = _page(client_for("community_b"))
    assert _numbers(html_b) == [str(theirs.pk)]
    assert mine.number not in html_b and mine.title not in html_b.replace(theirs.title, "")
    # the panel of a case out of scope does not exist
    assert client_for("community_b").get(reverse("cases:desk-panel", args=[mine.pk])).status_code == 404
    assert client_for("community").get(reverse("cases:desk-panel", args=[mine.pk])).status_code == 200


def test_queue_shows_what_waits_for_a_dispatcher(world, client_for):
    u = world.users
    new = open_case(world)
    accepted = services.act(u["community"], open_case(world).pk, "accept")
    gone = dispatched(world)
    returned = dispatched(world)
    services.act(u["grid"], returned.pk, "return", note="不属于社区职责，应由城管处理")
    escalated = dispatched(world)
    services.act(u["grid"], escalated.pk, "escalate", note="社区协调不了，请街道出面")
    suspend = dispatched(world)
    services.act(u["grid"], suspend.pk, "start")
    services.act(u["grid"], suspend.pk, "request_suspend", note="配件在路上")

    community = _page(client_for("community"))
    ids = set(_numbers(community))
    assert {str(new.pk), str(accepted.pk), str(returned.pk), str(suspend.pk)} <= ids
    assert str(gone.pk) not in ids
    assert "不属于社区职责，应由城管处理" in community  # the return reason
    # escalated to the community (the grid's next level) is the community's to decide
    assert str(escalated.pk) in ids
    services.act(u["community"], escalated.pk, "escalate", note="需要街道城管科")
    assert str(escalated.pk) not in _numbers(_page(client_for("community")))
    street = _page(client_for("street"))
    assert str(escalated.pk) in _numbers(street)


def test_rows_show_suggestion_proposed_unit_and_duplicates(world, client_for):
    first = open_case(world, category="0202")
    second = open_case(
        world, category="0202", title="楼道灯不亮", description="3号楼2单元的楼道灯一直不亮 晚上下楼看不见"
    )
    _set(second, proposed_unit=None)  # a row lacking a proposal gets one from the routing rules
    html = _page(client_for("community"))
    unit = world.units["a1-community"]
    assert f'name="unit" value="{unit.pk}"' in html
    assert unit.name in html
    assert 'class="tag dup"' in html
    panel = client_for("community").get(reverse("cases:desk-panel", args=[second.pk])).content.decode()
    assert f'name="into" value="{first.pk}"' in panel


def test_ordering_overdue_first_then_urgent_then_due(world, client_for):
    now = timezone.now()
    later = _set(open_case(world), resolve_due=now + dt.timedelta(days=3), priority=Priority.NORMAL)
    soon = _set(open_case(world), resolve_due=now + dt.timedelta(days=1), priority=Priority.NORMAL)
    urgent = _set(open_case(world), resolve_due=now + dt.timedelta(days=2), priority=Priority.URGENT)
    overdue = _set(open_case(world), resolve_due=now - dt.timedelta(hours=1), priority=Priority.LOW)
    overdue_more = _set(open_case(world), resolve_due=now - dt.timedelta(days=1), priority=Priority.LOW)
    order = _numbers(_page(client_for("community")))
    assert order == [str(c.pk) for c in (overdue_more, overdue, urgent, soon, later)]


def test_summary_bar_counts(world, client_for):
    now = timezone.now()
    _set(open_case(world), resolve_due=now - dt.timedelta(hours=1))
    _set(open_case(world), warn_at=now - dt.timedelta(hours=1), resolve_due=now + dt.timedelta(hours=2))
    returned = dispatched(world)
    services.act(world.users["grid"], returned.pk, "return", note="不归我们管")
    response = client_for("community").get(DESK)
    counts = response.context["counts"]
    assert (counts["new"], counts["returned"], counts["overdue"], counts["due_soon"], counts["total"]) == (
        2,
        1,
        1,
        1,
        3,
    )


def test_filters(world, client_for):
    client = client_for("street")
    lamp = open_case(world, grid="A1-1", category="0202", title="路灯坏了", description="幸福路路灯晚上不亮")
    vendor = open_case(world, grid="A2-1", category="0503", title="占道摆摊", description="南门口有人占道卖菜")
    hotline = services.create_case(
        world.users["community"],
        services.Report(
            title="噪音",
            description="楼上装修半夜噪音",
            channel=Channel.HOTLINE,
            caller_name="王先生",
            category=Category.objects.get(code="0101"),
            location=services.locate_house(world.house_in("A1-2")),
        ),
    )
    returned = dispatched(world)
    services.act(world.users["grid"], returned.pk, "return", note="不归我们管")
    _set(vendor, resolve_due=timezone.now() - dt.timedelta(hours=1))

    def ids(**params):
        return set(_numbers(_page(client, **params)))

    assert ids() == {str(c.pk) for c in (lamp, vendor, hotline, returned)}
    assert ids(status="returned") == {str(returned.pk)}
    assert ids(status="new") == {str(c.pk) for c in (lamp, vendor, hotline)}
    assert ids(category=Category.objects.get(code="05").pk) == {str(vendor.pk)}
    assert ids(area=world.areas["A2"].pk) == {str(vendor.pk)}
    assert ids(area=world.areas["A1-2"].pk) == {str(hotline.pk)}
    assert ids(overdue="on") == {str(vendor.pk)}
    _set(lamp, warn_at=timezone.now() - dt.timedelta(minutes=5), resolve_due=timezone.now() + dt.timedelta(hours=1))
    assert ids(status="due_soon") == {str(lamp.pk)}
    assert ids(channel="hotline") == {str(hotline.pk)}
    assert ids(q=lamp.number) == {str(lamp.pk)}
    assert ids(q="占道 卖菜") == {str(vendor.pk)}
    # an area out of scope is not a valid choice: the filter is ignored and says so, nothing leaks
    html = _page(client, area=world.areas["B1"].pk)
    assert 'class="error"' in html


def test_word_search_reads_title_and_description_in_any_case(world, client_for):
    # on PostgreSQL through the bigram index of open cases: the word at the very end of the text, a word
    # split between title and description, Latin letters in another case, and a one-character word
    client = client_for("street")
    leak = open_case(world, grid="A1-1", category="0202", title="Lamp", description="三楼卫生间往下漏水")
    other = open_case(world, grid="A1-1", category="0202", title="水管", description="漏了一地 水漏")

    def ids(q):
        return set(_numbers(_page(client, q=q)))

    assert ids("漏水") == {str(leak.pk)}
    assert ids("LAMP 漏水") == {str(leak.pk)}
    assert ids("lamp") == {str(leak.pk)}
    assert ids("漏") == {str(leak.pk), str(other.pk)}
    assert ids("Lamp 水管") == set()
    assert ids("水 漏了一地") == {str(other.pk)}


def test_htmx_request_gets_the_queue_fragment(world, client_for):
    case = open_case(world)
    response = client_for("community").get(DESK, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="queue"' in html and 'hx-trigger="every 60s' in html and case.number in html


def _dispatch_form(html: str, pk: int) -> dict:
    row = html[html.index(f'id="case-{pk}"') :]
    form = row[row.index(f'action="/cases/{pk}/act/dispatch/"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))


def test_one_click_dispatch_over_http(world, client_for):
    case = open_case(world)
    client = client_for("community")
    html = _page(client)
    fields = _dispatch_form(html, case.pk)
    assert fields["version"] == str(case.version)
    assert fields["unit"] == str(case.proposed_unit_id)
    assert fields["category"] == str(case.category_id)
    response = client.post(reverse("cases:case-act", args=[case.pk, "dispatch"]), fields)
    assert response.status_code == 302 and response["Location"].startswith(DESK)
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.lead_unit_id == int(fields["unit"])
    assert str(case.pk) not in _numbers(_page(client))
    # the same click again, with the old version: refused, nothing changes
    client.post(reverse("cases:case-act", args=[case.pk, "dispatch"]), fields)
    assert WorkOrder.objects.get(pk=case.pk).version == case.version


def test_merge_from_the_panel_over_http(world, client_for):
    first = open_case(world, category="0202")
    second = open_case(
        world, category="0202", title="楼道灯不亮", description="3号楼2单元的楼道灯一直不亮 晚上下楼看不见"
    )
    client = client_for("community")
    panel = client.get(reverse("cases:desk-panel", args=[second.pk]), {"next": DESK}).content.decode()
    assert f'action="/cases/{second.pk}/act/merge/"' in panel
    response = client.post(
        reverse("cases:case-act", args=[second.pk, "merge"]),
        {"version": second.version, "into": first.pk, "next": DESK},
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.status == Status.MERGED and second.merged_into_id == first.pk


def test_panel_next_must_be_local(world, client_for):
    case = open_case(world)
    panel = client_for("community").get(reverse("cases:desk-panel", args=[case.pk]), {"next": "https://evil.example/"})
    assert "evil.example" not in panel.content.decode()


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(DESK).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_the_rows(world, client_for):
    client = client_for("street")
    for grid in ("A1-1", "A2-1", "A1-2"):
        open_case(world, grid=grid)
    returned = dispatched(world)
    services.act(world.users["grid"], returned.pk, "return", note="不归我们管")
    _set(open_case(world, grid="A1-2"), proposed_unit=None)
    few = _queries(client)
    for i in range(8):
        case = open_case(world, grid=("A1-1", "A2-1")[i % 2], title=f"问题{i}", description=f"第{i}个问题 描述")
        if i % 3 == 0:
            _set(case, proposed_unit=None)
    returned = dispatched(world, grid="A2-1", dispatcher="street")
    services.act(world.users["grid"], returned.pk, "return", note="再退一次")
    many = _queries(client)
    assert many == few
    assert many <= 16


# ---------------------------------------------------------------------------- hotline intake


def _intake(world, **overrides) -> dict:
    data = {
        "caller_name": "王女士",
        "caller_phone": "13912345678",
        "call_time": "2026-05-06T09:30",
        "house": world.house_in("A1-1").pk,
        "title": "楼道灯坏了",
        "description": "3号楼2单元楼道灯坏了一个星期",
        "priority": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("name", ["grid", "handler", "resident", "nobody"])
def test_intake_needs_the_intake_permission(world, client_for, name):
    client = client_for(name)
    assert client.get(INTAKE).status_code == 403
    assert client.post(INTAKE, _intake(world)).status_code == 403
    assert not WorkOrder.objects.exists()


def test_intake_form_defaults_the_call_time_to_now(world, client_for):
    response = client_for("community").get(INTAKE)
    assert response.status_code == 200
    assert timezone.localtime().strftime("%Y-%m-%dT") in response.content.decode()


def test_intake_happy_path(world, client_for):
    client = client_for("community")
    response = client.post(INTAKE, {**_intake(world), "photos": [png()]})
    case = WorkOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:case-detail", args=[case.pk])
    assert case.channel == Channel.HOTLINE and case.status == Status.ACCEPTED
    assert case.house == world.house_in("A1-1") and case.grid == world.areas["A1-1"]
    assert case.caller_name == "王女士"
    assert case.caller_phone == "13912345678"
    assert "13912345678" not in case.caller_phone_enc
    assert case.caller_phone_hash == crypto.blind_index("13912345678")
    assert case.caller_phone_masked != "13912345678"
    assert timezone.localtime(case.call_time).strftime("%Y-%m-%d %H:%M") == "2026-05-06 09:30"
    assert case.reporter == world.users["community"]
    assert case.attachments.count() == 1
    assert list(case.events.values_list("action", flat=True)) == ["submit", "accept"]
    # the case then waits on the dispatcher's queue
    assert str(case.pk) in _numbers(_page(client))


def test_intake_on_behalf_of_a_resident_by_grid(world, client_for):
    resident = world.resident_in("A1-2")
    data = _intake(world, house=None, grid=world.areas["A1-2"].pk, resident=resident.pk, caller_name="")
    response = client_for("community").post(INTAKE, data)
    assert response.status_code == 302
    case = WorkOrder.objects.get()
    assert case.reporter_resident == resident and case.grid == world.areas["A1-2"] and case.house is None


def test_intake_by_map_pin(world, client_for):
    data = _intake(world, house=None, lat="39.125", lng="117.205", crs="wgs84", address="新华里南门外")
    response = client_for("community").post(INTAKE, data)
    assert response.status_code == 302
    case = WorkOrder.objects.get()
    assert case.lat == pytest.approx(39.125) and case.grid.community_id == world.areas["A1"].pk
    assert case.address == "新华里南门外"


def test_intake_bad_phone_is_refused_on_its_field(world, client_for):
    response = client_for("community").post(INTAKE, _intake(world, caller_phone="12345"))
    assert response.status_code == 200
    assert "caller_phone" in response.context["form"].errors
    assert not WorkOrder.objects.exists()


def test_intake_missing_place_is_refused(world, client_for):
    response = client_for("community").post(INTAKE, _intake(world, house=None))
    assert response.status_code == 200
    assert "house" in response.context["form"].errors
    assert 'id="id_house-errors"' in response.content.decode()
    assert not WorkOrder.objects.exists()


def test_intake_missing_text_and_caller_are_refused(world, client_for):
    response = client_for("community").post(INTAKE, _intake(world, description="", caller_name=""))
    assert response.status_code == 200
    assert "description" in response.context["form"].errors
    assert not WorkOrder.objects.exists()
    response = client_for("community").post(INTAKE, _intake(world, caller_name=""))
    assert "caller_name" in response.context["form"].errors
    assert not WorkOrder.objects.exists()


def test_intake_non_image_photo_is_refused_and_nothing_written(world, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("x.png", b"not an image at all", content_type="image/png")
    response = client_for("community").post(INTAKE, {**_intake(world), "photos": [bad]})
    assert response.status_code == 200
    assert "photos" in response.context["form"].errors
    assert not WorkOrder.objects.exists()


def test_intake_out_of_scope_places_and_people_are_refused(world, client_for):
    client = client_for("community")
    for data in (
        _intake(world, house=world.house_in("B1-1").pk),
        _intake(world, house=None, grid=world.areas["B1-1"].pk),
        _intake(world, resident=world.resident_in("B1-1").pk),
        _intake(world, house=None, lat="10.0", lng="10.0", crs="wgs84"),
    ):
        response = client.post(INTAKE, data)
        assert response.status_code == 200
        assert response.context["form"].errors
    assert not WorkOrder.objects.exists()


def test_intake_searches_stay_in_scope(world, client_for):
    client = client_for("community")
    mine, theirs = world.resident_in("A1-1"), world.resident_in("B1-1")
    html = client.get(reverse("cases:intake-residents"), {"resident_q": "居民"}).content.decode()
    assert mine.name in html and theirs.name not in html
    html = client.get(reverse("cases:intake-residents"), {"resident_q": "13800000001"}).content.decode()
    assert f'value="{mine.pk}"' in html
    html = client.get(reverse("cases:intake-houses"), {"house_q": "101"}).content.decode()
    assert f'value="{world.house_in("A1-1").pk}"' in html
    assert f'value="{world.house_in("B1-1").pk}"' not in html
    assert client_for("grid").get(reverse("cases:intake-houses"), {"house_q": "101"}).status_code == 403


def test_area_filter_offers_two_levels_under_the_dispatchers_widest_area(world):
    from linli.cases.views.desk import QueueFilterForm
    from linli.testing.world import make_user

    def offered(user):
        return set(QueueFilterForm(user=user).fields["area"].queryset.values_list("level", flat=True))

    district = make_user("district_staff", "street", area=world.areas["district"])
    city = make_user("city_staff", "street", area=world.areas["city"])
    assert offered(world.users["community"]) == {"community", "grid"}
    assert offered(world.users["street"]) == {"community", "grid"}
    assert offered(district) == {"street", "community"}
    assert offered(city) == {"district", "street"}
    # and never an area outside the scope
    names = set(QueueFilterForm(user=world.users["street"]).fields["area"].queryset.values_list("pk", flat=True))
    assert world.areas["B1"].pk not in names and world.areas["A1"].pk in names
