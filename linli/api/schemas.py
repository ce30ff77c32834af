"""Response and request shapes. Identifiers appear only masked (id_number_masked, phone_masked);
birth dates are left out because the masked ID number hides them on purpose (age is given instead)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from linli.people.models import Household, Occupancy, Organization, Resident
from linli.places.models import Area, House


class ErrorBody(Schema):
    code: str = Field(..., description="Stable machine code: not_found, validation_error, not_authenticated…")
    message: str = Field(..., description="Human text in the request language.")
    fields: dict[str, list[str]] = Field(..., description="Messages per field; `__all__` for the whole request.")


class ErrorOut(Schema):
    error: ErrorBody


ERROR_STATUSES = frozenset({400, 401, 403, 404, 405, 409, 422, 429, 500})


def answers(schema: Any, status: int = 200) -> dict:
    """The `response=` of an operation: its result, and the error format for every failure."""
    return {status: schema, ERROR_STATUSES: ErrorOut}


class Input(Schema):
    """Request bodies refuse unknown fields, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


# --- places -----------------------------------------------------------------------------------


class AreaOut(Schema):
    id: int
    level: Area.Level
    code: str
    name: str
    parent_id: int | None
    lng: float | None
    lat: float | None


class AreaDetail(AreaOut):
    city_id: int | None
    district_id: int | None
    street_id: int | None
    community_id: int | None
    boundary: dict[str, Any] | None = Field(None, description="GeoJSON Polygon or MultiPolygon, WGS-84.")


class OrganizationRef(Schema):
    id: int
    name: str


class EstateOut(Schema):
    id: int
    code: str
    name: str
    community_id: int
    street_id: int
    address: str
    property_company: OrganizationRef | None
    lng: float | None
    lat: float | None


class EstateDetail(EstateOut):
    boundary: dict[str, Any] | None = Field(None, description="GeoJSON Polygon or MultiPolygon, WGS-84.")


class BuildingOut(Schema):
    id: int
    code: str
    name: str
    grid_id: int
    community_id: int
    estate_id: int | None
    floors: int | None
    address: str
    lng: float | None
    lat: float | None


class UnitOut(Schema):
    id: int
    number: int


class BuildingDetail(BuildingOut):
    footprint: dict[str, Any] | None = Field(None, description="GeoJSON Polygon or MultiPolygon, WGS-84.")
    units: list[UnitOut]

    @staticmethod
    def resolve_units(obj) -> list:
        return list(obj.units.all())


class HouseOut(Schema):
    id: int
    code: str
    display_code: str
    address: str
    building_id: int
    unit_number: int | None
    floor: int | None
    room: str
    use: House.Use
    floor_area: Decimal | None
    grid_id: int
    community_id: int
    estate_id: int | None

    @staticmethod
    def resolve_address(obj) -> str:
        return str(obj)

    @staticmethod
    def resolve_unit_number(obj) -> int | None:
        return obj.unit.number if obj.unit_id else None


# str + enum rather than the TextChoices class: Household.Kind and Organization.Kind would share the name "Kind"
HOUSEHOLD_KIND = Field(..., json_schema_extra={"enum": list(Household.Kind.values)})


class HouseholdRef(Schema):
    id: int
    code: str
    kind: str = HOUSEHOLD_KIND


class HouseDetail(HouseOut):
    households: list[HouseholdRef]

    @staticmethod
    def resolve_households(obj) -> list:
        return list(getattr(obj, "visible_households", []))


class HouseIn(Input):
    building: int = Field(..., description="Id of a building in your area.")
    unit_number: int = Field(..., ge=0, le=99, description="0 for a building without units.")
    room: int = Field(..., ge=1, le=9999)
    floor: int | None = Field(None, ge=-9, le=200)
    use: House.Use = House.Use.RESIDENTIAL
    floor_area: Decimal | None = Field(None, ge=0, max_digits=8, decimal_places=2)


# --- people -----------------------------------------------------------------------------------


class ResidenceOut(Schema):
    house_id: int
    house_code: str
    relation: Occupancy.Relation

    @staticmethod
    def resolve_house_code(obj) -> str:
        return obj.house.display_code


class ResidentOut(Schema):
    id: int
    name: str
    id_number_masked: str
    phone_masked: str
    sex: str
    age: int | None
    status: Resident.Status
    household_id: int | None
    labels: list[str] = Field(..., description="Population label codes.")
    residences: list[ResidenceOut]

    @staticmethod
    def resolve_labels(obj) -> list[str]:
        return [label.code for label in obj.labels.all()]

    @staticmethod
    def resolve_residences(obj) -> list:
        return list(getattr(obj, "visible_occupancies", []))


class LabelOut(Schema):
    code: str
    name: str

    @staticmethod
    def resolve_name(obj) -> str:
        return str(obj)


class EmergencyContactOut(Schema):
    id: int
    name: str
    relation: str
    phone_masked: str


class ResidentDetail(ResidentOut):
    ethnicity: str
    relation_to_head: str
    notes: str
    label_details: list[LabelOut]
    emergency_contacts: list[EmergencyContactOut]
    updated_at: dt.datetime

    @staticmethod
    def resolve_label_details(obj) -> list:
        return list(obj.labels.all())

    @staticmethod
    def resolve_emergency_contacts(obj) -> list:
        return list(obj.emergency_contacts.all())


class ResidentIn(Input):
    name: str = Field(..., min_length=1, max_length=50)
    id_number: str = Field("", max_length=20, description="GB 11643 ID number; checked and stored encrypted.")
    phone: str = Field("", max_length=20)
    ethnicity: str = Field("", max_length=20)
    relation_to_head: str = Field("", max_length=20)
    status: Resident.Status = Resident.Status.ACTIVE
    notes: str = Field("", max_length=2000)
    house: int = Field(..., description="Id of the house (in your area) where the resident lives.")
    relation: Occupancy.Relation = Occupancy.Relation.LIVES
    labels: list[str] = Field(default_factory=list, description="Population label codes.")
    household: int | None = None


class ResidentPatch(Input):
    name: str | None = Field(None, min_length=1, max_length=50)
    id_number: str | None = Field(None, max_length=20)
    phone: str | None = Field(None, max_length=20)
    ethnicity: str | None = Field(None, max_length=20)
    relation_to_head: str | None = Field(None, max_length=20)
    status: Resident.Status | None = None
    notes: str | None = Field(None, max_length=2000)
    labels: list[str] | None = None
    household: int | None = Field(None, description="Household id; null removes the resident from it.")


class RevealIn(Input):
    field: str = Field(..., description="id_number or phone")
    purpose: str = Field("", max_length=300, description="Why the full number is needed; written to the audit log.")


class RevealOut(Schema):
    field: str
    value: str


class MemberOut(Schema):
    id: int
    name: str
    relation_to_head: str


class HouseRef(Schema):
    id: int
    code: str
    display_code: str


class HouseholdDetail(Schema):
    id: int
    code: str
    kind: str = HOUSEHOLD_KIND
    house: HouseRef
    head_id: int | None
    members: list[MemberOut]

    @staticmethod
    def resolve_members(obj) -> list:
        return list(getattr(obj, "visible_members", []))


class OrganizationOut(Schema):
    id: int
    kind: Organization.Kind
    name: str
    uscc: str
    contact_name: str
    phone_masked: str
    address: str
    grid_id: int | None
    community_id: int | None
    lng: float | None
    lat: float | None


# --- accounts ---------------------------------------------------------------------------------


class TokenIn(Input):
    username: str = Field(..., min_length=1, max_length=150)
    password: str = Field(..., min_length=1, max_length=256)


class TokenOut(Schema):
    token: str = Field(..., description="Send as `Authorization: Bearer <token>`. Shown once; only a digest is kept.")
    expires_at: dt.datetime


class RoleOut(Schema):
    code: str
    name: str


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    roles: list[RoleOut]
    permissions: list[str]
    language: str
    elder_mode: bool
    resident_id: int | None
