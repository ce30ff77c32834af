"""notify(): put a message in people's inboxes, then pass it to the configured outside channels after
the transaction commits (never inside it, and never twice for one notification)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from linli.notifications.models import Notification


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
    ids = [n.pk for n in created if n.pk]
    if ids:
        transaction.on_commit(lambda: _deliver(ids))
    return created


def _deliver(ids: list[int]) -> None:
    from linli.notifications import channels

    channels.deliver(Notification.objects.filter(pk__in=ids).select_related("user"))
