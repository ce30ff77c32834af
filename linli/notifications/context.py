"""Template context: the signed-in user's unread count, for the navigation badge.

Lazy: the count query runs only on pages whose template shows it, and at most once per request.
"""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject


def inbox(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"inbox_unread": 0}

    def unread() -> int:
        from linli.notifications.services import unread_count

        return unread_count(user)

    return {"inbox_unread": SimpleLazyObject(unread)}
