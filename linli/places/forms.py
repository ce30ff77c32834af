"""Forms for the places console. They parse input; the actions in places.services validate and write."""

from __future__ import annotations

from typing import cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from linli.places.models import Area, Building, Estate, Facility, House

MAX_GEOJSON_BYTES = 2 * 1024 * 1024

CRS_CHOICES = [
    ("wgs84", _("WGS-84 (GPS, international maps)")),
    ("gcj02", _("GCJ-02 (Chinese map apps: Amap, Tencent)")),
]


class ServiceErrorsMixin:
    """Put an action's ValidationError (a dict of field -> messages) onto the form."""

    def add_service_errors(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                target = field if field in self.fields else None  # type: ignore[attr-defined]
                for error in errors:
                    self.add_error(target, error)  # type: ignore[attr-defined]
        else:
            for message in exc.messages:
                self.add_error(None, message)  # type: ignore[attr-defined]


class PointFields(forms.Form):
    lng = forms.DecimalField(
        label=_("Longitude"),
        required=False,
        max_digits=12,
        decimal_places=8,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    lat = forms.DecimalField(
        label=_("Latitude"),
        required=False,
        max_digits=12,
        decimal_places=8,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )
    crs = forms.ChoiceField(
        label=_("Coordinate system"), choices=CRS_CHOICES, initial="wgs84", widget=forms.RadioSelect
    )

    def clean(self):
        data = super().clean()
        if (data.get("lng") is None) != (data.get("lat") is None):
            raise ValidationError(_("Enter both longitude and latitude, or neither."), code="point")
        return data

    def point(self) -> tuple[float | None, float | None]:
        lng, lat = self.cleaned_data.get("lng"), self.cleaned_data.get("lat")
        return (float(lng) if lng is not None else None, float(lat) if lat is not None else None)


class BoundaryFields(forms.Form):
    boundary = forms.CharField(
        label=_("Boundary (GeoJSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"}),
        help_text=_(
            "Paste a GeoJSON Polygon or MultiPolygon (or a Feature holding one), in WGS-84 "
            "longitude/latitude. Leave empty to remove the boundary."
        ),
    )
    boundary_file = forms.FileField(label=_("…or upload a .geojson file"), required=False)

    def clean_boundary_file(self):
        f = self.cleaned_data.get("boundary_file")
        if f is None:
            return None
        if f.size > MAX_GEOJSON_BYTES:
            raise ValidationError(
                _("The file is larger than 2 MB. Simplify the boundary and try again."), code="too_big"
            )
        try:
            return f.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(
                _("The file is not UTF-8 text; save it as GeoJSON and try again."), code="encoding"
            ) from None

    def boundary_text(self) -> str:
        """The uploaded file wins over the text box."""
        return self.cleaned_data.get("boundary_file") or self.cleaned_data.get("boundary") or ""


class AreaEditForm(ServiceErrorsMixin, BoundaryFields, PointFields):
    name = forms.CharField(label=_("Name"), max_length=100)
    field_order = ["name", "boundary", "boundary_file", "lng", "lat", "crs"]


class AreaCreateForm(AreaEditForm):
    code = forms.CharField(
        label=_("Code"), max_length=15, widget=forms.TextInput(attrs={"inputmode": "numeric", "class": "mono"})
    )
    field_order = ["code", "name", "boundary", "boundary_file", "lng", "lat", "crs"]


class BuildingCreateForm(ServiceErrorsMixin, PointFields):
    grid = forms.ModelChoiceField(label=_("Grid"), queryset=Area.objects.none())
    number = forms.IntegerField(
        label=_("Building number"),
        min_value=1,
        max_value=999,
        help_text=_("1-999, unique within the grid; it becomes part of the building code."),
    )
    name = forms.CharField(
        label=_("Name"), max_length=100, required=False, help_text=_("Leave empty for “Building N”.")
    )
    estate = forms.ModelChoiceField(label=_("Estate"), queryset=Estate.objects.none(), required=False)
    floors = forms.IntegerField(label=_("Floors"), min_value=1, max_value=200, required=False)
    units = forms.IntegerField(label=_("Units"), min_value=0, max_value=99, required=False, initial=1)
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    field_order = ["grid", "number", "name", "estate", "floors", "units", "address", "lng", "lat", "crs"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grid"].queryset = Area.objects.for_user(user, "change").filter(level=Area.Level.GRID)
        self.fields["estate"].queryset = Estate.objects.for_user(user)


class HouseEditForm(ServiceErrorsMixin, forms.Form):
    floor = forms.IntegerField(label=_("Floor"), min_value=-10, max_value=200, required=False)
    use = forms.ChoiceField(label=_("Use"), choices=House.Use.choices, initial=House.Use.RESIDENTIAL)
    floor_area = forms.DecimalField(
        label=_("Floor area (m²)"), min_value=0, max_digits=8, decimal_places=2, required=False
    )


class HouseCreateForm(HouseEditForm):
    building = forms.ModelChoiceField(label=_("Building"), queryset=Building.objects.none())
    unit_number = forms.IntegerField(
        label=_("Unit"), min_value=0, max_value=99, initial=1, help_text=_("0 when the building has no units.")
    )
    room = forms.IntegerField(label=_("Room"), min_value=1, max_value=9999, help_text=_("e.g. 502"))
    field_order = ["building", "unit_number", "room", "floor", "use", "floor_area"]

    def __init__(self, *args, user, grid: Area | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        buildings = Building.objects.for_user(user, "change").select_related("grid")
        if grid is not None:
            buildings = buildings.filter(grid=grid)
        building = cast(forms.ModelChoiceField, self.fields["building"])
        building.queryset = buildings
        building.label_from_instance = lambda b: f"{b.grid.name} · {b.name}"  # type: ignore[assignment]  # per-instance override


class HouseFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, widget=forms.SearchInput(attrs={"placeholder": _("House code or room")})
    )
    grid = forms.ModelChoiceField(
        label=_("Grid"), queryset=Area.objects.none(), required=False, empty_label=_("All grids")
    )
    estate = forms.ModelChoiceField(
        label=_("Estate"), queryset=Estate.objects.none(), required=False, empty_label=_("All estates")
    )
    building = forms.ModelChoiceField(
        label=_("Building"), queryset=Building.objects.none(), required=False, empty_label=_("All buildings")
    )
    use = forms.ChoiceField(label=_("Use"), required=False, choices=[("", _("Any use")), *House.Use.choices])

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grid"].queryset = Area.objects.for_user(user).filter(level=Area.Level.GRID)
        self.fields["estate"].queryset = Estate.objects.for_user(user)
        # A building list only makes sense inside one grid (a street holds thousands).
        grid_id = self.data.get("grid") if self.is_bound else None
        building_id = self.data.get("building") if self.is_bound else None
        buildings = Building.objects.for_user(user)
        if grid_id and str(grid_id).isdigit():
            self.fields["building"].queryset = buildings.filter(grid_id=grid_id)
        elif building_id and str(building_id).isdigit():
            self.fields["building"].queryset = buildings.filter(pk=building_id)


class AreaFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, widget=forms.SearchInput(attrs={"placeholder": _("Name or code")})
    )
    level = forms.ChoiceField(label=_("Level"), required=False, choices=[("", _("All levels")), *Area.Level.choices])


class EstateFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, widget=forms.SearchInput(attrs={"placeholder": _("Name, code or address")})
    )


class FacilityFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), required=False, widget=forms.SearchInput(attrs={"placeholder": _("Name, code or address")})
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("any"))] + list(Facility.Kind.choices))
