"""The incident page's and the rescuer's WebSockets through the real ASGI stack and in-memory channel layer:
a rescuer whose page is open hears at once that they were sent; the incident page hears every change; nobody
hears of an incident outside their scope, and the sockets refuse them with a close code the page reads."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from linli.dispatch import services
from linli.dispatch.tests.factories import make_alarm, make_rescuer
from linli.dispatch.tests.test_console_socket import headers_for, open_socket

RESCUE = "/ws/dispatch/rescue/"


def incident_path(pk: int) -> str:
    return f"/ws/dispatch/incidents/{pk}/"


async def connect(path: str, headers) -> tuple[WebsocketCommunicator, bool]:
    ws, ok, _code = await open_socket(path, headers)
    return ws, ok


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_rescuer_hears_of_their_dispatch_and_the_incident_page_of_every_step(world):
    rescuer = make_rescuer(world)
    make_rescuer(world, "rescuer_b", area="B")
    alarm = make_alarm(world, "A1-1")
    d = world.users["dispatcher"]
    incident = services.claim(d, alarm.pk)
    heads = {n: headers_for(world.users[n]) for n in ("rescuer", "rescuer_b", "dispatcher", "shift_lead")}

    async def run():
        phone, ok = await connect(RESCUE, heads["rescuer"])
        other_phone, ok_other = await connect(RESCUE, heads["rescuer_b"])
        desk, ok_desk = await connect(incident_path(incident.pk), heads["dispatcher"])
        lead, ok_lead = await connect(incident_path(incident.pk), heads["shift_lead"])
        assert ok and ok_other and ok_desk and ok_lead

        # the dispatcher sends the rescuer: their phone hears it, with the incident's id and new version
        sent = await database_sync_to_async(services.dispatch_rescuer)(d, incident.pk, incident.version, rescuer.pk)
        got = await phone.receive_json_from(timeout=1)
        assert got["type"] == "incident" and got["id"] == incident.pk and got["action"] == "dispatched"
        assert got["status"] == "dispatched" and got["version"] == sent.version
        assert set(got) <= {"type", "id", "version", "status", "action", "sent_at"}  # no personal data travels
        assert (await desk.receive_json_from(timeout=1))["action"] == "dispatched"
        assert (await lead.receive_json_from(timeout=1))["action"] == "dispatched"
        assert await other_phone.receive_nothing(timeout=0.3)

        # the rescuer's steps reach the dispatchers' incident pages
        r = world.users["rescuer"]
        step = await database_sync_to_async(services.rescuer_step)(r, incident.pk, sent.version, "accept")
        for ws in (desk, lead, phone):
            assert (await ws.receive_json_from(timeout=1))["status"] == "en_route"
        await database_sync_to_async(services.rescuer_step)(r, incident.pk, step.version, "on_scene")
        for ws in (desk, lead, phone):
            assert (await ws.receive_json_from(timeout=1))["status"] == "on_scene"

        # another dispatcher closes it: the rescuer's page and the first dispatcher's page hear it
        await database_sync_to_async(services.close)(world.users["shift_lead"], incident.pk, None, "all well")
        assert (await phone.receive_json_from(timeout=1))["status"] == "completed"
        assert (await desk.receive_json_from(timeout=1))["action"] == "closed"
        assert await other_phone.receive_nothing(timeout=0.3)

        # pings are answered (the pages keep their connection alive through proxies)
        await phone.send_json_to({"type": "ping"})
        assert (await phone.receive_json_from(timeout=1))["type"] == "pong"
        for ws in (phone, other_phone, desk, lead):
            await ws.disconnect()

    async_to_sync(run)()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sockets_refuse_whoever_may_not_see_the_incident(world):
    alarm = make_alarm(world, "A1-1")
    incident = services.claim(world.users["dispatcher"], alarm.pk)
    heads = {n: headers_for(world.users[n]) for n in ("dispatcher_b", "rescuer", "grid", "dispatcher")}

    async def run():
        # street B's dispatcher, a rescuer and a grid worker may not view the incident page: refused
        for name in ("dispatcher_b", "rescuer", "grid"):
            ws, ok, code = await open_socket(incident_path(incident.pk), heads[name])
            assert not ok and code == 4404, name
        _, ok, code = await open_socket(incident_path(incident.pk + 1000), heads["dispatcher"])
        assert not ok and code == 4404  # no such incident
        _, ok = await connect(incident_path(incident.pk), [(b"origin", b"http://testserver")])
        assert not ok  # not signed in
        evil = [(b"origin", b"http://evil.example"), *heads["dispatcher"][1:]]
        _, ok = await connect(incident_path(incident.pk), evil)
        assert not ok
        # the rescuer socket is for rescuers only
        for name in ("dispatcher", "grid"):
            _, ok, code = await open_socket(RESCUE, heads[name])
            assert not ok and code == 4403, name

    async_to_sync(run)()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_step_refused_for_a_stale_version_pushes_nothing(world):
    rescuer = make_rescuer(world)
    alarm = make_alarm(world, "A1-1")
    d = world.users["dispatcher"]
    incident = services.claim(d, alarm.pk)
    heads = headers_for(world.users["dispatcher"])

    async def run():
        desk, ok = await connect(incident_path(incident.pk), heads)
        assert ok
        with pytest.raises(services.ConflictError):
            await database_sync_to_async(services.dispatch_rescuer)(d, incident.pk, incident.version + 5, rescuer.pk)
        assert await desk.receive_nothing(timeout=0.3)
        await desk.disconnect()

    async_to_sync(run)()
