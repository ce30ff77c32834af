"""Who is calling: a bearer token (Authorization: Bearer lnl_…) or the browser session (for the docs page).

Either way the user goes into the audit context with channel "api", and the response
speaks the language of the Accept-Language header, else the user's own setting.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from linli.accounts.models import ApiToken
from linli.api.errors import ApiError
from linli.core import context

# last_used_at is bookkeeping: refresh it at most this often, not on every request
TOUCH_EVERY = dt.timedelta(minutes=5)


def language_from_header(request: HttpRequest) -> str | None:
    for code, _q in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        if code == "*":
            continue
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return None


def activate_language(request: HttpRequest, user: Any = None) -> None:
    lang = language_from_header(request)
    if lang is None and user is not None and getattr(user, "is_authenticated", False):
        lang = user.language
    translation.activate(lang or settings.LANGUAGE_CODE)
    request.LANGUAGE_CODE = translation.get_language()


def enter(request: HttpRequest, user: Any) -> Any:
    """Make `user` the actor of this API request."""
    request.user = user
    ctx = context.current()
    ctx.user, ctx.channel = user, "api"
    activate_language(request, user)
    return user


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        now = timezone.now()
        found = (
            ApiToken.objects.select_related("user").filter(digest=ApiToken.digest_of(token.strip())).first()
            if token.strip()
            else None
        )
        if found is None or found.expires_at <= now or not found.user.is_active:
            raise ApiError(401, "invalid_token", _("The API token is unknown or has expired. Ask for a new one."))
        if found.last_used_at is None or now - found.last_used_at > TOUCH_EVERY:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        return enter(request, found.user)


class SessionLogin(APIKeyCookie):
    """The signed-in browser session. Unsafe methods need the CSRF token (the docs page sends it)."""

    param_name: str = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None
        if self.csrf and check_csrf(request):
            raise ApiError(403, "csrf_failed", _("The CSRF check failed. Reload the page and try again."))
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if key is None or not request.user.is_authenticated:
            return None
        return enter(request, request.user)
