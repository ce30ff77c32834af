"""Telemetry history on PostgreSQL is partitioned by month of the receive time; partitions are made ahead."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.utils import timezone

from linli.iot.ingest import ensure_partitions, ingest
from linli.iot.tests.conftest import ms, msg


def test_partitions(iot):
    if connection.vendor != "postgresql":
        assert ensure_partitions() == []
        pytest.skip("partitioning is PostgreSQL's")
    with connection.cursor() as cur:
        cur.execute("SELECT relkind FROM pg_class WHERE relname = 'iot_telemetry'")
        assert cur.fetchone()[0] == "p"
    created = ensure_partitions(months_ahead=14, today=timezone.now().date())
    assert ensure_partitions(months_ahead=14) == []  # idempotent
    assert len(created) >= 1
    now = timezone.now()
    ingest([msg("telemetry", "BR-1", {"msg_id": "p1", "ts": ms(now), "values": {"heart_rate": 70}}, now)])
    later = now + dt.timedelta(days=200)
    ingest([msg("telemetry", "BR-1", {"msg_id": "p2", "ts": ms(later), "values": {"heart_rate": 70}}, later)])
    with connection.cursor() as cur:
        cur.execute("SELECT tableoid::regclass::text, msg_id FROM iot_telemetry ORDER BY msg_id")
        rows = cur.fetchall()
    assert rows[0][0] == f"iot_telemetry_y{now.year}m{now.month:02d}"
    assert rows[1][0] == f"iot_telemetry_y{later.year}m{later.month:02d}"


def test_the_application_role_adds_partitions_without_owning_the_table(iot):
    # docs/deployment.md: the web processes and jobs connect as a role that owns no table; the partitions
    # are still made, through the owner's linli_telemetry_partition (iot migration 0006)
    if connection.vendor != "postgresql":
        pytest.skip("partitioning is PostgreSQL's")
    month = (timezone.now() + dt.timedelta(days=600)).date()
    name = f"iot_telemetry_y{month.year}m{month.month:02d}"
    with connection.cursor() as cur:
        cur.execute("CREATE ROLE linli_test_app NOLOGIN")
        cur.execute("GRANT USAGE ON SCHEMA public TO linli_test_app")
        cur.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        cur.execute("SET ROLE linli_test_app")
        try:
            with pytest.raises(Exception, match="permission denied"), transaction.atomic():
                cur.execute(
                    f"CREATE TABLE {name} PARTITION OF iot_telemetry FOR VALUES FROM ('{month}') TO ('{month}')"
                )
            created = ensure_partitions(months_ahead=0, today=month)
            assert ensure_partitions(months_ahead=0, today=month) == []
        finally:
            cur.execute("RESET ROLE")
        cur.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = %s", [name])
        owner = cur.fetchone()
    assert created == [name]
    assert owner is not None and owner[0] != "linli_test_app"
