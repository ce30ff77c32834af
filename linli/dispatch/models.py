"""The 24/7 emergency dispatch center (调度中心): rescuers, the three-shift roster, incidents and their clock.

An incident opens when a call-taker claims a life-safety alarm (linli/iot). Its timestamp chain — received,
acknowledged, called back, dispatched, en route, on scene, closed — is kept on the incident and every step is
an IncidentEvent. The center serves an area (usually a district): staff are assigned to it like everyone else,
so the data scope applies unchanged.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.core.models import LinliModel


class Crew(LinliModel):
    """班组: one of the crews that take turns on the three shifts (三班三运转)."""

    area = models.ForeignKey("places.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("serves"))
    name = models.CharField(_("name"), max_length=50)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("shift lead"),
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="crews")

    scope_permission_prefix = "dispatch"

    class Meta:
        ordering = ["area", "name"]
        verbose_name = _("crew")
        verbose_name_plural = _("crews")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, scope) -> Q:
        from linli.places.models import Area

        return Q(area__in=Area.objects.filter(Area.scope_q(scope)))


def hours_label(start, end) -> str:
    return f"{start:%H:%M}–{'24:00' if end.hour == end.minute == 0 else f'{end:%H:%M}'}"


class Shift(LinliModel):
    """One shift on the roster: a crew on duty from `starts_at` to `ends_at`."""

    class Name(models.TextChoices):
        DAY = "day", _("day shift")
        EVENING = "evening", _("evening shift")
        NIGHT = "night", _("night shift")

    area = models.ForeignKey("places.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("serves"))
    crew = models.ForeignKey(Crew, on_delete=models.PROTECT, related_name="shifts", verbose_name=_("crew"))
    name = models.CharField(_("shift"), max_length=8, choices=Name.choices)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("shift lead"),
    )

    scope_permission_prefix = "dispatch"

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        constraints = [models.UniqueConstraint(fields=["area", "starts_at"], name="shift_one_per_start")]
        indexes = [models.Index(fields=["area", "starts_at", "ends_at"], name="shift_area_time")]

    def __str__(self) -> str:
        return f"{self.get_name_display()} {timezone.localtime(self.starts_at):%Y-%m-%d} {self.crew}"

    @property
    def hours(self) -> str:
        """08:00–16:00 in local time; a shift ending at midnight ends at 24:00, as the roster names it."""
        return hours_label(timezone.localtime(self.starts_at), timezone.localtime(self.ends_at))

    @classmethod
    def scope_q(cls, scope) -> Q:
        from linli.places.models import Area

        return Q(area__in=Area.objects.filter(Area.scope_q(scope)))


class Handover(LinliModel):
    """交接班: what the outgoing shift tells the incoming one."""

    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="handovers", verbose_name=_("from shift"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("handover note"), max_length=4000)
    open_incidents = models.PositiveIntegerField(_("open incidents"), default=0)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(_("received"), null=True, blank=True)

    scope_permission_prefix = "dispatch"

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")

    def __str__(self) -> str:
        return f"{self.shift}: {self.note[:30]}"

    @classmethod
    def scope_q(cls, scope) -> Q:
        return Q(shift__in=Shift.objects.filter(Shift.scope_q(scope)))


class Rescuer(LinliModel):
    """救援员: a user who goes to the door, with where they are and whether they are free."""

    class Status(models.TextChoices):
        OFF_DUTY = "off_duty", _("off duty")
        AVAILABLE = "available", _("available")
        ASSIGNED = "assigned", _("assigned")
        EN_ROUTE = "en_route", _("en route")
        ON_SCENE = "on_scene", _("on scene")

    class Travel(models.TextChoices):
        FOOT = "foot", _("on foot")
        EBIKE = "ebike", _("e-bike")
        CAR = "car", _("car")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rescuer")
    area = models.ForeignKey("places.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("serves"))
    crew = models.ForeignKey(
        Crew, null=True, blank=True, on_delete=models.SET_NULL, related_name="rescuers", verbose_name=_("crew")
    )
    status = models.CharField(_("state"), max_length=10, choices=Status.choices, default=Status.OFF_DUTY)
    travel = models.CharField(_("travels by"), max_length=6, choices=Travel.choices, default=Travel.EBIKE)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    position_at = models.DateTimeField(_("position time"), null=True, blank=True)
    base_lat = models.FloatField(_("station latitude"), null=True, blank=True)
    base_lng = models.FloatField(_("station longitude"), null=True, blank=True)

    scope_permission_prefix = "dispatch"

    class Meta:
        ordering = ["user__username"]
        verbose_name = _("rescuer")
        verbose_name_plural = _("rescuers")

    def __str__(self) -> str:
        return str(self.user)  # the display name (张桂兰), else the login name

    @classmethod
    def scope_q(cls, scope) -> Q:
        from linli.places.models import Area

        return Q(area__in=Area.objects.filter(Area.scope_q(scope)))


class IncidentStatus(models.TextChoices):
    OPEN = "open", _("claimed")
    CALLED_BACK = "called_back", _("called back")
    DISPATCHED = "dispatched", _("rescuer dispatched")
    EN_ROUTE = "en_route", _("rescuer en route")
    ON_SCENE = "on_scene", _("rescuer on scene")
    HANDED_OVER = "handed_over", _("handed over")
    COMPLETED = "completed", _("completed")
    CLOSED = "closed", _("closed without rescue")


OPEN_INCIDENT = (
    IncidentStatus.OPEN,
    IncidentStatus.CALLED_BACK,
    IncidentStatus.DISPATCHED,
    IncidentStatus.EN_ROUTE,
    IncidentStatus.ON_SCENE,
    IncidentStatus.HANDED_OVER,
)


class Incident(LinliModel):
    """One emergency, from the alarm to the rescuer's report, with its timestamp chain."""

    class Callback(models.TextChoices):
        OK = "ok", _("reached, all is well")
        NEEDS_HELP = "needs_help", _("reached, needs help")
        NO_ANSWER = "no_answer", _("no answer")
        FALSE_ALARM = "false_alarm", _("false alarm (pressed by mistake, test)")

    class HandoverTo(models.TextChoices):
        NONE = "", _("nobody")
        AMBULANCE = "120", _("120 ambulance")
        FIRE = "119", _("119 fire service")
        POLICE = "110", _("110 police")
        FAMILY = "family", _("family")

    alarm = models.OneToOneField("iot.Alarm", on_delete=models.PROTECT, related_name="incident")
    status = models.CharField(_("state"), max_length=12, choices=IncidentStatus.choices, default=IncidentStatus.OPEN)
    call_taker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("call-taker")
    )
    shift = models.ForeignKey(Shift, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents")
    rescuer = models.ForeignKey(
        Rescuer, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents", verbose_name=_("rescuer")
    )
    recommended_rescuer = models.ForeignKey(Rescuer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    callback = models.CharField(_("call-back outcome"), max_length=12, choices=Callback.choices, blank=True)
    callback_note = models.CharField(_("call-back note"), max_length=500, blank=True)
    handover_to = models.CharField(_("handed over to"), max_length=8, choices=HandoverTo.choices, blank=True)
    outcome = models.TextField(_("outcome"), max_length=2000, blank=True)

    # where (copied from the alarm; a bracelet's last position if it has one)
    resident = models.ForeignKey("people.Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    house = models.ForeignKey("places.House", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    grid = models.ForeignKey("places.Area", on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey("places.Area", on_delete=models.PROTECT, related_name="+")
    street = models.ForeignKey("places.Area", on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey("places.Area", on_delete=models.PROTECT, related_name="+")
    city = models.ForeignKey("places.Area", on_delete=models.PROTECT, related_name="+")
    estate = models.ForeignKey("places.Estate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)

    # the timestamp chain (server time)
    received_at = models.DateTimeField(_("received"))
    acknowledged_at = models.DateTimeField(_("acknowledged"))
    called_back_at = models.DateTimeField(_("called back"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    en_route_at = models.DateTimeField(_("en route"), null=True, blank=True)
    on_scene_at = models.DateTimeField(_("on scene"), null=True, blank=True)
    handed_over_at = models.DateTimeField(_("handed over"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    scope_permission_prefix = "dispatch"
    audit_exclude = ("created_at", "updated_at", "version")

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        indexes = [models.Index(fields=["district", "received_at"], name="incident_district_time")]

    def __str__(self) -> str:
        return f"{self.alarm} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_INCIDENT

    @classmethod
    def scope_q(cls, scope) -> Q:
        return scope.located_q()


class IncidentEvent(models.Model):
    """One step of an incident, append-only: who, when, what, a note."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(_("action"), max_length=20)
    status = models.CharField(_("state after"), max_length=12, choices=IncidentStatus.choices)
    note = models.CharField(_("note"), max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("incident event")
        verbose_name_plural = _("incident events")
        indexes = [models.Index(fields=["incident", "at"], name="incident_event_timeline")]

    def __str__(self) -> str:
        return f"{self.action} {self.at:%H:%M:%S}"
