"""The dispatch console's WebSocket: /ws/dispatch/console/.

Only users with dispatch.console may connect (others are refused at the handshake). A socket joins the
groups of its user's console scope (linli/dispatch/live.py) and forwards each alarm it receives, labelled in
the user's language. The server only pushes; every action is an ordinary POST.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import translation

from linli.dispatch import live
from linli.iot.models import AlarmStatus, AlarmType, Severity


def _labels(payload: dict) -> dict:
    out = dict(payload)
    out["type_label"] = str(AlarmType(payload["type"]).label) if payload["type"] in AlarmType.values else ""
    out["severity_label"] = str(Severity(payload["severity"]).label) if payload["severity"] in Severity.values else ""
    out["status_label"] = str(AlarmStatus(payload["status"]).label) if payload["status"] in AlarmStatus.values else ""
    return out


def labelled(payload: dict, language: str | None) -> dict:
    with translation.override(language or translation.get_language()):
        return _labels(payload)


class ConsoleConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self) -> None:
        self.groups_joined = []
        live.remember_socket_loop()
        user = self.scope.get("user")
        allowed, groups, language = await self._access(user)
        if not allowed:
            await self.close(code=4403)
            return
        self.language = language
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        await self.accept()
        await self.send_json({"type": "hello", "groups": len(groups)})

    @database_sync_to_async
    def _access(self, user) -> tuple[bool, list[str], str]:
        if user is None or not user.is_authenticated or not user.is_active:
            return False, [], ""
        if not user.has_linli_perm("dispatch.console"):
            return False, [], ""
        groups = live.groups_for_scope(user.scope_for("dispatch.console"))
        return bool(groups), groups, getattr(user, "language", "") or ""

    async def disconnect(self, code) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def alarm_changed(self, message: dict) -> None:
        await self.send_json(
            {
                "type": "alarm",
                "event": message["event"],
                "alarm": labelled(message["alarm"], self.language),
                "sent_at": message.get("sent_at"),
            }
        )
