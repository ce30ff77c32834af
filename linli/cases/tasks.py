"""Work-order jobs on Huey (docs/jobs.md). `manage.py run_huey` finds this module by name; the demo
process runs the same consumer in a thread.

Periodic schedules are wall-clock times in settings.TIME_ZONE (Asia/Shanghai), whatever the server's
own clock zone: Huey hands its scheduler UTC, `at_local` converts.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task
from huey.exceptions import TaskLockedException

from linli.notifications.tasks import deliver_notifications, deliver_pending

__all__ = ["deliver_notifications", "retrain_classifier", "rollup_recent", "sweep_deadlines"]

logger = logging.getLogger("linli.jobs")

# Created at import so that `run_huey --flush-locks` and the demo's consumer know them and can clear a
# lock a killed worker left behind. Huey's SQL storages do not expire locks.
SWEEP_LOCK = HUEY.lock_task("sweep-deadlines")
ROLLUP_LOCK = HUEY.lock_task("rollup-recent")
RETRAIN_LOCK = HUEY.lock_task("retrain-classifier")


class at_local:  # noqa: N801 (used like huey's crontab)
    """A Huey schedule: every day at hour:minute in settings.TIME_ZONE."""

    def __init__(self, hour: int, minute: int):
        self.hour, self.minute = hour, minute

    def __call__(self, timestamp: dt.datetime) -> bool:
        if timestamp.tzinfo is None:
            # Huey's scheduler passes naive UTC (utc=True, the default) or naive local time.
            if not HUEY.utc:
                return (timestamp.hour, timestamp.minute) == (self.hour, self.minute)
            timestamp = timestamp.replace(tzinfo=dt.UTC)
        local = timestamp.astimezone(ZoneInfo(settings.TIME_ZONE))
        return (local.hour, local.minute) == (self.hour, self.minute)

    def __repr__(self) -> str:
        return f"at_local({self.hour:02d}:{self.minute:02d} {settings.TIME_ZONE})"


def every_minutes(n: int):
    n = max(1, int(n))
    return crontab(minute=f"*/{n}") if n < 60 else crontab(minute="0", hour=f"*/{max(1, n // 60)}")


@db_periodic_task(every_minutes(settings.LINLI_SWEEP_MINUTES))
def sweep_deadlines() -> dict | None:
    """Warn, mark overdue and escalate (linli/cases/sweep.py). One sweep at a time across all workers;
    idempotent, so a sweep cut short by a crash is finished by the next one."""
    from linli.cases.sweep import sweep

    try:
        with SWEEP_LOCK:
            result = sweep()
    except TaskLockedException:
        logger.info("deadline sweep skipped: another worker is sweeping")
        return None
    logger.info(
        "deadline sweep: %s warned, %s overdue, %s escalated, %s notified in %.2f s",
        result.warned,
        result.overdue,
        result.escalated,
        result.notified,
        result.seconds,
    )
    if result.notified:
        # the sweep writes its notifications in bulk; pass the urgent ones on now, not in five minutes
        deliver_pending()
    return vars(result)


@db_periodic_task(at_local(2, 10))
def rollup_recent() -> None:
    """Nightly: rebuild the last three days of the KPI roll-ups (replaces rows, so safe to repeat)."""
    if importlib.util.find_spec("linli.cases.rollup") is None:
        logger.info("rollup_recent: linli.cases.rollup is not installed yet; nothing to do")
        return
    from linli.cases import rollup

    try:
        with ROLLUP_LOCK:
            rollup.rebuild_recent(days=3)
    except TaskLockedException:
        logger.info("rollup_recent skipped: already running")


@db_periodic_task(at_local(3, 0))
def retrain_classifier() -> None:
    """Nightly: train the category classifier on handled cases (all or nothing, see its service)."""
    from linli.cases.classifier import service

    try:
        with RETRAIN_LOCK:
            service.retrain()
    except TaskLockedException:
        logger.info("retrain_classifier skipped: already running")
