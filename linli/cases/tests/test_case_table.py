"""The case table's storage settings on PostgreSQL (cases migrations 0012–0015)."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _pg():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's storage settings")


def test_autovacuum_comes_after_a_small_share_of_changes():
    # by default a fifth of 17 M cases would have to change first; the queue's index-only reads need it sooner
    _pg()
    with connection.cursor() as cur:
        cur.execute("SELECT reloptions FROM pg_class WHERE relname = 'cases_workorder'")
        options = dict(o.split("=") for o in cur.fetchone()[0])
    assert float(options["autovacuum_vacuum_scale_factor"]) <= 0.01
    assert float(options["autovacuum_vacuum_insert_scale_factor"]) <= 0.01


def test_each_place_and_unit_has_its_cases_by_time_and_no_index_is_twice():
    _pg()
    with connection.cursor() as cur:
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases_workorder'")
        indexes = dict(cur.fetchall())
    for name, columns in {
        "wo_street_time": "(street_id, submitted_at)",
        "wo_district_time": "(district_id, submitted_at)",
        "wo_community_time": "(community_id, submitted_at)",
        "wo_city_time": "(city_id, submitted_at)",
        "wo_unit_time": "(lead_unit_id, submitted_at)",
    }.items():
        assert indexes[name].endswith(columns), indexes.get(name)
    # no index whose columns another one begins with (the single-column twins Django would add)
    single = [d for d in indexes.values() if "(" in d and "," not in d.split("(")[-1] and "gin" not in d]
    assert not any(d.endswith(("(street_id)", "(category_id)", "(lead_unit_id)")) for d in single), single
    assert not any("varchar_pattern_ops" in d for d in indexes.values())
