"""Account administration (security admin), roles, the user's own profile, and the audit log (auditor)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from linli.accounts import forms, services
from linli.accounts.http import AuthedHttpRequest
from linli.accounts.models import Assignment, Role, User
from linli.core import audit
from linli.core import permissions as perms
from linli.core.models import AuditRecord
from linli.people.forms import apply_errors
from linli.people.views import history_rows

PAGE_SIZE = 25
AUDIT_PAGE_SIZE = 50


def _need(request: AuthedHttpRequest, perm: str) -> None:
    if not request.user.has_linli_perm(perm):
        raise PermissionDenied


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# Users (accounts.manage)


@login_required
def user_list(request: AuthedHttpRequest) -> HttpResponse:
    _need(request, "accounts.manage")
    form = forms.UserFilterForm(request.GET or None)
    qs = User.objects.prefetch_related(
        Prefetch("assignments", queryset=Assignment.objects.select_related("role", "area", "estate"))
    )
    if form.is_valid():
        f = form.cleaned_data
        if f["q"]:
            qs = qs.filter(Q(username__icontains=f["q"]) | Q(display_name__icontains=f["q"]))
        if f["role"]:
            qs = qs.filter(assignments__role=f["role"]).distinct()
        if f["state"] == "active":
            qs = qs.filter(is_active=True)
        elif f["state"] == "disabled":
            qs = qs.filter(is_active=False)
        elif f["state"] == "locked":
            qs = qs.filter(locked_until__gt=timezone.now())
    page = Paginator(qs.order_by("username"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "accounts/user_list.html", {"form": form, "page": page, "query": _query_without_page(request)}
    )


@login_required
def user_create(request: AuthedHttpRequest) -> HttpResponse:
    _need(request, "accounts.manage")
    form = forms.UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        f = form.cleaned_data
        try:
            user = services.create_user(
                request.user,
                username=f["username"],
                password=f["new_password1"],
                display_name=f["display_name"],
                language=f["language"],
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "password" in exc.error_dict:
                exc.error_dict["new_password1"] = exc.error_dict.pop("password")
            apply_errors(form, exc)
        else:
            messages.success(request, _("Account %(name)s created. Now give it a role.") % {"name": user.username})
            return redirect("accounts:user-detail", pk=user.pk)
    return render(request, "accounts/user_form.html", {"form": form})


def _managed_user(request: AuthedHttpRequest, pk: int) -> User:
    _need(request, "accounts.manage")
    return get_object_or_404(User, pk=pk)


@login_required
def user_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    target = _managed_user(request, pk)
    return _render_user_detail(request, target, forms.AssignmentForm(), forms.PasswordResetForm())


def _render_user_detail(request, target: User, assignment_form, password_form, status: int = 200) -> HttpResponse:
    assignments = target.assignments.select_related("role", "area", "estate").order_by("role__id", "id")
    history = AuditRecord.objects.filter(object_type="accounts.user", object_id=str(target.pk)).order_by("-seq")
    return render(
        request,
        "accounts/user_detail.html",
        {
            "target": target,
            "assignments": assignments,
            "assignment_form": assignment_form,
            "password_form": password_form,
            "history": history_rows(history[:30]),
            "is_self": target.pk == request.user.pk,
            "separated": perms.SEPARATED_ROLES,
        },
        status=status,
    )


@login_required
@require_POST
def assignment_add(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    target = _managed_user(request, pk)
    form = forms.AssignmentForm(request.POST)
    if form.is_valid():
        f = form.cleaned_data
        try:
            services.assign_role(request.user, target, f["role"], area=f["area"], estate=f["estate"])
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for src, dst in (("area", "area_code"), ("estate", "estate_code")):
                    if src in exc.error_dict:
                        exc.error_dict[dst] = exc.error_dict.pop(src)
            apply_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Role assigned."))
            return redirect("accounts:user-detail", pk=target.pk)
    return _render_user_detail(request, target, form, forms.PasswordResetForm(), status=400)


@login_required
@require_POST
def assignment_remove(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _need(request, "accounts.manage")
    assignment = get_object_or_404(Assignment.objects.select_related("user"), pk=pk)
    try:
        services.remove_assignment(request.user, assignment)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Role removed."))
    return redirect("accounts:user-detail", pk=assignment.user_id)


@login_required
@require_POST
def user_set_active(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    target = _managed_user(request, pk)
    active = request.POST.get("active") == "1"
    try:
        services.set_active(request.user, target, active)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Account enabled.") if active else _("Account disabled."))
    return redirect("accounts:user-detail", pk=target.pk)


@login_required
@require_POST
def user_unlock(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    target = _managed_user(request, pk)
    services.unlock(request.user, target)
    messages.success(request, _("Account unlocked."))
    return redirect("accounts:user-detail", pk=target.pk)


@login_required
@require_POST
def user_reset_password(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    target = _managed_user(request, pk)
    form = forms.PasswordResetForm(request.POST)
    if form.is_valid():
        try:
            services.reset_password(request.user, target, form.cleaned_data["new_password1"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Password reset. Give the new password to the user in person."))
            return redirect("accounts:user-detail", pk=target.pk)
    return _render_user_detail(request, target, forms.AssignmentForm(), form, status=400)


# Roles (roles.manage)


@login_required
def role_list(request: AuthedHttpRequest) -> HttpResponse:
    _need(request, "roles.manage")
    roles = Role.objects.order_by("id")
    return render(request, "accounts/role_list.html", {"roles": roles, "labels": perms.PERMISSIONS})


@login_required
def role_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _need(request, "roles.manage")
    role = get_object_or_404(Role, pk=pk)
    initial = {"name_zh": role.name_zh, "name_en": role.name_en, "permissions": role.permissions}
    form = forms.RoleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_role(request.user, role, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Role saved."))
            return redirect("accounts:role-list")
    return render(request, "accounts/role_form.html", {"form": form, "role": role})


# The signed-in user's own profile


@login_required
def profile(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    prefs = forms.ProfileForm(initial={"language": user.language, "elder_mode": user.elder_mode})
    password = forms.OwnPasswordForm(user=user)
    if request.method == "POST" and request.POST.get("form") == "prefs":
        prefs = forms.ProfileForm(request.POST)
        if prefs.is_valid():
            services.save_preferences(user, **prefs.cleaned_data)
            messages.success(request, _("Preferences saved."))
            return redirect("accounts:profile")
    elif request.method == "POST" and request.POST.get("form") == "password":
        password = forms.OwnPasswordForm(request.POST, user=user)
        if password.is_valid():
            try:
                services.change_own_password(user, password.cleaned_data["new_password1"])
            except ValidationError as exc:
                password.add_error("new_password1", exc)
            else:
                update_session_auth_hash(request, user)
                messages.success(request, _("Password changed."))
                return redirect("accounts:profile")
    return render(
        request,
        "accounts/profile.html",
        {
            "prefs": prefs,
            "password": password,
            "assignments": user.assignments.select_related("role", "area", "estate"),
        },
    )


# Audit log (audit.view)


def _audit_records(form: forms.AuditFilterForm):
    qs = AuditRecord.objects.all()
    if not form.is_valid():
        return qs
    f = form.cleaned_data
    if f["user"]:
        qs = qs.filter(username__icontains=f["user"].strip())
    if f["action"]:
        qs = qs.filter(action=f["action"])
    if f["object_type"]:
        qs = qs.filter(object_type=f["object_type"].strip().lower())
    tz = timezone.get_current_timezone()
    if f["date_from"]:
        qs = qs.filter(ts__gte=dt.datetime.combine(f["date_from"], dt.time.min, tz))
    if f["date_to"]:
        qs = qs.filter(ts__lt=dt.datetime.combine(f["date_to"] + dt.timedelta(days=1), dt.time.min, tz))
    return qs


@login_required
def audit_list(request: AuthedHttpRequest) -> HttpResponse:
    _need(request, "audit.view")
    form = forms.AuditFilterForm(request.GET or None)
    page = Paginator(_audit_records(form).order_by("-seq"), AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/audit_list.html",
        {"form": form, "page": page, "rows": history_rows(page), "query": _query_without_page(request)},
    )


@login_required
@require_POST
def audit_verify(request: AuthedHttpRequest) -> HttpResponse:
    """Walk the whole hash chain now and report OK or the first broken record."""
    _need(request, "audit.view")
    report = audit.verify_chain()
    template = "accounts/_verify_result.html" if request.headers.get("HX-Request") else "accounts/audit_verify.html"
    return render(request, template, {"report": report})
