"""Login auditing and lockout after repeated failures."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models import F
from django.dispatch import receiver
from django.utils import timezone

from linli.core import audit
from linli.core.models import AuditRecord


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    get_user_model().objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
    audit.record(AuditRecord.Action.LOGIN, user, user=user)


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        audit.record(AuditRecord.Action.LOGOUT, user, user=user)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    username = (credentials or {}).get("username", "")[:150]
    users = get_user_model()
    user = users.objects.filter(username=username).first()
    audit.record(
        AuditRecord.Action.LOGIN_FAILED,
        username=username,
        object_type="accounts.user",
        object_id=str(user.pk) if user else "",
        object_repr=username,
    )
    if user is None or user.is_locked:
        return
    users.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
    user.refresh_from_db(fields=["failed_logins"])
    if user.failed_logins >= settings.LOGIN_MAX_FAILURES:
        until = timezone.now() + timezone.timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
        users.objects.filter(pk=user.pk).update(locked_until=until, failed_logins=0)
        audit.record(AuditRecord.Action.LOCKED, user, username=username, after={"locked_until": until.isoformat()})
