"""People: residents, households, where they live, labels, emergency contacts, organizations."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from linli.core import crypto
from linli.core.models import LinliModel
from linli.core.sealed import Sealed, SealedMixin
from linli.places.models import Area, Estate, House

ELDERLY_AGE = 60


def _sealed_columns(name: str):
    return (
        models.TextField(blank=True, default="", editable=False),
        models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False),
    )


class Label(LinliModel):
    """Population labels (人口标签): 独居, 残疾, 低保, 优抚, 党员, 重点关爱 …"""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=40)
    name_en = models.CharField(_("name (English)"), max_length=60)
    care = models.BooleanField(_("needs regular visits"), default=False)

    class Meta:
        ordering = ["code"]
        verbose_name = _("population label")
        verbose_name_plural = _("population labels")

    def __str__(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh

    @classmethod
    def scope_q(cls, scope) -> Q:
        return Q()

    scope_permission_prefix = "people"


class Resident(SealedMixin, LinliModel):
    class Sex(models.TextChoices):
        MALE = "M", _("male")
        FEMALE = "F", _("female")

    class Status(models.TextChoices):
        ACTIVE = "active", _("living here")
        MOVED_OUT = "moved_out", _("moved out")
        DECEASED = "deceased", _("deceased")

    name = models.CharField(_("name"), max_length=50, db_index=True)
    id_number_enc, id_number_hash = _sealed_columns("id_number")
    id_number = Sealed(mask=crypto.mask_id_number)
    birth_date = models.DateField(_("birth date"), null=True, blank=True, db_index=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    phone_enc, phone_hash = _sealed_columns("phone")
    phone = Sealed(mask=crypto.mask_phone)
    ethnicity = models.CharField(_("ethnic group"), max_length=20, blank=True)
    household = models.ForeignKey(
        "Household",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        verbose_name=_("household"),
    )
    relation_to_head = models.CharField(_("relation to head of household"), max_length=20, blank=True)
    labels = models.ManyToManyField(Label, blank=True, related_name="residents", verbose_name=_("labels"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resident",
        verbose_name=_("account"),
    )
    notes = models.TextField(_("notes"), blank=True)

    scope_permission_prefix = "people"
    audit_exclude = ("created_at", "updated_at", "id_number_enc", "id_number_hash", "phone_enc", "phone_hash")

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_hash"], condition=~Q(id_number_hash=""), name="resident_id_number_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def age_on(self, day: dt.date | None = None) -> int | None:
        if not self.birth_date:
            return None
        day = day or timezone.localdate()
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))

    @property
    def age(self) -> int | None:
        return self.age_on()

    @property
    def is_elderly(self) -> bool:
        age = self.age
        return age is not None and age >= ELDERLY_AGE

    @classmethod
    def scope_q(cls, scope) -> Q:
        q = Q(pk__in_first=Occupancy.objects.filter(scope.located_q()).values("resident_id"))
        if scope.resident_ids:
            q |= Q(pk__in=scope.resident_ids)
        return q

    @classmethod
    def count_for_user(cls, user) -> int:
        """How many residents `for_user(user)` holds, counted from the residence index alone.

        Equal to Resident.objects.for_user(user).count() (every occupancy's resident exists), but a
        street's or district's count reads only the (area, resident) index instead of joining
        millions of resident rows.
        """
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return 0
        scope = user.scope_for(f"{cls.scope_permission_prefix}.view")
        if scope.empty:
            return 0
        if scope.all:
            return cls.objects.count()
        if scope.resident_ids:
            return cls.objects.for_user(user).count()
        return Occupancy.objects.filter(scope.located_q()).values("resident_id").distinct().count()

    @staticmethod
    def elderly_birth_cutoff(day: dt.date | None = None) -> dt.date:
        day = day or timezone.localdate()
        try:
            return day.replace(year=day.year - ELDERLY_AGE)
        except ValueError:  # 29 February
            return day.replace(year=day.year - ELDERLY_AGE, day=28)


class Household(LinliModel):
    """户: the people registered or living together at one house."""

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("registered household (户籍户)")
        RESIDENT = "resident", _("resident household (常住户)")
        RENTING = "renting", _("renting household (租住户)")

    code = models.CharField(_("household code"), max_length=32, unique=True)
    house = models.ForeignKey(House, on_delete=models.PROTECT, related_name="households", verbose_name=_("house"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.RESIDENT)
    head = models.ForeignKey(
        Resident,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("head of household"),
    )

    scope_permission_prefix = "people"

    class Meta:
        ordering = ["code"]
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.code

    @classmethod
    def scope_q(cls, scope) -> Q:
        q = Q(house__in=House.objects.filter(House.scope_q(scope)))
        if scope.resident_ids:
            q |= Q(members__in=scope.resident_ids)
        return q


class Occupancy(LinliModel):
    """A resident's relation to a house. Carries the house's areas for fast scope checks."""

    class Relation(models.TextChoices):
        OWNER = "owner", _("owner")
        TENANT = "tenant", _("tenant")
        LIVES = "lives", _("lives here")
        REGISTERED_ELSEWHERE = "registered_away", _("registered here, living elsewhere (人户分离)")

    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="occupancies", verbose_name=_("resident")
    )
    house = models.ForeignKey(House, on_delete=models.CASCADE, related_name="occupancies", verbose_name=_("house"))
    relation = models.CharField(_("relation"), max_length=16, choices=Relation.choices)
    since = models.DateField(_("since"), null=True, blank=True)
    grid = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", editable=False)
    community = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", editable=False)
    street = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", editable=False)
    district = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", editable=False)
    city = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", editable=False)
    estate = models.ForeignKey(
        Estate, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )

    scope_permission_prefix = "people"

    class Meta:
        ordering = ["resident", "house"]
        verbose_name = _("residence")
        verbose_name_plural = _("residences")
        constraints = [models.UniqueConstraint(fields=["resident", "house", "relation"], name="occupancy_unique")]
        indexes = [
            models.Index(fields=["street", "resident"]),
            models.Index(fields=["community", "resident"]),
            models.Index(fields=["grid", "resident"]),
            models.Index(fields=["district", "resident"]),
        ]

    def __str__(self) -> str:
        return f"{self.resident} @ {self.house}"

    def copy_areas_from_house(self) -> None:
        h = self.house
        self.grid_id, self.community_id, self.street_id = h.grid_id, h.community_id, h.street_id
        self.district_id, self.city_id, self.estate_id = h.district_id, h.city_id, h.estate_id

    @classmethod
    def scope_q(cls, scope) -> Q:
        q = scope.located_q()
        if scope.resident_ids:
            q |= Q(resident_id__in=scope.resident_ids)
        return q


class EmergencyContact(SealedMixin, LinliModel):
    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="emergency_contacts", verbose_name=_("resident")
    )
    name = models.CharField(_("name"), max_length=50)
    relation = models.CharField(_("relation"), max_length=20, blank=True)
    phone_enc, phone_hash = _sealed_columns("phone")
    phone = Sealed(mask=crypto.mask_phone)

    scope_permission_prefix = "people"
    audit_exclude = ("created_at", "updated_at", "phone_enc", "phone_hash")

    class Meta:
        ordering = ["resident", "id"]
        verbose_name = _("emergency contact")
        verbose_name_plural = _("emergency contacts")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, scope) -> Q:
        return Q(resident__in=Resident.objects.filter(Resident.scope_q(scope)))


class Organization(SealedMixin, LinliModel):
    class Kind(models.TextChoices):
        COMPANY = "company", _("company")
        SHOP = "shop", _("shop")
        SOCIAL = "social", _("social organization")
        PROPERTY = "property", _("property company")
        GOVERNMENT = "government", _("government department")
        PROVIDER = "provider", _("service provider")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=120, db_index=True)
    uscc = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    phone_enc, phone_hash = _sealed_columns("phone")
    phone = Sealed(mask=crypto.mask_phone)
    address = models.CharField(_("address"), max_length=200, blank=True)
    grid = models.ForeignKey(
        Area,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("grid"),
        limit_choices_to={"level": "grid"},
    )
    community = models.ForeignKey(
        Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    street = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False)
    district = models.ForeignKey(
        Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    city = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)

    scope_permission_prefix = "orgs"
    audit_exclude = ("created_at", "updated_at", "phone_enc", "phone_hash")

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        constraints = [models.UniqueConstraint(fields=["uscc"], condition=~Q(uscc=""), name="org_uscc_unique")]

    def __str__(self) -> str:
        return self.name

    def copy_areas_from_grid(self) -> None:
        g = self.grid
        if g is None:
            self.community_id = self.street_id = self.district_id = self.city_id = None
            return
        self.community_id, self.street_id = g.community_id, g.street_id
        self.district_id, self.city_id = g.district_id, g.city_id

    @classmethod
    def scope_q(cls, scope) -> Q:
        q = scope.located_q(estates=False, houses=False)
        if scope.estate_ids:
            q |= Q(pk__in=Estate.objects.filter(pk__in=scope.estate_ids).values("property_company_id"))
        return q


def mask_care_text(value: str) -> str:
    """What audit snapshots hold of a care profile's health text: a short keyed digest, never the words.

    Equal text gives an equal digest, so a change still shows as a change in the audit log."""
    return f"sealed#{crypto.blind_index(value)[:8]}" if value else ""


class SealedUnindexed(Sealed):
    """Encrypted at rest like Sealed, without a blind index: nobody searches by these values."""

    def __set__(self, obj, value: str) -> None:
        value = (value or "").strip()
        obj.__dict__.setdefault("_sealed_plain", {})[self.name] = value
        setattr(obj, self.enc, crypto.encrypt(value))


def _sealed_column():
    return models.TextField(blank=True, default="", editable=False)


class CareProfile(SealedMixin, LinliModel):
    """关爱档案: what a call-taker ringing back, and a rescuer at the door, need to know about a cared-for
    resident. Health text and the key holder's phone are sensitive personal information (PIPL art. 28):
    they are encrypted at rest and shown only where the resident's alarm or incident is handled, or after a
    stated purpose on the resident's page."""

    class Mobility(models.TextChoices):
        INDEPENDENT = "independent", _("walks unaided")
        AID = "aid", _("walks with an aid")
        WHEELCHAIR = "wheelchair", _("uses a wheelchair")
        BEDRIDDEN = "bedridden", _("bedridden")

    # the longest text each sealed field takes (the form and the action check these)
    MAX_LENGTHS = {
        "conditions": 200,
        "medication": 200,
        "allergies": 100,
        "hearing_cognition": 100,
        "doctor": 100,
        "note": 500,
        "key_holder_phone": 20,
    }
    HEALTH_FIELDS = ("conditions", "medication", "allergies", "hearing_cognition", "doctor", "note")

    resident = models.OneToOneField(
        Resident, on_delete=models.CASCADE, related_name="care_profile", verbose_name=_("resident")
    )
    conditions_enc = _sealed_column()
    conditions = SealedUnindexed(mask=mask_care_text)
    medication_enc = _sealed_column()
    medication = SealedUnindexed(mask=mask_care_text)
    allergies_enc = _sealed_column()
    allergies = SealedUnindexed(mask=mask_care_text)
    mobility = models.CharField(_("mobility"), max_length=12, choices=Mobility.choices, blank=True)
    hearing_cognition_enc = _sealed_column()
    hearing_cognition = SealedUnindexed(mask=mask_care_text)
    doctor_enc = _sealed_column()
    doctor = SealedUnindexed(mask=mask_care_text)
    note_enc = _sealed_column()
    note = SealedUnindexed(mask=mask_care_text)
    key_holder_name = models.CharField(_("key holder"), max_length=50, blank=True)
    key_holder_relation = models.CharField(_("key holder's relation"), max_length=20, blank=True)
    key_holder_phone_enc = _sealed_column()
    key_holder_phone = SealedUnindexed(mask=crypto.mask_phone)

    scope_permission_prefix = "people"
    audit_exclude = (
        "created_at",
        "updated_at",
        "conditions_enc",
        "medication_enc",
        "allergies_enc",
        "hearing_cognition_enc",
        "doctor_enc",
        "note_enc",
        "key_holder_phone_enc",
    )

    class Meta:
        ordering = ["resident"]
        verbose_name = _("care profile")
        verbose_name_plural = _("care profiles")

    def __str__(self) -> str:
        return str(self.resident)

    @property
    def is_empty(self) -> bool:
        return not (self.mobility or self.key_holder_name or any(getattr(self, f) for f in self.HEALTH_FIELDS))

    @classmethod
    def scope_q(cls, scope) -> Q:
        return Q(resident__in=Resident.objects.filter(Resident.scope_q(scope)))
