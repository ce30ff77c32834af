"""The care profile (关爱档案) on the resident's page: shown after a stated purpose, edited on its own page.

Out of scope is 404; every read and write goes through linli/people/services_care.py, which audits it.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from linli.accounts.http import AuthedHttpRequest
from linli.people import forms
from linli.people import services_care as care
from linli.people.models import CareProfile, Resident


def care_edit_url(resident: Resident) -> str:
    return reverse("people:resident-edit", args=[resident.pk]) + "?section=care"


def care_profile_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """GET and POST /people/residents/<pk>/edit/?section=care (resident_edit hands over)."""
    user = request.user
    if not (user.has_linli_perm("people.change") and user.has_linli_perm("people.reveal")):
        raise PermissionDenied
    resident = get_object_or_404(Resident.objects.for_user(user, "change"), pk=pk)
    if request.method == "POST":
        form = forms.CareProfileForm(request.POST, profile=CareProfile.objects.filter(resident=resident).first())
        if form.is_valid():
            try:
                care.save_care_profile(user, resident, **form.service_data())
            except ValidationError as exc:
                forms.apply_errors(form, exc)
            else:
                messages.success(request, _("Care profile saved."))
                return redirect(reverse("people:resident-detail", args=[resident.pk]) + "#care")
    else:
        form = forms.CareProfileForm(profile=care.open_for_editing(user, resident))
    return render(
        request,
        "people/care_profile_form.html",
        {"form": form, "resident": resident, "action": care_edit_url(resident)},
    )


def care_profile_reveal(request: AuthedHttpRequest, resident: Resident, purpose: str) -> HttpResponse:
    """The profile after the user states why (resident_reveal hands over field=care_profile)."""
    context: dict = {"resident": resident, "can_reveal": True}
    try:
        context["care"] = care.reveal_care_profile(request.user, resident, purpose)
        context["revealed"] = True
    except ValidationError as exc:
        context["error"] = " ".join(exc.messages)
    template = "people/_care_reveal.html" if request.headers.get("HX-Request") else "people/care_profile_page.html"
    return render(request, template, context)
