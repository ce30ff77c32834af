"""Property tests: no sequence of actions, by anyone, leaves a case in an invalid state, loses its history
or its clock. Refused actions change nothing."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from linli.cases import services, workflow
from linli.cases.models import OPEN_STATUSES, CaseEvent, Status, WorkOrder
from linli.cases.tests.helpers import open_case

pytestmark = pytest.mark.django_db

ACTORS = ["resident", "community", "grid", "street", "handler", "property", "community_b", "nobody"]
UNITS = ["a1-community", "a-urban", "p1-property", "a1-community", "b1-community"]


def _kwargs(action: str, data, world) -> dict:
    note = data.draw(st.sampled_from(["处理说明", "原因：不属于本单位", "处理说明", ""]), label="note")
    if action in ("dispatch", "reassign"):
        unit = world.units[data.draw(st.sampled_from(UNITS), label="unit")]
        kw = {"unit": unit, "note": note}
        if action == "dispatch" and data.draw(st.booleans(), label="assist"):
            kw["assists"] = [(world.units["a-urban"], "协助")]
        return kw
    if action in ("rate", "callback"):
        rating = data.draw(st.sampled_from(["satisfied", "basic", "unsatisfied", "satisfied", "bogus"]), label="rating")
        kw = {"rating": rating, "comment": note}
        if action == "callback":
            kw["reached"] = data.draw(st.booleans(), label="reached")
        return kw
    if action == "merge":
        return {"into": data.draw(st.sampled_from([None, "other", "self"]), label="into"), "note": note}
    return {"note": note}


RARE = {"reject", "merge", "comment"}
MEMBERS = {"a1-community": "grid", "a-urban": "handler", "p1-property": "property", "b1-community": "community_b"}


def _likely_actor(action: str, case: WorkOrder) -> str:
    if action in ("start", "return", "progress", "request_suspend", "resolve", "escalate"):
        return MEMBERS.get(case.lead_unit.code if case.lead_unit else "", "grid")
    if action == "assist_done":
        return "handler"
    if action == "rate":
        return "resident"
    return "community"


class CaseLifecycle(RuleBasedStateMachine):
    world = None  # set by the test

    @initialize()
    def report(self):
        self.case = open_case(self.world)
        self.other = open_case(self.world)
        self.events = 1
        self.version = self.case.version

    @rule(data=st.data())
    def act(self, data):
        w = self.world
        case = WorkOrder.objects.select_related("lead_unit").get(pk=self.case.pk)
        # mostly plausible moves (an allowed action by the person who would do it), sometimes anything
        plausible = data.draw(st.integers(0, 4), label="plausible") > 0
        choices = [a.code for a in workflow.allowed(case.status)] if plausible else sorted(workflow.ACTIONS)
        if plausible and len(choices) > 2:  # ending or idle moves less often, so long lives get explored
            choices = [c for c in choices if c not in RARE] or choices
            if data.draw(st.integers(0, 9), label="rare") == 0:
                choices = (
                    [c for c in workflow.allowed(case.status) if c.code in RARE]
                    and [a.code for a in workflow.allowed(case.status) if a.code in RARE]
                    or choices
                )
        action = data.draw(st.sampled_from(choices or sorted(workflow.ACTIONS)), label="action")
        who = _likely_actor(action, case) if plausible else data.draw(st.sampled_from(ACTORS), label="actor")
        actor = w.users[who]
        kw = _kwargs(action, data, w)
        if action == "merge":
            kw["into"] = {None: None, "other": self.other.pk, "self": self.case.pk}[kw["into"]]
        use_stale = data.draw(st.integers(0, 9), label="stale") == 0
        expected = self.version - 1 if use_stale else self.version
        before = WorkOrder.objects.get(pk=self.case.pk)
        try:
            services.act(actor, self.case.pk, action, expected_version=expected, **kw)
        except (
            workflow.TransitionError,
            ValidationError,
            PermissionDenied,
            Http404,
            services.ConflictError,
        ):
            after = WorkOrder.objects.get(pk=self.case.pk)
            assert after.version == before.version and after.status == before.status
            assert CaseEvent.objects.filter(work_order_id=self.case.pk).count() == self.events
            return
        assert not use_stale, "a stale version must never win"
        if os.environ.get("LINLI_SHOW_ACTIONS"):
            print("OK", action, WorkOrder.objects.get(pk=self.case.pk).status)
        self.events += 1
        self.version += 1

    @invariant()
    def consistent(self):
        if not hasattr(self, "case"):
            return
        case = WorkOrder.objects.get(pk=self.case.pk)
        assert case.status in Status.values
        assert case.version == self.version
        assert CaseEvent.objects.filter(work_order_id=case.pk).count() == self.events
        last = CaseEvent.objects.filter(work_order_id=case.pk).order_by("-at", "-pk").first()
        assert last.to_status == case.status
        # the clock
        assert case.response_due is not None and case.resolve_due is not None
        assert case.resolve_due >= case.submitted_at
        if case.status in OPEN_STATUSES:
            assert case.closed_at is None
        if case.status == Status.SUSPENDED:
            assert case.suspended_at is not None and case.suspended_from
        else:
            assert case.suspended_at is None
        if case.status in (Status.DISPATCHED, Status.IN_PROGRESS):
            assert case.lead_unit_id is not None and case.dispatched_at is not None
        if case.status == Status.IN_PROGRESS:
            assert case.started_at is not None
        if case.status in (Status.RESOLVED, Status.REVIEWED, Status.CLOSED):
            assert case.resolved_at is not None and case.resolution
        if case.status in (Status.REVIEWED,):
            assert case.rating in ("satisfied", "basic")
        if case.status in (Status.CLOSED, Status.MERGED, Status.REJECTED):
            assert case.closed_at is not None
        if case.status == Status.MERGED:
            assert case.merged_into_id == self.other.pk
        assert case.paused_minutes >= 0


def test_no_sequence_of_actions_breaks_a_case(world):
    CaseLifecycle.world = world
    run_state_machine_as_test(
        CaseLifecycle,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_a_reached_callback_needs_a_rating(world):
    """Found by reading the machine: a call-back that reached the reporter must say how they rated."""
    case = open_case(world)
    services.act(world.users["community"], case.pk, "dispatch", unit=world.units["a1-community"])
    services.act(world.users["grid"], case.pk, "start")
    services.act(world.users["grid"], case.pk, "resolve", note="已处理")
    with pytest.raises(ValidationError):
        services.act(world.users["community"], case.pk, "callback", reached=True, rating="")
    assert WorkOrder.objects.get(pk=case.pk).status == Status.RESOLVED
    assert dt.datetime.now() is not None
