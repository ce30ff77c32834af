"""Work orders (工单): categories, handling units, routing, deadlines, the case itself and its timeline.

One engine for complaints, grid events, hotline calls, repairs and machine-opened cases. The state
machine lives in `workflow.py`; every write goes through `services.py`.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from linli.core import crypto
from linli.core.models import LinliModel
from linli.core.scope import ScopedQuerySet
from linli.core.sealed import Sealed, SealedMixin
from linli.places.models import Area, Estate, House


def _bilingual(zh: str, en: str) -> str:
    return en if (get_language() or "").startswith("en") else zh


class Priority(models.TextChoices):
    URGENT = "urgent", _("urgent")
    HIGH = "high", _("high")
    NORMAL = "normal", _("normal")
    LOW = "low", _("low")


PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


class Category(LinliModel):
    """事件分类: two levels, stable codes (taxonomy.md); names are display text."""

    code = models.CharField(_("code"), max_length=8, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent")
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=100)
    usual_handler = models.CharField(_("usual handler"), max_length=100, blank=True)
    default_priority = models.CharField(
        _("default priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    active = models.BooleanField(_("active"), default=True)

    scope_permission_prefix = "cases"

    class Meta:
        ordering = ["code"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return _bilingual(self.name_zh, self.name_en)

    @property
    def is_leaf(self) -> bool:
        return self.parent_id is not None

    @property
    def top_code(self) -> str:
        return self.code[:2]

    @classmethod
    def scope_q(cls, scope) -> Q:
        return Q()


class HandlingUnit(LinliModel):
    """处置单位: whoever a case can be dispatched to — a community, a property company, a street
    department (城管, 派出所, 市场监管, 房管), a utility. Its members handle its cases."""

    class Kind(models.TextChoices):
        COMMUNITY = "community", _("community")
        GRID = "grid", _("grid team")
        PROPERTY = "property", _("property company")
        STREET = "street", _("street office department")
        URBAN = "urban", _("urban management (城管)")
        POLICE = "police", _("police station")
        MARKET = "market", _("market regulation")
        HOUSING = "housing", _("housing office")
        UTILITY = "utility", _("utility")
        HEALTH = "health", _("health")
        CIVIL = "civil", _("civil affairs")
        OTHER = "other", _("other")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    area = models.ForeignKey(
        Area,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("area served"),
        help_text=_("The area this unit works in; its cases are supervised by the level above."),
    )
    estates = models.ManyToManyField(Estate, blank=True, related_name="+", verbose_name=_("estates"))
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="handling_units", verbose_name=_("members")
    )
    phone = models.CharField(_("duty phone"), max_length=30, blank=True)
    active = models.BooleanField(_("active"), default=True)

    scope_permission_prefix = "cases"

    class Meta:
        ordering = ["code"]
        verbose_name = _("handling unit")
        verbose_name_plural = _("handling units")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, scope) -> Q:
        return Q(area__in=Area.objects.filter(Area.scope_q(scope))) | Q(area__level="city") | Q(area__level="district")


class RoutingRule(LinliModel):
    """Category × area → responsible unit. The most specific rule wins (leaf over top level over any
    category; grid over community over street over district over city over anywhere)."""

    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("category"),
        help_text=_("Empty: any category."),
    )
    area = models.ForeignKey(
        Area,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("area"),
        help_text=_("Empty: anywhere."),
    )
    unit = models.ForeignKey(HandlingUnit, on_delete=models.CASCADE, related_name="+", verbose_name=_("unit"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    scope_permission_prefix = "cases"

    class Meta:
        ordering = ["category__code", "area__code"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        constraints = [
            models.UniqueConstraint(fields=["category", "area"], name="routing_rule_unique", nulls_distinct=False)
        ]

    def __str__(self) -> str:
        return f"{self.category or '*'} @ {self.area or '*'} → {self.unit}"

    @classmethod
    def scope_q(cls, scope) -> Q:
        return Q()


class KeywordRule(LinliModel):
    """An admin-editable hint for the classifier: this keyword points to that category."""

    keyword = models.CharField(_("keyword"), max_length=40)
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+", verbose_name=_("category"))
    weight = models.FloatField(_("weight"), default=1.0)
    active = models.BooleanField(_("active"), default=True)

    scope_permission_prefix = "cases"

    class Meta:
        ordering = ["keyword"]
        verbose_name = _("keyword rule")
        verbose_name_plural = _("keyword rules")
        constraints = [models.UniqueConstraint(fields=["keyword", "category"], name="keyword_rule_unique")]

    def __str__(self) -> str:
        return f"{self.keyword} → {self.category.code}"

    @classmethod
    def scope_q(cls, scope) -> Q:
        return Q()


class ClassifierModel(models.Model):
    """A trained classifier (JSON counts), with its accuracy on the held-out set."""

    created_at = models.DateTimeField(auto_now_add=True)
    data = models.JSONField()
    samples = models.PositiveIntegerField(default=0)
    heldout_top = models.FloatField(null=True, blank=True)
    heldout_second = models.FloatField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"classifier {self.created_at:%Y-%m-%d %H:%M} ({self.samples} samples)"


class DeadlinePolicy(LinliModel):
    """Response and resolution limits for a category (or any) and a priority.

    Limits are in working minutes (the statutory calendar and working hours) unless `natural_time`,
    which counts the clock around the hour (urgent cases)."""

    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("category"),
        help_text=_("Empty: any category."),
    )
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices)
    response_minutes = models.PositiveIntegerField(_("response limit (minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution limit (minutes)"))
    natural_time = models.BooleanField(_("count natural time (24/7)"), default=False)
    warn_percent = models.PositiveSmallIntegerField(_("warn when this share of the time is used (%)"), default=75)

    scope_permission_prefix = "cases"

    class Meta:
        ordering = ["category__code", "priority"]
        verbose_name = _("deadline policy")
        verbose_name_plural = _("deadline policies")
        constraints = [
            models.UniqueConstraint(
                fields=["category", "priority"], name="deadline_policy_unique", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return f"{self.category or '*'} · {self.get_priority_display()}"

    @classmethod
    def scope_q(cls, scope) -> Q:
        return Q()


class CalendarDay(models.Model):
    """An override of the built-in statutory calendar: a day off or an adjusted working day."""

    date = models.DateField(_("date"), unique=True)
    working = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=40, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        return f"{self.date} {'+' if self.working else '-'} {self.name}"


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    ACCEPTED = "accepted", _("accepted")
    DISPATCHED = "dispatched", _("dispatched")
    IN_PROGRESS = "in_progress", _("in progress")
    RETURNED = "returned", _("returned")
    SUSPENDED = "suspended", _("suspended")
    RESOLVED = "resolved", _("resolved")
    REVIEWED = "reviewed", _("reviewed")
    CLOSED = "closed", _("closed")
    MERGED = "merged", _("merged")
    REJECTED = "rejected", _("not accepted")


OPEN_STATUSES = (
    Status.SUBMITTED,
    Status.ACCEPTED,
    Status.DISPATCHED,
    Status.IN_PROGRESS,
    Status.RETURNED,
    Status.SUSPENDED,
)
FINISHED_STATUSES = (Status.RESOLVED, Status.REVIEWED, Status.CLOSED)
# open and on the clock (a suspended case's clock is stopped)
RUNNING_STATUSES = tuple(s for s in OPEN_STATUSES if s != Status.SUSPENDED)


class Channel(models.TextChoices):
    RESIDENT = "resident", _("resident")
    GRID = "grid", _("grid patrol")
    HOTLINE = "hotline", _("hotline")
    STAFF = "staff", _("staff")
    API = "api", _("API")
    OPEN311 = "open311", _("Open311")
    DEVICE = "device", _("device")
    PROACTIVE = "proactive", _("proactive inspection")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("satisfied")
    BASIC = "basic", _("basically satisfied")
    UNSATISFIED = "unsatisfied", _("unsatisfied")


class DueState(models.TextChoices):
    OK = "ok", _("on time")
    WARNING = "warning", _("due soon")
    OVERDUE = "overdue", _("overdue")


# Places as cells of a grid of 1/CELLS_PER_DEGREE degree (about 550 m north–south): duplicate detection looks
# for a case's neighbours in the cells its search box touches, through an index on the cells.
CELLS_PER_DEGREE = 200


def place_cells() -> tuple[Cast, Cast]:
    """The latitude and longitude cell of a case as database expressions (NULL without coordinates)."""
    return (
        Cast(F("lat") * CELLS_PER_DEGREE, models.IntegerField()),
        Cast(F("lng") * CELLS_PER_DEGREE, models.IntegerField()),
    )


LISTED_IDS_MAX = 2000  # assisted cases of a period sent by id (WorkOrderQuerySet.for_user); more: a subquery


def _assisted_q(unit_ids: list[int], since) -> Q:
    """The cases these units assist with: by id when `since` limits them to a short list, else a subquery."""
    assisted = CoHandler.objects.filter(unit_id__in=unit_ids)
    if since is not None:
        period = assisted.filter(work_order__submitted_at__gte=since).values_list("work_order_id", flat=True)
        listed = list(period[: LISTED_IDS_MAX + 1])
        if len(listed) <= LISTED_IDS_MAX:
            return Q(pk__in=listed)
    return Q(pk__in=assisted.values("work_order_id"))


class WorkOrderQuerySet(ScopedQuerySet):
    def for_user(self, user, action: str = "view", since=None) -> models.QuerySet:
        """Cases in the user's area scope for `cases.<action>`, plus the cases of the user's handling units
        (lead or assisting) and, for viewing, the cases the user reported.

        `since` (a datetime) is for a query limited to cases submitted since then: the cases the user's units
        assist with in that period are then listed by id, so that PostgreSQL can combine every part of the
        scope from its own index (a subquery in an OR cannot be); the caller still filters the period."""
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        scope = user.scope_for(f"cases.{action}")
        if scope.all:
            return self
        q = Q(pk__in=[])
        if not scope.empty:
            q |= WorkOrder.scope_q(scope)
        if action in ("view", "handle") and user.has_linli_perm("cases.handle"):
            unit_ids = unit_ids_of(user)
            if unit_ids:
                q |= Q(lead_unit_id__in=unit_ids) | _assisted_q(unit_ids, since)
        if action == "view":
            q |= Q(reporter=user)
        return self.filter(q)

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)


class WorkOrderManager(models.Manager.from_queryset(WorkOrderQuerySet)):  # type: ignore[misc]
    pass


def unit_ids_of(user) -> list[int]:
    """The handling units a user belongs to, once per request object."""
    cached = user.__dict__.get("_linli_unit_ids")
    if cached is None:
        cached = list(HandlingUnit.objects.filter(members=user, active=True).values_list("pk", flat=True))
        user.__dict__["_linli_unit_ids"] = cached
    return cached


class WorkOrder(SealedMixin, LinliModel):
    """工单: one case, from the report to closing. Its history is its CaseEvent timeline."""

    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), max_length=2000)
    # both served by the duplicate probes' indexes, which begin with them (wo_category_cell, wo_suggested_cell)
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("category"),
        db_index=False,
    )
    suggested_category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("suggested category"),
        db_index=False,
    )
    suggestion_confidence = models.FloatField(_("confidence"), null=True, blank=True)
    category_corrected = models.BooleanField(_("category corrected by staff"), default=False)
    priority = models.CharField(_("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    anonymous = models.BooleanField(_("anonymous"), default=False)

    # who reported it
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
        verbose_name=_("reporter"),
    )
    reporter_resident = models.ForeignKey(
        "people.Resident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("on behalf of"),
    )
    caller_name = models.CharField(_("caller"), max_length=50, blank=True)
    caller_phone_enc = models.TextField(blank=True, default="", editable=False)
    caller_phone_hash = models.CharField(max_length=64, blank=True, default="", editable=False)  # wo_caller_phone
    caller_phone = Sealed(mask=crypto.mask_phone)
    call_time = models.DateTimeField(_("call time"), null=True, blank=True)
    external_ref = models.CharField(_("external reference"), max_length=80, blank=True)  # wo_external_ref
    open311_client = models.ForeignKey(
        "Open311Client", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # where
    address = models.CharField(_("address"), max_length=200, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    house = models.ForeignKey(House, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    estate = models.ForeignKey(Estate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # indexed with the submission time (Meta.indexes): a place's cases over a period are one index range
    grid = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    community = models.ForeignKey(
        Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    street = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", db_index=False)
    district = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", db_index=False)
    city = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", db_index=False)

    # who handles it
    lead_unit = models.ForeignKey(
        HandlingUnit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("lead unit"),
        db_index=False,  # wo_unit_time
    )
    proposed_unit = models.ForeignKey(
        HandlingUnit,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("proposed unit"),
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("handler"),
    )
    escalation_level = models.PositiveSmallIntegerField(_("escalations"), default=0)
    escalated_to = models.ForeignKey(
        Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("escalated to")
    )
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
        verbose_name=_("merged into"),
    )
    self_handled = models.BooleanField(_("handled on the spot"), default=False)
    resolution = models.TextField(_("resolution"), blank=True, max_length=2000)

    # the clock
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now, db_index=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    started_at = models.DateTimeField(_("handling started"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    response_due = models.DateTimeField(_("response due"), null=True, blank=True)
    resolve_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    warn_at = models.DateTimeField(_("warning from"), null=True, blank=True)
    natural_time = models.BooleanField(default=False, editable=False)
    suspended_at = models.DateTimeField(_("suspended since"), null=True, blank=True)
    suspended_from = models.CharField(max_length=12, choices=Status.choices, blank=True, editable=False)
    suspension_requested = models.BooleanField(_("suspension requested"), default=False)
    paused_minutes = models.PositiveIntegerField(_("time suspended (working minutes)"), default=0)
    warned_at = models.DateTimeField(null=True, blank=True, editable=False)
    overdue_at = models.DateTimeField(null=True, blank=True, editable=False)
    responded_late = models.BooleanField(default=False, editable=False)
    resolved_late = models.BooleanField(default=False, editable=False)

    # 回访
    rating = models.CharField(_("rating"), max_length=12, choices=Rating.choices, blank=True)
    rating_comment = models.CharField(_("comment"), max_length=500, blank=True)
    rated_at = models.DateTimeField(_("rated"), null=True, blank=True)
    rated_by_callback = models.BooleanField(_("rated by call-back"), default=False)
    reopen_count = models.PositiveSmallIntegerField(_("reopened"), default=0)

    version = models.PositiveIntegerField(default=1, editable=False)

    objects = WorkOrderManager()  # type: ignore[misc]
    scope_permission_prefix = "cases"
    audit_exclude = ("created_at", "updated_at", "caller_phone_enc", "caller_phone_hash", "version")

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        indexes = [
            models.Index(fields=["street", "status", "resolve_due"], name="wo_street_queue"),
            models.Index(fields=["community", "status", "resolve_due"], name="wo_community_queue"),
            models.Index(fields=["district", "status", "resolve_due"], name="wo_district_queue"),
            models.Index(fields=["lead_unit", "status"], name="wo_unit_status"),
            models.Index(fields=["grid", "submitted_at"], name="wo_grid_time"),
            # exact lookups only: no LIKE twin (varchar_pattern_ops), which db_index would add on PostgreSQL
            models.Index(fields=["caller_phone_hash"], name="wo_caller_phone"),
            models.Index(fields=["external_ref"], name="wo_external_ref"),
            # a search over a period reads the scope's own cases of the period (linli/cases/words.py)
            models.Index(fields=["community", "submitted_at"], name="wo_community_time"),
            models.Index(fields=["street", "submitted_at"], name="wo_street_time"),
            models.Index(fields=["district", "submitted_at"], name="wo_district_time"),
            models.Index(fields=["city", "submitted_at"], name="wo_city_time"),
            models.Index(fields=["lead_unit", "submitted_at"], name="wo_unit_time"),
            # duplicate detection probes a category's cells around a case (two by two) within a time window
            models.Index(F("category"), *place_cells(), F("submitted_at"), name="wo_category_cell"),
            models.Index(F("suggested_category"), *place_cells(), F("submitted_at"), name="wo_suggested_cell"),
            # the dispatch desk of a city or district: its queue among 17 M cases read from the index alone
            models.Index(
                fields=["status", "resolve_due"],
                name="wo_open_queue",
                include=[
                    "id",
                    "priority",
                    "warn_at",
                    "suspension_requested",
                    "escalated_to",
                    "channel",
                    "category",
                    "city",
                    "district",
                    "street",
                    "community",
                    "grid",
                ],
                condition=Q(status__in=["submitted", "accepted", "dispatched", "in_progress", "returned", "suspended"]),
            ),
            models.Index(
                fields=["resolve_due"],
                name="wo_open_due",
                condition=Q(status__in=["submitted", "accepted", "dispatched", "in_progress", "returned"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def number(self) -> str:
        """The case number people quote on the phone: submission date and id."""
        local = timezone.localtime(self.submitted_at) if self.submitted_at else timezone.localtime()
        return f"{local:%Y%m%d}{self.pk or 0:07d}"

    @staticmethod
    def pk_from_number(number: str) -> int | None:
        number = (number or "").strip()
        if len(number) < 9 or not number.isdigit():
            return None
        return int(number[8:])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def due_state(self, now: dt.datetime | None = None) -> str:
        if not self.is_open or self.status == Status.SUSPENDED or self.resolve_due is None:
            return DueState.OK
        now = now or timezone.now()
        if now >= self.resolve_due:
            return DueState.OVERDUE
        if self.warn_at and now >= self.warn_at:
            return DueState.WARNING
        return DueState.OK

    def copy_areas_from(self, area: Area) -> None:
        """Set grid/community/street/district/city from the most specific known area."""
        self.grid_id = area.pk if area.level == "grid" else None
        self.community_id = area.pk if area.level == "community" else area.community_id
        self.street_id = cast(int, area.pk if area.level == "street" else area.street_id)
        self.district_id = cast(int, area.pk if area.level == "district" else area.district_id)
        self.city_id = cast(int, area.pk if area.level == "city" else area.city_id)

    @property
    def area(self) -> Area | None:
        return self.grid or self.community or self.street

    @classmethod
    def scope_q(cls, scope) -> Q:
        q = scope.located_q(houses=False)
        if scope.house_ids:
            q |= Q(house_id__in=scope.house_ids)
        return q


class CoHandler(models.Model):
    """多方联动: an assisting unit on a case, and whether its part is done."""

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="co_handlers")
    unit = models.ForeignKey(HandlingUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    task = models.CharField(_("task"), max_length=200, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["work_order", "unit"], name="co_handler_unique")]
        verbose_name = _("assisting unit")
        verbose_name_plural = _("assisting units")

    def __str__(self) -> str:
        return f"{self.work_order_id} + {self.unit}"


class CaseEvent(models.Model):
    """One step in a case's timeline: who did what, when, with which note. Append-only."""

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("action"), max_length=20)
    from_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(_("by"), max_length=150, blank=True)
    at = models.DateTimeField(_("time"), default=timezone.now)
    note = models.TextField(_("note"), blank=True, max_length=2000)
    unit = models.ForeignKey(HandlingUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["work_order", "at"], name="case_event_timeline")]
        verbose_name = _("case event")
        verbose_name_plural = _("case events")

    def __str__(self) -> str:
        return f"{self.work_order_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


def attachment_path(instance: CaseAttachment, filename: str) -> str:
    today = timezone.localdate()
    return f"cases/{today:%Y/%m}/{instance.work_order_id}/{instance.token}.{instance.extension}"


class CaseAttachment(models.Model):
    """A photo on a case: what the reporter saw, before and after the fix."""

    class Kind(models.TextChoices):
        REPORT = "report", _("reported")
        BEFORE = "before", _("before")
        AFTER = "after", _("after")
        PROGRESS = "progress", _("progress")

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(CaseEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.REPORT)
    file = models.FileField(upload_to=attachment_path)
    token = models.CharField(max_length=32, editable=False)
    extension = models.CharField(max_length=5, editable=False)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    original_name = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.work_order_id} {self.kind} {self.original_name}"


class Open311Client(models.Model):
    """A client application allowed to POST service requests through Open311 (one api_key each)."""

    name = models.CharField(_("name"), max_length=100)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    key_digest = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(max_length=8, editable=False)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Open311 client")
        verbose_name_plural = _("Open311 clients")

    def __str__(self) -> str:
        return self.name


class Open311Token(models.Model):
    """GeoReport's token: a POSTed request gets one at once, and the request id once it is created."""

    token = models.CharField(max_length=40, unique=True)
    work_order = models.ForeignKey(WorkOrder, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.token


class CaseDayStat(models.Model):
    """Daily roll-up of cases by the day they were reported (linli/cases/rollup.py builds it; KPIs read it).

    One row per day and grain: "g" grid (with its community, street, district, city) × top category × lead
    unit; "s" street × top category; "u" street × lead unit; "a" street alone. The coarse grains serve
    district- and city-wide tables without reading the grid rows. Counts describe the cases reported that
    day as they stood when the day was last rebuilt (see kpi.py)."""

    class Grain(models.TextChoices):
        GRID = "g", _("grid × category × unit")
        STREET = "s", _("street × category")
        UNIT = "u", _("street × unit")
        AREA = "a", _("street")

    day = models.DateField()
    grain = models.CharField(max_length=1, choices=Grain.choices)
    # plain ids, no foreign keys: the table is rebuilt wholesale and must stay cheap to write
    grid_id = models.BigIntegerField(null=True)
    community_id = models.BigIntegerField(null=True)
    street_id = models.BigIntegerField(null=True)
    district_id = models.BigIntegerField(null=True)
    city_id = models.BigIntegerField(null=True)
    top_code = models.CharField(max_length=2, blank=True)
    lead_unit_id = models.BigIntegerField(null=True)
    submitted = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    due_response = models.PositiveIntegerField(default=0)
    responded = models.PositiveIntegerField(default=0)
    responded_on_time = models.PositiveIntegerField(default=0)
    resolved = models.PositiveIntegerField(default=0)
    resolved_on_time = models.PositiveIntegerField(default=0)
    handling_seconds = models.BigIntegerField(default=0)
    rated = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)
    basic = models.PositiveIntegerField(default=0)
    reopened = models.PositiveIntegerField(default=0)
    open = models.PositiveIntegerField(default=0)
    overdue_open = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["grain", "day"], name="daystat_day"),
            models.Index(fields=["grain", "street_id", "day"], name="daystat_street"),
            models.Index(fields=["grain", "district_id", "day"], name="daystat_district"),
            models.Index(fields=["grain", "community_id", "day"], name="daystat_community"),
            models.Index(fields=["grain", "grid_id", "day"], name="daystat_grid"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.grain} {self.grid_id or self.street_id} {self.top_code} {self.submitted}"
