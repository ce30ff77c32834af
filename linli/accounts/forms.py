"""Forms for account administration, roles, the profile page and the audit log filters."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from linli.accounts.models import Role
from linli.core import permissions as perms
from linli.core.models import AuditRecord
from linli.places.models import Area, Estate

password_help = lazy(password_validation.password_validators_help_text_html, str)


class PasswordPairMixin:
    """Two password fields that must match; strength is checked by the validators in the service."""

    def clean(self):
        cleaned = super().clean()  # type: ignore[misc]
        p1, p2 = cleaned.get("new_password1"), cleaned.get("new_password2")
        if p1 and p2 and p1 != p2:
            self.add_error("new_password2", _("The two passwords differ."))  # type: ignore[attr-defined]
        return cleaned


class UserFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("User name or display name")}),
    )
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.all(), required=False)
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("any")), ("active", _("enabled")), ("disabled", _("disabled")), ("locked", _("locked"))],
    )


class UserCreateForm(PasswordPairMixin, forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    display_name = forms.CharField(label=_("Display name"), max_length=50, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES, initial=settings.LANGUAGE_CODE)
    new_password1 = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput, help_text=password_help()
    )
    new_password2 = forms.CharField(label=_("Password again"), strip=False, widget=forms.PasswordInput)


class PasswordResetForm(PasswordPairMixin, forms.Form):
    new_password1 = forms.CharField(label=_("New password"), strip=False, widget=forms.PasswordInput)
    new_password2 = forms.CharField(label=_("New password again"), strip=False, widget=forms.PasswordInput)


class AssignmentForm(forms.Form):
    """Role × place. Places are typed as codes: a city has tens of thousands of grids, too many for a list."""

    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.all())
    area_code = forms.CharField(
        label=_("Area code"),
        max_length=15,
        required=False,
        help_text=_("For area roles: the 12-digit street/community code or 15-digit grid code."),
    )
    estate_code = forms.CharField(
        label=_("Estate code"), max_length=20, required=False, help_text=_("For property company roles.")
    )

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("role")
        cleaned["area"] = cleaned["estate"] = None
        if role is None:
            return cleaned
        # Account administration is platform-wide (accounts.manage), so places are looked up unscoped.
        area_code = cleaned.get("area_code", "").strip()
        if role.scope_kind == perms.AREA:
            area = Area.objects.filter(code=area_code).first() if area_code else None
            if area is None:
                self.add_error("area_code", _("Enter the code of an existing area."))
            cleaned["area"] = area
        estate_code = cleaned.get("estate_code", "").strip()
        if role.scope_kind == perms.ESTATE:
            estate = Estate.objects.filter(code=estate_code).first() if estate_code else None
            if estate is None:
                self.add_error("estate_code", _("Enter the code of an existing estate."))
            cleaned["estate"] = estate
        return cleaned


class RoleForm(forms.Form):
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=40)
    name_en = forms.CharField(label=_("Name (English)"), max_length=60)
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"),
        required=False,
        choices=list(perms.PERMISSIONS.items()),
        widget=forms.CheckboxSelectMultiple,
    )


class ProfileForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    elder_mode = forms.BooleanField(label=_("Elder mode: larger text, higher contrast"), required=False)


class OwnPasswordForm(PasswordPairMixin, forms.Form):
    old_password = forms.CharField(label=_("Current password"), strip=False, widget=forms.PasswordInput)
    new_password1 = forms.CharField(
        label=_("New password"), strip=False, widget=forms.PasswordInput, help_text=password_help()
    )
    new_password2 = forms.CharField(label=_("New password again"), strip=False, widget=forms.PasswordInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_old_password(self):
        value = self.cleaned_data["old_password"]
        if not self.user.check_password(value):
            raise ValidationError(_("The current password is wrong."))
        return value


class AuditFilterForm(forms.Form):
    user = forms.CharField(label=_("User"), required=False)
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", _("any"))] + list(AuditRecord.Action.choices)
    )
    object_type = forms.CharField(
        label=_("Object type"), required=False, widget=forms.TextInput(attrs={"placeholder": "people.resident"})
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        a, b = cleaned.get("date_from"), cleaned.get("date_to")
        if a and b and a > b:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned
