"""Two consumers raising the same alarm at the same moment: the one-open-alarm constraint and the savepoint
fallback turn the second insert into a repeat (PostgreSQL: real concurrent transactions)."""

from __future__ import annotations

import os
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from linli.iot import alarms
from linli.iot.models import Alarm, AlarmType

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="concurrent writers need PostgreSQL"
    ),
]


def test_concurrent_raises_make_one_alarm(iot):
    n = 6
    barrier = threading.Barrier(n)
    results, errors = [], []

    def worker():
        try:
            with transaction.atomic():
                barrier.wait(5)
                alarm, created = alarms.raise_alarm(iot.smoke, AlarmType.SMOKE, at=timezone.now(), severity="critical")
                results.append(created)
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors
    assert sorted(results) == [False] * (n - 1) + [True]
    alarm = Alarm.objects.get(device=iot.smoke, type=AlarmType.SMOKE)
    assert alarm.count == n
