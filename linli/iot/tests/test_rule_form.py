"""The override form on the rules page: which device, rule and alarm first; a refused override comes back
with its input and the reason next to the field, not as a flash at the top of the page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from linli.iot import provision
from linli.iot.forms import OverrideForm, params_example
from linli.iot.models import Device, DeviceKind, Rule

pytestmark = pytest.mark.django_db

RULES = reverse("iot:rules")
OVERRIDE = reverse("iot:rule-override")


def _device(world, code: str, kind=DeviceKind.BRACELET, house: str = "A1-1/101") -> Device:
    return provision.create_device(
        None, code=code, kind=kind, house=world.houses[house], resident=world.residents.get(house)
    )


def _english(world, user: str) -> None:
    type(world.users[user]).objects.filter(pk=world.users[user].pk).update(language="en")


def _field_names(body: str) -> list[str]:
    form = body[body.index('id="override"') :]
    form = form[: form.index("</form>")]
    return [n for n in re.findall(r'name="(\w+)"', form) if n != "csrfmiddlewaretoken"]


def test_fields_come_device_rule_alarm_then_the_rule(world, client_for):
    order = ["device_code", "kind", "alarm_type", "severity", "params", "enabled", "note"]
    assert list(OverrideForm(user=world.users["property"]).fields) == order
    r = client_for("property").get(RULES)
    assert r.status_code == 200
    assert _field_names(r.content.decode()) == order
    assert '<details class="card" id="override">' in r.content.decode()  # closed until needed


def test_refused_life_safety_override_keeps_the_input_and_shows_the_reason_by_the_form(world, client_for):
    _english(world, "property")
    _device(world, "BR-P")
    sos = {
        "device_code": "BR-P",
        "kind": "event",
        "alarm_type": "sos",
        "severity": "minor",
        "params": '{"event": "sos"}',
        "note": "老人嫌吵",
    }
    r = client_for("property").post(OVERRIDE, sos)
    assert r.status_code == 400
    assert not Rule.objects.filter(device__code="BR-P").exists()
    body = r.content.decode()
    form = body[body.index('id="override"') :]
    assert form.startswith('id="override" open>')
    assert "The override was not saved" in form
    assert 'id="id_alarm_type_error"' in form and "Only platform administrators change life-safety rules" in form
    assert 'value="BR-P"' in form and "老人嫌吵" in form and "{&quot;event&quot;: &quot;sos&quot;}" in form
    assert '<option value="minor" selected>' in form
    assert f'action="{OVERRIDE}#override"' in body  # the browser scrolls back to the form


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"params": "{below: 30"}, "params"),  # not JSON
        ({"params": "[30]"}, "params"),  # not an object
        ({"params": '{"below": 300}'}, "params"),  # the rule engine refuses it
        ({"device_code": "NOPE-1"}, "device_code"),  # no such device
        ({"device_code": "BR-B"}, "device_code"),  # another street's device
        ({"kind": "bogus"}, "kind"),
        ({"severity": ""}, "severity"),
    ],
)
def test_bad_input_comes_back_bound_with_the_error_on_its_field(world, client_for, change, field):
    _english(world, "property")
    _device(world, "BR-P")
    _device(world, "BR-B", house="B1-1/101")
    battery = {
        "device_code": "BR-P",
        "kind": "low_battery",
        "alarm_type": "low_battery",
        "severity": "warning",
        "params": '{"below": 30}',
        "enabled": "on",
    }
    r = client_for("property").post(OVERRIDE, {**battery, **change})
    assert r.status_code == 400
    assert not Rule.objects.filter(device__isnull=False).exists()
    assert r.context["override_form"].errors.keys() == {field}
    assert f'id="id_{field}_error"' in r.content.decode()


def test_a_good_override_saves_and_redirects(world, client_for):
    d = _device(world, "BR-P")
    data = {
        "device_code": "BR-P",
        "kind": "low_battery",
        "alarm_type": "low_battery",
        "severity": "warning",
        "params": '{"below": 30}',
        "enabled": "on",
    }
    r = client_for("property").post(OVERRIDE, data)
    assert r.status_code == 302 and r["Location"] == RULES
    assert Rule.objects.get(device=d).params == {"below": 30}


def test_params_help_shows_the_example_of_the_chosen_kind(world, client_for):
    _english(world, "property")
    unbound = OverrideForm(user=world.users["property"])
    assert params_example("event") in str(unbound.fields["params"].help_text)
    bound = OverrideForm({"kind": "low_battery"}, user=world.users["property"])
    assert '{"below": 20}' in str(bound.fields["params"].help_text)
    odd = OverrideForm({"kind": "<b>"}, user=world.users["property"])
    assert params_example("event") in str(odd.fields["params"].help_text)
    body = client_for("property").get(RULES).content.decode()
    assert "data-param-examples=" in body and "heart_rate" in body


def test_only_device_managers_post_overrides(world, client_for):
    _device(world, "BR-P")
    data = {"device_code": "BR-P", "kind": "low_battery", "alarm_type": "low_battery", "severity": "warning"}
    assert client_for("resident").post(OVERRIDE, {**data, "params": '{"below": 30}'}).status_code == 403
    assert client_for("property").get(OVERRIDE).status_code == 405
