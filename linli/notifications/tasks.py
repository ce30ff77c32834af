"""Jobs that pass notifications on to outside channels (Huey; see docs/jobs.md)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

logger = logging.getLogger("linli.notify")


@db_task(retries=2, retry_delay=60)
def deliver_notifications(ids: list[int]) -> None:
    """Deliver these notifications through every configured channel. Safe to run twice. Returns
    nothing: Huey would keep a returned value in its result store until someone read it."""
    from linli.notifications.channels import deliver
    from linli.notifications.models import Notification

    deliver(Notification.objects.filter(pk__in=ids).select_related("user").order_by("pk"))


@db_periodic_task(crontab(minute="*/5"))
def deliver_pending() -> dict[str, int]:
    """Every five minutes: deliver what the sweep wrote in bulk or a lost job left, retry failures."""
    from linli.notifications import channels

    counts = channels.deliver_pending()
    if counts:
        logger.info("catch-up delivery: %s", counts)
    return counts
