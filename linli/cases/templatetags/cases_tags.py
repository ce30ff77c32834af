"""Template helpers for work-order pages, shared by every cases page.

    {% load cases_tags %}
    {% cases_stylesheet %}            in extra_head: the badge, row and timeline styles (cases/cases.css)
    {% status_badge case %}           the status as a coloured badge
    {% priority_badge case %}         the priority (nothing for "normal" unless always=True)
    {% due_badge case %}              countdown badge: time left / overdue / suspended (cases/_countdown.html)
    {{ case|countdown }}              the countdown as text ("2 days 3 hours left", "overdue by 5 hours")
    {{ case|due_state }}              "ok" | "warning" | "overdue" | "suspended" | "done"
    {{ event|event_label }}           the action label of a timeline event
    {% rating_badge case %}           the reporter's rating, coloured

The countdown counts natural time to `resolve_due` (the due moment itself was computed in working time).
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.templatetags.static import static
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from linli.cases.models import OPEN_STATUSES, Priority, Rating, Status

register = template.Library()

STATUS_TONE = {
    Status.SUBMITTED: "new",
    Status.ACCEPTED: "new",
    Status.DISPATCHED: "active",
    Status.IN_PROGRESS: "active",
    Status.RETURNED: "alert",
    Status.SUSPENDED: "paused",
    Status.RESOLVED: "done",
    Status.REVIEWED: "done",
    Status.CLOSED: "done",
    Status.MERGED: "off",
    Status.REJECTED: "off",
}

# Events that are not workflow actions (see services).
EXTRA_EVENT_LABELS = {
    "submit": gettext_lazy("Reported"),
    "self_handle": gettext_lazy("Fixed on the spot"),
    "merged_in": gettext_lazy("A duplicate joined this case"),
    "overdue": gettext_lazy("Overdue"),
}


@register.simple_tag
def cases_stylesheet():
    return format_html('<link rel="stylesheet" href="{}">', static("cases/cases.css"))


@register.simple_tag
def status_badge(case):
    status = case.status
    return format_html(
        '<span class="status-badge status-{} tone-{}">{}</span>',
        status,
        STATUS_TONE.get(status, "off"),
        case.get_status_display(),
    )


@register.simple_tag
def priority_badge(case, always=False):
    if case.priority == Priority.NORMAL and not always:
        return ""
    return format_html('<span class="priority-badge priority-{}">{}</span>', case.priority, case.get_priority_display())


@register.simple_tag
def rating_badge(case):
    if not case.rating:
        return ""
    tone = {Rating.SATISFIED: "done", Rating.BASIC: "new", Rating.UNSATISFIED: "alert"}.get(case.rating, "off")
    return format_html('<span class="status-badge tone-{}">{}</span>', tone, case.get_rating_display())


def _state(case, now: dt.datetime | None = None) -> str:
    if case.status == Status.SUSPENDED:
        return "suspended"
    if case.status not in OPEN_STATUSES:
        return "done"
    if case.resolve_due is None:
        return "ok"
    return case.due_state(now)


@register.filter
def due_state(case) -> str:
    return _state(case)


def duration_text(seconds: float) -> str:
    """3 days 4 hours · 5 hours 20 minutes · 12 minutes: two units at most, rounded down."""
    minutes = max(int(seconds // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours and len(parts) < 2:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if not days and (mins or not parts):
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", mins) % {"n": mins})
    # Chinese joins the parts without a space ("2天3小时"), English with one.
    return _("%(first)s %(second)s") % {"first": parts[0], "second": parts[1]} if len(parts) > 1 else parts[0]


@register.filter
def countdown(case, now: dt.datetime | None = None) -> str:
    state = _state(case, now)
    if state == "suspended":
        return _("suspended — the clock is stopped")
    if state == "done" or case.resolve_due is None:
        return ""
    left = (case.resolve_due - (now or timezone.now())).total_seconds()
    if left < 0:
        return _("overdue by %(time)s") % {"time": duration_text(-left)}
    return _("%(time)s left") % {"time": duration_text(left)}


@register.inclusion_tag("cases/_countdown.html")
def due_badge(case, show_due: bool = False):
    state = _state(case)
    return {
        "case": case,
        "state": state,
        "text": countdown(case),
        "show_due": show_due,
        "late": state == "done" and case.resolved_late,
    }


@register.filter
def event_label(event) -> str:
    from linli.cases.workflow import ACTIONS

    spec = ACTIONS.get(event.action)
    if spec is not None:
        return str(spec.label)
    extra = EXTRA_EVENT_LABELS.get(event.action)
    return str(extra) if extra else event.action


@register.filter
def status_label(code: str) -> str:
    try:
        return str(Status(code).label)
    except ValueError:
        return code


EVENT_TONE = {
    "resolve": "done",
    "self_handle": "done",
    "close": "done",
    "rate": "done",
    "return": "alert",
    "escalate": "alert",
    "overdue": "alert",
    "reject": "alert",
    "reopen": "alert",
}


@register.filter
def event_tone(event) -> str:
    """done | alert | system | step: the colour of the event's dot on the timeline."""
    if event.action in EVENT_TONE:
        return EVENT_TONE[event.action]
    return "system" if event.actor_id is None else "step"


@register.filter
def event_details(event) -> list[str]:
    """What an event's data says, as short lines: category and priority changes, rating, call-back outcome."""
    data = event.data or {}
    lines = []
    if isinstance(data.get("priority"), list) and len(data["priority"]) == 2:
        old, new = (_label(Priority, p) for p in data["priority"])
        lines.append(_("Priority: %(old)s → %(new)s") % {"old": old, "new": new})
    if isinstance(data.get("category"), list) and len(data["category"]) == 2:
        lines.append(_("Category: %(old)s → %(new)s") % {"old": data["category"][0] or "—", "new": data["category"][1]})
    if data.get("overrode_proposal"):
        lines.append(_("The proposed unit was overridden."))
    if data.get("from_unit"):
        lines.append(_("From: %(unit)s") % {"unit": data["from_unit"]})
    if data.get("assists"):
        lines.append(_("Assisting units: %(names)s") % {"names": ", ".join(data["assists"])})
    if data.get("rating"):
        lines.append(_("Rating: %(rating)s") % {"rating": _label(Rating, data["rating"])})
    if data.get("reopened"):
        lines.append(_("The reporter was unsatisfied: the case was reopened."))
    if data.get("reached") is False:
        lines.append(_("Call-back: nobody answered."))
    if data.get("paused_minutes"):
        lines.append(_("Clock stopped for %(n)s working minutes.") % {"n": data["paused_minutes"]})
    if data.get("automatic"):
        lines.append(_("Automatic, by the deadline sweep."))
    return lines


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)
