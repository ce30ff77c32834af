"""Dispatch center pages: the live console, the incident (alarm card) page and the rescuer's phone page.

Views only read and call linli/dispatch/services.py; out of scope is 404. The console's list is pushed over
the WebSocket (linli/dispatch/consumers.py); every action is a POST that redirects back (works without
JavaScript too).
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Field
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from linli.accounts.http import AuthedHttpRequest, requires
from linli.core import codes
from linli.dispatch import live, services
from linli.dispatch import recommend as rec
from linli.dispatch.consumers import labelled
from linli.dispatch.models import OPEN_INCIDENT, Incident, IncidentStatus, Rescuer
from linli.iot import display
from linli.iot.models import AlarmStatus, Telemetry
from linli.people.models import CareProfile, EmergencyContact
from linli.places.models import Area

CONSOLE = services.CONSOLE
RESCUE = services.RESCUE


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _version(request) -> int | None:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return None


def _console_alarms_json(user) -> list[dict]:
    lang = get_language()
    rows = live.with_escalations(list(services.open_console_alarms(user)))
    return [labelled(live.alarm_payload(a), lang) for a in rows]


# ---------------------------------------------------------------- console


OUTLINE_MAX_GRIDS = 400  # a district's grids; a city's 21,000 would be megabytes of outlines to draw


def _outline_url(user) -> str:
    """Where the console map, without tiles, reads the grids of the user's area to draw under the alarms, so
    that a dot has a place around it; nothing for an area too large to draw (or a user without places.view)."""
    if not user.has_linli_perm("places.view"):
        return ""
    if Area.objects.for_user(user).filter(level=codes.GRID).count() > OUTLINE_MAX_GRIDS:
        return ""
    return reverse("places:map-data")


@requires(CONSOLE)
@require_GET
def console(request: AuthedHttpRequest) -> HttpResponse:
    alarms = _console_alarms_json(request.user)
    mine = (
        services.console_incidents(request.user)
        .filter(call_taker=request.user, status__in=OPEN_INCIDENT)
        .select_related("alarm", "resident", "rescuer__user")[:20]
    )
    rescuers = services.console_rescuers(request.user)
    context = {
        "alarms": alarms,
        "mine": mine,
        "available": rescuers.filter(status=Rescuer.Status.AVAILABLE).count(),
        "busy": rescuers.exclude(status__in=(Rescuer.Status.AVAILABLE, Rescuer.Status.OFF_DUTY)).count(),
        "open_incidents": services.console_incidents(request.user).filter(status__in=OPEN_INCIDENT).count(),
        "mobility_labels": {code: str(label) for code, label in CareProfile.Mobility.choices},
        "outline_url": _outline_url(request.user),
    }
    return render(request, "dispatch/console.html", context)


@requires(CONSOLE)
@require_GET
def console_alarms(request: AuthedHttpRequest) -> JsonResponse:
    """The open alarms of the console (the page refetches this after its socket reconnects)."""
    return JsonResponse({"alarms": _console_alarms_json(request.user)})


@requires(CONSOLE)
@require_POST
def claim(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    try:
        incident = services.claim(request.user, pk)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect("dispatch:console")
    return redirect("dispatch:incident", pk=incident.pk)


# ---------------------------------------------------------------- incident


def _incident(request, pk: int) -> Incident:
    return get_object_or_404(
        services.console_incidents(request.user).select_related(
            "alarm",
            "alarm__device",
            "resident",
            "resident__care_profile",
            "house__building",
            "house__unit",
            "house__estate",
            "estate",
            "grid",
            "community",
            "street",
            "rescuer__user",
            "recommended_rescuer__user",
            "call_taker",
        ),
        pk=pk,
    )


CHAIN = (
    "received_at",
    "acknowledged_at",
    "called_back_at",
    "dispatched_at",
    "en_route_at",
    "on_scene_at",
    "handed_over_at",
    "closed_at",
)


def since_text(seconds: float | None) -> str:
    """+2 min 52 s (translated) after the alarm was received; "" for the first step."""
    if not seconds or seconds < 1:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("+%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    if minutes:
        return _("+%(m)d min %(s)d s") % {"m": minutes, "s": secs}
    return _("+%(s)d s") % {"s": secs}


def chain_of(incident: Incident) -> list[dict]:
    """The timestamp chain with the time since the alarm was received."""
    out = []
    for name in CHAIN:
        at = getattr(incident, name)
        since = (at - incident.received_at).total_seconds() if at else None
        label = cast(Field, Incident._meta.get_field(name)).verbose_name
        out.append({"name": name, "label": label, "at": at, "seconds": since, "since": since_text(since)})
    return out


EVENT_LABELS = {
    "received": gettext_lazy("alarm received"),
    "claimed": gettext_lazy("claimed"),
    "called_back": gettext_lazy("called back"),
    "dispatched": gettext_lazy("rescuer dispatched"),
    "accept": gettext_lazy("rescuer accepted, en route"),
    "on_scene": gettext_lazy("rescuer on scene"),
    "handed_over": gettext_lazy("handed over"),
    "closed": gettext_lazy("closed"),
}


def _events(incident: Incident) -> list:
    events = list(incident.events.select_related("actor"))
    for e in events:
        e.label = EVENT_LABELS.get(e.action, e.action)  # type: ignore[attr-defined]
    return events


def _person(incident: Incident, user) -> dict | None:
    """The person on the card: labels, contacts and the care profile (its first showing to `user` audited)."""
    r = incident.resident
    if r is None:
        return None
    labels = list(r.labels.all())
    return {
        "resident": r,
        "age": r.age,
        "labels": labels,
        "living_alone": any(label.code == "living_alone" for label in labels),
        "contacts": list(r.emergency_contacts.all()),
        "care": services.care_profile_for(user, incident),
    }


@requires(CONSOLE)
@require_GET
def incident_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    incident = _incident(request, pk)
    device = incident.alarm.device
    candidates = rec.candidates_for(incident)[:5] if incident.is_open else []
    rescuers = services.console_rescuers(request.user).select_related("user")
    context = {
        "incident": incident,
        "alarm": incident.alarm,
        "device": device,
        "person": _person(incident, request.user),
        "household": services.household_of(incident),
        "place": services.place_text(incident),
        "chain": chain_of(incident),
        "events": _events(incident),
        "device_alarms": device.alarms.exclude(pk=incident.alarm_id).order_by("-raised_at")[:8],
        "readings": [
            {"at": t.received_at, **display.reading(t.values)}
            for t in Telemetry.objects.filter(device=device).order_by("-received_at")[:8]
        ],
        "candidates": candidates,
        "recommended": candidates[0] if candidates else None,
        "candidates_rescuers": [c.rescuer for c in candidates],
        "available": [r for r in rescuers if r.status == Rescuer.Status.AVAILABLE],
        "callbacks": Incident.Callback.choices,
        "handovers": [c for c in Incident.HandoverTo.choices if c[0]],
        "can_reveal": request.user.has_linli_perm("people.reveal"),
        "key_reveal_url": (
            reverse("dispatch:incident-act", args=[incident.pk, "key-reveal"])
            if request.user.has_linli_perm("people.reveal")
            else ""
        ),
        "can_dispatch": incident.status in (IncidentStatus.OPEN, IncidentStatus.CALLED_BACK),
        "now": timezone.now(),
        "alarm_open": incident.alarm.status in (AlarmStatus.ACTIVE, AlarmStatus.ACKNOWLEDGED),
    }
    return render(request, "dispatch/incident.html", context)


ACTIONS = {
    "callback": lambda r, pk, v: services.record_callback(
        r.user, pk, v, r.POST.get("outcome", ""), r.POST.get("note", ""), confirmed=r.POST.get("confirm") == "1"
    ),
    "dispatch": lambda r, pk, v: services.dispatch_rescuer(r.user, pk, v, _int(r.POST.get("rescuer"))),
    "handover": lambda r, pk, v: services.record_handover(r.user, pk, v, r.POST.get("to", ""), r.POST.get("note", "")),
    "close": lambda r, pk, v: services.close(r.user, pk, v, r.POST.get("outcome", "")),
}
DONE = {
    "callback": gettext_lazy("Call-back outcome recorded."),
    "dispatch": gettext_lazy("Rescuer dispatched and notified."),
    "handover": gettext_lazy("Handover recorded."),
    "close": gettext_lazy("Incident closed."),
}


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@requires(CONSOLE)
@require_POST
def incident_act(request: AuthedHttpRequest, pk: int, action: str) -> HttpResponse:
    incident = _incident(request, pk)  # 404 out of scope
    if action == "key-reveal":
        return _key_reveal(request, incident)
    if action == "occupant-reveal":
        return _occupant_reveal(request, incident)
    if action not in ACTIONS:
        return HttpResponse(_("Unknown action."), status=400)
    try:
        ACTIONS[action](request, pk, _version(request))
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, str(DONE[action]))
    return redirect("dispatch:incident", pk=pk)


@requires(CONSOLE)
@require_POST
def contact_reveal(request: AuthedHttpRequest, pk: int, contact_pk: int) -> HttpResponse:
    """Show an emergency contact's full phone after the user states why (people.reveal, audited)."""
    from linli.people import services as people

    incident = _incident(request, pk)
    contact: EmergencyContact = services.incident_contact(incident, contact_pk)
    try:
        value = people.reveal(request.user, contact, "phone", request.POST.get("purpose", ""))
    except ValidationError as exc:
        return render(request, "dispatch/_reveal.html", {"error": _errors(exc), "contact": contact}, status=400)
    return render(request, "dispatch/_reveal.html", {"value": value, "contact": contact})


def _occupant_reveal(request: AuthedHttpRequest, incident: Incident) -> HttpResponse:
    """The full phone of someone living at the house of a home device bound to nobody (people.reveal: scope,
    stated purpose, audited)."""
    from linli.people import services as people

    resident = services.household_member(incident, request.POST.get("resident", ""))
    try:
        value = people.reveal(request.user, resident, "phone", request.POST.get("purpose", ""))
    except ValidationError as exc:
        return render(request, "dispatch/_reveal.html", {"error": _errors(exc)}, status=400)
    return render(request, "dispatch/_reveal.html", {"value": value})


def _key_reveal(request: AuthedHttpRequest, incident: Incident) -> HttpResponse:
    """The spare key holder's full phone, after the user states why (people.reveal, audited)."""
    if not request.user.has_linli_perm("people.reveal"):
        return HttpResponse(status=403)
    try:
        value = services.reveal_key_holder(request.user, incident, request.POST.get("purpose", ""))
    except ValidationError as exc:
        return render(request, "dispatch/_reveal.html", {"error": _errors(exc)})
    return render(request, "dispatch/_reveal.html", {"value": value})


# ---------------------------------------------------------------- the rescuer's phone


@requires(RESCUE)
@require_GET
def rescue(request: AuthedHttpRequest) -> HttpResponse:
    me = services.my_rescuer(request.user)
    incident = services.my_incident(request.user)
    context = {
        "me": me,
        "incident": incident,
        "chain": chain_of(incident) if incident else [],
        "handovers": [c for c in Incident.HandoverTo.choices if c[0]],
        "person": _person(incident, request.user) if incident else None,
        "household": services.household_of(incident) if incident else [],
        "place": services.place_text(incident) if incident else "",
    }
    return render(request, "dispatch/rescue.html", context)


RESCUE_DONE = {
    "accept": gettext_lazy("Accepted: you are on your way."),
    "on_scene": gettext_lazy("On scene recorded."),
    "handover": gettext_lazy("Handover recorded."),
    "complete": gettext_lazy("Incident completed. Thank you."),
}


@requires(RESCUE)
@require_POST
def rescue_act(request: AuthedHttpRequest, pk: int, action: str) -> HttpResponse:
    get_object_or_404(Incident.objects.filter(rescuer__user=request.user), pk=pk)
    if action == "reveal":
        return _rescue_reveal(request, pk)
    version = _version(request)
    try:
        if action in ("accept", "on_scene"):
            services.rescuer_step(request.user, pk, version, action)
        elif action == "handover":
            services.rescuer_handover(
                request.user, pk, version, request.POST.get("to", ""), request.POST.get("note", "")
            )
        elif action == "complete":
            services.rescuer_complete(request.user, pk, version, request.POST.get("outcome", ""))
        else:
            return HttpResponse(_("Unknown action."), status=400)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, str(RESCUE_DONE[action]))
    return redirect("dispatch:rescue")


def _rescue_reveal(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """The full number of the elder or a contact, as a call button, for the rescuer on the incident (audited)."""
    try:
        person, number = services.rescuer_reveal(
            request.user, pk, request.POST.get("target", ""), request.POST.get("purpose", "")
        )
    except ValidationError as exc:
        return render(request, "dispatch/_reveal.html", {"error": _errors(exc)}, status=400)
    who = getattr(person, "key_holder_name", None) or person
    return render(request, "dispatch/_reveal.html", {"value": number, "call": True, "who": who})


@requires(RESCUE)
@require_POST
def rescue_duty(request: AuthedHttpRequest) -> HttpResponse:
    try:
        services.set_duty(request.user, request.POST.get("on") == "1")
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    return redirect("dispatch:rescue")


@requires(RESCUE)
@require_POST
def rescue_position(request: AuthedHttpRequest) -> HttpResponse:
    try:
        me = services.share_position(request.user, request.POST.get("lat"), request.POST.get("lng"))
    except ValidationError as exc:
        if request.headers.get("Accept", "").startswith("application/json"):
            return JsonResponse({"error": _errors(exc)}, status=400)
        messages.error(request, _errors(exc))
        return redirect("dispatch:rescue")
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"ok": True, "at": me.position_at.isoformat() if me.position_at else None})
    messages.success(request, _("Position shared."))
    return redirect("dispatch:rescue")
