"""The rule engine (pure) with property tests; parameter validation; export and import."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from linli.iot import rules
from linli.iot.models import Rule

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def threshold(low=40, high=140, hold=60) -> Rule:
    return Rule(
        device_kind="bracelet",
        kind="threshold",
        alarm_type="heart_rate",
        severity="major",
        params={"value": "heart_rate", "min": low, "max": high, "for_seconds": hold},
    )


def run(rule: Rule, readings: list[tuple[float, float]]) -> list[str]:
    state: dict = {}
    out = []
    for seconds, value in readings:
        for d in rules.evaluate([rule], state, at=T0 + dt.timedelta(seconds=seconds), values={"heart_rate": value}):
            out.append(d.action)
    return out


def test_threshold_must_hold_for_the_duration():
    r = threshold()
    assert run(r, [(0, 150), (30, 150), (59, 150)]) == []
    assert run(r, [(0, 150), (30, 150), (60, 150), (90, 150)]) == ["raise"]
    assert run(r, [(0, 150), (30, 80), (60, 150), (100, 150)]) == []  # the dip restarts the clock
    assert run(r, [(0, 30), (61, 30), (70, 90)]) == ["raise", "clear"]
    assert run(r, [(0, 30), (20, 90)]) == []  # never raised: nothing to clear


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.sampled_from([20, 39, 40, 80, 140, 141, 200])), max_size=40),
    st.integers(0, 90),
)
def test_threshold_properties(steps, hold):
    """Raises and clears alternate, starting with a raise; a raise happens exactly when out of range has held
    for `hold` seconds since the first out-of-range reading of the episode."""
    r = threshold(hold=hold)
    t, readings = 0, []
    for gap, value in steps:
        t += gap
        readings.append((t, value))
    actions = run(r, readings)
    assert all(a != b for a, b in zip(actions, actions[1:], strict=False))
    assert not actions or actions[0] == "raise"
    # reference model
    expected, since, raised = [], None, False
    for at, v in readings:
        if v < 40 or v > 140:
            since = at if since is None else since
            if not raised and at - since >= hold:
                raised = True
                expected.append("raise")
        else:
            if raised:
                expected.append("clear")
            since, raised = None, False
    assert actions == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["sos", "fall", "heartbeat", None]), max_size=30))
def test_events_raise_each_time(events):
    rule = Rule(kind="event", alarm_type="sos", severity="critical", params={"event": "sos"})
    state: dict = {}
    n = sum(len(rules.evaluate([rule], state, at=T0, event=e)) for e in events)
    assert n == events.count("sos")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 100), max_size=30))
def test_battery_raises_once_per_episode(levels):
    rule = Rule(kind="low_battery", alarm_type="low_battery", severity="warning", params={"below": 20})
    state: dict = {}
    actions = [d.action for b in levels for d in rules.evaluate([rule], state, at=T0, battery=b)]
    assert all(a != b for a, b in zip(actions, actions[1:], strict=False))
    # an episode starts below 20 and ends at 20 + the margin: readings in between change nothing
    episodes, low = 0, False
    for b in levels:
        if b < 20 and not low:
            episodes, low = episodes + 1, True
        elif b >= 20 + rules.BATTERY_CLEAR_MARGIN:
            low = False
    assert actions.count("raise") == episodes


def test_battery_clears_only_above_the_margin():
    rule = Rule(kind="low_battery", alarm_type="low_battery", severity="warning", params={"below": 20})
    state: dict = {}
    steps = [(19, ["raise"]), (20, []), (19, []), (24, []), (18, []), (25, ["clear"]), (19, ["raise"])]
    for battery, expected in steps:
        assert [d.action for d in rules.evaluate([rule], state, at=T0, battery=battery)] == expected, battery


def test_offline_clears_on_a_message_but_not_on_one_saying_offline():
    # the periodic job raised it (state marked); the broker's last will "online: false" is no sign of life
    rule = Rule(kind="offline", alarm_type="offline", severity="minor", params={"minutes": 30})
    state = {rules.rule_key(rule): True}
    assert rules.evaluate([rule], state, at=T0, online=False) == []
    assert [d.action for d in rules.evaluate([rule], state, at=T0, online=True)] == ["clear"]
    state = {rules.rule_key(rule): True}
    assert [d.action for d in rules.evaluate([rule], state, at=T0, values={"heart_rate": 70})] == ["clear"]


def test_inactivity_day_and_night():
    rule = Rule(kind="inactivity", params={"hours": 12, "night_hours": 16, "night": "22:00-07:00"})
    state: dict = {}
    rules.evaluate([rule], state, at=T0, event="motion")
    noon = T0 + dt.timedelta(hours=13)
    assert rules.inactivity_due(rule, state, noon, noon.replace(hour=13), T0)
    night = T0 + dt.timedelta(hours=13)
    assert not rules.inactivity_due(rule, state, night, night.replace(hour=23), T0)
    assert rules.in_night(T0.replace(hour=3), "22:00-07:00") and not rules.in_night(T0.replace(hour=8), "22:00-07:00")
    rules.mark(rule, state)
    assert not rules.inactivity_due(rule, state, noon, noon.replace(hour=13), T0)  # raised once
    rules.evaluate([rule], state, at=noon, values={"motion": True})
    assert state["active_at"] == noon.isoformat() and rules.rule_key(rule) not in state


def test_meter_idle():
    rule = Rule(kind="meter_idle", params={"value": "water_total", "hours": 24})
    state: dict = {}
    rules.evaluate([rule], state, at=T0, values={"water_total": 10.5})
    rules.evaluate([rule], state, at=T0 + dt.timedelta(hours=20), values={"water_total": 10.5})
    assert not rules.meter_idle_due(rule, state, T0 + dt.timedelta(hours=23))
    assert rules.meter_idle_due(rule, state, T0 + dt.timedelta(hours=25))
    rules.evaluate([rule], state, at=T0 + dt.timedelta(hours=25), values={"water_total": 10.7})
    assert not rules.meter_idle_due(rule, state, T0 + dt.timedelta(hours=26))


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("event", {}),
        ("event", {"event": "a b"}),
        ("threshold", {"value": "hr", "min": 100, "max": 50, "for_seconds": 1}),
        ("threshold", {"value": "hr", "for_seconds": 1}),
        ("threshold", {"value": "hr", "min": "x", "for_seconds": 1}),
        ("inactivity", {"hours": 0}),
        ("inactivity", {"hours": 12, "night": "late"}),
        ("offline", {"minutes": True}),
        ("low_battery", {"below": 150}),
        ("low_battery", {"below": 20, "colour": "red"}),
        ("meter_idle", {"hours": 24}),
        ("nonsense", {}),
    ],
)
def test_bad_params_are_refused(kind, params):
    with pytest.raises(ValidationError) as e:
        rules.validate_params(kind, params)
    assert e.value.message_dict


def test_default_params_are_valid():
    from linli.iot.defaults import DEFAULT_RULES

    for _dk, kind, _at, _sev, params in DEFAULT_RULES:
        assert rules.validate_params(kind, params) == params


def test_override_replaces_the_type_rule(iot):
    Rule.objects.create(
        device_kind="bracelet", device=iot.bracelet, kind="offline", alarm_type="offline", params={"minutes": 5}
    )
    rs = rules.RuleSet()
    mine = {r.kind: r for r in rs.for_device(iot.bracelet)}
    other = {r.kind: r for r in rs.for_device(iot.bracelet_b)}
    assert mine["offline"].params == {"minutes": 5} and other["offline"].params == {"minutes": 30}


def test_export_import_round_trip_and_all_or_nothing(iot):
    admin = iot.world.users["admin"]
    Rule.objects.create(
        device_kind="bracelet", device=iot.bracelet, kind="low_battery", alarm_type="low_battery", params={"below": 30}
    )
    data = rules.export_rules()
    assert any(r["device"] == "BR-1" for r in data["rules"])
    assert rules.import_rules(admin, data)["unchanged"] == len(data["rules"])
    row = next(r for r in data["rules"] if r["device"] == "BR-1")
    row["params"] = {"below": 25}
    bad = {
        **data,
        "rules": [
            *data["rules"],
            {
                "device_kind": "bracelet",
                "kind": "offline",
                "alarm_type": "offline",
                "params": {"minutes": -1},
                "device": "BR-1",
            },
            {"device_kind": "smoke", "kind": "event", "alarm_type": "smoke", "device": "NOPE"},
        ],
    }
    with pytest.raises(ValidationError) as e:
        rules.import_rules(admin, bad)
    assert len(e.value.message_dict["rows"]) == 2
    assert Rule.objects.get(device=iot.bracelet).params == {"below": 30}  # nothing written
    assert rules.import_rules(admin, data) == {"created": 0, "updated": 1, "unchanged": len(data["rules"]) - 1}
    assert Rule.objects.get(device=iot.bracelet).params == {"below": 25}
    with pytest.raises(ValidationError):
        rules.import_rules(admin, {"rules": []})
    with pytest.raises(PermissionDenied):
        rules.import_rules(iot.world.users["resident"], data)


def test_import_cannot_touch_a_device_outside_the_area(iot):
    data = {
        "format": "linli-rules",
        "version": 1,
        "rules": [
            {
                "device_kind": "bracelet",
                "device": "BR-B",
                "kind": "offline",
                "alarm_type": "offline",
                "params": {"minutes": 5},
            }
        ],
    }
    with pytest.raises(ValidationError):
        rules.import_rules(iot.world.users["property"], data)


def test_save_rule_checks_permission_area_and_params(iot):
    from django.http import Http404

    admin, prop = iot.world.users["admin"], iot.world.users["property"]
    rule = Rule(
        device_kind="bracelet", device=iot.bracelet_b, kind="offline", alarm_type="offline", params={"minutes": 5}
    )
    with pytest.raises(Http404):
        rules.save_rule(prop, rule)  # B1-1 is not the property company's estate
    with pytest.raises(PermissionDenied):
        rules.save_rule(prop, Rule.objects.get(device__isnull=True, device_kind="smoke", kind="offline"))
    bad = Rule(device_kind="bracelet", device=iot.bracelet, kind="offline", alarm_type="offline", params={"minutes": 0})
    with pytest.raises(ValidationError) as e:
        rules.save_rule(admin, bad)
    assert "params" in e.value.message_dict
    saved = rules.save_rule(admin, rule)
    assert saved.pk and rules.RuleSet().for_device(iot.bracelet_b)
    dup = Rule(
        device_kind="bracelet", device=iot.bracelet_b, kind="offline", alarm_type="offline", params={"minutes": 9}
    )
    with pytest.raises(ValidationError):
        rules.save_rule(admin, dup)
