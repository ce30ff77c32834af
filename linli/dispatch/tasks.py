"""Dispatch center jobs on Huey (docs/jobs.md): escalate alarms nobody takes.

Cadence (linli.dispatch.services.escalate): an alarm untaken LINLI_ALARM_ESCALATE_SECONDS after it was raised
gives each shift lead one inbox notification; every LINLI_ALARM_REMIND_SECONDS (default 5 min) while it stays
untaken that same notification is bumped (unread again, on top, waiting time updated) and the console rings.

`escalate_alarms` runs every minute; in addition, when an alarm is raised the console's receiver schedules
`escalate_alarm_due` for the moment it becomes due (LINLI_ALARM_ESCALATE_SECONDS), so an escalation does not
wait for the next minute. Both run the same idempotent pass (linli.dispatch.services.escalate) under one
lock: a round of notifications is one conditional update of the alarm's notify_count, so two workers, a
retry or a repeated job never notify twice for the same round.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task
from huey.exceptions import TaskLockedException

logger = logging.getLogger("linli.jobs")

ESCALATE_LOCK = HUEY.lock_task("dispatch-escalate")


def run_escalation() -> int | None:
    from linli.dispatch.services import escalate

    try:
        with ESCALATE_LOCK:
            n = escalate()
    except TaskLockedException:
        logger.info("alarm escalation skipped: another worker is escalating")
        return None
    if n:
        logger.info("alarm escalation: %s alarms notified to their shift leads", n)
    return n


@db_periodic_task(crontab(minute="*"))
def escalate_alarms() -> int | None:
    """Every minute: escalate alarms still untaken to the shift leads, and remind them at each reminder round."""
    return run_escalation()


@db_task(retries=2, retry_delay=5)
def escalate_alarm_due(alarm_id: int) -> int | None:
    """Scheduled for the moment one alarm becomes due; runs the whole (cheap, idempotent) pass."""
    return run_escalation()


@db_periodic_task(crontab(hour="3", minute="20"))
def extend_rosters() -> dict[str, int]:
    """Every night: keep each dispatch center's three-shift roster filled two weeks ahead."""
    from linli.dispatch import roster

    done = roster.extend_rosters()
    if done:
        logger.info("rosters extended: %s", done)
    return done


def schedule_escalation(alarm_id: int) -> None:
    from django.conf import settings

    if HUEY.immediate:
        return  # tests and the one-process demo rely on the periodic job; immediate mode would run it now
    escalate_alarm_due.schedule(args=(alarm_id,), delay=max(1, int(settings.LINLI_ALARM_ESCALATE_SECONDS)) + 1)
