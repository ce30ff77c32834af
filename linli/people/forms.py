"""Forms for residents, organizations and binding requests. They parse input; services validate and write."""

from __future__ import annotations

from typing import cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from linli.accounts.services import BINDING_RELATIONS
from linli.core.codes import compact_code
from linli.people.models import CareProfile, Label, Occupancy, Organization, Resident
from linli.places.models import Area, House


def apply_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError onto the form's fields (unknown fields become form errors)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        for message in exc.messages:
            form.add_error(None, message)


class HouseCodeField(forms.CharField):
    """A house code typed as 24 digits or with dashes (120101001001-001-003-01-0502)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("House code"))
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("help_text", _("24 digits, dashes allowed, as on the door plate."))
        super().__init__(**kwargs)

    def to_python(self, value):
        return compact_code(super().to_python(value))


def house_in_scope(user, code: str, action: str = "view") -> House | None:
    return House.objects.for_user(user, action).select_related("building", "unit").filter(code=code).first()


class HouseInScopeMixin:
    """A form with a house_code field that must name a house in the user's area (sets self.house)."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_house_code(self):
        code = self.cleaned_data["house_code"]
        self.house = house_in_scope(self.user, code)
        if self.house is None:
            raise ValidationError(_("No house with this code in your area."))
        return code


class ResidentFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Name, or a full ID / phone number"), "type": "search"}),
    )
    community = forms.ModelChoiceField(label=_("Community"), queryset=Area.objects.none(), required=False)
    grid = forms.ModelChoiceField(label=_("Grid"), queryset=Area.objects.none(), required=False)
    label = forms.ModelChoiceField(label=_("Label"), queryset=Label.objects.all(), required=False)
    elderly = forms.BooleanField(label=_("Aged 60 or over"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("any"))] + list(Resident.Status.choices)
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        areas = Area.objects.for_user(user).only("id", "name", "code", "level")
        self.fields["community"].queryset = areas.filter(level="community")
        self.fields["grid"].queryset = areas.filter(level="grid")


class ResidentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50)
    id_number = forms.CharField(label=_("ID number"), max_length=18, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    ethnicity = forms.CharField(label=_("Ethnic group"), max_length=20, required=False)
    relation_to_head = forms.CharField(label=_("Relation to head of household"), max_length=20, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=Resident.Status.choices, initial=Resident.Status.ACTIVE)
    labels = forms.ModelMultipleChoiceField(
        label=_("Labels"), queryset=Label.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, resident: Resident | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.resident = resident
        if resident is None:
            self.fields["id_number"].help_text = _("Birth date and sex are read from the ID number.")
        else:
            # Never put the clear number into the page: an empty field keeps the stored one.
            for name in ("id_number", "phone"):
                masked = getattr(resident, f"{name}_masked")
                self.fields[name].help_text = (
                    _("Leave empty to keep %(masked)s.") % {"masked": masked} if masked else ""
                )

    def service_data(self) -> dict:
        data = {k: self.cleaned_data[k] for k in ("name", "ethnicity", "relation_to_head", "status", "notes")}
        for name in ("id_number", "phone"):
            value = self.cleaned_data[name].strip()
            if value or self.resident is None:
                data[name] = value
        return data


class ResidentCreateForm(HouseInScopeMixin, ResidentForm):
    house_code = HouseCodeField()
    relation = forms.ChoiceField(
        label=_("Relation to the house"), choices=Occupancy.Relation.choices, initial=Occupancy.Relation.LIVES
    )

    field_order = ["house_code", "relation", "name", "id_number", "phone"]


class RevealForm(forms.Form):
    field = forms.ChoiceField(
        choices=[("id_number", _("ID number")), ("phone", _("Phone")), ("care_profile", _("Care profile"))]
    )
    purpose = forms.CharField(label=_("Purpose"), max_length=300, required=False)


class EmergencyContactForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=50, required=False)
    relation = forms.CharField(label=_("Relation"), max_length=20, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)


class OccupancyForm(HouseInScopeMixin, forms.Form):
    house_code = HouseCodeField()
    relation = forms.ChoiceField(label=_("Relation"), choices=Occupancy.Relation.choices)
    since = forms.DateField(label=_("Since"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class OrganizationFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Name or credit code"), "type": "search"}),
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("any"))] + list(Organization.Kind.choices)
    )


class OrganizationForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=Organization.Kind.choices)
    name = forms.CharField(label=_("Name"), max_length=120)
    uscc = forms.CharField(label=_("Unified social credit code"), max_length=18, required=False)
    contact_name = forms.CharField(label=_("Contact person"), max_length=50, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    grid = forms.ModelChoiceField(label=_("Grid"), queryset=Area.objects.none(), required=False)

    def __init__(self, *args, user, org: Organization | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        cast(forms.ModelChoiceField, self.fields["grid"]).queryset = Area.objects.for_user(user).filter(level="grid")
        # Sealed.__set_name__ adds `phone_masked` at class creation, where mypy cannot see it.
        if org is not None and org.phone_masked:  # type: ignore[attr-defined]
            self.fields["phone"].help_text = _("Leave empty to keep %(masked)s.") % {"masked": org.phone_masked}  # type: ignore[attr-defined]

    def service_data(self) -> dict:
        data = {k: self.cleaned_data[k] for k in ("kind", "name", "uscc", "contact_name", "address", "grid")}
        phone = self.cleaned_data["phone"].strip()
        if phone or self.org is None:
            data["phone"] = phone
        return data


class BindingRequestForm(forms.Form):
    house_code = HouseCodeField()
    name = forms.CharField(label=_("Your name"), max_length=50, help_text=_("As on your ID card."))
    id_number = forms.CharField(label=_("Your ID number"), max_length=18)
    relation = forms.ChoiceField(label=_("You are"), choices=[(r.value, r.label) for r in BINDING_RELATIONS])


class BindingDecisionForm(forms.Form):
    id_number = forms.CharField(
        label=_("ID number from the checked ID card"),
        max_length=18,
        required=False,
        help_text=_("Needed only when the person is not registered at this house yet."),
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


def _care_text(label, name: str, help_text="", rows: int = 0) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput()
    return forms.CharField(
        label=label,
        required=False,
        max_length=CareProfile.MAX_LENGTHS[name],
        help_text=help_text,
        widget=widget,
    )


class CareProfileForm(forms.Form):
    """关爱档案. The key holder's phone is never put into the page: empty keeps the stored one."""

    conditions = _care_text(
        _("Known conditions"), "conditions", _("e.g. high blood pressure, diabetes, heart disease"), rows=2
    )
    medication = _care_text(_("Current medication"), "medication", _("Name and when it is taken."), rows=2)
    allergies = _care_text(_("Allergies"), "allergies", _("Medicines or foods; write “none known” if so."))
    mobility = forms.ChoiceField(
        label=_("Mobility"), required=False, choices=[("", _("not recorded")), *CareProfile.Mobility.choices]
    )
    hearing_cognition = _care_text(
        _("Hearing and understanding"),
        "hearing_cognition",
        _("e.g. hard of hearing, speak loudly; mild cognitive impairment"),
    )
    doctor = _care_text(_("Family doctor or clinic"), "doctor", _("Name, clinic and phone."))
    key_holder_name = forms.CharField(
        label=_("Spare key held by"),
        max_length=50,
        required=False,
        help_text=_("Leave empty if nobody holds a spare key (this also removes the phone)."),
    )
    key_holder_relation = forms.CharField(label=_("Key holder's relation"), max_length=20, required=False)
    key_holder_phone = forms.CharField(label=_("Key holder's phone"), max_length=20, required=False)
    note = _care_text(_("Note"), "note", _("Anything else a call-taker or rescuer should know."), rows=3)

    def __init__(self, *args, profile: CareProfile | None = None, **kwargs):
        if profile is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                name: getattr(profile, name) for name in self.base_fields if name != "key_holder_phone"
            }
        super().__init__(*args, **kwargs)
        self.profile = profile
        masked = profile.key_holder_phone_masked if profile is not None else ""  # type: ignore[attr-defined]
        if masked:
            self.fields["key_holder_phone"].help_text = _("Leave empty to keep %(masked)s.") % {"masked": masked}

    def service_data(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "key_holder_phone"}
        phone = self.cleaned_data["key_holder_phone"].strip()
        if phone:
            data["key_holder_phone"] = phone
        return data
