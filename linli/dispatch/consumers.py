"""The dispatch center's WebSockets.

/ws/dispatch/console/: only users with dispatch.console may connect (others are closed with 4403 at once,
joined to nothing; see _Pushed.refuse). A
socket joins the groups of its user's console scope (linli/dispatch/live.py) and forwards each alarm it
receives, labelled in the user's language.

/ws/dispatch/incidents/<id>/: a dispatcher's incident page; only for users who may view that incident on the
console (others are refused: 4404). /ws/dispatch/rescue/: a rescuer's phone page; it joins the rescuer's own
group only, so it hears of their own incidents and nothing else. Both forward {"type": "incident", ...} with
the incident's id, version, state and the action; the page then reloads what it shows over HTTP.

The server only pushes; every action is an ordinary POST. A socket answers {"type": "ping"} with a pong.
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


class _Pushed(AsyncJsonWebsocketConsumer):
    """What the dispatch sockets share: joining and leaving their groups, answering pings, incident pushes."""

    groups_joined: list[str]

    async def join(self, groups: list[str]) -> None:
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups

    async def disconnect(self, code) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def incident_changed(self, message: dict) -> None:
        await self.send_json({"type": "incident", **message["change"], "sent_at": message.get("sent_at")})

    async def refuse(self, code: int) -> None:
        """Accept, then close with `code` (4403 not allowed, 4404 no such incident): closed before the handshake,
        the browser would see only 1006 (connection failed) and retry for ever; with the code, the page knows
        that retrying cannot help (socket.js) and falls back to what it may do."""
        await self.accept()
        await self.close(code=code)


def _active(user) -> bool:
    return user is not None and user.is_authenticated and user.is_active


class IncidentConsumer(_Pushed):
    """One incident's page: told when anyone (a rescuer, another dispatcher) changes the incident."""

    async def connect(self) -> None:
        self.groups_joined = []
        live.remember_socket_loop()
        incident_id = int(self.scope["url_route"]["kwargs"]["pk"])
        if not await self._may_view(self.scope.get("user"), incident_id):
            await self.refuse(4404)
            return
        await self.join([live.incident_group(incident_id)])
        await self.accept()
        await self.send_json({"type": "hello", "incident": incident_id})

    @database_sync_to_async
    def _may_view(self, user, incident_id: int) -> bool:
        from linli.dispatch import services

        if not _active(user) or not user.has_linli_perm(services.CONSOLE):
            return False
        return services.console_incidents(user).filter(pk=incident_id).exists()


class RescueConsumer(_Pushed):
    """A rescuer's phone page: told when they are sent and whenever their incident changes."""

    async def connect(self) -> None:
        self.groups_joined = []
        live.remember_socket_loop()
        user = self.scope.get("user")
        if not await self._is_rescuer(user):
            await self.refuse(4403)
            return
        await self.join([live.rescuer_group(user.pk)])
        await self.accept()
        await self.send_json({"type": "hello"})

    @database_sync_to_async
    def _is_rescuer(self, user) -> bool:
        from linli.dispatch import services

        return _active(user) and user.has_linli_perm(services.RESCUE)


class ConsoleConsumer(_Pushed):
    async def connect(self) -> None:
        self.groups_joined = []
        live.remember_socket_loop()
        user = self.scope.get("user")
        allowed, groups, language = await self._access(user)
        if not allowed:
            await self.refuse(4403)
            return
        self.language = language
        await self.join(groups)
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

    async def alarm_changed(self, message: dict) -> None:
        await self.send_json(
            {
                "type": "alarm",
                "event": message["event"],
                "alarm": labelled(message["alarm"], self.language),
                "sent_at": message.get("sent_at"),
            }
        )
