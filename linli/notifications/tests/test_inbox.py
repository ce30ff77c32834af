"""The inbox: only one's own notifications, newest first, mark read, the unread badge."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from linli.notifications.context import inbox as inbox_context
from linli.notifications.models import Notification

pytestmark = pytest.mark.django_db

INBOX = "/inbox/"


def note(user, title="新工单", kind="assigned", url="/cases/1/", **kw) -> Notification:
    return Notification.objects.create(user=user, kind=kind, title=title, url=url, **kw)


def test_urls():
    assert reverse("notifications:inbox") == INBOX
    assert reverse("notifications:count") == "/inbox/count/"


def test_inbox_lists_my_notifications_newest_first(world, client_for):
    grid = world.users["grid"]
    older = note(grid, title="较早的通知", kind="rate")
    Notification.objects.filter(pk=older.pk).update(created_at=older.created_at - dt.timedelta(hours=1))
    note(grid, title="最新的通知", kind="overdue")
    note(world.users["grid_b"], title="别人的通知")

    page = client_for("grid").get(INBOX).content.decode()
    assert page.index("最新的通知") < page.index("较早的通知")
    assert "别人的通知" not in page
    assert 'class="unread"' in page  # unread rows are marked (and styled bold)
    assert str(Notification.Kind.OVERDUE.label) in page or "超期" in page  # the kind's label


def test_inbox_is_paginated_and_filters_unread(world, client_for):
    grid = world.users["grid"]
    Notification.objects.bulk_create([Notification(user=grid, kind="progress", title=f"进展 {i}") for i in range(35)])
    read = note(grid, title="已读的通知")
    Notification.objects.filter(pk=read.pk).update(read_at=read.created_at)
    c = client_for("grid")
    first, second = c.get(INBOX), c.get(INBOX, {"page": 2})
    assert len(first.context["page"].object_list) == 30
    assert len(second.context["page"].object_list) == 6
    unread = c.get(INBOX, {"show": "unread"})
    assert unread.context["page"].paginator.count == 35
    assert "已读的通知" not in unread.content.decode()


def test_sign_in_required():
    assert Client().get(INBOX).status_code == 302


def test_mark_one_read(world, client_for):
    n = note(world.users["grid"])
    c = client_for("grid")
    assert c.get(f"/inbox/{n.pk}/read/").status_code == 405  # a change is a POST
    response = c.post(f"/inbox/{n.pk}/read/", {"show": "unread", "page": "1"})
    assert response.status_code == 302 and response["Location"] == "/inbox/?show=unread&page=1"
    n.refresh_from_db()
    assert n.read_at is not None


def test_another_users_notification_is_404(world, client_for):
    theirs = note(world.users["grid_b"])
    c = client_for("grid")
    assert c.post(f"/inbox/{theirs.pk}/read/").status_code == 404
    assert c.get(f"/inbox/{theirs.pk}/go/").status_code == 404
    assert c.post("/inbox/999999/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_touches_only_mine(world, client_for):
    mine = [note(world.users["grid"]) for _ in range(3)]
    theirs = note(world.users["grid_b"])
    assert client_for("grid").post("/inbox/read/").status_code == 302
    assert Notification.objects.filter(pk__in=[n.pk for n in mine], read_at__isnull=True).count() == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_opening_a_notification_marks_it_read_and_follows_its_link(world, client_for):
    n = note(world.users["grid"], url="/cases/42/")
    response = client_for("grid").get(f"/inbox/{n.pk}/go/")
    assert response.status_code == 302 and response["Location"] == "/cases/42/"
    n.refresh_from_db()
    assert n.read_at is not None


def test_only_local_links_are_followed(world, client_for):
    n = note(world.users["grid"], title="外链", url="https://evil.example/")
    c = client_for("grid")
    assert c.get(f"/inbox/{n.pk}/go/").status_code == 404
    assert f"/inbox/{n.pk}/go/" not in c.get(INBOX).content.decode()


def test_count_badge(world, client_for):
    grid = world.users["grid"]
    c = client_for("grid")
    empty = c.get("/inbox/count/")
    assert empty.status_code == 200 and b" hidden>" in empty.content and b'hx-trigger="every 60s"' in empty.content
    for _ in range(3):
        note(grid)
    note(world.users["grid_b"])
    three = c.get("/inbox/count/").content.decode()
    assert ">3<" in three and " hidden>" not in three
    Notification.objects.bulk_create([Notification(user=grid, kind="progress", title="x") for _ in range(120)])
    assert "99+" in c.get("/inbox/count/").content.decode()


def test_count_badge_signed_out_swaps_nothing():
    assert Client().get("/inbox/count/").status_code == 204


def test_context_processor_counts_lazily(world, django_assert_num_queries):
    grid = world.users["grid"]
    note(grid)
    note(grid)
    request = RequestFactory().get("/")
    request.user = grid
    with django_assert_num_queries(0):
        context = inbox_context(request)
    with django_assert_num_queries(1):
        assert int(str(context["inbox_unread"])) == 2
        assert context["inbox_unread"]
    request.user = type("Anon", (), {"is_authenticated": False})()
    assert inbox_context(request) == {"inbox_unread": 0}


def test_inbox_queries_do_not_grow_with_the_page(world, client_for, django_assert_max_num_queries):
    grid = world.users["grid"]
    c = client_for("grid")
    Notification.objects.bulk_create([Notification(user=grid, kind="overdue", title="超期", url="/cases/1/")])
    with django_assert_max_num_queries(12) as few:
        c.get(INBOX)
    Notification.objects.bulk_create(
        [Notification(user=grid, kind="overdue", title=f"超期 {i}", url=f"/cases/{i}/") for i in range(40)]
    )
    with django_assert_max_num_queries(len(few.captured_queries)):
        c.get(INBOX)
