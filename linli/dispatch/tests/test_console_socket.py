"""The console's WebSocket through the real ASGI stack (origin check, session auth, URL router) and the real
in-memory channel layer: scope decides who hears which alarm."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from linli.asgi import application
from linli.dispatch import services
from linli.dispatch.tests.factories import make_alarm

PATH = "/ws/dispatch/console/"


def headers_for(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    return [(b"origin", b"http://testserver"), (b"host", b"testserver"), (b"cookie", cookie)]


async def open_socket(path: str, headers) -> tuple[WebsocketCommunicator, bool, int | None]:
    """(socket, whether it is open and said hello, the close code if it was refused). A refused socket is
    accepted and closed at once with its code (4403, 4404), which the page reads; a wrong origin is turned
    away before the handshake (no code)."""
    ws = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await ws.connect(timeout=3)
    if not connected:
        return ws, False, None
    first = await ws.receive_output(timeout=2)
    if first["type"] == "websocket.close":
        return ws, False, first.get("code")
    assert json.loads(first["text"])["type"] == "hello"
    return ws, True, None


async def connect(headers) -> tuple[WebsocketCommunicator, bool]:
    ws, ok, _code = await open_socket(PATH, headers)
    return ws, ok


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_alarms_reach_only_the_consoles_whose_scope_covers_them(world):
    heads = {name: headers_for(world.users[name]) for name in ("dispatcher", "dispatcher_b", "shift_lead", "grid")}

    async def run():
        a, ok_a = await connect(heads["dispatcher"])
        b, ok_b = await connect(heads["dispatcher_b"])
        lead, ok_lead = await connect(heads["shift_lead"])
        assert ok_a and ok_b and ok_lead
        # a grid worker has no dispatch.console: refused (4403); a stranger's origin is turned away at the handshake
        grid, ok_grid, code = await open_socket(PATH, heads["grid"])
        assert not ok_grid and code == 4403  # the page reads the code and stops retrying
        evil = [(b"origin", b"http://evil.example"), *heads["dispatcher"][1:]]
        _, ok_evil = await connect(evil)
        assert not ok_evil
        anon, ok_anon = await connect([(b"origin", b"http://testserver")])
        assert not ok_anon

        start = time.monotonic()
        alarm = await database_sync_to_async(make_alarm)(world, "A1-1")
        got = await a.receive_json_from(timeout=1)
        elapsed = time.monotonic() - start
        assert elapsed < 1.0
        assert got["type"] == "alarm" and got["event"] == "raised"
        assert got["alarm"]["id"] == alarm.pk
        assert got["alarm"]["type"] == "sos" and got["alarm"]["type_label"]
        assert got["alarm"]["resident"] == world.resident_in("A1-1").name
        assert (await lead.receive_json_from(timeout=1))["alarm"]["id"] == alarm.pk
        assert await b.receive_nothing(timeout=0.3)

        # street B's alarm goes to street B only
        other = await database_sync_to_async(make_alarm)(world, "B1-1")
        assert (await b.receive_json_from(timeout=1))["alarm"]["id"] == other.pk
        assert await a.receive_nothing(timeout=0.3)

        # a maintenance alarm never reaches the console
        await database_sync_to_async(make_alarm)(world, "A1-1", type="low_battery", severity="minor")
        assert await a.receive_nothing(timeout=0.3)

        # a claim shows on every console of the area at once, with who took it
        await database_sync_to_async(services.claim)(world.users["shift_lead"], alarm.pk)
        claimed = await a.receive_json_from(timeout=1)
        assert claimed["event"] == "claimed"
        assert claimed["alarm"]["claimed_by"] == "shift_lead" and claimed["alarm"]["status"] == "acknowledged"
        for ws in (a, b, lead):
            await ws.disconnect()

    async_to_sync(run)()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_alarm_raised_on_a_plain_thread_reaches_the_socket(world):
    """In the one-process demo, ingestion and jobs run on threads of their own: the in-memory layer's push is
    handed to the sockets' loop."""
    heads = headers_for(world.users["dispatcher"])

    async def run():
        a, ok = await connect(heads)
        assert ok
        alarm = await asyncio.get_running_loop().run_in_executor(None, make_alarm, world, "A1-1")
        got = await a.receive_json_from(timeout=1)
        assert got["alarm"]["id"] == alarm.pk
        await a.disconnect()

    async_to_sync(run)()
