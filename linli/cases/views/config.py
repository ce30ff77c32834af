"""Work-order settings (cases.configure): categories, handling units and their members, routing rules,
keyword rules and the classifier, deadline policies, the working-day calendar and Open311 clients.

Thin views: forms parse, linli.cases.config_services validates, writes and audits in one transaction, and
its ValidationErrors land on the form's fields. Everyone without cases.configure gets 403.
"""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from linli.accounts.http import AuthedHttpRequest, requires
from linli.accounts.models import User
from linli.cases import config_services as svc
from linli.cases import holidays, routing, workcal
from linli.cases.models import (
    PRIORITY_RANK,
    CalendarDay,
    Category,
    ClassifierModel,
    DeadlinePolicy,
    HandlingUnit,
    KeywordRule,
    Open311Client,
    Priority,
    RoutingRule,
)
from linli.people.forms import apply_errors
from linli.places.models import Area, Estate

PAGE_SIZE = 50
MEMBER_SEARCH_LIMIT = 10


configure_view = requires(svc.PERM)


def _query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _categories(user):
    return Category.objects.for_user(user, "configure").select_related("parent")


def _units(user):
    return HandlingUnit.objects.for_user(user, "configure").select_related("area")


def _area_label(area: Area) -> str:
    return f"{area.name} · {area.get_level_display()} {area.code}"


class AreaChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _area_label(obj)


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} {obj.name}" if obj.parent_id is None else f"\u2003{obj.code} {obj.name}"


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} · {obj.area.name}"


# ---------------------------------------------------------------------------- index


@configure_view
def index(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    categories = _categories(user)
    model = ClassifierModel.objects.filter(active=True).order_by("-created_at", "-pk").first()
    year = timezone.localdate().year
    n_units = _units(user).count()
    n_rules = RoutingRule.objects.for_user(user, "configure").count()
    n_keywords = KeywordRule.objects.for_user(user, "configure").count()
    n_policies = DeadlinePolicy.objects.for_user(user, "configure").count()
    n_days = CalendarDay.objects.filter(date__year=year).count()
    sections = [
        (
            "cases:config-categories",
            _("Categories"),
            _("%(top)s top-level, %(leaf)s second-level, %(off)s inactive")
            % {
                "top": categories.filter(parent__isnull=True).count(),
                "leaf": categories.filter(parent__isnull=False).count(),
                "off": categories.filter(active=False).count(),
            },
            _("The two-level taxonomy residents and staff pick from. Codes are stable."),
        ),
        (
            "cases:config-units",
            _("Handling units"),
            ngettext("%(n)s unit, %(off)s inactive", "%(n)s units, %(off)s inactive", n_units)
            % {"n": n_units, "off": _units(user).filter(active=False).count()},
            _("Who cases can be dispatched to, the area each serves, and its members."),
        ),
        (
            "cases:config-routing",
            _("Routing rules"),
            ngettext("%(n)s rule", "%(n)s rules", n_rules) % {"n": n_rules},
            _("Category × area → the unit proposed to the dispatcher. The most specific rule wins."),
        ),
        (
            "cases:config-keywords",
            _("Keyword rules and classifier"),
            ngettext("%(n)s keyword", "%(n)s keywords", n_keywords) % {"n": n_keywords}
            + (
                " · "
                + _("model of %(when)s, %(acc)s%% held-out accuracy")
                % {
                    "when": timezone.localtime(model.created_at).strftime("%Y-%m-%d %H:%M"),
                    "acc": round((model.heldout_second or 0) * 100),
                }
                if model
                else ""
            ),
            _("Hints for the category suggestion, a box to try it, and retraining."),
        ),
        (
            "cases:config-deadlines",
            _("Deadline policies"),
            ngettext("%(n)s policy", "%(n)s policies", n_policies) % {"n": n_policies},
            _("Response and resolution limits by category and priority, in working or natural time."),
        ),
        (
            "cases:config-calendar",
            _("Working-day calendar"),
            ngettext(
                "%(n)s change to the statutory calendar in %(year)s",
                "%(n)s changes to the statutory calendar in %(year)s",
                n_days,
            )
            % {"n": n_days, "year": year},
            _("Statutory holidays, adjusted working days and your own changes."),
        ),
        (
            "cases:config-clients",
            _("Open311 clients"),
            _("%(n)s active") % {"n": Open311Client.objects.filter(active=True).count()},
            _("Applications allowed to file service requests through Open311, one api_key each."),
        ),
    ]
    return render(request, "cases/config/index.html", {"sections": sections, "uncovered": uncovered_years()})


# deadlines of a few weeks run into the next year from December: warn from November on
CALENDAR_LOOKAHEAD = dt.timedelta(days=61)


def uncovered_years(today: dt.date | None = None) -> list[int]:
    """This year and, near its end, the next, when Linli has no State Council notice for them and nobody has
    entered a day off either: deadlines there would count the holidays as working days."""
    today = today or timezone.localdate()
    years = sorted({today.year, (today + CALENDAR_LOOKAHEAD).year} - holidays.YEARS)
    entered = set(CalendarDay.objects.filter(date__year__in=years, working=False).values_list("date__year", flat=True))
    return [year for year in years if year not in entered]


# ---------------------------------------------------------------------------- categories


class CategoryForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=8,
        help_text=gettext_lazy("Two digits for a top-level category; its parent's code plus two digits below it."),
    )
    name_zh = forms.CharField(label=gettext_lazy("Name (Chinese)"), max_length=60)
    name_en = forms.CharField(label=gettext_lazy("Name (English)"), max_length=100)
    usual_handler = forms.CharField(label=gettext_lazy("Usual handler"), max_length=100, required=False)
    default_priority = forms.ChoiceField(
        label=gettext_lazy("Default priority"), choices=Priority.choices, initial=Priority.NORMAL
    )
    active = forms.BooleanField(
        label=gettext_lazy("Active (offered when reporting and dispatching)"), required=False, initial=True
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]


@configure_view
def category_list(request: AuthedHttpRequest) -> HttpResponse:
    rows = list(_categories(request.user).order_by("code"))
    return render(request, "cases/config/category_list.html", {"rows": rows})


@configure_view
def category_create(request: AuthedHttpRequest) -> HttpResponse:
    initial = {}
    parent = request.GET.get("parent", "")
    if parent.isdigit() and len(parent) == 2:
        initial["code"] = parent
    form = CategoryForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            category = svc.create_category(request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Category %(code)s created.") % {"code": category.code})
            return redirect("cases:config-categories")
    return render(request, "cases/config/category_form.html", {"form": form}, status=400 if form.errors else 200)


@configure_view
def category_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    category = get_object_or_404(_categories(request.user), pk=pk)
    initial = {f: getattr(category, f) for f in ("name_zh", "name_en", "usual_handler", "default_priority", "active")}
    form = CategoryForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            svc.update_category(request.user, category, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Category %(code)s saved.") % {"code": category.code})
            return redirect("cases:config-categories")
    return render(
        request,
        "cases/config/category_form.html",
        {"form": form, "category": category, "in_use": svc.category_in_use(category)},
        status=400 if form.errors else 200,
    )


@configure_view
@require_POST
def category_delete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    category = get_object_or_404(_categories(request.user), pk=pk)
    try:
        svc.delete_category(request.user, category)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("cases:config-category-edit", pk=category.pk)
    messages.success(request, _("Category %(code)s deleted.") % {"code": category.code})
    return redirect("cases:config-categories")


# ---------------------------------------------------------------------------- handling units


class UnitFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        required=False,
        choices=[("", gettext_lazy("all kinds")), *HandlingUnit.Kind.choices],
    )
    area = AreaChoiceField(
        label=gettext_lazy("Area"), required=False, queryset=Area.objects.none(), empty_label=gettext_lazy("all areas")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = svc.visible_areas(user).exclude(level="grid")


class UnitForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=40,
        help_text=gettext_lazy("Letters, digits and hyphens, e.g. a-urban. Used in exports."),
    )
    name = forms.CharField(label=gettext_lazy("Unit name"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=HandlingUnit.Kind.choices)
    area = AreaChoiceField(
        label=gettext_lazy("Area served"),
        queryset=Area.objects.none(),
        help_text=gettext_lazy("Its cases are supervised by the level above this area."),
    )
    estates = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Estates (property companies only)"),
        queryset=Estate.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    phone = forms.CharField(label=gettext_lazy("Duty phone"), max_length=30, required=False)
    active = forms.BooleanField(label=gettext_lazy("Active (cases can be sent to it)"), required=False, initial=True)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = svc.visible_areas(user)
        self.fields["estates"].queryset = Estate.objects.for_user(user, "view").order_by("code")


@configure_view
def unit_list(request: AuthedHttpRequest) -> HttpResponse:
    form = UnitFilterForm(request.GET or None, user=request.user)
    qs = _units(request.user).annotate(n_members=Count("members", distinct=True))
    if form.is_valid():
        f = form.cleaned_data
        if f["kind"]:
            qs = qs.filter(kind=f["kind"])
        if f["area"]:
            a = f["area"]
            qs = qs.filter(Q(area=a) | Q(**{f"area__{a.level}": a}))
    page = Paginator(qs.order_by("area__code", "code"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "cases/config/unit_list.html", {"form": form, "page": page, "query": _query_without_page(request)}
    )


@configure_view
def unit_create(request: AuthedHttpRequest) -> HttpResponse:
    form = UnitForm(request.POST or None, user=request.user, initial={"active": True})
    if request.method == "POST" and form.is_valid():
        try:
            unit = svc.create_unit(request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Unit %(name)s created. Now add its members.") % {"name": unit.name})
            return redirect("cases:config-unit-edit", pk=unit.pk)
    return render(request, "cases/config/unit_form.html", {"form": form}, status=400 if form.errors else 200)


class MemberForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("User name"), max_length=150)


def _render_unit(request, unit, form, member_form, status=200) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    found = []
    if q:
        found = list(
            User.objects.filter(Q(username__icontains=q) | Q(display_name__icontains=q), is_active=True)
            .exclude(pk__in=unit.members.values("pk"))
            .order_by("username")[:MEMBER_SEARCH_LIMIT]
        )
    return render(
        request,
        "cases/config/unit_form.html",
        {
            "form": form,
            "unit": unit,
            "members": unit.members.order_by("username"),
            "member_form": member_form,
            "q": q,
            "found": found,
        },
        status=status,
    )


@configure_view
def unit_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    unit = get_object_or_404(_units(request.user), pk=pk)
    initial = {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "area": unit.area_id,
        "estates": list(unit.estates.values_list("pk", flat=True)),
        "phone": unit.phone,
        "active": unit.active,
    }
    form = UnitForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            svc.update_unit(request.user, unit, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Unit %(name)s saved.") % {"name": form.cleaned_data["name"]})
            return redirect("cases:config-units")
    return _render_unit(request, unit, form, MemberForm(), status=400 if form.errors else 200)


@configure_view
@require_POST
def unit_member_add(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    unit = get_object_or_404(_units(request.user), pk=pk)
    member_form = MemberForm(request.POST)
    if member_form.is_valid():
        try:
            user = svc.add_member(request.user, unit, member_form.cleaned_data["username"])
        except ValidationError as exc:
            apply_errors(member_form, exc)
        else:
            messages.success(request, _("%(name)s added to %(unit)s.") % {"name": user.username, "unit": unit.name})
            return redirect("cases:config-unit-edit", pk=unit.pk)
    initial = {"code": unit.code, "name": unit.name, "kind": unit.kind, "area": unit.area_id}
    return _render_unit(request, unit, UnitForm(user=request.user, initial=initial), member_form, status=400)


@configure_view
@require_POST
def unit_member_remove(request: AuthedHttpRequest, pk: int, user_pk: int) -> HttpResponse:
    unit = get_object_or_404(_units(request.user), pk=pk)
    member = get_object_or_404(unit.members.all(), pk=user_pk)
    svc.remove_member(request.user, unit, member)
    messages.success(request, _("%(name)s removed from %(unit)s.") % {"name": member.username, "unit": unit.name})
    return redirect("cases:config-unit-edit", pk=unit.pk)


# ---------------------------------------------------------------------------- routing rules


class RoutingRuleForm(forms.Form):
    category = CategoryChoiceField(
        label=gettext_lazy("Category"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=gettext_lazy("any category"),
    )
    area = AreaChoiceField(
        label=gettext_lazy("Area"), queryset=Area.objects.none(), required=False, empty_label=gettext_lazy("anywhere")
    )
    unit = UnitChoiceField(
        label=gettext_lazy("Handling unit"),
        queryset=HandlingUnit.objects.none(),
        help_text=gettext_lazy(
            "The unit must serve the area: its own area is the rule's area, contains it or lies within it."
        ),
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=200, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = _categories(user).order_by("code")
        self.fields["area"].queryset = svc.visible_areas(user)
        self.fields["unit"].queryset = _units(user).filter(active=True).order_by("area__code", "code")


class RouteTestForm(forms.Form):
    category = CategoryChoiceField(
        label=gettext_lazy("Category"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=gettext_lazy("any category"),
    )
    area = AreaChoiceField(label=gettext_lazy("Place"), queryset=Area.objects.none())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = _categories(user).filter(active=True).order_by("code")
        self.fields["area"].queryset = svc.visible_areas(user)


def _winning_rule(category, area) -> tuple[HandlingUnit | None, RoutingRule | None]:
    unit = routing.route(category, area)
    if unit is None:
        return None, None
    cats = [category.pk, category.parent_id] if category else []
    chain = [area.pk, area.community_id, area.street_id, area.district_id, area.city_id]
    rules = RoutingRule.objects.filter(
        Q(category__isnull=True) | Q(category_id__in=[c for c in cats if c]),
        Q(area__isnull=True) | Q(area_id__in=[a for a in chain if a]),
        unit=unit,
    ).select_related("category", "area")
    order_c = [*cats, None]
    order_a = [*chain, None]
    best = min(
        rules,
        key=lambda r: (
            order_c.index(r.category_id) if r.category_id in order_c else 99,
            order_a.index(r.area_id) if r.area_id in order_a else 99,
        ),
        default=None,
    )
    return unit, best


@configure_view
def routing_list(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    test = RouteTestForm(request.GET if "area" in request.GET else None, user=user)
    result = None
    if test.is_bound and test.is_valid():
        unit, rule = _winning_rule(test.cleaned_data["category"], test.cleaned_data["area"])
        result = {"unit": unit, "rule": rule}
    qs = RoutingRule.objects.for_user(user, "configure").select_related("category", "area", "unit__area")
    page = Paginator(qs.order_by("category__code", "area__code", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "cases/config/routing_list.html",
        {"page": page, "test": test, "result": result, "query": _query_without_page(request)},
    )


def _rule_form_view(request, rule: RoutingRule | None) -> HttpResponse:
    initial = (
        {"category": rule.category_id, "area": rule.area_id, "unit": rule.unit_id, "note": rule.note} if rule else {}
    )
    form = RoutingRuleForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                svc.create_routing_rule(request.user, **form.cleaned_data)
            else:
                svc.update_routing_rule(request.user, rule, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Routing rule saved."))
            return redirect("cases:config-routing")
    return render(
        request, "cases/config/routing_form.html", {"form": form, "rule": rule}, status=400 if form.errors else 200
    )


@configure_view
def routing_create(request: AuthedHttpRequest) -> HttpResponse:
    return _rule_form_view(request, None)


@configure_view
def routing_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _rule_form_view(request, get_object_or_404(RoutingRule.objects.for_user(request.user, "configure"), pk=pk))


@configure_view
@require_POST
def routing_delete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(RoutingRule.objects.for_user(request.user, "configure"), pk=pk)
    svc.delete_routing_rule(request.user, rule)
    messages.success(request, _("Routing rule deleted."))
    return redirect("cases:config-routing")


# ---------------------------------------------------------------------------- keyword rules and classifier


class KeywordRuleForm(forms.Form):
    keyword = forms.CharField(
        label=gettext_lazy("Keyword"),
        max_length=200,
        help_text=gettext_lazy("Up to 40 characters, as residents write it, e.g. 井盖."),
    )
    category = CategoryChoiceField(
        label=gettext_lazy("Second-level category"),
        queryset=Category.objects.none(),
        help_text=gettext_lazy("Keywords point to a second-level category."),
    )
    weight = forms.FloatField(
        label=gettext_lazy("Weight"),
        initial=1.0,
        help_text=gettext_lazy("0.1 to 5: how strongly the keyword pulls towards the category (1 = normal)."),
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = _categories(user).order_by("code")


class TryForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("Report text"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


def _pct(p: float) -> str:
    """A probability as a percentage people can read: "<1%" rather than "0%", ">99%" rather than "100%"."""
    if p < 0.005:
        return "<1%"
    if p > 0.995:
        return ">99%"
    return f"{round(p * 100)}%"


def _label_of(codes: list[str]) -> dict[str, Category]:
    return {c.code: c for c in Category.objects.filter(code__in=codes)}


@configure_view
def keyword_list(request: AuthedHttpRequest) -> HttpResponse:
    from linli.cases.classifier import service as classifier

    user = request.user
    q = request.GET.get("q", "").strip()
    qs = KeywordRule.objects.for_user(user, "configure").select_related("category")
    if q:
        qs = qs.filter(Q(keyword__icontains=q) | Q(category__code__startswith=q))
    page = Paginator(qs.order_by("keyword", "category__code"), PAGE_SIZE).get_page(request.GET.get("page"))
    trial = TryForm(request.GET if "text" in request.GET else None)
    suggestion = None
    if trial.is_bound and trial.is_valid():
        s = classifier.suggest(trial.cleaned_data["text"])
        labels = _label_of([s.code, *(code for code, _p in s.alternatives)])
        suggestion = {
            "category": labels.get(s.code),
            "code": s.code,
            "confidence": _pct(s.confidence),
            "keywords": s.matched_keywords,
            "alternatives": [(labels.get(c), c, _pct(p)) for c, p in s.alternatives if c != s.code],
        }
    model = ClassifierModel.objects.filter(active=True).order_by("-created_at", "-pk").first()
    return render(
        request,
        "cases/config/keyword_list.html",
        {
            "page": page,
            "q": q,
            "trial": trial,
            "suggestion": suggestion,
            "model": model,
            "query": _query_without_page(request),
        },
    )


def _keyword_form_view(request, rule: KeywordRule | None) -> HttpResponse:
    initial = (
        {"keyword": rule.keyword, "category": rule.category_id, "weight": rule.weight, "active": rule.active}
        if rule
        else {"weight": 1.0, "active": True}
    )
    form = KeywordRuleForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                svc.create_keyword_rule(request.user, **form.cleaned_data)
            else:
                svc.update_keyword_rule(request.user, rule, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Keyword rule saved."))
            return redirect("cases:config-keywords")
    return render(
        request, "cases/config/keyword_form.html", {"form": form, "rule": rule}, status=400 if form.errors else 200
    )


@configure_view
def keyword_create(request: AuthedHttpRequest) -> HttpResponse:
    return _keyword_form_view(request, None)


@configure_view
def keyword_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _keyword_form_view(
        request, get_object_or_404(KeywordRule.objects.for_user(request.user, "configure"), pk=pk)
    )


@configure_view
@require_POST
def keyword_delete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(KeywordRule.objects.for_user(request.user, "configure"), pk=pk)
    svc.delete_keyword_rule(request.user, rule)
    messages.success(request, _("Keyword rule deleted."))
    return redirect("cases:config-keywords")


@configure_view
@require_POST
def classifier_retrain(request: AuthedHttpRequest) -> HttpResponse:
    row = svc.retrain_classifier(request.user)
    messages.success(
        request,
        _(
            "Classifier retrained on %(n)s samples: %(top)s%% top-level and %(leaf)s%% second-level accuracy "
            "on the held-out set."
        )
        % {
            "n": row.samples,
            "top": round((row.heldout_top or 0) * 100),
            "leaf": round((row.heldout_second or 0) * 100),
        },
    )
    return redirect("cases:config-keywords")


# ---------------------------------------------------------------------------- deadline policies

UNIT_CHOICES = [
    (svc.HOURS, gettext_lazy("hours")),
    (svc.DAYS, gettext_lazy("days")),
]


class PolicyForm(forms.Form):
    category = CategoryChoiceField(
        label=gettext_lazy("Category"),
        queryset=Category.objects.none(),
        required=False,
        empty_label=gettext_lazy("any category"),
        help_text=gettext_lazy("A second-level category's policy beats its top level's, which beats “any”."),
    )
    priority = forms.ChoiceField(label=gettext_lazy("Priority"), choices=Priority.choices)
    natural_time = forms.BooleanField(
        label=gettext_lazy("Count natural time (24/7: nights, weekends and holidays count)"), required=False
    )
    response_value = forms.DecimalField(label=gettext_lazy("Response limit"), max_digits=7, decimal_places=2)
    response_unit = forms.ChoiceField(label=gettext_lazy("in"), choices=UNIT_CHOICES)
    resolution_value = forms.DecimalField(label=gettext_lazy("Resolution limit"), max_digits=7, decimal_places=2)
    resolution_unit = forms.ChoiceField(label=gettext_lazy("in"), choices=UNIT_CHOICES)
    warn_percent = forms.IntegerField(
        label=gettext_lazy("Warn when this share of the time is used (%)"),
        initial=75,
        help_text=gettext_lazy("1 to 99. The case turns yellow from then on."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = _categories(user).order_by("code")

    def service_kwargs(self) -> dict:
        f = self.cleaned_data
        natural = f["natural_time"]
        return {
            "category": f["category"],
            "priority": f["priority"],
            "natural_time": natural,
            "warn_percent": f["warn_percent"],
            "response": svc.to_minutes(f["response_value"], f["response_unit"], natural),
            "resolution": svc.to_minutes(f["resolution_value"], f["resolution_unit"], natural),
        }


def limit_text(minutes: int, natural: bool) -> str:
    """A limit as people say it: "2 working days", "4 working hours", "30 minutes" (natural time: "2 days")."""
    value, unit = svc.from_minutes(minutes, natural)
    if unit == svc.DAYS:
        if natural:
            return ngettext("%(n)s day", "%(n)s days", value) % {"n": value}
        return ngettext("%(n)s working day", "%(n)s working days", value) % {"n": value}
    if value != int(value):
        if natural:
            return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}
        return ngettext("%(n)s working minute", "%(n)s working minutes", minutes) % {"n": minutes}
    if natural:
        return ngettext("%(n)s hour", "%(n)s hours", int(value)) % {"n": int(value)}
    return ngettext("%(n)s working hour", "%(n)s working hours", int(value)) % {"n": int(value)}


def _policy_rows(policies) -> list[dict]:
    def level(p):
        return 0 if p.category_id is None else (1 if p.category.parent_id is None else 2)

    rows = []
    for p in sorted(policies, key=lambda p: (p.category.code if p.category else "", PRIORITY_RANK.get(p.priority, 9))):
        rows.append(
            {
                "policy": p,
                "level": level(p),
                "response": limit_text(p.response_minutes, p.natural_time),
                "resolution": limit_text(p.resolution_minutes, p.natural_time),
            }
        )
    return rows


@configure_view
def deadline_list(request: AuthedHttpRequest) -> HttpResponse:
    policies = DeadlinePolicy.objects.for_user(request.user, "configure").select_related("category")
    return render(
        request,
        "cases/config/deadline_list.html",
        {"rows": _policy_rows(policies), "day_hours": workcal.calendar().day_minutes / 60},
    )


def _policy_form_view(request, policy: DeadlinePolicy | None) -> HttpResponse:
    initial: dict = {"warn_percent": 75, "priority": Priority.NORMAL}
    if policy is not None:
        rv, ru = svc.from_minutes(policy.response_minutes, policy.natural_time)
        sv, su = svc.from_minutes(policy.resolution_minutes, policy.natural_time)
        initial = {
            "category": policy.category_id,
            "priority": policy.priority,
            "natural_time": policy.natural_time,
            "response_value": rv,
            "response_unit": ru,
            "resolution_value": sv,
            "resolution_unit": su,
            "warn_percent": policy.warn_percent,
        }
    form = PolicyForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if policy is None:
                svc.create_policy(request.user, **form.service_kwargs())
            else:
                svc.update_policy(request.user, policy, **form.service_kwargs())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Deadline policy saved. New cases use it; open cases keep their deadlines."))
            return redirect("cases:config-deadlines")
    return render(
        request,
        "cases/config/deadline_form.html",
        {"form": form, "policy": policy, "day_hours": workcal.calendar().day_minutes / 60},
        status=400 if form.errors else 200,
    )


@configure_view
def deadline_create(request: AuthedHttpRequest) -> HttpResponse:
    return _policy_form_view(request, None)


@configure_view
def deadline_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(DeadlinePolicy.objects.for_user(request.user, "configure"), pk=pk)
    return _policy_form_view(request, policy)


@configure_view
@require_POST
def deadline_delete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(DeadlinePolicy.objects.for_user(request.user, "configure"), pk=pk)
    svc.delete_policy(request.user, policy)
    messages.success(request, _("Deadline policy deleted. Its cases now use the broader policy."))
    return redirect("cases:config-deadlines")


# ---------------------------------------------------------------------------- calendar


class DayForm(forms.Form):
    date = forms.DateField(
        label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    working = forms.TypedChoiceField(
        label=gettext_lazy("This day is"),
        choices=[("0", gettext_lazy("a day off")), ("1", gettext_lazy("a working day"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    name = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("Shown on the calendar, e.g. 春节调休上班 or a local holiday."),
    )


def _year(request) -> int:
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        return timezone.localdate().year
    return year if 2000 <= year <= 2100 else timezone.localdate().year


def _months(year: int, overrides: dict[dt.date, CalendarDay]) -> list[dict]:
    cal = workcal.calendar()
    today = timezone.localdate()
    months = []
    for month in range(1, 13):
        weeks = []
        for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            days: list[dict | None] = []
            for d in week:
                if d.month != month:
                    days.append(None)
                    continue
                working = cal.is_working_day(d)
                weekend = d.weekday() >= 5
                kind = "work" if working else "off"
                name = cal.day_name(d)
                if working and weekend:
                    kind = "adjusted"
                elif not working and (not weekend or (name and d in holidays.DAYS)):
                    kind = "holiday"
                days.append(
                    {
                        "date": d,
                        "kind": kind,
                        "name": name,
                        "override": d in overrides,
                        "today": d == today,
                    }
                )
            weeks.append(days)
        months.append({"n": month, "weeks": weeks})
    return months


def _statutory(year: int, overrides: dict[dt.date, CalendarDay]) -> list[dict]:
    """The year's holidays as the notice lists them: name, days off (first, last, count), adjusted working
    days, and whether any of those dates is overridden here."""
    groups: dict[str, dict] = {}
    for d, working in sorted(holidays.DAYS.items()):
        if d.year != year:
            continue
        name = holidays.NAMES.get(d, "").removesuffix("调休上班")
        g = groups.setdefault(name, {"name": name, "off": [], "work": [], "changed": False})
        g["work" if working else "off"].append(d)
        g["changed"] = g["changed"] or d in overrides
    return sorted(groups.values(), key=lambda g: (g["off"] or g["work"])[0])


@configure_view
def calendar_view(request: AuthedHttpRequest) -> HttpResponse:
    year = _year(request)
    overrides = {d.date: d for d in CalendarDay.objects.filter(date__year=year)}
    statutory = _statutory(year, overrides)
    weekday_names = [pycalendar.day_abbr[i] for i in range(7)]
    return render(
        request,
        "cases/config/calendar.html",
        {
            "year": year,
            "years": sorted({*holidays.YEARS, year, timezone.localdate().year}),
            "notice": holidays.NOTICES.get(year, ""),
            "statutory": statutory,
            "overrides": sorted(overrides.values(), key=lambda d: d.date),
            "months": _months(year, overrides),
            "weekdays": weekday_names,
            "form": DayForm(initial={"working": "0"}),
        },
    )


def _day_form_view(request, day: CalendarDay | None) -> HttpResponse:
    initial: dict = {"working": "0"}
    if day is not None:
        initial = {"date": day.date, "working": "1" if day.working else "0", "name": day.name}
    elif request.GET.get("date"):
        initial["date"] = request.GET["date"]
    form = DayForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if day is None:
                saved = svc.create_day(request.user, **form.cleaned_data)
            else:
                saved = svc.update_day(request.user, day, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Calendar saved for %(date)s.") % {"date": saved.date.isoformat()})
            return redirect(f"{_calendar_url()}?year={saved.date.year}")
    return render(request, "cases/config/day_form.html", {"form": form, "day": day}, status=400 if form.errors else 200)


def _calendar_url() -> str:
    return reverse("cases:config-calendar")


@configure_view
def day_create(request: AuthedHttpRequest) -> HttpResponse:
    return _day_form_view(request, None)


@configure_view
def day_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _day_form_view(request, get_object_or_404(CalendarDay, pk=pk))


@configure_view
@require_POST
def day_delete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    day = get_object_or_404(CalendarDay, pk=pk)
    year = day.date.year
    svc.delete_day(request.user, day)
    messages.success(request, _("Calendar change removed; the statutory calendar applies to that day again."))
    return redirect(f"{_calendar_url()}?year={year}")


# ---------------------------------------------------------------------------- Open311 clients


class ClientForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Application name"), max_length=200)
    contact = forms.CharField(
        label=gettext_lazy("Contact"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("Who to call about this application: a name, e-mail or phone."),
    )


def _render_clients(request, form, new_key=None, new_client=None, status=200) -> HttpResponse:
    return render(
        request,
        "cases/config/client_list.html",
        {
            "clients": Open311Client.objects.order_by("-active", "name"),
            "form": form,
            "new_key": new_key,
            "new_client": new_client,
        },
        status=status,
    )


@configure_view
def client_list(request: AuthedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ClientForm(request.POST)
        if form.is_valid():
            try:
                client, key = svc.create_client(request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                # The key is shown in this response only; it is never stored or shown again.
                response = _render_clients(request, ClientForm(), new_key=key, new_client=client)
                response["Cache-Control"] = "no-store"
                return response
        return _render_clients(request, form, status=400)
    return _render_clients(request, ClientForm())


@configure_view
@require_POST
def client_set_active(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(Open311Client, pk=pk)
    active = request.POST.get("active") == "1"
    svc.set_client_active(request.user, client, active)
    messages.success(
        request,
        (_("%(name)s can file requests again.") if active else _("%(name)s can no longer file requests."))
        % {"name": client.name},
    )
    return redirect("cases:config-clients")


urlpatterns = [
    path("config/", index, name="config"),
    path("config/categories/", category_list, name="config-categories"),
    path("config/categories/new/", category_create, name="config-category-create"),
    path("config/categories/<int:pk>/", category_edit, name="config-category-edit"),
    path("config/categories/<int:pk>/delete/", category_delete, name="config-category-delete"),
    path("config/units/", unit_list, name="config-units"),
    path("config/units/new/", unit_create, name="config-unit-create"),
    path("config/units/<int:pk>/", unit_edit, name="config-unit-edit"),
    path("config/units/<int:pk>/members/", unit_member_add, name="config-unit-member-add"),
    path("config/units/<int:pk>/members/<int:user_pk>/remove/", unit_member_remove, name="config-unit-member-remove"),
    path("config/routing/", routing_list, name="config-routing"),
    path("config/routing/new/", routing_create, name="config-routing-create"),
    path("config/routing/<int:pk>/", routing_edit, name="config-routing-edit"),
    path("config/routing/<int:pk>/delete/", routing_delete, name="config-routing-delete"),
    path("config/keywords/", keyword_list, name="config-keywords"),
    path("config/keywords/new/", keyword_create, name="config-keyword-create"),
    path("config/keywords/<int:pk>/", keyword_edit, name="config-keyword-edit"),
    path("config/keywords/<int:pk>/delete/", keyword_delete, name="config-keyword-delete"),
    path("config/keywords/retrain/", classifier_retrain, name="config-retrain"),
    path("config/deadlines/", deadline_list, name="config-deadlines"),
    path("config/deadlines/new/", deadline_create, name="config-deadline-create"),
    path("config/deadlines/<int:pk>/", deadline_edit, name="config-deadline-edit"),
    path("config/deadlines/<int:pk>/delete/", deadline_delete, name="config-deadline-delete"),
    path("config/calendar/", calendar_view, name="config-calendar"),
    path("config/calendar/new/", day_create, name="config-day-create"),
    path("config/calendar/<int:pk>/", day_edit, name="config-day-edit"),
    path("config/calendar/<int:pk>/delete/", day_delete, name="config-day-delete"),
    path("config/open311/", client_list, name="config-clients"),
    path("config/open311/<int:pk>/active/", client_set_active, name="config-client-active"),
]
