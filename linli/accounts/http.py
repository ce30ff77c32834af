"""Request types for annotations."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from linli.accounts.models import User


class AuthedHttpRequest(HttpRequest):
    """A request behind `login_required`: `user` is a signed-in Linli `User`, never `AnonymousUser`.

    Only for type annotations; Django still passes a plain `HttpRequest`.
    """

    user: User


def requires(perm: str):
    """Signed-in users holding `perm`; others get 403 (anonymous users go to the login page)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request: AuthedHttpRequest, *args, **kwargs):
            if not request.user.has_linli_perm(perm):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator
