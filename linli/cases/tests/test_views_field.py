"""The resident's and grid worker's phone pages: report, my reports, follow and rate."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from linli.cases import services
from linli.cases.models import CaseAttachment, Channel, Status, WorkOrder
from linli.cases.tests.helpers import dispatched, open_case, png

pytestmark = pytest.mark.django_db

REPORT = "cases:report"
INSIDE = {"lng": "117.205", "lat": "39.125"}  # inside the test world's grid square
OUTSIDE = {"lng": "116.397", "lat": "39.909"}  # Beijing: no grid of ours anywhere near


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _post(client, **data):
    return client.post(reverse(REPORT), data)


def _counts():
    return WorkOrder.objects.count(), CaseAttachment.objects.count()


def test_resident_reports_a_problem_at_home_with_a_photo(world, client_for):
    c = client_for("resident")
    page = c.get(reverse(REPORT))
    assert page.status_code == 200
    assert 'capture="environment"' in page.content.decode()
    r = _post(c, description="楼道灯坏了一个星期", where="home", photos=[png()])
    case = WorkOrder.objects.get(reporter=world.users["resident"])
    assert r.status_code == 302 and r["Location"] == reverse("cases:report-done", args=[case.pk])
    home = world.house_in("A1-1")
    assert case.channel == Channel.RESIDENT and not case.anonymous
    assert case.house_id == home.pk and case.grid_id == home.grid_id
    assert case.attachments.count() == 1
    done = c.get(r["Location"])
    assert done.status_code == 200
    assert case.number in done.content.decode()


def test_thank_you_page_says_when_staff_will_respond(world, client_for, english_users):
    c = client_for("resident")
    r = _post(c, description="路灯不亮", where="home")
    case = WorkOrder.objects.get(reporter=world.users["resident"])
    assert case.response_due is not None
    body = c.get(r["Location"]).content.decode()
    assert "Staff will look at your report by" in body
    # only the reporter sees the thank-you page
    assert client_for("community").get(r["Location"]).status_code == 404


def test_anonymous_report_still_followed_by_its_reporter(world, client_for):
    c = client_for("resident")
    _post(c, description="有人在楼道堆放杂物", where="home", anonymous="on")
    case = WorkOrder.objects.get(reporter=world.users["resident"])
    assert case.anonymous
    assert case.number in c.get(reverse("cases:my-cases")).content.decode()
    assert c.get(reverse("cases:my-case", args=[case.pk])).status_code == 200


def test_resident_pins_a_place_inside_a_grid(world, client_for):
    c = client_for("resident")
    r = _post(c, description="井盖丢了", where="map", map_address="5号楼门口", **INSIDE)
    assert r.status_code == 302
    case = WorkOrder.objects.get(reporter=world.users["resident"])
    grids = {world.areas[k].pk for k in ("A1-1", "A1-2", "A2-1", "B1-1")}
    assert case.grid_id in grids and case.house_id is None
    assert (case.lng, case.lat) == (117.205, 39.125) and case.address == "5号楼门口"


def test_pin_outside_every_grid_is_refused_with_a_message(world, client_for, english_users):
    c = client_for("resident")
    before = _counts()
    r = _post(c, description="井盖丢了", where="map", photos=[png()], **OUTSIDE)
    assert r.status_code == 400
    assert "outside the area Linli serves" in r.content.decode()
    assert _counts() == before
    where = c.get(reverse("cases:report-where"), OUTSIDE).json()
    assert "error" in where and "grid" not in where
    inside = c.get(reverse("cases:report-where"), INSIDE).json()
    assert inside["grid"]["name"] and inside["features"] and inside["inside"] is True


def test_staff_pin_lands_in_a_grid_of_their_own_scope(world, client_for):
    # every test grid has the same square: the community worker's pin can only be one of theirs
    c = client_for("community")
    r = _post(c, description="路面塌陷", where="map", **INSIDE)
    assert r.status_code == 302
    case = WorkOrder.objects.get(reporter=world.users["community"])
    assert case.channel == Channel.STAFF
    assert case.grid_id in {world.areas["A1-1"].pk, world.areas["A1-2"].pk}
    where = c.get(reverse("cases:report-where"), INSIDE).json()
    assert {f["properties"]["id"] for f in where["features"]} == {world.areas["A1-1"].pk, world.areas["A1-2"].pk}


def test_staff_cannot_pick_a_grid_outside_their_scope(world, client_for):
    c = client_for("community")
    page = c.get(reverse(REPORT)).content.decode()
    assert world.areas["A1-1"].name in page and world.areas["B1-1"].name not in page
    before = _counts()
    r = _post(c, description="路面塌陷", where="grid", grid=world.areas["B1-1"].pk, address="开封道1号")
    assert r.status_code == 400 and _counts() == before


def test_grid_worker_fixes_it_on_the_spot_with_before_and_after_photos(world, client_for):
    c = client_for("grid")
    r = _post(
        c,
        description="绿化带里有垃圾",
        where="grid",
        grid=world.areas["A1-1"].pk,
        address="1号楼东侧",
        self_handled="on",
        resolution="已清理干净",
        photos=[png("before.png")],
        after_photos=[png("after.png")],
    )
    assert r.status_code == 302
    case = WorkOrder.objects.get(reporter=world.users["grid"])
    assert case.channel == Channel.GRID and case.self_handled and case.status == Status.RESOLVED
    assert case.resolution == "已清理干净" and case.grid_id == world.areas["A1-1"].pk
    kinds = sorted(case.attachments.values_list("kind", flat=True))
    assert kinds == ["after", "before"]


def test_fixed_on_the_spot_needs_the_after_photo(world, client_for):
    c = client_for("grid")
    before = _counts()
    r = _post(
        c,
        description="绿化带里有垃圾",
        where="grid",
        grid=world.areas["A1-1"].pk,
        address="1号楼东侧",
        self_handled="on",
        resolution="已清理干净",
        photos=[png("before.png")],
    )
    assert r.status_code == 400 and _counts() == before


def test_only_grid_workers_may_fix_on_the_spot(world, client_for):
    c = client_for("resident")
    assert "self_handled" not in c.get(reverse(REPORT)).content.decode()
    _post(c, description="x 坏了", where="home", self_handled="on", resolution="修好了")
    case = WorkOrder.objects.get(reporter=world.users["resident"])
    assert not case.self_handled and case.status == Status.SUBMITTED


def test_bad_input_writes_nothing_and_names_the_file(world, client_for, english_users):
    c = client_for("resident")
    before = _counts()
    text = SimpleUploadedFile("notes.jpg", b"just some text, not a photo", content_type="image/jpeg")
    r = _post(c, description="楼道灯坏了", where="home", photos=[png(), text])
    assert r.status_code == 400
    body = r.content.decode()
    assert "notes.jpg" in body and "not a photo" in body
    assert _counts() == before

    r = _post(c, description="   ", where="home", photos=[png()])
    assert r.status_code == 400 and "Say what the problem is." in r.content.decode()
    assert _counts() == before


def test_too_large_photo_is_refused(world, client_for, settings, english_users):
    settings.LINLI_MAX_PHOTO_BYTES = 50
    c = client_for("resident")
    before = _counts()
    r = _post(c, description="楼道灯坏了", where="home", photos=[png("big.png")])
    assert r.status_code == 400 and "big.png" in r.content.decode()
    assert _counts() == before


def test_my_reports_lists_only_mine_newest_first(world, client_for):
    first = open_case(world, user="resident", title="第一件")
    second = open_case(world, user="resident", title="第二件")
    other = open_case(world, user="grid", title="别人的事", channel=Channel.GRID)
    body = client_for("resident").get(reverse("cases:my-cases")).content.decode()
    assert first.number in body and second.number in body and other.number not in body
    assert body.index(second.number) < body.index(first.number)


def test_follow_page_is_for_the_reporter_only(world, client_for):
    case = open_case(world, user="resident")
    url = reverse("cases:my-case", args=[case.pk])
    assert client_for("resident").get(url).status_code == 200
    # community staff can see the case on the case page, but this page is the reporter's
    assert WorkOrder.objects.for_user(world.users["community"]).filter(pk=case.pk).exists()
    for name in ("community", "grid", "street", "handler", "community_b"):
        assert client_for(name).get(url).status_code == 404, name
        assert client_for(name).post(url, {"rating": "satisfied"}).status_code == 404, name


def test_follow_page_hides_handlers_names(world, client_for):
    for name, shown in (("grid", "王网格员"), ("community", "李社工")):
        world.users[name].display_name = shown
        world.users[name].save(update_fields=["display_name"])
    case = dispatched(world)
    services.act(world.users["grid"], case.pk, "start")
    services.act(world.users["grid"], case.pk, "progress", note="已联系电工")
    services.act(world.users["community"], case.pk, "comment", note="内部备注：住户难沟通")
    body = client_for("resident").get(reverse("cases:my-case", args=[case.pk])).content.decode()
    assert "已联系电工" in body and world.units["a1-community"].name in body
    assert "王网格员" not in body and "李社工" not in body
    assert "内部备注" not in body  # notes between staff stay on the staff case page


def _resolved(world):
    case = dispatched(world)
    services.act(world.users["grid"], case.pk, "start")
    return services.act(world.users["grid"], case.pk, "resolve", note="已更换灯泡", photos=[png("after.png")])


def test_rating_satisfied_through_the_page(world, client_for):
    case = _resolved(world)
    c = client_for("resident")
    url = reverse("cases:my-case", args=[case.pk])
    page = c.get(url).content.decode()
    assert 'value="unsatisfied"' in page and "已更换灯泡" in page
    after = case.attachments.get(kind=CaseAttachment.Kind.AFTER)
    assert reverse("cases:photo", args=[after.pk]) in page
    assert (
        "Please rate" in c.get(reverse("cases:my-cases")).content.decode()
        or "请评价" in c.get(reverse("cases:my-cases")).content.decode()
    )
    r = c.post(url, {"rating": "satisfied", "comment": "很快", "version": case.version})
    assert r.status_code == 302 and r["Location"] == url
    case.refresh_from_db()
    assert case.status == Status.REVIEWED and case.rating == "satisfied" and case.rating_comment == "很快"


def test_rating_unsatisfied_reopens_the_case(world, client_for, english_users):
    case = _resolved(world)
    c = client_for("resident")
    url = reverse("cases:my-case", args=[case.pk])
    r = c.post(url, {"rating": "unsatisfied", "version": case.version}, follow=True)
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.reopen_count == 1
    assert "opened again" in r.content.decode()


def test_stale_rating_writes_nothing(world, client_for):
    case = _resolved(world)
    c = client_for("resident")
    url = reverse("cases:my-case", args=[case.pk])
    r = c.post(url, {"rating": "satisfied", "version": case.version - 1})
    assert r.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.RESOLVED and not case.rating
    r = c.post(url, {"rating": "wonderful", "version": case.version})
    case.refresh_from_db()
    assert case.status == Status.RESOLVED and not case.rating


def test_users_without_the_permission_are_refused(world, client_for, client):
    case = open_case(world, user="resident")
    urls = [
        reverse(REPORT),
        reverse("cases:my-cases"),
        reverse("cases:my-case", args=[case.pk]),
        reverse("cases:report-where"),
        reverse("cases:report-done", args=[case.pk]),
    ]
    nobody = client_for("nobody")
    for url in urls:
        assert nobody.get(url).status_code == 403, url
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith(reverse("login")), url
    assert nobody.post(reverse(REPORT), {"description": "x", "where": "map", **INSIDE}).status_code == 403
    assert WorkOrder.objects.filter(reporter=world.users["nobody"]).count() == 0


@pytest.mark.parametrize("name", ["report", "mine", "follow"])
def test_elder_mode_renders(world, client_for, name):
    user = world.users["resident"]
    user.elder_mode = True
    user.save(update_fields=["elder_mode"])
    case = _resolved(world)
    url = {
        "report": reverse(REPORT),
        "mine": reverse("cases:my-cases"),
        "follow": reverse("cases:my-case", args=[case.pk]),
    }[name]
    body = client_for("resident").get(url).content.decode()
    assert 'class="elder"' in body and "cases/field.css" in body


def test_every_problem_is_named_at_once(world, client_for, english_users):
    c = client_for("grid")
    before = _counts()
    r = _post(c, description="", where="grid", grid=world.areas["A1-1"].pk, address="", self_handled="on")
    body = r.content.decode()
    assert r.status_code == 400 and _counts() == before
    assert "Say what the problem is." in body and "Write the address" in body
    assert "Say what you did to fix it." in body and "photo before and a photo after" in body
