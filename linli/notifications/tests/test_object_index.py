"""Notifications about one object are found through an index, not by reading the whole table: the dispatch
console looks up the escalation notifications of every escalated alarm on each load and push."""

from __future__ import annotations

import pytest
from django.db import connection

from linli.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_notifications_of_an_object_are_read_through_the_object_index(world):
    qs = Notification.objects.filter(kind="escalated", object_type="iot.alarm", object_id__in=["1", "2"]).order_by()
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL enable_seqscan = off")  # a tiny test table would be read whole otherwise
            cur.execute("EXPLAIN " + sql, params)
        else:
            cur.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(col) for row in cur.fetchall() for col in row)
    assert "notification_object" in plan, plan
