"""Tokens and the caller's own account: POST /auth/token, GET /me, GET /me/data."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Status
from ninja.throttling import AnonRateThrottle

from linli.accounts.models import ApiToken, User
from linli.api.errors import ApiError
from linli.api.schemas import MeOut, TokenIn, TokenOut, answers
from linli.api.security import enter
from linli.core import audit, context
from linli.core.middleware import client_ip
from linli.core.models import AuditRecord
from linli.people import services_care as care
from linli.people.models import Resident

router = Router(tags=["accounts"])

# Per-account lockout stops guessing one password; this stops one address spraying many accounts.
TOKEN_RATE = "30/min"


class TokenThrottle(AnonRateThrottle):
    scope = "api-token"

    def __init__(self) -> None:
        super().__init__(TOKEN_RATE)

    def get_cache_key(self, request: HttpRequest) -> str:
        # every token request counts, signed-in session or not, by the address our own proxy reports
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}


def _login_refused(username: str) -> ApiError:
    user = get_user_model().objects.filter(username=username).first()
    if user is not None and user.is_locked:
        return ApiError(
            401,
            "account_locked",
            _("This account is disabled or temporarily locked. Try again later or ask your administrator."),
        )
    return ApiError(
        401,
        "invalid_credentials",
        _("The user name or password is wrong. After %(max)s wrong tries the account is locked for a while.")
        % {"max": settings.LOGIN_MAX_FAILURES},
    )


@router.post("/auth/token", response=answers(TokenOut, 201), auth=None, throttle=[TokenThrottle()])
def issue_token(request: HttpRequest, payload: TokenIn, response: HttpResponse):
    """Exchange a user name and password for a bearer token. Failed tries count towards the lockout."""
    context.current().channel = "api"
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        raise _login_refused(payload.username)
    enter(request, user)
    with transaction.atomic():
        user_logged_in.send(sender=type(user), request=request, user=user)
        token, key = ApiToken.issue(user)
        audit.record(
            AuditRecord.Action.TOKEN,
            user,
            user=user,
            after={"prefix": token.prefix, "expires_at": token.expires_at.isoformat()},
        )
    response["Cache-Control"] = "no-store"
    return Status(201, {"token": key, "expires_at": token.expires_at})


@router.get("/me", response=answers(MeOut))
def me(request: HttpRequest):
    """Who you are, your roles and permissions, and your display preferences."""
    user = cast(User, request.user)
    roles = {a.role.code: a.role for a in user._assignments()}
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.display_name,
        "roles": [{"code": code, "name": str(role)} for code, role in sorted(roles.items())],
        "permissions": sorted(user.linli_perms),
        "language": user.language,
        "elder_mode": user.elder_mode,
        "resident_id": Resident.objects.filter(user=user).values_list("pk", flat=True).first(),
    }


@router.get("/me/data", response=answers(dict))
def my_data(request: HttpRequest, response: HttpResponse):
    """Everything Linli holds about you, if your account is bound to a resident record. Audited."""
    resident = Resident.objects.filter(user=request.user).first()
    if resident is None:
        raise ApiError(
            404,
            "not_bound",
            _("Your account is not bound to a resident record. Ask your community to bind it to your house first."),
        )
    audit.record(AuditRecord.Action.SELF_EXPORT, resident)
    response["Cache-Control"] = "no-store"
    return care.data_package(resident)
