"""The device registry: list, detail, register/edit, credentials, bulk provisioning, rules and rejected messages.

Every read goes through `for_user` (iot.view to read, iot.manage to change); writes are calls to
linli.iot.provision and to the rule engine's functions. Default rules and rejected messages are platform-wide,
so only managers whose iot.manage scope is the whole platform edit defaults or see rejects.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets as token
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from linli.accounts.http import AuthedHttpRequest, requires
from linli.core.services import save_audited
from linli.iot import display, forms, provision
from linli.iot.models import LIFE_SAFETY, Alarm, Device, Rule, Telemetry
from linli.people.forms import apply_errors
from linli.people.selectors import resident_search_q
from linli.people.spreadsheets.forms import ImportForm
from linli.people.spreadsheets.reader import MAX_ROWS, too_large_message

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MULTIPART_OVERHEAD = 64 * 1024
SECRETS_KEY = "iot.issued_secrets"
CHART_HOURS = 24
CHART_MAX_POINTS = 3000
HOUSE_PICKS = 10


def _platform_manager(user) -> bool:
    return user.has_linli_perm("iot.manage") and user.scope_for("iot.manage").all


def _device(request: AuthedHttpRequest, pk: int, action: str = "view") -> Device:
    return get_object_or_404(Device.objects.for_user(request.user, action), pk=pk)


def _xlsx(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.xlsx") or "attachment"
    return response


# -- list and detail -------------------------------------------------------------------------------------


@requires("iot.view")
def device_list(request: AuthedHttpRequest):
    user = request.user
    form = forms.DeviceFilterForm(request.GET or None, user=user)
    qs = Device.objects.for_user(user)
    if form.is_valid():
        f = form.cleaned_data
        if f["q"]:
            q = f["q"].strip()
            qs = qs.filter(Q(code__icontains=q) | Q(resident__in=_residents_matching(user, q)))
        if f["kind"]:
            qs = qs.filter(kind=f["kind"])
        if f["online"]:
            qs = qs.filter(online=f["online"] == "online")
        if f["low_battery"]:
            qs = qs.filter(battery__lt=forms.LOW_BATTERY)
        if f["area"]:
            area = f["area"]
            qs = qs.filter(**{f"{area.level}_id": area.pk})
    counts = qs.aggregate(
        total=Count("id"),
        online=Count("id", filter=Q(online=True)),
        low=Count("id", filter=Q(battery__lt=forms.LOW_BATTERY)),
    )
    counts["offline"] = counts["total"] - counts["online"]
    rows = qs.select_related("house__building", "house__unit", "resident", "grid").order_by("code")
    paginator = Paginator(rows, PAGE_SIZE)
    paginator.count = counts["total"]
    page = paginator.get_page(request.GET.get("page"))
    now = timezone.now()
    sees_names = user.has_linli_perm("people.reveal")
    for d in page.object_list:
        d.seen_ago = display.ago(d.last_seen_at, now)
        d.resident_label = forms.resident_label(d.resident, sees_names)
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "iot/device_list.html",
        {
            "form": form,
            "page": page,
            "counts": counts,
            "query": params.urlencode(),
            "can_manage": user.has_linli_perm("iot.manage"),
            "low_battery": forms.LOW_BATTERY,
        },
    )


def _residents_matching(user, q: str):
    from linli.people.models import Resident

    return Resident.objects.for_user(user).filter(resident_search_q(q)).values("pk")[:500]


@requires("iot.view")
def device_detail(request: AuthedHttpRequest, pk: int):
    device = get_object_or_404(
        Device.objects.for_user(request.user).select_related(
            "house__building", "house__unit", "resident", "gateway", "grid", "community"
        ),
        pk=pk,
    )
    subs = Device.objects.for_user(request.user).filter(gateway=device).order_by("code")
    alarms = Alarm.objects.for_user(request.user).filter(device=device).order_by("-raised_at")[:20]
    readings = [
        {"at": t.received_at, "device_ts": t.device_ts, **display.reading(t.values)}
        for t in Telemetry.objects.filter(device=device).order_by("-received_at")[:20]
    ]
    point = None
    if device.lat is not None and device.lng is not None:
        point = {"lat": device.lat, "lng": device.lng, "boundary": device.grid.boundary if device.grid_id else None}
    return render(
        request,
        "iot/device_detail.html",
        {
            "device": device,
            "subs": subs,
            "alarms": alarms,
            "readings": readings,
            "state": display.labelled(device.state, skip=("battery", "signal", "online", "lat", "lng", "position")),
            "position": display.position_text(device.lat, device.lng) if point else "",
            "map_point": point,
            "chart": _chart(device),
            "seen_ago": display.ago(device.last_seen_at),
            "resident_label": forms.resident_label(device.resident, request.user.has_linli_perm("people.reveal")),
            "can_manage": Device.objects.for_user(request.user, "manage").filter(pk=device.pk).exists(),
            "rules": _rules_for(device),
        },
    )


def _wall_clock_ms(at: dt.datetime) -> int:
    """Milliseconds since the epoch of the local wall-clock time of `at`, read as UTC."""
    return int(timezone.localtime(at).replace(tzinfo=dt.UTC).timestamp() * 1000)


def _chart(device: Device) -> dict | None:
    """The device's numeric readings over the last 24 hours, one series per known value (at most three):
    {"series": [{"key", "label", "unit", "points": [[ms, value], …]}]}, or None without any. The times are
    the site's wall clock (settings.TIME_ZONE, Beijing time) written as if it were UTC: the chart shows them
    with useUTC, so its axis reads like the rest of the page whatever the browser's own clock is."""
    since = timezone.now() - dt.timedelta(hours=CHART_HOURS)
    rows = (
        Telemetry.objects.filter(device=device, received_at__gte=since)
        .order_by("-received_at")
        .values_list("received_at", "values")[:CHART_MAX_POINTS]
    )
    points: dict[str, list] = {}
    for at, values in reversed(list(rows)):
        for key in display.CHARTED:
            v = (values or {}).get(key)
            if isinstance(v, int | float) and not isinstance(v, bool):
                points.setdefault(key, []).append([_wall_clock_ms(at), v])
    keys = [k for k in display.CHARTED if len(points.get(k, ())) >= 2][:3]
    if not keys:
        return None
    return {
        "series": [
            {"key": k, "label": display.value_label(k), "unit": display.value_unit(k), "points": points[k]}
            for k in keys
        ]
    }


def _rules_for(device: Device) -> list[Rule]:
    """The rules that apply: the type's defaults, each replaced by the device's own version if it has one."""
    rules = {(r.kind, r.alarm_type): r for r in Rule.objects.filter(device__isnull=True, device_kind=device.kind)}
    rules.update({(r.kind, r.alarm_type): r for r in Rule.objects.filter(device=device)})
    return _with_json(sorted(rules.values(), key=lambda r: (r.kind, r.alarm_type)))


def _with_json(rules) -> list[Rule]:
    """Rules with their parameters as labelled values, and as JSON (as typed in the editor)."""
    rules = list(rules)
    for rule in rules:
        rule.params_json = json.dumps(rule.params, ensure_ascii=False)
        rule.param_items = display.rule_params(rule.kind, rule.params)
    return rules


# -- register and edit -----------------------------------------------------------------------------------


@requires("iot.manage")
def device_create(request: AuthedHttpRequest):
    form = forms.DeviceForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            device = provision.create_device(request.user, code=form.cleaned_data["code"], **form.device_fields())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Device %(code)s registered.") % {"code": device.code})
            return redirect("iot:device-detail", device.pk)
    return render(request, "iot/device_form.html", {"form": form, "device": None})


@requires("iot.manage")
def device_edit(request: AuthedHttpRequest, pk: int):
    device = _device(request, pk, "manage")
    form = forms.DeviceForm(
        request.POST or None,
        user=request.user,
        device=device,
        initial=forms.DeviceForm.initial_for(device, request.user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            provision.update_device(request.user, device, **form.device_fields())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Device %(code)s saved.") % {"code": device.code})
            return redirect("iot:device-detail", device.pk)
    return render(request, "iot/device_form.html", {"form": form, "device": device})


@require_POST
@requires("iot.manage")
def device_credential(request: AuthedHttpRequest, pk: int):
    """Issue a new secret and show it in this response only; it is never shown again."""
    device = _device(request, pk, "manage")
    secret = provision.issue_credential(request.user, device)
    response = render(request, "iot/credential.html", {"device": device, "secret": secret})
    response["Cache-Control"] = "no-store"
    return response


# -- bulk provisioning -----------------------------------------------------------------------------------


def _provision_page(request, *, status: int = 200, **context: Any):
    context.setdefault("form", ImportForm(prefix="devices"))
    context["max_mb"] = f"{settings.MAX_UPLOAD_BYTES / (1024 * 1024):g}"
    context["max_rows"] = f"{MAX_ROWS:,}"
    return render(request, "iot/provision.html", context, status=status)


@requires("iot.manage")
def provision_index(request: AuthedHttpRequest):
    return _provision_page(request)


@requires("iot.manage")
def provision_template(request: AuthedHttpRequest):
    return _xlsx(provision.device_template(), _("devices-template"))


# CSRF is checked by hand after the size check, as on the people import: checking it first reads the body.
@csrf_exempt
@requires("iot.manage")
def provision_import(request: AuthedHttpRequest):
    if request.method != "POST":
        return redirect("iot:provision")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD:
        return _provision_page(request, status=413, file_error=too_large_message())
    return csrf_protect(_run_import)(request)


def _run_import(request: AuthedHttpRequest):
    form = ImportForm(request.POST, request.FILES, prefix="devices")
    if not form.is_valid():
        return _provision_page(request, form=form)
    importer = provision.DeviceImporter(request.user)
    result = importer.run(form.cleaned_data["file"], skip_bad=form.cleaned_data["skip_bad"])
    ticket = ""
    if importer.secrets:
        ticket = token.token_urlsafe(12)
        request.session[SECRETS_KEY] = {"ticket": ticket, "secrets": importer.secrets}
    return _provision_page(request, result=result, ticket=ticket, secrets_count=len(importer.secrets))


@requires("iot.manage")
def provision_secrets(request: AuthedHttpRequest, ticket: str):
    """The secrets of the devices just created, once: the session forgets them as they are sent."""
    held = request.session.get(SECRETS_KEY)
    if not held or held.get("ticket") != ticket:
        raise Http404(_("These secrets were already downloaded or have expired."))
    del request.session[SECRETS_KEY]
    response = _xlsx(provision.secrets_workbook([tuple(pair) for pair in held["secrets"]]), _("device-secrets"))
    response["Cache-Control"] = "no-store"
    return response


# -- rules -----------------------------------------------------------------------------------------------


def _rule_engine():
    from linli.iot import rules

    return rules


@requires("iot.manage")
def rule_list(request: AuthedHttpRequest):
    return _rule_list_page(request, forms.OverrideForm(user=request.user, initial={"enabled": True, "params": "{}"}))


def _rule_list_page(request: AuthedHttpRequest, override_form: forms.OverrideForm, status: int = 200):
    """The rules page; a refused override comes back bound, open, with its errors next to the fields."""
    user = request.user
    defaults = Rule.objects.filter(device__isnull=True).order_by("device_kind", "kind", "alarm_type")
    overrides = (
        Rule.objects.filter(device__in=Device.objects.for_user(user, "manage"))
        .select_related("device")
        .order_by("device__code", "kind", "alarm_type")
    )
    return render(
        request,
        "iot/rule_list.html",
        {
            "defaults": _with_json(defaults),
            "overrides": _with_json(overrides[:500]),
            "platform": _platform_manager(user),
            "override_form": override_form,
            "import_form": forms.RulesImportForm(),
        },
        status=status,
    )


def _rule(request: AuthedHttpRequest, pk: int) -> Rule:
    rule = get_object_or_404(Rule.objects.for_user(request.user, "manage").select_related("device"), pk=pk)
    if rule.device_id is None and not _platform_manager(request.user):
        raise PermissionDenied(_("Only platform administrators change the default rules; add an override instead."))
    return rule


@requires("iot.manage")
def rule_edit(request: AuthedHttpRequest, pk: int):
    rule = _rule(request, pk)
    initial = {
        "severity": rule.severity,
        "params": json.dumps(rule.params, ensure_ascii=False),
        "enabled": rule.enabled,
        "note": rule.note,
    }
    form = forms.RuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            _save_rule(request.user, rule, form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Rule saved."))
            return redirect("iot:rules")
    return render(request, "iot/rule_form.html", {"form": form, "rule": rule})


def _guard_life_safety(actor, rule: Rule) -> None:
    """A rule that raises a life-safety alarm (SOS, smoke, gas, fall…) reaches the dispatch center. Only a
    platform administrator may change or remove one, even as one device's override: a property company
    maintains devices, it does not decide whether an elderly resident's SOS is heard."""
    if rule.alarm_type in LIFE_SAFETY and not _platform_manager(actor):
        raise PermissionDenied(
            _(
                "Only platform administrators change life-safety rules (SOS, smoke, gas, falls…): "
                "they reach the dispatch center."
            )
        )


@transaction.atomic
def _save_rule(actor, rule: Rule, data: dict) -> Rule:
    _guard_life_safety(actor, rule)
    before = rule.audit_snapshot() if rule.pk else None
    rule.severity, rule.params, rule.enabled, rule.note = (
        data["severity"],
        data["params"],
        data["enabled"],
        data["note"],
    )
    _rule_engine().clean_rule(rule)  # the engine's checks, with readable messages per field
    save_audited(rule, before, actor)
    return rule


@require_POST
@requires("iot.manage")
def rule_override(request: AuthedHttpRequest):
    form = forms.OverrideForm(request.POST, user=request.user)
    if form.is_valid():
        d = form.cleaned_data
        device = form.device
        rule = Rule.objects.filter(device=device, kind=d["kind"], alarm_type=d["alarm_type"]).first()
        rule = rule or Rule(device=device, device_kind=device.kind, kind=d["kind"], alarm_type=d["alarm_type"])
        try:
            _save_rule(request.user, rule, d)
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error("alarm_type", str(exc))
        else:
            messages.success(request, _("Override for %(code)s saved.") % {"code": device.code})
            return redirect("iot:rules")
    return _rule_list_page(request, form, status=400)


@require_POST
@requires("iot.manage")
def rule_delete(request: AuthedHttpRequest, pk: int):
    rule = _rule(request, pk)
    if rule.device_id is None:
        raise PermissionDenied(_("Default rules are switched off, not deleted."))
    _guard_life_safety(request.user, rule)
    from linli.core.services import delete_audited

    with transaction.atomic():
        delete_audited(rule, request.user)
    messages.success(request, _("Override removed; the type's rule applies again."))
    return redirect("iot:rules")


@requires("iot.manage")
def rules_export(request: AuthedHttpRequest):
    if not _platform_manager(request.user):
        raise PermissionDenied
    data = _rule_engine().export_rules()
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = content_disposition_header(True, f"linli-rules-{stamp}.json") or "attachment"
    return response


@require_POST
@requires("iot.manage")
def rules_import(request: AuthedHttpRequest):
    if not _platform_manager(request.user):
        raise PermissionDenied
    form = forms.RulesImportForm(request.POST, request.FILES)
    if not form.is_valid():
        for error in form.errors.get("file", []):
            messages.error(request, str(error))
        return redirect("iot:rules")
    try:
        summary = _rule_engine().import_rules(request.user, form.cleaned_data["file"])
    except ValidationError as exc:
        for message in exc.messages[:50]:
            messages.error(request, message)
        return redirect("iot:rules")
    messages.success(request, _("Rules imported: %(summary)s") % {"summary": _summary_text(summary)})
    return redirect("iot:rules")


def _summary_text(summary: Any) -> str:
    if isinstance(summary, dict):
        return ", ".join(f"{k} {v}" for k, v in summary.items() if not isinstance(v, list | dict))
    return str(summary)


# -- rejected messages -----------------------------------------------------------------------------------


@requires("iot.manage")
def rejected(request: AuthedHttpRequest):
    if not _platform_manager(request.user):
        raise PermissionDenied
    try:
        model = apps.get_model("iot", "RejectedMessage")
    except LookupError:
        raise Http404 from None
    since = timezone.now() - dt.timedelta(hours=24)
    recent = model.objects.filter(received_at__gte=since)
    by_reason = list(recent.values("reason").annotate(n=Count("id")).order_by("-n", "reason"))
    for r in by_reason:
        r["label"], r["help"] = display.reason_label(r["reason"]), display.reason_help(r["reason"])
    latest = list(model.objects.order_by("-received_at")[:100])
    for m in latest:
        m.reason_label, m.reason_help = display.reason_label(m.reason), display.reason_help(m.reason)
        m.detail_text = display.detail_text(m.detail)
    return render(
        request,
        "iot/rejected.html",
        {"by_reason": by_reason, "total": sum(r["n"] for r in by_reason), "latest": latest},
    )


# -- house picker ----------------------------------------------------------------------------------------


@requires("iot.manage")
def house_lookup(request: AuthedHttpRequest):
    """Houses in the user's area matching typed address words or code digits, for the device form's picker:
    {"results": [{"code", "display_code", "label"}]}. The form checks the chosen code again on save."""
    from linli.places.models import House

    q = (request.GET.get("q") or "").strip()[:64]
    houses = House.objects.for_user(request.user).select_related("building", "unit", "estate")
    terms = [t for t in q.split() if t][:4]
    if not terms:
        return JsonResponse({"results": []})
    for term in terms:
        houses = houses.filter(_house_term_q(term))
    results = [
        {
            "code": h.code,
            "display_code": h.display_code,
            "label": f"{h.estate.name} {h}" if h.estate_id and h.estate else str(h),
            "address": h.building.address,
        }
        for h in houses.order_by("code")[:HOUSE_PICKS]
    ]
    return JsonResponse({"results": results})


def _house_term_q(term: str) -> Q:
    """One typed word: code digits (12 or more, dashes allowed), "2-40…" (unit-room, as typed so far), the start
    of a room number, or address text (building, its address, estate)."""
    digits = term.replace("-", "")
    if digits.isascii() and digits.isdigit() and len(digits) >= 12:
        return Q(code__startswith=digits)
    unit, sep, room = term.partition("-")
    if sep and unit.isascii() and unit.isdigit() and len(unit) <= 4:  # "²".isdigit(), but int("²") fails
        return Q(unit__number=int(unit), room__startswith=room) | Q(room__startswith=term)
    return (
        Q(building__name__icontains=term)
        | Q(building__address__icontains=term)
        | Q(estate__name__icontains=term)
        | Q(room__startswith=term)
    )
