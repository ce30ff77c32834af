"""The sheet layouts and the words accepted in their cells.

Headers are part of the file format, not of the interface: a file written with Chinese headers must import
for an English-speaking user and the other way round, whatever the translation catalogue says. So each
column carries both spellings here (like Label.name_zh / name_en); the descriptions are translated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from linli.people.models import Occupancy
from linli.places.models import House


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    help: str | Promise
    required: bool = False
    text: bool = False  # long digit strings: formatted as text so Excel keeps every digit
    width: int = 14
    importable: bool = True  # False: written by exports, accepted and checked on import

    def header(self, chinese: bool) -> str:
        label = self.zh if chinese else self.en
        return f"{label}*" if self.required else label

    def label(self) -> str:
        return self.zh if is_chinese() else self.en


RESIDENT_COLUMNS = (
    Column(
        "house_code",
        "房屋编码",
        "House code",
        _("24 digits, dashes allowed, as on the door plate."),
        required=True,
        text=True,
        width=32,
    ),
    Column("name", "姓名", "Name", _("The resident's name."), required=True, width=12),
    Column(
        "id_number",
        "身份证号",
        "ID number",
        _("18-character resident ID number; matches the resident on re-import."),
        required=True,
        text=True,
        width=22,
    ),
    Column(
        "phone",
        "手机号",
        "Phone",
        _("Mobile number or landline with area code. Blank: left unchanged."),
        text=True,
        width=16,
    ),
    Column(
        "relation",
        "与房屋关系",
        "Relation to house",
        _("Owner, tenant, lives here, or registered here but living elsewhere (人户分离)."),
        required=True,
    ),
    Column("ethnicity", "民族", "Ethnicity", _("e.g. 汉族. Blank: left unchanged."), width=10),
    Column(
        "labels",
        "人口标签",
        "Labels",
        _("Population label names or codes separated by commas or 、. Blank: left unchanged."),
        width=24,
    ),
    Column(
        "contact_name",
        "紧急联系人",
        "Emergency contact name",
        _("Optional; give the contact's phone as well."),
        width=14,
    ),
    Column(
        "contact_phone",
        "紧急联系人电话",
        "Emergency contact phone",
        _("Optional; give the contact's name as well."),
        text=True,
        width=18,
    ),
)

HOUSE_COLUMNS = (
    Column(
        "house_code",
        "房屋编码",
        "House code",
        _("Optional: filled in by exports; if given it must match grid, building, unit and room."),
        text=True,
        width=32,
        importable=False,
    ),
    Column(
        "grid_code",
        "网格编码",
        "Grid code",
        _("15 digits: the grid the building stands in."),
        required=True,
        text=True,
        width=18,
    ),
    Column("building_number", "楼栋号", "Building number", _("1-999 within the grid."), required=True, width=10),
    Column("building_name", "楼栋名称", "Building name", _("e.g. 3号楼; used when the building is new."), width=14),
    Column(
        "estate_code",
        "小区编码",
        "Estate code",
        _("Optional: the estate of a new building, in the grid's community."),
        text=True,
        width=16,
    ),
    Column("unit", "单元号", "Unit", _("0-99; 0 or blank when the building has no units."), width=8),
    Column("room", "房间号", "Room", _("1-9999, e.g. 502."), required=True, width=8),
    Column(
        "floor", "楼层", "Floor", _("Optional; taken from the room number when blank (502 is on floor 5)."), width=8
    ),
    Column("use", "用途", "Use", _("Residential, commercial, office or other. Blank: residential."), width=10),
    Column("floor_area", "建筑面积（㎡）", "Floor area (m²)", _("Optional, in square metres, e.g. 86.5."), width=12),
)

# Fixed spellings accepted in cells besides each choice's code and its translated label.
RELATION_WORDS = {
    Occupancy.Relation.OWNER: ("业主", "Owner", "产权人", "房主"),
    Occupancy.Relation.TENANT: ("租户", "Tenant", "租客", "承租人"),
    Occupancy.Relation.LIVES: ("居住", "Lives here", "实际居住", "居住人", "同住"),
    Occupancy.Relation.REGISTERED_ELSEWHERE: (
        "人户分离",
        "Registered but living away",
        "registered elsewhere",
        "Registered here, living elsewhere",
        "户在人不在",
    ),
}
USE_WORDS = {
    House.Use.RESIDENTIAL: ("住宅", "Residential", "住房", "居住"),
    House.Use.COMMERCIAL: ("商业", "Commercial", "商铺", "商用", "门面"),
    House.Use.OFFICE: ("办公", "Office", "写字楼"),
    House.Use.OTHER: ("其他", "Other", "其它"),
}

LABEL_SEPARATORS = re.compile(r"[,，、;；]+")


def is_chinese() -> bool:
    return (translation.get_language() or "").startswith("zh")


def normalize_word(text: str) -> str:
    """Lower-case, drop spaces, required-markers and bracket styles, so 'Floor area (m²)' == '建筑面积(㎡)'."""
    text = str(text).strip().lower().replace("（", "(").replace("）", ")")
    text = re.sub(r"\((必填|required)\)", "", text)
    return re.sub(r"[\s*_]+", "", text)


def header_index(columns: tuple[Column, ...]) -> dict[str, Column]:
    index: dict[str, Column] = {}
    for col in columns:
        for spelling in (col.zh, col.en, col.key):
            index[normalize_word(spelling)] = col
    return index


def _vocabulary(words: dict, choices) -> dict[str, str]:
    vocab: dict[str, str] = {}
    for value, spellings in words.items():
        for spelling in (value, *spellings):
            vocab[normalize_word(spelling)] = value
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            for value, label in choices:
                vocab.setdefault(normalize_word(str(label)), value)
    return vocab


def relation_vocabulary() -> dict[str, str]:
    return _vocabulary(RELATION_WORDS, Occupancy.Relation.choices)


def use_vocabulary() -> dict[str, str]:
    return _vocabulary(USE_WORDS, House.Use.choices)


def word_for(words: dict, value: str) -> str:
    """The label a template or export writes for a choice, in the user's language."""
    spellings = words.get(value)
    if not spellings:
        return value
    return spellings[0] if is_chinese() else spellings[1]
