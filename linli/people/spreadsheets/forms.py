"""Forms for the import and export pages. They parse input; the importers and exporters do the work."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from linli.people.services import MIN_PURPOSE


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (.xlsx)"), widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}))
    skip_bad = forms.BooleanField(label=_("Import the valid rows and skip the bad ones"), required=False)


class ExportForm(forms.Form):
    """For holders of people.export: full numbers only when ticked and with a stated purpose."""

    unmasked = forms.BooleanField(label=_("Include full ID and phone numbers"), required=False)
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=300,
        required=False,
        help_text=_("Required for full numbers; recorded in the audit log."),
    )

    def clean(self):
        data = super().clean()
        if data.get("unmasked") and len((data.get("purpose") or "").strip()) < MIN_PURPOSE:
            self.add_error(
                "purpose", _("State why you need the full numbers (at least %(n)d characters).") % {"n": MIN_PURPOSE}
            )
        return data
