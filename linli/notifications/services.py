"""notify(): put a message in people's inboxes, then pass it to the configured outside channels after
the transaction commits (never inside it, and never twice for one notification)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from linli.notifications.channels import OUTSIDE_KINDS
from linli.notifications.models import Notification

logger = logging.getLogger("linli.notify")


def notify(users: Iterable, kind: str, title: str, body: str = "", url: str = "", obj=None) -> list[Notification]:
    seen: set[int] = set()
    rows = []
    for user in users:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        rows.append(
            Notification(
                user=user,
                kind=kind,
                title=str(title)[:200],
                body=str(body)[:1000],
                url=url[:300],
                object_type=obj._meta.label_lower if obj is not None else "",
                object_id=str(obj.pk) if obj is not None else "",
            )
        )
    if not rows:
        return []
    created = Notification.objects.bulk_create(rows)
    ids = [n.pk for n in created if n.pk and n.kind in OUTSIDE_KINDS]
    if ids:
        transaction.on_commit(lambda: _deliver(ids))
    return created


def _deliver(ids: list[int]) -> None:
    """Hand the ids to the job queue. Runs after commit: a failure here must not turn a saved change
    into an error page, and the periodic catch-up job (deliver_pending) delivers them later anyway."""
    from linli.notifications.tasks import deliver_notifications

    try:
        deliver_notifications(ids)
    except Exception:
        logger.exception("could not queue the delivery of notifications %s; the catch-up job will", ids[:20])


def mark_read(user, pk: int | None = None) -> int:
    """Mark one of the user's notifications (or all of them, pk=None) read. Returns how many changed.
    Another user's notification is never touched (the caller turns 0 into a 404 where it matters)."""
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    if pk is not None:
        rows = rows.filter(pk=pk)
    return rows.update(read_at=timezone.now())


def settle(model, object_ids, kinds) -> int:
    """Mark read every user's unread notifications of these kinds about these objects: what they asked
    someone to do has been done (a case the system finished, an alarm someone claimed). Returns how many."""
    return Notification.objects.filter(
        object_type=model._meta.label_lower,
        object_id__in=[str(pk) for pk in object_ids],
        kind__in=list(kinds),
        read_at__isnull=True,
    ).update(read_at=timezone.now())


def unread_count(user, cap: int = 100) -> int:
    """How many unread notifications the user has, counted up to `cap` (the badge shows "99+")."""
    return Notification.objects.filter(user=user, read_at__isnull=True).values("pk")[:cap].count()
