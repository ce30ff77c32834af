"""Domain events of devices and alarms, sent after the transaction that caused them commits.

`alarm_changed(alarm_ids: list[int], event: str)`: one or more alarms were raised, repeated, claimed,
acknowledged, cleared, closed or escalated. The dispatch console listens (linli/dispatch/apps.py) and pushes the
alarms to the call-takers' screens.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

alarm_changed = Signal()

EVENTS = ("raised", "repeated", "claimed", "acknowledged", "cleared", "closed", "escalated")


def alarms_changed(alarm_ids: list[int], event: str) -> None:
    """Send alarm_changed once the current transaction commits (at once outside a transaction)."""
    if event not in EVENTS:
        raise ValueError(f"unknown alarm event {event!r}")
    ids = list(alarm_ids)
    if ids:
        transaction.on_commit(lambda: alarm_changed.send(sender=None, alarm_ids=ids, event=event))
