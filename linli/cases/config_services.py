"""Configuration of the work-order engine: categories, handling units, routing and keyword rules, deadline
policies, the calendar, Open311 clients and classifier retraining.

Each action checks `cases.configure`, validates, writes and audits in one transaction: either the change
and its audit record are both saved, or neither is. Bad input raises ValidationError keyed by form field.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.cases import workcal
from linli.cases.models import (
    CalendarDay,
    Category,
    DeadlinePolicy,
    HandlingUnit,
    KeywordRule,
    Open311Client,
    Priority,
    RoutingRule,
    WorkOrder,
)
from linli.cases.open311 import clients
from linli.core import audit
from linli.core.models import AuditRecord
from linli.core.services import delete_audited, field_error, require_perm, save_audited
from linli.places.models import Area, Estate

PERM = "cases.configure"
KEYWORD_MAX = 40
WEIGHT_MIN, WEIGHT_MAX = 0.1, 5.0
_CODE_RE = re.compile(r"\d{2}(\d{2})?")


def _need(actor) -> None:
    require_perm(actor, PERM)


def visible_areas(actor):
    """Areas the actor may pick for units and rules (all of them for a platform administrator)."""
    if actor is None:
        return Area.objects.all()
    return Area.objects.for_user(actor, "view")


def _check_area(actor, area: Area | None, field: str = "area") -> None:
    if area is not None and not visible_areas(actor).filter(pk=area.pk).exists():
        raise field_error(field, _("Choose an area within your scope."))


def _priority(value: str) -> str:
    if value not in Priority.values:
        raise field_error("default_priority", _("Choose a priority."))
    return value


# ---------------------------------------------------------------------------- categories


@transaction.atomic
def create_category(
    actor,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    usual_handler: str = "",
    default_priority: str = Priority.NORMAL,
    active: bool = True,
) -> Category:
    """A top-level category has a two-digit code; a second-level one its parent's code plus two digits.
    Codes are stable: statistics and Open311 service codes rely on them, so they never change."""
    _need(actor)
    code = (code or "").strip()
    if not _CODE_RE.fullmatch(code):
        raise field_error(
            "code", _("A code is two digits (top level, e.g. 09) or its parent's code plus two digits (e.g. 0907).")
        )
    parent = None
    if len(code) == 4:
        parent = Category.objects.filter(code=code[:2], parent__isnull=True).first()
        if parent is None:
            raise field_error(
                "code", _("There is no top-level category %(code)s to put it under.") % {"code": code[:2]}
            )
    if Category.objects.filter(code=code).exists():
        raise field_error("code", _("Code %(code)s is already used.") % {"code": code}, "unique")
    category = Category(
        code=code,
        parent=parent,
        name_zh=(name_zh or "").strip(),
        name_en=(name_en or "").strip(),
        usual_handler=(usual_handler or "").strip(),
        default_priority=_priority(default_priority),
        active=active,
    )
    save_audited(category, None, actor)
    return category


@transaction.atomic
def update_category(
    actor,
    category: Category,
    *,
    name_zh: str,
    name_en: str,
    usual_handler: str = "",
    default_priority: str = Priority.NORMAL,
    active: bool = True,
) -> Category:
    """Edit the names, usual handler, default priority and whether it is offered. The code stays."""
    _need(actor)
    category = Category.objects.select_for_update().get(pk=category.pk)
    before = category.audit_snapshot()
    category.name_zh = (name_zh or "").strip()
    category.name_en = (name_en or "").strip()
    category.usual_handler = (usual_handler or "").strip()
    category.default_priority = _priority(default_priority)
    category.active = active
    save_audited(category, before, actor)
    return category


def category_in_use(category: Category) -> bool:
    return (
        WorkOrder.objects.filter(Q(category=category) | Q(suggested_category=category)).exists()
        or Category.objects.filter(parent=category).exists()
    )


@transaction.atomic
def delete_category(actor, category: Category) -> None:
    """Delete an unused category with its rules (each deletion audited). One that cases use or that has
    second-level categories is refused: deactivate it instead, so history keeps its meaning."""
    _need(actor)
    category = Category.objects.select_for_update().get(pk=category.pk)
    if Category.objects.filter(parent=category).exists():
        raise field_error("category", _("This category has second-level categories. Deactivate it instead."))
    if WorkOrder.objects.filter(Q(category=category) | Q(suggested_category=category)).exists():
        raise field_error("category", _("Cases use this category. Deactivate it instead of deleting it."))
    for model in (RoutingRule, KeywordRule, DeadlinePolicy):
        for rule in model.objects.filter(category=category):
            delete_audited(rule, actor)
    delete_audited(category, actor)


# ---------------------------------------------------------------------------- handling units


def _estate_within(estate: Estate, area: Area) -> bool:
    """An estate lies within a city, district, street or community by its denormalized ids; a grid's unit
    may look after the estates of the grid's community."""
    if area.level == "grid":
        return estate.community_id == area.community_id
    return getattr(estate, f"{area.level}_id", None) == area.pk


def _unit_fields(actor, unit: HandlingUnit, *, name, kind, area, estates, phone, active) -> list[Estate]:
    if kind not in HandlingUnit.Kind.values:
        raise field_error("kind", _("Choose the kind of unit."))
    if area is None:
        raise field_error("area", _("Choose the area this unit serves."))
    _check_area(actor, area)
    estates = list(estates or [])
    if estates and kind != HandlingUnit.Kind.PROPERTY:
        raise field_error("estates", _("Only a property company looks after estates."))
    if estates:
        outside = [e.name for e in estates if not _estate_within(e, area)]
        if outside:
            raise field_error(
                "estates",
                _("These estates lie outside %(area)s: %(names)s.") % {"area": area.name, "names": ", ".join(outside)},
            )
    unit.name = (name or "").strip()
    unit.kind = kind
    unit.area = area
    unit.phone = (phone or "").strip()
    unit.active = active
    return estates


def _unit_code(code: str, unit: HandlingUnit | None = None) -> str:
    code = (code or "").strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", code):
        raise field_error("code", _("A unit code is up to 40 letters, digits, hyphens or underscores, e.g. a-urban."))
    clash = HandlingUnit.objects.filter(code=code)
    if unit is not None:
        clash = clash.exclude(pk=unit.pk)
    if clash.exists():
        raise field_error("code", _("Code %(code)s is already used.") % {"code": code}, "unique")
    return code


@transaction.atomic
def create_unit(actor, *, code, name, kind, area, estates=(), phone="", active=True) -> HandlingUnit:
    _need(actor)
    unit = HandlingUnit(code=_unit_code(code))
    chosen = _unit_fields(actor, unit, name=name, kind=kind, area=area, estates=estates, phone=phone, active=active)
    unit.full_clean(validate_unique=False)
    unit.save()
    unit.estates.set(chosen)
    audit.record_change(unit, None, unit.audit_snapshot(), user=actor)
    return unit


@transaction.atomic
def update_unit(actor, unit: HandlingUnit, *, code, name, kind, area, estates=(), phone="", active=True):
    _need(actor)
    unit = HandlingUnit.objects.for_user(actor, "configure").select_for_update().get(pk=unit.pk)
    before = unit.audit_snapshot()
    unit.code = _unit_code(code, unit)
    chosen = _unit_fields(actor, unit, name=name, kind=kind, area=area, estates=estates, phone=phone, active=active)
    unit.full_clean(validate_unique=False)
    unit.save()
    unit.estates.set(chosen)
    audit.record_change(unit, before, unit.audit_snapshot(), user=actor)
    return unit


@transaction.atomic
def add_member(actor, unit: HandlingUnit, username: str) -> User:
    """Add an existing, active account to the unit's members."""
    _need(actor)
    unit = HandlingUnit.objects.for_user(actor, "configure").select_for_update().get(pk=unit.pk)
    username = (username or "").strip()
    user = User.objects.filter(username=username, is_active=True).first() if username else None
    if user is None:
        raise field_error("username", _("There is no active account with the user name %(name)s.") % {"name": username})
    if unit.members.filter(pk=user.pk).exists():
        raise field_error("username", _("%(name)s is already a member.") % {"name": username})
    before = unit.audit_snapshot()
    unit.members.add(user)
    audit.record_change(unit, before, unit.audit_snapshot(), user=actor)
    return user


@transaction.atomic
def remove_member(actor, unit: HandlingUnit, user: User) -> None:
    _need(actor)
    unit = HandlingUnit.objects.for_user(actor, "configure").select_for_update().get(pk=unit.pk)
    before = unit.audit_snapshot()
    unit.members.remove(user)
    audit.record_change(unit, before, unit.audit_snapshot(), user=actor)


# ---------------------------------------------------------------------------- routing rules


def unit_serves(unit: HandlingUnit, area: Area | None) -> bool:
    """A unit serves an area when its own area is that area, one of its ancestors or one of its
    descendants. A rule for anywhere needs a city-wide unit."""
    if area is None:
        return unit.area.level == "city"
    ua = unit.area
    if ua.pk == area.pk:
        return True
    if ua.pk in (area.city_id, area.district_id, area.street_id, area.community_id, area.parent_id):
        return True
    return area.pk in (ua.city_id, ua.district_id, ua.street_id, ua.community_id, ua.parent_id)


def _rule_fields(actor, rule: RoutingRule, *, category, area, unit, note) -> None:
    if unit is None:
        raise field_error("unit", _("Choose the unit that handles these cases."))
    _check_area(actor, area)
    if not unit.active:
        raise field_error("unit", _("%(unit)s is not active.") % {"unit": unit.name})
    if not unit_serves(unit, area):
        if area is None:
            message = _("A rule for anywhere needs a unit serving the whole city; %(unit)s serves %(where)s.")
        else:
            message = _(
                "%(unit)s serves %(where)s, which neither contains nor lies within %(area)s. A unit may "
                "take a rule for its own area, an area around it or an area inside it."
            )
        raise field_error(
            "unit", message % {"unit": unit.name, "where": unit.area.name, "area": area.name if area else ""}
        )
    clash = RoutingRule.objects.filter(category=category, area=area)
    if rule.pk:
        clash = clash.exclude(pk=rule.pk)
    if clash.exists():
        raise field_error(
            "area",
            _("There is already a rule for %(category)s in %(area)s. Edit that one instead.")
            % {"category": category or _("any category"), "area": area or _("anywhere")},
            "unique",
        )
    rule.category, rule.area, rule.unit, rule.note = category, area, unit, (note or "").strip()


@transaction.atomic
def create_routing_rule(actor, *, category=None, area=None, unit=None, note="") -> RoutingRule:
    _need(actor)
    rule = RoutingRule()
    _rule_fields(actor, rule, category=category, area=area, unit=unit, note=note)
    save_audited(rule, None, actor)
    return rule


@transaction.atomic
def update_routing_rule(actor, rule: RoutingRule, *, category=None, area=None, unit=None, note="") -> RoutingRule:
    _need(actor)
    rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    before = rule.audit_snapshot()
    _rule_fields(actor, rule, category=category, area=area, unit=unit, note=note)
    save_audited(rule, before, actor)
    return rule


@transaction.atomic
def delete_routing_rule(actor, rule: RoutingRule) -> None:
    _need(actor)
    delete_audited(RoutingRule.objects.select_for_update().get(pk=rule.pk), actor)


# ---------------------------------------------------------------------------- keyword rules


def _keyword_fields(rule: KeywordRule, *, keyword, category, weight, active) -> None:
    keyword = (keyword or "").strip()
    if not keyword:
        raise field_error("keyword", _("Enter a keyword."), "required")
    if len(keyword) > KEYWORD_MAX:
        raise field_error("keyword", _("A keyword is at most %(n)s characters.") % {"n": KEYWORD_MAX})
    if category is None or category.parent_id is None:
        raise field_error("category", _("Choose a second-level category (e.g. 0503), not a top-level one."))
    try:
        weight = float(weight)
    except (TypeError, ValueError):
        raise field_error("weight", _("The weight is a number from 0.1 to 5.")) from None
    if not WEIGHT_MIN <= weight <= WEIGHT_MAX:
        raise field_error("weight", _("The weight is a number from 0.1 to 5."))
    clash = KeywordRule.objects.filter(keyword=keyword, category=category)
    if rule.pk:
        clash = clash.exclude(pk=rule.pk)
    if clash.exists():
        raise field_error(
            "keyword",
            _("“%(keyword)s” already points to %(code)s.") % {"keyword": keyword, "code": category.code},
            "unique",
        )
    rule.keyword, rule.category, rule.weight, rule.active = keyword, category, weight, active


@transaction.atomic
def create_keyword_rule(actor, *, keyword, category, weight=1.0, active=True) -> KeywordRule:
    _need(actor)
    rule = KeywordRule()
    _keyword_fields(rule, keyword=keyword, category=category, weight=weight, active=active)
    save_audited(rule, None, actor)
    return rule


@transaction.atomic
def update_keyword_rule(actor, rule: KeywordRule, *, keyword, category, weight=1.0, active=True) -> KeywordRule:
    _need(actor)
    rule = KeywordRule.objects.select_for_update().get(pk=rule.pk)
    before = rule.audit_snapshot()
    _keyword_fields(rule, keyword=keyword, category=category, weight=weight, active=active)
    save_audited(rule, before, actor)
    return rule


@transaction.atomic
def delete_keyword_rule(actor, rule: KeywordRule) -> None:
    _need(actor)
    delete_audited(KeywordRule.objects.select_for_update().get(pk=rule.pk), actor)


def retrain_classifier(actor):
    """Retrain the classifier on the shipped corpus and handled cases; audit the new model's figures."""
    from linli.cases.classifier import service

    _need(actor)
    with transaction.atomic():
        row = service.retrain()
        audit.record(
            AuditRecord.Action.CREATE,
            row,
            after={"samples": row.samples, "heldout_top": row.heldout_top, "heldout_second": row.heldout_second},
            user=actor,
        )
    return row


# ---------------------------------------------------------------------------- deadline policies

HOURS, DAYS = "hours", "days"


def to_minutes(value, unit: str, natural: bool) -> int:
    """Hours are working hours (natural hours when `natural`); days are working days (of the calendar's
    working hours) or, when `natural`, 24-hour days."""
    day = 1440 if natural else workcal.calendar().day_minutes
    return round(float(value) * (60 if unit == HOURS else day))


def from_minutes(minutes: int, natural: bool) -> tuple[float, str]:
    """The most readable (value, unit) for a stored limit."""
    day = 1440 if natural else workcal.calendar().day_minutes
    if minutes and minutes % day == 0:
        return minutes // day, DAYS
    hours = minutes / 60
    return (int(hours) if hours == int(hours) else round(hours, 2)), HOURS


def _policy_fields(policy: DeadlinePolicy, *, category, priority, response, resolution, natural_time, warn_percent):
    if priority not in Priority.values:
        raise field_error("priority", _("Choose a priority."))
    errors = {}
    if response is None or response <= 0:
        errors["response_value"] = _("The response limit must be more than zero.")
    if resolution is None or resolution <= 0:
        errors["resolution_value"] = _("The resolution limit must be more than zero.")
    elif response and resolution < response:
        errors["resolution_value"] = _("The resolution limit cannot be shorter than the response limit.")
    if warn_percent is None or not 1 <= int(warn_percent) <= 99:
        errors["warn_percent"] = _("Warn at 1 to 99 per cent of the time.")
    if errors:
        raise ValidationError(errors)
    clash = DeadlinePolicy.objects.filter(category=category, priority=priority)
    if policy.pk:
        clash = clash.exclude(pk=policy.pk)
    if clash.exists():
        raise field_error(
            "priority",
            _("There is already a policy for %(category)s at this priority. Edit that one instead.")
            % {"category": category or _("any category")},
            "unique",
        )
    policy.category, policy.priority = category, priority
    policy.response_minutes, policy.resolution_minutes = int(response), int(resolution)
    policy.natural_time, policy.warn_percent = natural_time, int(warn_percent)


@transaction.atomic
def create_policy(actor, *, category, priority, response, resolution, natural_time=False, warn_percent=75):
    """Limits in minutes (see `to_minutes`)."""
    _need(actor)
    policy = DeadlinePolicy()
    _policy_fields(
        policy,
        category=category,
        priority=priority,
        response=response,
        resolution=resolution,
        natural_time=natural_time,
        warn_percent=warn_percent,
    )
    save_audited(policy, None, actor)
    return policy


@transaction.atomic
def update_policy(actor, policy, *, category, priority, response, resolution, natural_time=False, warn_percent=75):
    _need(actor)
    policy = DeadlinePolicy.objects.select_for_update().get(pk=policy.pk)
    before = policy.audit_snapshot()
    _policy_fields(
        policy,
        category=category,
        priority=priority,
        response=response,
        resolution=resolution,
        natural_time=natural_time,
        warn_percent=warn_percent,
    )
    save_audited(policy, before, actor)
    return policy


@transaction.atomic
def delete_policy(actor, policy: DeadlinePolicy) -> None:
    """New cases of that category and priority then fall back to the broader policy."""
    _need(actor)
    delete_audited(DeadlinePolicy.objects.select_for_update().get(pk=policy.pk), actor)


# ---------------------------------------------------------------------------- calendar overrides


def _calendar_changed() -> None:
    """Forget this process's cached calendar now and again once the change is committed (the CalendarDay
    signals should do it too; doing it here does not depend on them)."""
    workcal.invalidate()
    transaction.on_commit(workcal.invalidate)


def _day_fields(day: CalendarDay, *, date, working, name) -> None:
    if not isinstance(date, dt.date):
        raise field_error("date", _("Enter a date such as 2026-10-09."))
    clash = CalendarDay.objects.filter(date=date)
    if day.pk:
        clash = clash.exclude(pk=day.pk)
    if clash.exists():
        raise field_error("date", _("%(date)s already has an entry. Edit that one instead.") % {"date": date}, "unique")
    name = (name or "").strip()
    if len(name) > 40:
        raise field_error("name", _("A name is at most 40 characters."))
    day.date, day.working, day.name = date, bool(working), name


@transaction.atomic
def create_day(actor, *, date, working, name="") -> CalendarDay:
    """A day off or an adjusted working day, overriding the statutory calendar for that date (deadlines
    counted afterwards use it: saving invalidates the calendar cache)."""
    _need(actor)
    day = CalendarDay()
    _day_fields(day, date=date, working=working, name=name)
    day.save()
    _calendar_changed()
    audit.record_change(day, None, audit.snapshot(day), user=actor)
    return day


@transaction.atomic
def update_day(actor, day: CalendarDay, *, date, working, name="") -> CalendarDay:
    _need(actor)
    day = CalendarDay.objects.select_for_update().get(pk=day.pk)
    before = audit.snapshot(day)
    _day_fields(day, date=date, working=working, name=name)
    day.save()
    _calendar_changed()
    audit.record_change(day, before, audit.snapshot(day), user=actor)
    return day


@transaction.atomic
def delete_day(actor, day: CalendarDay) -> None:
    _need(actor)
    day = CalendarDay.objects.select_for_update().get(pk=day.pk)
    before, pk = audit.snapshot(day), day.pk
    day.delete()
    _calendar_changed()
    day.pk = pk
    audit.record_change(day, before, None, user=actor)


# ---------------------------------------------------------------------------- Open311 clients


@transaction.atomic
def create_client(actor, *, name: str, contact: str = "") -> tuple[Open311Client, str]:
    """A client application and its api_key: the key is returned once; only its SHA-256 digest is kept."""
    _need(actor)
    name = (name or "").strip()
    if not name:
        raise field_error("name", _("Enter the application's name."), "required")
    if len(name) > 100:
        raise field_error("name", _("A name is at most 100 characters."))
    if len((contact or "").strip()) > 200:
        raise field_error("contact", _("The contact is at most 200 characters."))
    if Open311Client.objects.filter(name=name).exists():
        raise field_error("name", _("There is already a client called %(name)s.") % {"name": name}, "unique")
    return clients.issue(name, contact or "")


@transaction.atomic
def set_client_active(actor, client: Open311Client, active: bool) -> Open311Client:
    _need(actor)
    client = Open311Client.objects.select_for_update().get(pk=client.pk)
    if client.active != active:
        clients.set_active(client, active)
    return client
