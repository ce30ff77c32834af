"""Who is acting, from where, within which request: read by audit without passing it around."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ActorContext:
    user: Any = None
    ip: str = ""
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    channel: str = "system"  # web, api, command, system


_current: contextvars.ContextVar[ActorContext | None] = contextvars.ContextVar("linli_actor", default=None)


def current() -> ActorContext:
    ctx = _current.get()
    if ctx is None:
        ctx = ActorContext()
        _current.set(ctx)
    return ctx


def activate(ctx: ActorContext) -> contextvars.Token:
    return _current.set(ctx)


def deactivate(token: contextvars.Token) -> None:
    _current.reset(token)


def set_user(user: Any) -> None:
    current().user = user
