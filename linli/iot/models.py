"""Devices in homes and public places, what they report, the rules that watch them and the alarms they raise.

A device sits in a grid (and usually a house), may be worn by or watch over one cared-for resident, and talks
to Linli over MQTT or the HTTP device API (docs/devices.md: the device contract). Ingestion
(linli/iot/ingest.py) stores telemetry and the latest state, evaluates the rules and raises or clears alarms.
Life-safety alarms go to the dispatch center (linli/dispatch); maintenance alarms become work orders.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core.models import LinliModel
from linli.places.models import Estate, House, Located


class DeviceKind(models.TextChoices):
    BRACELET = "bracelet", _("bracelet (SOS, location, heart rate, fall)")
    SMOKE = "smoke", _("smoke detector")
    GAS = "gas", _("combustible gas detector")
    LEAK = "leak", _("water leak / flooding sensor")
    ABNORMAL = "abnormal", _("abnormal-state sensor (door, motion, inactivity)")
    CALL_BUTTON = "call_button", _("emergency call button")
    GATEWAY = "gateway", _("gateway")
    WATER_METER = "water_meter", _("water meter")
    POWER_METER = "power_meter", _("electricity meter")
    GATE = "gate", _("access gate")
    CAMERA = "camera", _("AI camera")


class AlarmType(models.TextChoices):
    SOS = "sos", _("SOS call")
    SMOKE = "smoke", _("smoke")
    GAS = "gas", _("gas leak")
    LEAK = "leak", _("water leak")
    FALL = "fall", _("fall")
    HEART_RATE = "heart_rate", _("heart rate out of range")
    INACTIVITY = "inactivity", _("no activity")
    WATER_IDLE = "water_idle", _("no water used")
    OFFLINE = "offline", _("device offline")
    LOW_BATTERY = "low_battery", _("low battery")
    TAMPER = "tamper", _("tampering")
    CAMERA = "camera", _("camera event")
    OTHER = "other", _("other event")


# alarms a person's life or home may depend on: they go to the dispatch center; the rest are maintenance
LIFE_SAFETY = frozenset(
    {
        AlarmType.SOS,
        AlarmType.SMOKE,
        AlarmType.GAS,
        AlarmType.LEAK,
        AlarmType.FALL,
        AlarmType.HEART_RATE,
        AlarmType.INACTIVITY,
        AlarmType.WATER_IDLE,
    }
)


class Severity(models.TextChoices):
    CRITICAL = "critical", _("critical")
    MAJOR = "major", _("major")
    MINOR = "minor", _("minor")
    WARNING = "warning", _("warning")


SEVERITY_RANK: dict[str, int] = {Severity.CRITICAL: 0, Severity.MAJOR: 1, Severity.MINOR: 2, Severity.WARNING: 3}


class Device(Located):
    """One device. Its credential is a secret shown once when it is issued; only its hash is kept."""

    code = models.CharField(
        _("device code"),
        max_length=64,
        unique=True,
        help_text=_("Letters, digits, '-' and '_'; it names the device's MQTT topics."),
    )
    kind = models.CharField(_("type"), max_length=16, choices=DeviceKind.choices, db_index=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    model = models.CharField(_("model"), max_length=100, blank=True)
    gateway = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sub_devices",
        verbose_name=_("gateway"),
        limit_choices_to={"kind": DeviceKind.GATEWAY},
    )
    house = models.ForeignKey(
        House, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices", verbose_name=_("house")
    )
    estate = models.ForeignKey(Estate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resident = models.ForeignKey(
        "people.Resident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="devices",
        verbose_name=_("cared-for resident"),
    )
    location = models.CharField(_("where it is"), max_length=100, blank=True, help_text=_("e.g. kitchen, bedside"))
    # who repairs it (linli.iot.alarms.maintenance_unit): this unit, else the property company of its estate
    maintainer = models.ForeignKey(
        "cases.HandlingUnit",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="maintained_devices",
        verbose_name=_("maintained by"),
        help_text=_(
            "The unit that repairs this device, such as the vendor's maintenance company. Empty: the property "
            "company of its estate."
        ),
        limit_choices_to={"active": True},
    )
    secret_hash = models.CharField(max_length=128, blank=True, editable=False)
    active = models.BooleanField(_("active"), default=True)
    installed_on = models.DateField(_("installed on"), null=True, blank=True)

    # what it last said (server receive time; the device's own clock is kept beside it but not trusted)
    online = models.BooleanField(_("online"), default=False)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    last_device_ts = models.DateTimeField(_("device clock at last message"), null=True, blank=True)
    battery = models.PositiveSmallIntegerField(_("battery (%)"), null=True, blank=True)
    signal = models.SmallIntegerField(_("signal (dBm)"), null=True, blank=True)
    state = models.JSONField(_("latest values"), default=dict, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    position_at = models.DateTimeField(_("position time"), null=True, blank=True)

    scope_permission_prefix = "iot"
    audit_exclude = ("created_at", "updated_at", "secret_hash", "state", "last_seen_at", "last_device_ts")

    class Meta:
        ordering = ["code"]
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        indexes = [models.Index(fields=["street", "kind"], name="device_street_kind")]

    def __str__(self) -> str:
        return f"{self.code} {self.name or self.get_kind_display()}"

    @classmethod
    def scope_q(cls, scope) -> Q:
        q = scope.located_q()
        if scope.resident_ids:
            q |= Q(resident_id__in=scope.resident_ids)
        return q


class Rule(LinliModel):
    """A rule for one device type (default) or one device (override of the type's rule of the same kind).

    `params` by kind:
      event:       {"event": "sos"}                               an event of that name raises the alarm
      threshold:   {"value": "heart_rate", "min": 40, "max": 140, "for_seconds": 60}
      inactivity:  {"hours": 12, "night_hours": 16, "night": "22:00-07:00"}  only for residents living alone
      meter_idle:  {"value": "water_total", "hours": 24}            no consumption by an elderly person alone
      offline:     {"minutes": 30}                                  no heartbeat within this time
      low_battery: {"below": 20}
    """

    class Kind(models.TextChoices):
        EVENT = "event", _("event")
        THRESHOLD = "threshold", _("threshold held for a time")
        INACTIVITY = "inactivity", _("inactivity")
        METER_IDLE = "meter_idle", _("meter shows no use")
        OFFLINE = "offline", _("device offline")
        LOW_BATTERY = "low_battery", _("low battery")

    device_kind = models.CharField(_("device type"), max_length=16, choices=DeviceKind.choices)
    device = models.ForeignKey(
        Device,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="rules",
        verbose_name=_("only for device"),
    )
    kind = models.CharField(_("rule"), max_length=16, choices=Kind.choices)
    alarm_type = models.CharField(_("alarm"), max_length=16, choices=AlarmType.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.MAJOR)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    scope_permission_prefix = "iot"

    class Meta:
        ordering = ["device_kind", "kind", "alarm_type", "device_id"]
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        constraints = [
            models.UniqueConstraint(
                fields=["device_kind", "kind", "alarm_type"],
                condition=Q(device__isnull=True),
                name="rule_one_default",
            ),
            models.UniqueConstraint(
                fields=["device", "kind", "alarm_type"], condition=Q(device__isnull=False), name="rule_one_override"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_device_kind_display()}: {self.get_kind_display()} → {self.get_alarm_type_display()}"

    @classmethod
    def scope_q(cls, scope) -> Q:
        return Q(device__isnull=True) | Q(device__in=Device.objects.filter(Device.scope_q(scope)))


class AlarmStatus(models.TextChoices):
    ACTIVE = "active", _("active, not acknowledged")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    CLEARED = "cleared", _("cleared")
    CLOSED = "closed", _("closed")


OPEN_ALARM = (AlarmStatus.ACTIVE, AlarmStatus.ACKNOWLEDGED)


class CloseReason(models.TextChoices):
    RESOLVED = "resolved", _("handled")
    FALSE_ALARM = "false_alarm", _("false alarm")
    TEST = "test", _("test")


class Alarm(LinliModel):
    """One alarm per device and type while it is open; repeats raise `count` and `last_at`."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="alarms", verbose_name=_("device"))
    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    type = models.CharField(_("alarm"), max_length=16, choices=AlarmType.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    life_safety = models.BooleanField(_("life safety"), default=False, db_index=True)
    status = models.CharField(_("state"), max_length=12, choices=AlarmStatus.choices, default=AlarmStatus.ACTIVE)
    message = models.CharField(_("message"), max_length=200, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    count = models.PositiveIntegerField(_("times raised"), default=1)

    # who and where (copied from the device when raised)
    resident = models.ForeignKey(
        "people.Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="alarms"
    )
    house = models.ForeignKey(House, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    estate = models.ForeignKey(Estate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    grid = models.ForeignKey("places.Area", on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey("places.Area", on_delete=models.PROTECT, related_name="+")
    street = models.ForeignKey("places.Area", on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey("places.Area", on_delete=models.PROTECT, related_name="+")
    city = models.ForeignKey("places.Area", on_delete=models.PROTECT, related_name="+")
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)

    # the clock: the device's time and the server's receive time; ordering uses the server's
    device_ts = models.DateTimeField(_("device time"), null=True, blank=True)
    raised_at = models.DateTimeField(_("received"), db_index=True)
    last_at = models.DateTimeField(_("last raised"))
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cleared_at = models.DateTimeField(_("cleared"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    close_reason = models.CharField(_("closed as"), max_length=12, choices=CloseReason.choices, blank=True)
    close_note = models.CharField(_("closing note"), max_length=500, blank=True)
    # unacknowledged life-safety alarms escalate to the shift lead and keep notifying
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    notify_count = models.PositiveSmallIntegerField(default=0)
    # maintenance alarms (offline, battery, tamper) become a work order for the property company or maintainer
    work_order = models.ForeignKey(
        "cases.WorkOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="alarms"
    )
    version = models.PositiveIntegerField(default=1, editable=False)

    scope_permission_prefix = "iot"
    audit_exclude = ("created_at", "updated_at", "data", "version")

    class Meta:
        ordering = ["-raised_at"]
        verbose_name = _("alarm")
        verbose_name_plural = _("alarms")
        constraints = [
            models.UniqueConstraint(
                fields=["device", "type"],
                condition=Q(status__in=["active", "acknowledged"]),
                name="alarm_one_open_per_device_type",
            )
        ]
        indexes = [
            models.Index(
                fields=["district", "status", "raised_at"],
                name="alarm_open_district",
                condition=Q(status__in=["active", "acknowledged"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} · {self.device.code}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ALARM

    @classmethod
    def scope_q(cls, scope) -> Q:
        q = scope.located_q()
        if scope.resident_ids:
            q |= Q(resident_id__in=scope.resident_ids)
        return q


# ---------------------------------------------------------------- ingestion (linli/iot/ingest.py)


class Telemetry(models.Model):
    """One telemetry message as received. On PostgreSQL the table is partitioned by month of `received_at`
    (migration 0002; partitions are created ahead by the check_devices job), so the primary key includes it."""

    pk = models.CompositePrimaryKey("device", "msg_id", "received_at")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="telemetry", db_index=False)
    msg_id = models.CharField(max_length=64)
    received_at = models.DateTimeField(_("received"))
    device_ts = models.DateTimeField(_("device time"), null=True, blank=True)
    values = models.JSONField(_("values"), default=dict)

    class Meta:
        verbose_name = _("telemetry")
        verbose_name_plural = _("telemetry")
        indexes = [models.Index(fields=["device", "received_at"], name="telemetry_device_time")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.msg_id}"


class SeenMessage(models.Model):
    """The msg_ids already processed, so that a redelivered message is a no-op; pruned after some days."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+", db_index=False)
    msg_id = models.CharField(max_length=64)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "msg_id"], name="seen_message_once")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.msg_id}"


class RejectedMessage(models.Model):
    """A message ingestion refused (malformed, unknown device, bad secret…), kept for admins to see."""

    received_at = models.DateTimeField(_("received"), db_index=True)
    source = models.CharField(_("topic or URL"), max_length=200)
    device_code = models.CharField(_("device code"), max_length=64, blank=True, db_index=True)
    reason = models.CharField(_("reason"), max_length=32, db_index=True)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    payload = models.TextField(_("payload (first 2 KB)"), blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("rejected message")
        verbose_name_plural = _("rejected messages")

    def __str__(self) -> str:
        return f"{self.received_at:%Y-%m-%d %H:%M:%S} {self.device_code} {self.reason}"
