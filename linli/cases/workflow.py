"""The work-order state machine: which action may move a case from which state, and to where.

    submitted → accepted (受理) → dispatched (派单) → in_progress (办理) → resolved (办结) → reviewed (回访) → closed
    with: returned (退单), reassigned (改派), escalated (上报), suspended (挂起) and resumed, co-handling
    (多方联动), merged as a duplicate, not accepted (不予受理), and reopened when the reporter is unsatisfied.

Services ask `check(case, action)` before they change anything; it raises `TransitionError` with a
reason a person can read. Nothing else decides what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from linli.cases.models import FINISHED_STATUSES, OPEN_STATUSES, Status

HANDLED = FINISHED_STATUSES
TERMINAL = (Status.CLOSED, Status.MERGED, Status.REJECTED)


class TransitionError(Exception):
    """The action is not allowed in the case's current state; `str()` says why."""


@dataclass(frozen=True)
class Action:
    code: str
    label: object  # lazy translation
    sources: tuple[str, ...]
    target: str | None  # None: the status does not change (or is decided by the action)
    permission: str


_S = Status
ACTIONS: dict[str, Action] = {
    a.code: a
    for a in (
        Action("accept", _("Accept"), (_S.SUBMITTED,), _S.ACCEPTED, "cases.intake"),
        Action("reject", _("Do not accept"), (_S.SUBMITTED, _S.ACCEPTED), _S.REJECTED, "cases.intake"),
        Action("dispatch", _("Dispatch"), (_S.SUBMITTED, _S.ACCEPTED, _S.RETURNED), _S.DISPATCHED, "cases.dispatch"),
        Action("reassign", _("Reassign"), (_S.DISPATCHED, _S.IN_PROGRESS), _S.DISPATCHED, "cases.dispatch"),
        Action("start", _("Start handling"), (_S.DISPATCHED,), _S.IN_PROGRESS, "cases.handle"),
        Action("return", _("Return to dispatcher"), (_S.DISPATCHED, _S.IN_PROGRESS), _S.RETURNED, "cases.handle"),
        Action("progress", _("Add progress"), (_S.IN_PROGRESS,), None, "cases.handle"),
        Action("assist_done", _("Mark our part done"), (_S.DISPATCHED, _S.IN_PROGRESS), None, "cases.handle"),
        Action("request_suspend", _("Ask to suspend"), (_S.IN_PROGRESS,), None, "cases.handle"),
        Action("approve_suspend", _("Approve suspension"), (_S.IN_PROGRESS,), _S.SUSPENDED, "cases.supervise"),
        Action("deny_suspend", _("Refuse suspension"), (_S.IN_PROGRESS,), None, "cases.supervise"),
        Action("resume", _("Resume"), (_S.SUSPENDED,), None, "cases.supervise"),
        Action(
            "escalate",
            _("Escalate"),
            (_S.SUBMITTED, _S.ACCEPTED, _S.DISPATCHED, _S.IN_PROGRESS, _S.RETURNED),
            None,
            "cases.handle",
        ),
        Action("resolve", _("Resolve"), (_S.IN_PROGRESS,), _S.RESOLVED, "cases.handle"),
        Action("rate", _("Rate"), (_S.RESOLVED,), None, "cases.report"),
        Action("callback", _("Record call-back"), (_S.RESOLVED,), None, "cases.callback"),
        Action("reopen", _("Reopen"), (_S.RESOLVED, _S.REVIEWED), _S.DISPATCHED, "cases.dispatch"),
        Action("close", _("Close"), (_S.REVIEWED,), _S.CLOSED, "cases.callback"),
        Action(
            "merge", _("Merge into another case"), (_S.SUBMITTED, _S.ACCEPTED, _S.RETURNED), _S.MERGED, "cases.dispatch"
        ),
        Action(
            "comment",
            _("Add a note"),
            tuple(s for s in Status.values),
            None,
            "cases.view",
        ),
    )
}


def check(status: str, action: str) -> Action:
    """The action if it is allowed from `status`; otherwise TransitionError saying why."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise TransitionError(_("Unknown action."))
    if status not in spec.sources:
        raise TransitionError(
            _("“%(action)s” is not possible while the case is “%(status)s”.")
            % {"status": Status(status).label, "action": spec.label}
        )
    return spec


def allowed(status: str) -> list[Action]:
    return [a for a in ACTIONS.values() if status in a.sources]


def is_open(status: str) -> bool:
    return status in OPEN_STATUSES


# Open311 GeoReport maps every state to open or closed.
def open311_status(status: str) -> str:
    return "open" if status in OPEN_STATUSES else "closed"
