"""Unified codes (统一编码), DESIGN.md section 4.

city/district/street/community: 12-digit statistical division codes
    PP CC DD SSS VVV  (province, city, county per GB/T 2260; township/street; village/community)
grid:     community code + 3-digit sequence (15 digits)
building: grid code + 3-digit sequence (18 digits)
house:    building code + 2-digit unit + 4-digit room (24 digits), shown as
          120101001001-001-003-01-0502
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CITY, DISTRICT, STREET, COMMUNITY, GRID = "city", "district", "street", "community", "grid"
LEVELS = (CITY, DISTRICT, STREET, COMMUNITY, GRID)
PARENT_LEVEL = {DISTRICT: CITY, STREET: DISTRICT, COMMUNITY: STREET, GRID: COMMUNITY}

_DIGITS = re.compile(r"^\d+$")


def level_of(code: str) -> str:
    """The level a well-formed area code belongs to (raises ValidationError)."""
    if not code or not _DIGITS.match(code):
        raise ValidationError(_("An area code is made of digits only."), code="code_format")
    if len(code) == 15:
        if code[12:] == "000" or code[9:12] == "000":
            raise ValidationError(
                _("A grid code is a community code followed by a sequence 001-999."), code="code_format"
            )
        return GRID
    if len(code) != 12:
        raise ValidationError(_("Division codes have 12 digits and grid codes 15."), code="code_format")
    if code[:2] == "00":
        raise ValidationError(_("The code's province part cannot be 00."), code="code_format")
    if code[4:] == "00000000":
        return CITY
    if code[6:] == "000000":
        return DISTRICT
    if code[9:] == "000":
        return STREET
    if code[6:9] == "000":
        raise ValidationError(_("A community code needs its street part (digits 7-9)."), code="code_format")
    return COMMUNITY


def prefix_of(code: str, level: str) -> str:
    """The significant prefix of a code at a level: what every descendant's code starts with."""
    return {CITY: code[:4], DISTRICT: code[:6], STREET: code[:9], COMMUNITY: code[:12], GRID: code[:15]}[level]


def validate_area_code(code: str, level: str, parent_code: str | None, parent_level: str | None) -> None:
    actual = level_of(code)
    if actual != level:
        raise ValidationError(
            _("Code %(code)s is a %(actual)s code, not a %(level)s code.")
            % {"code": code, "actual": LEVEL_LABELS()[actual], "level": LEVEL_LABELS()[level]},
            code="code_level",
        )
    if level == CITY:
        return
    if parent_code is None or parent_level != PARENT_LEVEL[level]:
        raise ValidationError(_("This area needs a parent one level above it."), code="code_parent")
    if not code.startswith(prefix_of(parent_code, parent_level)):
        raise ValidationError(
            _("Code %(code)s does not lie under its parent %(parent)s.") % {"code": code, "parent": parent_code},
            code="code_parent",
        )


def building_code(grid_code: str, seq: int) -> str:
    if not 1 <= seq <= 999:
        raise ValidationError(_("A building number runs from 1 to 999."), code="code_format")
    return f"{grid_code}{seq:03d}"


def house_code(building: str, unit: int, room: int) -> str:
    if not 0 <= unit <= 99 or not 1 <= room <= 9999:
        raise ValidationError(_("Unit runs 0-99 and room 1-9999."), code="code_format")
    return f"{building}{unit:02d}{room:04d}"


def validate_house_code(code: str, building: str) -> None:
    if not _DIGITS.match(code or "") or len(code) != 24 or not code.startswith(building):
        raise ValidationError(
            _("A house code is its building code plus 2 unit and 4 room digits (24 digits)."), code="code_format"
        )


def compact_code(raw: str) -> str:
    """A code as typed (spaces, ASCII or full-width dashes allowed) reduced to its characters."""
    return "".join((raw or "").split()).replace("-", "").replace("－", "")


def format_house_code(code: str) -> str:
    if len(code) != 24:
        return code
    return f"{code[:12]}-{code[12:15]}-{code[15:18]}-{code[18:20]}-{code[20:]}"


def LEVEL_LABELS() -> dict[str, str]:  # noqa: N802 - reads like the constant it stands for
    return {CITY: _("city"), DISTRICT: _("district"), STREET: _("street"), COMMUNITY: _("community"), GRID: _("grid")}
