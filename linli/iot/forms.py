"""Forms of the device registry and the rules editor. They parse input; provision.py and rules.py validate
and write."""

from __future__ import annotations

import json
from typing import cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.cases.models import HandlingUnit
from linli.dispatch.services import masked_name
from linli.iot.models import AlarmType, Device, DeviceKind, Rule, Severity
from linli.iot.provision import check_code, residents_of
from linli.people.forms import HouseCodeField, house_in_scope
from linli.people.selectors import resident_search_q
from linli.places.models import Area, Estate

ONLINE_CHOICES = [("", _("any")), ("online", _("online")), ("offline", _("offline"))]
LOW_BATTERY = 20


class DeviceFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": _("Device code or resident name"), "type": "search"}),
    )
    kind = forms.ChoiceField(label=_("Type"), required=False, choices=[("", _("any"))] + list(DeviceKind.choices))
    online = forms.ChoiceField(label=_("Status"), required=False, choices=ONLINE_CHOICES)
    low_battery = forms.BooleanField(label=_("Low battery"), required=False)
    area = forms.ModelChoiceField(label=_("Area"), queryset=Area.objects.none(), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["area"]).queryset = (
            Area.objects.for_user(user).filter(level__in=["street", "community", "grid"]).order_by("code")
        )


def resident_label(resident, sees_names: bool) -> str:
    """The cared-for resident's name, masked (张**) for roles that may not reveal personal data: a property
    company maintains devices and does not need to know who wears them."""
    if resident is None:
        return ""
    return resident.name if sees_names else masked_name(resident.name)


def maintainer_choices(user):
    """The units that may maintain the user's devices: the active units working in the areas where the user
    manages devices, or above them (a district's vendor contract), and those serving the user's estates."""
    units = HandlingUnit.objects.filter(active=True).order_by("name")
    scope = user.scope_for("iot.manage")
    if scope.all:
        return units
    chain: set[int] = set()
    levels = ("city_id", "district_id", "street_id", "community_id")
    for row in Area.objects.filter(pk__in=scope.area_ids()).values_list("pk", *levels):
        chain.update(i for i in row if i)
    for row in Estate.objects.filter(pk__in=scope.estate_ids).values_list(*levels):
        chain.update(i for i in row if i)
    below = Q()
    for level in ("city", "district", "street", "community"):
        if ids := getattr(scope, f"{level}_ids"):
            below |= Q(**{f"area__{level}_id__in": ids})
    return units.filter(Q(area_id__in=chain) | below | Q(estates__in=scope.estate_ids)).distinct()


class DeviceForm(forms.Form):
    """One device. The house must be in the user's area; the resident must live there; the gateway is a code."""

    code = forms.CharField(label=_("Device code"), max_length=64)
    kind = forms.ChoiceField(label=_("Type"), choices=DeviceKind.choices)
    name = forms.CharField(
        label=_("Device name"),
        max_length=100,
        required=False,
        help_text=_("Optional, e.g. kitchen smoke detector."),
    )
    model = forms.CharField(label=_("Model"), max_length=100, required=False)
    house_code = HouseCodeField(
        required=False,
        help_text=_("Type part of the address (estate, building, room such as 2-402) or of the house code, then pick."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "data-house-picker": ""}),
    )
    grid = forms.ModelChoiceField(
        label=_("Grid"),
        queryset=Area.objects.none(),
        required=False,
        help_text=_("Only for a device in a public place (no house): the grid it stands in."),
    )
    resident = forms.CharField(
        label=_("Cared-for resident"),
        max_length=50,
        required=False,
        help_text=_("Name or ID number of a resident registered at the house."),
    )
    gateway_code = forms.CharField(label=_("Gateway code"), max_length=64, required=False)
    location = forms.CharField(label=_("Where it is"), max_length=100, required=False)
    installed_on = forms.DateField(
        label=_("Installed on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    maintainer = forms.ModelChoiceField(
        label=_("Maintained by"),
        queryset=HandlingUnit.objects.none(),
        required=False,
        empty_label=_("— the property company of its estate —"),
        help_text=_("The unit that repairs this device, such as the vendor's maintenance company."),
    )
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def __init__(self, *args, user, device: Device | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.device = user, device
        cast(forms.ModelChoiceField, self.fields["maintainer"]).queryset = maintainer_choices(user)
        cast(forms.ModelChoiceField, self.fields["grid"]).queryset = (
            Area.objects.for_user(user).filter(level="grid").order_by("code")
        )
        if device is not None:
            self.fields["code"].disabled = True
            if device.house is not None:
                self.fields["house_code"].widget.attrs["data-picked"] = str(device.house)
        # Roles that may not see residents' names see the bound resident masked (张**); sent back unchanged,
        # the masked name keeps the binding. A name or ID number typed over it binds as on a new device.
        self.masked_resident = ""
        if device is not None and device.resident is not None and not user.has_linli_perm("people.reveal"):
            self.masked_resident = masked_name(device.resident.name)
            self.fields["resident"].help_text = _(
                "Shown masked. Leave it to keep the resident, clear it to unbind, or type a name or ID number."
            )

    def clean_code(self):
        code = self.cleaned_data["code"]
        if self.device is not None:
            return self.device.code
        try:
            code = check_code(code)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        if Device.objects.filter(code=code).exists():
            raise ValidationError(_("A device with this code is already registered."))
        return code

    def clean(self):
        data = super().clean()
        self.house = None
        code = data.get("house_code")
        if code:
            self.house = house_in_scope(self.user, code)
            if self.house is None:
                self.add_error("house_code", _("No house with this code in your area."))
        elif not data.get("grid") and not self.errors:
            self.add_error("house_code", _("Give the house, or the grid for a device in a public place."))
        self.resident = None
        who = (data.get("resident") or "").strip()
        if self.masked_resident and who == self.masked_resident and self.device is not None:
            self.resident = self.device.resident  # provision checks that they still live at the house
        elif who:
            if self.house is None:
                self.add_error("resident", _("A cared-for resident needs the house code of their home."))
            else:
                found = list(residents_of(self.house).filter(resident_search_q(who))[:2])
                if len(found) == 1:
                    self.resident = found[0]
                elif found:
                    self.add_error("resident", _("Several residents at the house have this name; give the ID number."))
                else:
                    self.add_error("resident", _("No resident with this name or ID number is registered at the house."))
        self.gateway = None
        gw = (data.get("gateway_code") or "").strip()
        if gw:
            self.gateway = Device.objects.for_user(self.user, "manage").filter(code=gw, kind=DeviceKind.GATEWAY).first()
            if self.gateway is None:
                self.add_error("gateway_code", _("No gateway with this code in your area."))
        return data

    def device_fields(self) -> dict:
        d = self.cleaned_data
        return {
            "kind": d["kind"],
            "name": d["name"],
            "model": d["model"],
            "house": self.house,
            "grid": self.house.grid if self.house else d["grid"],
            "resident": self.resident,
            "gateway": self.gateway,
            "location": d["location"],
            "installed_on": d["installed_on"],
            "maintainer": d["maintainer"],
            "active": d["active"],
        }

    @staticmethod
    def initial_for(device: Device, user=None) -> dict:
        resident = resident_label(device.resident, user is None or user.has_linli_perm("people.reveal"))
        return {
            "code": device.code,
            "kind": device.kind,
            "name": device.name,
            "model": device.model,
            "house_code": device.house.code if device.house else "",
            "grid": device.grid_id if not device.house_id else None,
            "resident": resident,
            "gateway_code": device.gateway.code if device.gateway else "",
            "location": device.location,
            "installed_on": device.installed_on,
            "maintainer": device.maintainer_id,
            "active": device.active,
        }


class RuleForm(forms.Form):
    """A rule's severity, parameters (JSON) and switch. Parameters are checked by the rule engine."""

    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    params = forms.CharField(
        label=_("Parameters (JSON)"),
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
        help_text=_('e.g. {"min": 40, "max": 140, "for_seconds": 60} for a threshold.'),
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def clean_params(self):
        raw = self.cleaned_data["params"]
        try:
            value = json.loads(raw)
        except ValueError:
            raise ValidationError(_("Not valid JSON: check quotes, commas and braces.")) from None
        if not isinstance(value, dict):
            raise ValidationError(_('Give the parameters as a JSON object, e.g. {"below": 20}.'))
        return value


# one example of the parameters of each rule kind, shown under the parameters box (the rule engine checks them)
PARAM_EXAMPLES: dict[str, dict] = {
    Rule.Kind.EVENT: {"event": "sos"},
    Rule.Kind.THRESHOLD: {"value": "heart_rate", "min": 40, "max": 140, "for_seconds": 60},
    Rule.Kind.INACTIVITY: {"hours": 12, "night_hours": 16, "night": "22:00-07:00"},
    Rule.Kind.METER_IDLE: {"value": "water_total", "hours": 24},
    Rule.Kind.OFFLINE: {"minutes": 60},
    Rule.Kind.LOW_BATTERY: {"below": 20},
}


def params_example(kind: str) -> str:
    return json.dumps(PARAM_EXAMPLES.get(kind, {}), ensure_ascii=False)


class OverrideForm(RuleForm):
    """A device's own version of one of its type's rules: which device, rule and alarm first, then the rule."""

    device_code = forms.CharField(label=_("Device code"), max_length=64)
    kind = forms.ChoiceField(label=_("Rule"), choices=Rule.Kind.choices)
    alarm_type = forms.ChoiceField(label=_("Alarm"), choices=AlarmType.choices)

    field_order = ["device_code", "kind", "alarm_type", "severity", "params", "enabled", "note"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        kind = self.data.get("kind") if self.is_bound else self.initial.get("kind")
        kind = kind if kind in PARAM_EXAMPLES else Rule.Kind.EVENT
        self.fields["params"].help_text = _("e.g. %(example)s for this rule.") % {"example": params_example(kind)}
        self.fields["kind"].widget.attrs["data-param-examples"] = json.dumps(
            {str(k): params_example(k) for k in PARAM_EXAMPLES}, ensure_ascii=False
        )

    def clean_device_code(self):
        code = self.cleaned_data["device_code"].strip()
        self.device = Device.objects.for_user(self.user, "manage").filter(code=code).first()
        if self.device is None:
            raise ValidationError(_("No device with this code in your area."))
        return code


class RulesImportForm(forms.Form):
    file = forms.FileField(label=_("Rules file (.json)"), widget=forms.ClearableFileInput(attrs={"accept": ".json"}))

    MAX_BYTES = 1024 * 1024

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise ValidationError(_("The rules file is larger than 1 MB; it cannot be a rules export."))
        try:
            return json.loads(upload.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ValidationError(_("This file is not a JSON rules export.")) from None
