"""The shift leads' escalation notifications follow their alarm: once someone claims it, or it is closed or
cleared, the "not taken" notification is marked read, so the lead's inbox no longer asks them to act on an alarm
that is being handled. (The reminders of an unclaimed alarm bump the same notification: linli/dispatch/services.)
"""

from __future__ import annotations

import logging

from linli.iot.models import Alarm
from linli.notifications import services as notifications
from linli.notifications.models import Notification

logger = logging.getLogger("linli.dispatch")

TAKEN = ("claimed", "closed", "cleared")


def settle(alarm_ids: list[int]) -> int:
    """Mark the unread escalation notifications of these alarms read. Returns how many."""
    return notifications.settle(Alarm, alarm_ids, (Notification.Kind.ESCALATED,))


def on_alarm_changed(sender, alarm_ids: list[int], event: str, **kwargs) -> None:
    """Receiver of linli.iot.signals.alarm_changed (after commit). Never fails the sender."""
    if event not in TAKEN:
        return
    try:
        settle(alarm_ids)
    except Exception:  # the alarm's change has committed; a stale inbox entry is not worth failing it
        logger.exception("could not settle the escalation notifications of alarms %s", alarm_ids)
