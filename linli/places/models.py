"""Places: the admin hierarchy (city → district → street → community → grid),
estates run by property companies, buildings, units, houses and public facilities.

Buildings, houses and estates carry the ids of every area above them, so a
scope filter is one indexed equality, at any level, on tables of millions of rows.
"""

from __future__ import annotations

from typing import cast

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from linli.core import codes
from linli.core.models import LinliModel


class Area(LinliModel):
    class Level(models.TextChoices):
        CITY = codes.CITY, _("city")
        DISTRICT = codes.DISTRICT, _("district")
        STREET = codes.STREET, _("street")
        COMMUNITY = codes.COMMUNITY, _("community")
        GRID = codes.GRID, _("grid")

    level = models.CharField(_("level"), max_length=10, choices=Level.choices, db_index=True)
    code = models.CharField(_("code"), max_length=15, unique=True)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent")
    )
    # ancestors, denormalized (null above the record's own level)
    city = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    street = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    community = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    boundary = models.JSONField(_("boundary (GeoJSON)"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("area")
        verbose_name_plural = _("areas")

    def __str__(self) -> str:
        return self.name

    def set_ancestors(self) -> None:
        p = self.parent
        for level in ("city", "district", "street", "community"):
            setattr(self, f"{level}_id", None)
        while p is not None:
            if p.level != codes.GRID:
                setattr(self, f"{p.level}_id", p.pk)
            p = p.parent

    @classmethod
    def scope_q(cls, scope) -> Q:
        ids = scope.area_ids()
        q = Q(pk__in=ids) if ids else Q(pk__in=[])
        if scope.city_ids:
            q |= Q(city_id__in=scope.city_ids)
        for level in ("district", "street", "community"):
            ids = getattr(scope, f"{level}_ids")
            if ids:
                q |= Q(**{f"{level}_id__in": ids})
        if scope.estate_ids:
            q |= Q(pk__in=Building.objects.filter(estate_id__in=scope.estate_ids).values("grid_id"))
        if scope.house_ids:
            q |= Q(pk__in=House.objects.filter(pk__in=scope.house_ids).values("grid_id"))
        return q

    def descendants_q(self, prefix: str = "") -> Q:
        if self.level == codes.GRID:
            return Q(**{f"{prefix}grid_id": self.pk})
        return Q(**{f"{prefix}{self.level}_id": self.pk})


class Located(LinliModel):
    """A record that sits in one grid and knows every area above it."""

    grid = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("grid"), limit_choices_to={"level": codes.GRID}
    )
    community = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", editable=False)
    street = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", editable=False)
    district = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", editable=False)
    city = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", editable=False)

    class Meta:
        abstract = True

    def copy_areas_from_grid(self) -> None:
        g = self.grid  # a grid has every ancestor set, so none of these ids is None
        self.community_id, self.street_id = cast(int, g.community_id), cast(int, g.street_id)
        self.district_id, self.city_id = cast(int, g.district_id), cast(int, g.city_id)


class Estate(LinliModel):
    """小区: a residential estate, usually run by one property company."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    community = models.ForeignKey(
        Area,
        on_delete=models.PROTECT,
        related_name="estates",
        verbose_name=_("community"),
        limit_choices_to={"level": codes.COMMUNITY},
    )
    street = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", editable=False)
    district = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", editable=False)
    city = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", editable=False)
    property_company = models.ForeignKey(
        "people.Organization",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_estates",
        verbose_name=_("property company"),
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    boundary = models.JSONField(_("boundary (GeoJSON)"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("estate")
        verbose_name_plural = _("estates")

    def __str__(self) -> str:
        return self.name

    def copy_areas_from_community(self) -> None:
        c = self.community  # a community has every ancestor set, so none of these ids is None
        self.street_id, self.district_id, self.city_id = (
            cast(int, c.street_id),
            cast(int, c.district_id),
            cast(int, c.city_id),
        )

    @classmethod
    def scope_q(cls, scope) -> Q:
        q = Q(pk__in=scope.estate_ids) if scope.estate_ids else Q(pk__in=[])
        for level in ("city", "district", "street", "community"):
            ids = getattr(scope, f"{level}_ids")
            if ids:
                q |= Q(**{f"{level}_id__in": ids})
        if scope.grid_ids:
            q |= Q(pk__in=Building.objects.filter(grid_id__in=scope.grid_ids).values("estate_id"))
        if scope.house_ids:
            q |= Q(pk__in=House.objects.filter(pk__in=scope.house_ids).values("estate_id"))
        return q


class Building(Located):
    code = models.CharField(_("code"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=100, help_text=_("e.g. 3号楼"))
    estate = models.ForeignKey(
        Estate, null=True, blank=True, on_delete=models.PROTECT, related_name="buildings", verbose_name=_("estate")
    )
    floors = models.PositiveSmallIntegerField(_("floors"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    footprint = models.JSONField(_("footprint (GeoJSON)"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("building")
        verbose_name_plural = _("buildings")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, scope) -> Q:
        q = scope.located_q(houses=False)
        if scope.house_ids:
            q |= Q(pk__in=House.objects.filter(pk__in=scope.house_ids).values("building_id"))
        return q


class Unit(LinliModel):
    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="units", verbose_name=_("building"))
    number = models.PositiveSmallIntegerField(_("unit number"))

    class Meta:
        ordering = ["building", "number"]
        constraints = [models.UniqueConstraint(fields=["building", "number"], name="unit_number_unique")]
        verbose_name = _("unit")
        verbose_name_plural = _("units")

    def __str__(self) -> str:
        return f"{self.number}单元"

    @classmethod
    def scope_q(cls, scope) -> Q:
        return Q(building__in=Building.objects.filter(Building.scope_q(scope)))


class House(Located):
    class Use(models.TextChoices):
        RESIDENTIAL = "residential", _("residential")
        COMMERCIAL = "commercial", _("commercial")
        OFFICE = "office", _("office")
        OTHER = "other", _("other")

    code = models.CharField(_("house code"), max_length=24, unique=True)
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="houses", verbose_name=_("building"))
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="houses", verbose_name=_("unit")
    )
    estate = models.ForeignKey(
        Estate, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    floor = models.SmallIntegerField(_("floor"), null=True, blank=True)
    room = models.CharField(_("room"), max_length=20)
    use = models.CharField(_("use"), max_length=12, choices=Use.choices, default=Use.RESIDENTIAL)
    floor_area = models.DecimalField(_("floor area (m²)"), max_digits=8, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("house")
        verbose_name_plural = _("houses")

    def __str__(self) -> str:
        unit = f"{self.unit.number}-" if self.unit_id and self.unit else ""
        return f"{self.building.name} {unit}{self.room}"

    @property
    def display_code(self) -> str:
        return codes.format_house_code(self.code)

    @classmethod
    def scope_q(cls, scope) -> Q:
        q = scope.located_q(houses=False)
        if scope.house_ids:
            q |= Q(pk__in=scope.house_ids)
        return q


class Facility(LinliModel):
    """Public places and facilities: squares, fitness equipment, service stations, fire hydrants…"""

    class Kind(models.TextChoices):
        SERVICE_CENTER = "service_center", _("community service centre")
        ELDERLY = "elderly", _("elderly day-care centre")
        CLINIC = "clinic", _("health station")
        PARK = "park", _("park or square")
        FITNESS = "fitness", _("fitness equipment")
        PARKING = "parking", _("car park")
        FIRE = "fire", _("fire equipment")
        EV_CHARGER = "ev_charger", _("e-bike charging point")
        OTHER = "other", _("other")

    code = models.CharField(_("code"), max_length=24, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="facilities", verbose_name=_("area"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope_q(cls, scope) -> Q:
        return Q(area__in=Area.objects.filter(Area.scope_q(scope)))
