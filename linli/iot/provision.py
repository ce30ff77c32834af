"""Registering devices: one at a time from the form, or many from an .xlsx file, and issuing credentials.

Every write checks the data scope again inside its transaction (iot.manage) and is audited. A device's
place comes from its house (grid, estate) or, for devices in public places (gates, cameras), from a grid.
The bulk import reuses the people app's spreadsheet machinery: defensive reading, row-numbered reasons,
all-or-nothing unless the user asks to import the valid rows, re-import updates by device code. New
devices get a secret each; the secrets go back once, as a workbook the user downloads.
"""

from __future__ import annotations

import datetime as dt
import re
from io import BytesIO
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Font

from linli.core import audit
from linli.core.codes import compact_code
from linli.core.models import AuditRecord
from linli.core.services import field_error, require_perm, save_audited
from linli.iot import credentials
from linli.iot.models import Device, DeviceKind
from linli.people.models import Occupancy, Resident
from linli.people.selectors import resident_search_q
from linli.people.spreadsheets.cells import CellError, RowCheck, not_found_message, text
from linli.people.spreadsheets.columns import Column, is_chinese, normalize_word
from linli.people.spreadsheets.importing import CREATED, UNCHANGED, UPDATED, Importer, chunks
from linli.people.spreadsheets.templates import _template
from linli.places.models import Area, House

CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
EDITABLE = (
    "kind",
    "name",
    "model",
    "grid",
    "house",
    "resident",
    "gateway",
    "location",
    "active",
    "installed_on",
    "maintainer",
)


# -- one device ------------------------------------------------------------------------------------------


def check_code(code: str) -> str:
    code = (code or "").strip()
    if not CODE_RE.match(code):
        raise ValidationError(_("Use 1-64 letters, digits, '-' or '_' (the code names the device's MQTT topics)."))
    return code


def residents_of(house: House):
    return Resident.objects.filter(pk__in=Occupancy.objects.filter(house=house).values("resident_id"))


def _place(device: Device) -> None:
    """Grid, ancestors and estate from the house when there is one."""
    if device.house_id:
        house = cast(House, device.house)
        device.grid_id = house.grid_id
        device.estate_id = house.estate_id
    if device.grid_id:
        device.copy_areas_from_grid()


def _validate(device: Device) -> None:
    if not device.grid_id and not device.house_id:
        raise field_error("house", _("Give the house the device is in, or the grid for a device in a public place."))
    if device.gateway_id:
        gw = cast(Device, device.gateway)
        if gw.kind != DeviceKind.GATEWAY:
            raise field_error("gateway", _("That device is not a gateway."))
        if device.pk and gw.pk == device.pk:
            raise field_error("gateway", _("A gateway cannot be its own gateway."))
        if device.kind == DeviceKind.GATEWAY:
            raise field_error("gateway", _("A gateway cannot hang under another gateway."))
    if device.resident_id and device.house_id:
        if not Occupancy.objects.filter(house_id=device.house_id, resident_id=device.resident_id).exists():
            raise field_error("resident", _("This resident is not registered at the device's house."))


def _in_scope_or_refuse(actor, device: Device) -> None:
    if actor is not None and not Device.objects.for_user(actor, "manage").filter(pk=device.pk).exists():
        raise field_error("house", _("This place is outside the area where you may manage devices."))


@transaction.atomic
def create_device(actor, *, code: str, kind: str, **fields: Any) -> Device:
    require_perm(actor, "iot.manage")
    code = check_code(code)
    if Device.objects.filter(code=code).exists():
        raise field_error("code", _("A device with this code is already registered."), "unique")
    device = Device(code=code, kind=kind, **{k: v for k, v in fields.items() if k in EDITABLE})
    _validate(device)
    _place(device)
    save_audited(device, None, actor)
    _in_scope_or_refuse(actor, device)
    return device


@transaction.atomic
def update_device(actor, device: Device, **changes: Any) -> Device:
    require_perm(actor, "iot.manage")
    device = Device.objects.select_for_update().get(pk=device.pk)
    if actor is not None and not Device.objects.for_user(actor, "manage").filter(pk=device.pk).exists():
        raise field_error("code", _("This device is outside the area where you may manage devices."))
    before = device.audit_snapshot()
    for name, value in changes.items():
        if name in EDITABLE:
            setattr(device, name, value)
    _validate(device)
    _place(device)
    save_audited(device, before, actor)
    _in_scope_or_refuse(actor, device)
    return device


@transaction.atomic
def issue_credential(actor, device: Device) -> str:
    """A new secret for the device (the old one stops working); returned once, only its hash is kept."""
    require_perm(actor, "iot.manage")
    if actor is not None and not Device.objects.for_user(actor, "manage").filter(pk=device.pk).exists():
        raise field_error("code", _("This device is outside the area where you may manage devices."))
    secret = credentials.issue_secret(device)
    audit.record(
        AuditRecord.Action.UPDATE,
        device,
        user=actor,
        before={"credential": "…"},
        after={"credential": "issued"},
    )
    return secret


# -- the spreadsheet -------------------------------------------------------------------------------------

DEVICE_COLUMNS = (
    Column(
        "code",
        "设备编码",
        "Device code",
        gettext_lazy("Letters, digits, '-' and '_'; matches the device on re-import."),
        required=True,
        text=True,
        width=20,
    ),
    Column("kind", "设备类型", "Device type", gettext_lazy("One of the types in the list."), required=True, width=16),
    Column("name", "名称", "Name", gettext_lazy("Optional, e.g. 'kitchen smoke detector'."), width=16),
    Column(
        "house_code",
        "房屋编码",
        "House code",
        gettext_lazy("24 digits, dashes allowed. Blank for devices in public places (give the grid code)."),
        text=True,
        width=32,
    ),
    Column(
        "grid_code",
        "网格编码",
        "Grid code",
        gettext_lazy("15 digits; only needed when there is no house code."),
        text=True,
        width=18,
    ),
    Column(
        "resident",
        "看护对象",
        "Cared-for resident",
        gettext_lazy("ID number or name of a resident registered at the house. Optional."),
        text=True,
        width=22,
    ),
    Column(
        "gateway_code",
        "网关编码",
        "Gateway code",
        gettext_lazy("Optional: the gateway this sub-device talks through (registered earlier or in this file)."),
        text=True,
        width=18,
    ),
    Column("location", "安装位置", "Location", gettext_lazy("Optional, e.g. kitchen, bedside."), width=14),
    Column("installed_on", "安装日期", "Installed on", gettext_lazy("Optional date, e.g. 2026-03-01."), width=14),
)
COL = {col.key: col for col in DEVICE_COLUMNS}

# fixed spellings of the device types in cells (besides the code and the translated labels)
KIND_WORDS = {
    DeviceKind.BRACELET: ("手环", "Bracelet"),
    DeviceKind.SMOKE: ("烟感", "Smoke detector"),
    DeviceKind.GAS: ("燃气报警器", "Gas detector"),
    DeviceKind.LEAK: ("水浸", "Water leak sensor"),
    DeviceKind.ABNORMAL: ("异常状态传感器", "Abnormal-state sensor"),
    DeviceKind.CALL_BUTTON: ("紧急呼叫按钮", "Call button"),
    DeviceKind.GATEWAY: ("网关", "Gateway"),
    DeviceKind.WATER_METER: ("水表", "Water meter"),
    DeviceKind.POWER_METER: ("电表", "Electricity meter"),
    DeviceKind.GATE: ("门禁", "Access gate"),
    DeviceKind.CAMERA: ("AI摄像头", "AI camera"),
}


def kind_vocabulary() -> dict[str, str]:
    from django.utils import translation

    vocab: dict[str, str] = {}
    for kind, spellings in KIND_WORDS.items():
        for spelling in (str(kind), *spellings):
            vocab[normalize_word(spelling)] = str(kind)
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            for value, label in DeviceKind.choices:
                vocab.setdefault(normalize_word(str(label)), str(value))
    return vocab


def kind_word(kind: str) -> str:
    zh, en = KIND_WORDS[DeviceKind(kind)]
    return zh if is_chinese() else en


def device_template() -> bytes:
    example = {
        "code": "SMK-0001",
        "kind": kind_word(DeviceKind.SMOKE),
        "name": "厨房烟感" if is_chinese() else "Kitchen smoke detector",
        "house_code": "120101001001-001-001-01-0101",
        "grid_code": "",
        "resident": "张三" if is_chinese() else "Zhang San",
        "gateway_code": "GW-0001",
        "location": "厨房" if is_chinese() else "kitchen",
        "installed_on": "2026-03-01",
    }
    return _template(
        _("Devices"),
        DEVICE_COLUMNS,
        example,
        {"kind": [kind_word(k) for k in KIND_WORDS]},
        {},
        [
            _("One row per device. Devices are matched by device code: importing it again updates the device."),
            _("Each new device gets a secret; the secrets are offered once, as a file, right after the import."),
            _("Houses and grids must be within the area where you manage devices."),
        ],
    )


def _date(value: Any) -> dt.date | None:
    if value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip().replace("/", "-"))
    except ValueError:
        raise CellError(_("a date such as 2026-03-01.")) from None


class DeviceImporter(Importer):
    kind = "devices"
    object_type = "iot.device"
    columns = DEVICE_COLUMNS
    service_fields = {"house": "house_code", "grid": "grid_code", "gateway": "gateway_code", "resident": "resident"}

    def __init__(self, user):
        super().__init__(user)
        self.kinds = kind_vocabulary()
        self.secrets: list[tuple[str, str]] = []  # (code, secret) of the devices created by this run
        self.devices: dict[str, Device] = {}

    def plan(self, sheet) -> list[tuple[RowCheck, Any]]:
        planned = []
        for row in sheet.rows:
            v, check = row.values, RowCheck(row.number)
            plan = {
                "code": check.read(COL["code"], _code, v.get("code", "")),
                "kind": check.read(COL["kind"], self._kind, v.get("kind", "")),
                "name": check.read(COL["name"], text, v.get("name", ""), 100),
                "house_code": check.read(COL["house_code"], lambda x: compact_code(text(x)), v.get("house_code", "")),
                "grid_code": check.read(COL["grid_code"], lambda x: compact_code(text(x)), v.get("grid_code", "")),
                "resident": check.read(COL["resident"], text, v.get("resident", ""), 50),
                "gateway_code": check.read(COL["gateway_code"], text, v.get("gateway_code", ""), 64),
                "location": check.read(COL["location"], text, v.get("location", ""), 100),
                "installed_on": check.read(COL["installed_on"], _date, v.get("installed_on", "")),
            }
            planned.append((check, plan))
        self._resolve(planned)
        return planned

    def _kind(self, value: Any) -> str:
        kind = self.kinds.get(normalize_word(text(value)))
        if kind is None:
            raise CellError(_("not a known device type; choose one from the template's list."))
        return kind

    def _resolve(self, planned) -> None:
        rows = [p for _c, p in planned]
        houses: dict[str, House] = {}
        for part in chunks(sorted({p["house_code"] for p in rows if p["house_code"]})):
            houses.update({h.code: h for h in House.objects.for_user(self.user, "view").filter(code__in=part)})
        grids: dict[str, Area] = {}
        for part in chunks(sorted({p["grid_code"] for p in rows if p["grid_code"]})):
            grids.update(
                {a.code: a for a in Area.objects.for_user(self.user, "view").filter(level="grid", code__in=part)}
            )
        codes = sorted({p["code"] for p in rows if p["code"]} | {p["gateway_code"] for p in rows if p["gateway_code"]})
        for part in chunks(codes):
            self.devices.update({d.code: d for d in Device.objects.filter(code__in=part)})
        manageable = set()
        for part in chunks(sorted(self.devices)):
            manageable |= set(
                Device.objects.for_user(self.user, "manage").filter(code__in=part).values_list("code", flat=True)
            )
        file_gateways = {p["code"] for p in rows if p["code"] and p["kind"] == DeviceKind.GATEWAY}
        first_at: dict[str, int] = {}
        for check, p in planned:
            if p["code"]:
                at = first_at.setdefault(p["code"], check.number)
                if at != check.number:
                    check.fail(COL["code"], _("same device as row %(row)d.") % {"row": at})
                if p["code"] in self.devices and p["code"] not in manageable:
                    check.fail(COL["code"], _("already registered by someone else, outside your area."))
            p["house"] = p["grid"] = None
            if p["house_code"]:
                p["house"] = houses.get(p["house_code"])
                if p["house"] is None:
                    check.fail(COL["house_code"], not_found_message())
            elif p["grid_code"]:
                p["grid"] = grids.get(p["grid_code"])
                if p["grid"] is None:
                    check.fail(COL["grid_code"], not_found_message())
            elif p["code"] not in self.devices:
                check.fail(COL["house_code"], _("give a house code, or a grid code for a device in a public place."))
            gw = p["gateway_code"]
            if gw and gw not in file_gateways and (gw not in manageable or self.devices[gw].kind != DeviceKind.GATEWAY):
                check.fail(COL["gateway_code"], _("no gateway with this code in your area."))
            p["resident_obj"] = None
            if p["resident"] and p["house"] is not None:
                found = list(residents_of(p["house"]).filter(resident_search_q(p["resident"]))[:2])
                if len(found) != 1:
                    check.fail(
                        COL["resident"],
                        _("no single resident with this name or ID number is registered at the house.")
                        if not found
                        else _("several residents at the house have this name; give the ID number."),
                    )
                else:
                    p["resident_obj"] = found[0]
            elif p["resident"]:
                check.fail(COL["resident"], _("a cared-for resident needs the house code of their home."))

    def run(self, upload, *, skip_bad: bool = False):
        result = super().run(upload, skip_bad=skip_bad)
        if not result.written:
            self.secrets = []  # rolled back with the devices
        return result

    def _write_all(self, planned, result) -> None:
        # gateways first, so sub-devices in the same file can name them
        planned = sorted(planned, key=lambda cp: (cp[1]["kind"] != DeviceKind.GATEWAY, cp[0].number))
        super()._write_all(planned, result)

    def write(self, p: dict) -> str:
        fields = {
            "kind": p["kind"],
            "name": p["name"] or "",
            "location": p["location"] or "",
            "installed_on": p["installed_on"],
            "resident": p["resident_obj"],
            "gateway": self.devices.get(p["gateway_code"]) if p["gateway_code"] else None,
        }
        if p["house"] is not None:
            fields["house"] = p["house"]
        elif p["grid"] is not None:
            fields["grid"], fields["house"] = p["grid"], None
        existing = self.devices.get(p["code"])
        if existing is not None:
            changes = {k: v for k, v in fields.items() if getattr(existing, k) != v and (v not in ("", None))}
            if not changes:
                return UNCHANGED
            self.devices[p["code"]] = update_device(self.user, existing, **changes)
            return UPDATED
        device = create_device(self.user, code=p["code"], **fields)
        self.secrets.append((device.code, credentials.issue_secret(device)))
        self.devices[device.code] = device
        return CREATED


def _code(value: Any) -> str:
    code = text(value, 64)
    try:
        return check_code(code)
    except ValidationError as exc:
        raise CellError(exc.messages[0]) from None


def secrets_workbook(secrets: list[tuple[str, str]]) -> bytes:
    wb = Workbook()
    sheet = wb.active
    sheet.title = _("Device secrets")
    sheet.append([_("Device code"), _("Secret")])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for code, secret in secrets:
        sheet.append([code, secret])
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 50
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
