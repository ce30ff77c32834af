"""Forms for actions on a case. They parse input; services.act validates the rules and writes.

One form class builds the fields an action needs (ACTION_FIELDS); the field names are the contract's
(version, note, unit, assists, category, priority, rating, comment, reached, into, photos).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from linli.cases.models import Category, HandlingUnit, Priority, Rating, WorkOrder

# field name → required by the form itself (the services check the rest, e.g. notes that must be given)
ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "accept": ("category", "priority", "note"),
    "reject": ("note",),
    "dispatch": ("unit", "assists", "category", "priority", "note"),
    "reassign": ("unit", "note"),
    "start": ("note",),
    "return": ("note",),
    "progress": ("note", "photos"),
    "assist_done": ("note",),
    "request_suspend": ("note",),
    "approve_suspend": ("note",),
    "deny_suspend": ("note",),
    "resume": ("note",),
    "escalate": ("note",),
    "resolve": ("note", "photos"),
    "rate": ("rating", "comment"),
    "callback": ("reached", "rating", "comment"),
    "reopen": ("note",),
    "close": ("note",),
    "merge": ("into", "note"),
    "comment": ("note",),
}

# Actions whose note the service requires: the form marks it required for the browser and the reader.
NOTE_REQUIRED = {
    "reject",
    "reassign",
    "return",
    "request_suspend",
    "deny_suspend",
    "escalate",
    "resolve",
    "reopen",
    "comment",
}

NOTE_LABELS = {
    "reject": _("Why is it not accepted? (the reporter reads this)"),
    "reassign": _("Why does it go to another unit?"),
    "return": _("Why do you return it? (the dispatcher needs the reason)"),
    "request_suspend": _("Why must the case wait?"),
    "deny_suspend": _("Why may the case not wait?"),
    "escalate": _("Why does the case need the level above?"),
    "resolve": _("How was the problem solved? (the reporter reads this)"),
    "reopen": _("Why is the case reopened?"),
    "progress": _("What was done?"),
    "comment": _("Note"),
}

PHOTOS_LABELS = {"resolve": _("Photos after the fix"), "progress": _("Photos")}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several files; the service checks each one is a real photo of an allowed size."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*", "multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: HandlingUnit) -> str:
        return f"{obj.name} ({obj.get_kind_display()})"


class UnitsChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: HandlingUnit) -> str:
        return f"{obj.name} ({obj.get_kind_display()})"


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        return f"{obj.code} {obj.parent.name if obj.parent else ''} › {obj.name}"


def units_for(user, case: WorkOrder):
    """Active handling units a dispatcher may send this case to (services.dispatchable_units decides)."""
    from linli.cases.services import dispatchable_units

    return dispatchable_units(user, case).order_by("kind", "name")


def leaf_categories():
    return Category.objects.filter(active=True, parent__isnull=False).select_related("parent").order_by("code")


class ActionForm(forms.Form):
    """The fields of one action on one case. `kwargs()` gives what services.act takes."""

    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={
            "required": _("The form is missing the case version. Reload the case and try again."),
            "invalid": _("The form is missing the case version. Reload the case and try again."),
        },
    )

    def __init__(self, action: str, case: WorkOrder, user, *args, units=None, categories=None, **kwargs):
        self.action = action
        self.case = case
        kwargs.setdefault("prefix", None)
        kwargs.setdefault("auto_id", f"id_{action}_%s")
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = case.version
        for name in ACTION_FIELDS.get(action, ()):
            self.fields[name] = self._field(name, user, units, categories)

    def _field(self, name: str, user, units, categories) -> forms.Field:
        action, case = self.action, self.case
        if name == "note":
            required = action in NOTE_REQUIRED
            return forms.CharField(
                label=NOTE_LABELS.get(action, _("Note (optional)")),
                required=False,
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 3, "required": required} if required else {"rows": 2}),
            )
        if name == "unit":
            units = units if units is not None else units_for(user, case)
            if action == "reassign" and case.lead_unit_id:
                units = units.exclude(pk=case.lead_unit_id)
            return UnitChoiceField(
                label=_("Lead unit"),
                queryset=units,
                empty_label=_("— choose the unit —"),
                initial=case.proposed_unit_id if action == "dispatch" else None,
                error_messages={
                    "required": _("Choose the unit that will handle the case."),
                    "invalid_choice": _("This unit cannot be chosen here: it is inactive or outside your area."),
                },
            )
        if name == "assists":
            return UnitsChoiceField(
                label=_("Assisting units (多方联动)"),
                queryset=units if units is not None else units_for(user, case),
                required=False,
                widget=forms.SelectMultiple(attrs={"size": 4}),
                help_text=_("Optional. Hold Ctrl (or long-press) to choose several."),
                error_messages={"invalid_choice": _("One of the assisting units cannot be chosen here.")},
            )
        if name == "category":
            return CategoryChoiceField(
                label=_("Category"),
                queryset=categories if categories is not None else leaf_categories(),
                required=False,
                empty_label=_("— keep as it is —"),
                initial=case.category_id or case.suggested_category_id,
                error_messages={"invalid_choice": _("Choose a category of the second level.")},
            )
        if name == "priority":
            return forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial=case.priority)
        if name == "rating":
            return forms.ChoiceField(
                label=_("How satisfied is the reporter?"),
                choices=Rating.choices,
                required=action == "rate",
                widget=forms.RadioSelect,
                error_messages={"required": _("Choose satisfied, basically satisfied or unsatisfied.")},
            )
        if name == "comment":
            return forms.CharField(
                label=_("Comment (optional)") if action == "rate" else _("What was said on the call"),
                required=False,
                max_length=500,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
        if name == "reached":
            return forms.TypedChoiceField(
                label=_("Was the reporter reached?"),
                choices=[("yes", _("Yes, rating recorded below")), ("no", _("No answer — try again later"))],
                coerce=lambda v: v == "yes",
                initial="yes",
                widget=forms.RadioSelect,
            )
        if name == "into":
            return forms.CharField(
                label=_("Number of the case this one repeats"),
                max_length=20,
                widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
                error_messages={"required": _("Choose the case this one repeats.")},
            )
        if name == "photos":
            return MultipleImageField(label=PHOTOS_LABELS.get(self.action, _("Photos")), required=False)
        raise KeyError(name)

    def clean_into(self) -> int:
        raw = (self.cleaned_data.get("into") or "").strip()
        pk = WorkOrder.pk_from_number(raw) if len(raw) > 8 else (int(raw) if raw.isdigit() else None)
        if not pk:
            raise ValidationError(_("Enter the case number, for example 202410010000123."))
        return pk

    def clean(self):
        data = super().clean()
        if self.action == "callback" and data.get("reached") and not data.get("rating"):
            self.add_error("rating", _("Choose satisfied, basically satisfied or unsatisfied."))
        return data

    def kwargs(self) -> dict:
        """Keyword arguments for services.act."""
        data = self.cleaned_data
        out: dict = {}
        for name in ACTION_FIELDS.get(self.action, ()):
            value = data.get(name)
            if name == "category":
                if value is not None:
                    out["category"] = value
            elif name == "priority":
                if value:
                    out["priority"] = value
            elif name == "assists":
                out["assists"] = list(value or ())
            elif name == "photos":
                out["photos"] = value or []
            elif name == "reached":
                out["reached"] = bool(value)
            elif name in ("rating", "comment", "note"):
                out[name] = value or ""
            else:
                out[name] = value
        return out

    def add_service_errors(self, exc: ValidationError) -> None:
        """Put a service's ValidationError (field → messages) onto the form."""
        if hasattr(exc, "error_dict"):
            for name, errors in exc.error_dict.items():
                for error in errors:
                    self.add_error(name if name in self.fields else None, error)
        else:
            for message in exc.messages:
                self.add_error(None, message)
