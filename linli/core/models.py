from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from linli.core.scope import ScopedManager


class LinliModel(models.Model):
    """What every registry record shares: timestamps, the scoped manager, audit snapshots."""

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ScopedManager()

    # permission prefix used by for_user(): "<prefix>.<action>"
    scope_permission_prefix = "places"
    # fields never written to audit or history in clear (the encrypted columns)
    audit_exclude: tuple[str, ...] = ("created_at", "updated_at")

    class Meta:
        abstract = True

    @classmethod
    def scope_q(cls, scope) -> models.Q:
        raise NotImplementedError

    def audit_snapshot(self) -> dict:
        from linli.core.audit import snapshot

        return snapshot(self)


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("audit records are append-only")

    def delete(self):
        raise PermissionError("audit records are append-only")


class AuditRecord(models.Model):
    """One append-only, hash-chained audit entry."""

    objects = AppendOnlyQuerySet.as_manager()

    class Action(models.TextChoices):
        LOGIN = "login", _("login")
        LOGIN_FAILED = "login_failed", _("failed login")
        LOGOUT = "logout", _("logout")
        LOCKED = "locked", _("account locked")
        CREATE = "create", _("create")
        UPDATE = "update", _("update")
        DELETE = "delete", _("delete")
        REVEAL = "reveal", _("reveal")
        EXPORT = "export", _("export")
        IMPORT = "import", _("import")
        PERMISSION = "permission", _("permission change")
        TOKEN = "token", _("API token issued")
        SELF_EXPORT = "self_export", _("own data downloaded")

    seq = models.BigIntegerField(_("sequence"), unique=True)
    ts = models.DateTimeField(_("time"), db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    username = models.CharField(_("user"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices, db_index=True)
    object_type = models.CharField(_("object type"), max_length=60, blank=True, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    purpose = models.CharField(_("purpose"), max_length=300, blank=True)
    ip = models.CharField(_("IP address"), max_length=64, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    channel = models.CharField(_("channel"), max_length=10, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        indexes = [models.Index(fields=["object_type", "object_id", "seq"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("audit records are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit records are append-only")


class AuditChainHead(models.Model):
    """A single row locked while appending, so concurrent writers extend the chain one at a time."""

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit chain at #{self.last_seq}"
