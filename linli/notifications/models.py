"""The in-app inbox, and a record of every attempt to reach someone through another channel."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    class Kind(models.TextChoices):
        ASSIGNED = "assigned", _("new assignment")
        NEW_CASE = "new_case", _("new case")
        DUE_SOON = "due_soon", _("due soon")
        OVERDUE = "overdue", _("overdue")
        ESCALATED = "escalated", _("escalated")
        PROGRESS = "progress", _("progress")
        RATE = "rate", _("please rate")
        RETURNED = "returned", _("returned")
        SUSPENSION = "suspension", _("suspension request")
        OTHER = "other", _("other")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.CharField(_("message"), max_length=1000, blank=True)
    url = models.CharField(max_length=300, blank=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "read_at", "-created_at"], name="inbox_unread"),
            # the notifications about one object: the dispatch console looks up each escalated alarm's
            models.Index(fields=["object_type", "object_id", "kind"], name="notification_object"),
        ]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"


class Delivery(models.Model):
    """Passing one notification on through one outside channel (SMS, WeChat…). `status` says exactly
    what happened: only a channel that handed the message to a provider may say "sent".

    One row per notification and channel (unique), claimed before the channel is called, so a message
    is never handed over twice. A "failed" row may be tried again (`attempts`); a "pending" row whose
    worker died stays pending: its outcome is unknown, and sending it again could send it twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("being sent (outcome unknown if it stays)")
        SENT = "sent", _("sent")
        LOGGED = "logged", _("written to the log only (development)")
        SKIPPED = "skipped", _("skipped")
        FAILED = "failed", _("failed")

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("channel"), max_length=20)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=1)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once_per_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.status}"
