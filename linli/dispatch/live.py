"""Live pushes to the dispatch console: alarm_changed → one compact JSON per alarm to the groups of its areas.

Incident pages and the rescuer's phone (push_incident): a dispatcher's incident page joins "incident.<id>", a
rescuer's page "rescue.<user id>"; each change of an incident (services._save, after commit) is sent to both.

Groups: a console socket joins "alarms.<level>.<area id>" for every area of the user's dispatch.console scope
("alarms.all" for a platform-wide scope). An alarm is sent to the groups of its grid, community, street,
district and city (and "alarms.all"), so a street dispatcher gets only the street's alarms, a district center
the whole district, and someone with no dispatch scope nothing. Only life-safety alarms reach the console.

The receiver runs in whichever process changed the alarm (a web worker, the MQTT ingest worker, a job); with
Redis (REDIS_URL) the channel layer carries the message to the console sockets of every daphne process; the
in-memory layer of the demo reaches the sockets of the same process only.
"""

from __future__ import annotations

import asyncio
import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.utils import timezone

from linli.iot.models import SEVERITY_RANK, Alarm

logger = logging.getLogger("linli.dispatch")

LEVELS = ("grid", "community", "street", "district", "city")
INCIDENT_MESSAGE = "incident.changed"  # handled by IncidentConsumer and RescueConsumer .incident_changed
ALL_GROUP = "alarms.all"
MESSAGE_TYPE = "alarm.changed"  # handled by ConsoleConsumer.alarm_changed


# The event loop that serves the console sockets of this process (set when a socket connects). The in-memory
# layer's queues belong to that loop, so a push from any other thread (a job or ingest thread of the one-process
# demo) is handed to it instead of running on a throwaway loop of its own.
_socket_loop: asyncio.AbstractEventLoop | None = None


def remember_socket_loop() -> None:
    global _socket_loop
    _socket_loop = asyncio.get_running_loop()


def _run(layer, make_coro) -> None:
    loop = _socket_loop
    if isinstance(layer, InMemoryChannelLayer) and loop is not None and loop.is_running() and not loop.is_closed():
        asyncio.run_coroutine_threadsafe(make_coro(), loop).result(timeout=10)
    else:
        async_to_sync(make_coro)()


def group_name(level: str, area_id: int) -> str:
    return f"alarms.{level}.{area_id}"


def groups_for_alarm(alarm: Alarm) -> list[str]:
    groups = [group_name(level, getattr(alarm, f"{level}_id")) for level in LEVELS if getattr(alarm, f"{level}_id")]
    return [*groups, ALL_GROUP]


def groups_for_scope(scope) -> list[str]:
    """The console groups of a scope (user.scope_for("dispatch.console")); [] for an empty one."""
    if scope.all:
        return [ALL_GROUP]
    groups = []
    for level in LEVELS:
        for area_id in sorted(getattr(scope, f"{level}_ids")):
            groups.append(group_name(level, area_id))
    return groups


def _iso(value) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def alarm_payload(alarm: Alarm, escalated_to: list[str] | None = None) -> dict:
    """What the console shows of an alarm. Codes only: each socket adds labels in its user's language.

    The position falls back from the alarm's own (a bracelet's GPS) to the device, the house's building and
    the grid's center (services._where), so a fixed call button is on the map too. `escalated_to` names the
    shift leads who were told (console_rows fills it in)."""
    from linli.dispatch import services

    resident = alarm.resident
    house = alarm.house
    lat, lng = services._where(alarm)
    if escalated_to is None:
        escalated_to = getattr(alarm, "escalated_to", [])
    return {
        "id": alarm.pk,
        "type": alarm.type,
        "severity": alarm.severity,
        "rank": SEVERITY_RANK.get(alarm.severity, 9),
        "status": alarm.status,
        "count": alarm.count,
        "message": alarm.message,
        "device": alarm.device.code,
        "kind": alarm.device.kind,
        "resident": resident.name if resident else "",
        "age": resident.age if resident else None,
        # 独居: nobody at home to open the door or call back, which a call-taker weighs before claiming
        "alone": resident is not None and any(label.code == "living_alone" for label in resident.labels.all()),
        "house": str(house) if house else "",
        "place": services.place_text(alarm),
        "grid": alarm.grid.name,
        "street": alarm.street.name,
        "lat": lat,
        "lng": lng,
        "located": alarm.lat is not None and alarm.lng is not None,
        "raised_at": _iso(alarm.raised_at),
        "last_at": _iso(alarm.last_at),
        "claimed_by": services.person_name(alarm.claimed_by),
        "claimed_by_id": alarm.claimed_by_id,
        "incident": getattr(getattr(alarm, "incident", None), "pk", None),
        "escalated": alarm.escalated_at is not None,
        "escalated_to": escalated_to,
        "care": care_flags(resident),
    }


def care_flags(resident) -> dict | None:
    """What the console list may know of the resident's care profile: that there is one, the mobility code and
    whether someone holds a spare key. The health text itself never travels over the socket broadcast (one
    message reaches every console of the area); the incident page shows it, over HTTP, within the user's scope."""
    from linli.people.services_care import profile_of

    profile = profile_of(resident)
    if profile is None:
        return None
    return {"mobility": profile.mobility, "key": bool(profile.key_holder_name)}


def with_escalations(alarms: list[Alarm]) -> list[Alarm]:
    """Set alarm.escalated_to (the names of the leads who were told) on escalated alarms, in one query."""
    from linli.dispatch import services

    escalated = [a.pk for a in alarms if a.escalated_at is not None]
    told = services.escalation_notifications(escalated) if escalated else {}
    for a in alarms:
        a.escalated_to = [services.person_name(n.user) for n in told.get(a.pk, [])]  # type: ignore[attr-defined]
    return alarms


def console_rows(alarm_ids) -> list[Alarm]:
    from linli.dispatch import services

    return with_escalations(
        list(
            Alarm.objects.filter(pk__in=list(alarm_ids), life_safety=True)
            .select_related(*services.CONSOLE_RELATED)
            .prefetch_related("resident__labels")
        )
    )


def push(alarms: list[Alarm], event: str) -> int:
    """Send each alarm to its groups. Returns the number of group messages sent."""
    layer = get_channel_layer()
    if layer is None or not alarms:
        return 0
    sent_at = time.time()
    messages = [
        (groups_for_alarm(a), {"type": MESSAGE_TYPE, "event": event, "alarm": alarm_payload(a), "sent_at": sent_at})
        for a in alarms
    ]
    sent = 0

    async def send_all() -> None:
        nonlocal sent
        for groups, message in messages:
            for group in groups:
                await layer.group_send(group, message)
                sent += 1

    _run(layer, send_all)
    return sent


def incident_group(incident_id: int) -> str:
    """The sockets of the dispatchers looking at one incident's page."""
    return f"incident.{incident_id}"


def rescuer_group(user_id: int) -> str:
    """The sockets of one rescuer's phone page."""
    return f"rescue.{user_id}"


def push_incident(change: dict, rescuer_user_ids: list[int]) -> int:
    """Tell the incident's pages and its rescuer's phone that it changed. Only ids and codes travel: the pages
    reload what they show over HTTP, where the data scope applies. Returns the number of group messages."""
    layer = get_channel_layer()
    if layer is None:
        return 0
    message = {"type": INCIDENT_MESSAGE, "change": change, "sent_at": time.time()}
    groups = [incident_group(change["id"]), *(rescuer_group(u) for u in rescuer_user_ids)]

    async def send_all() -> None:
        for group in groups:
            await layer.group_send(group, message)

    _run(layer, send_all)
    return len(groups)


def on_alarm_changed(sender, alarm_ids: list[int], event: str, **kwargs) -> None:
    """Receiver of linli.iot.signals.alarm_changed (after commit). Never fails the sender."""
    try:
        alarms = console_rows(alarm_ids)
        push(alarms, event)
    except Exception:
        logger.exception("could not push alarms %s (%s) to the dispatch console", list(alarm_ids)[:20], event)
        return
    if event == "raised":
        try:
            from linli.dispatch.tasks import schedule_escalation

            for alarm in alarms:
                if alarm.status == "active":
                    schedule_escalation(alarm.pk)
        except Exception:
            logger.exception("could not schedule the escalation of alarms %s", list(alarm_ids)[:20])
