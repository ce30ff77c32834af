"""Request types for annotations."""

from __future__ import annotations

from django.http import HttpRequest

from linli.accounts.models import User


class AuthedHttpRequest(HttpRequest):
    """A request behind `login_required`: `user` is a signed-in Linli `User`, never `AnonymousUser`.

    Only for type annotations; Django still passes a plain `HttpRequest`.
    """

    user: User
