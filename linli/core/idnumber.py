"""Resident identity numbers (GB 11643-1999) and social credit codes (GB 32100-2015)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")


def id_check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


@dataclass(frozen=True)
class IdentityInfo:
    number: str
    region_code: str
    birth_date: dt.date
    sex: str  # "M" or "F"

    def age_on(self, day: dt.date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


def parse_id_number(raw: str, today: dt.date | None = None) -> IdentityInfo:
    """Validate an 18-digit ID number and derive birth date and sex; raise ValidationError."""
    number = (raw or "").strip().upper()
    if not _ID_RE.match(number):
        raise ValidationError(_("An ID number has 17 digits followed by a digit or X."), code="id_format")
    if number[:2] not in _PROVINCES:
        raise ValidationError(_("The ID number starts with an unknown province code."), code="id_region")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(_("The ID number holds an impossible birth date."), code="id_birth") from None
    today = today or dt.date.today()
    if birth > today or birth.year < 1880:
        raise ValidationError(_("The ID number holds an impossible birth date."), code="id_birth")
    if id_check_digit(number[:17]) != number[17]:
        raise ValidationError(
            _("The ID number's check digit is wrong; please check it digit by digit."), code="id_checksum"
        )
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return IdentityInfo(number=number, region_code=number[:6], birth_date=birth, sex=sex)


def make_id_number(region_code: str, birth: dt.date, sequence: int, sex: str) -> str:
    """Build a checksum-valid (fictitious) ID number; used by the data generator and tests."""
    seq = sequence % 1000
    if (seq % 2 == 1) != (sex == "M"):
        seq = (seq + 1) % 1000
        if (seq % 2 == 1) != (sex == "M"):
            seq = (seq + 1) % 1000
    first17 = f"{region_code[:6]}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_digit(first17)


_PROVINCES = {
    "11",
    "12",
    "13",
    "14",
    "15",
    "21",
    "22",
    "23",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "37",
    "41",
    "42",
    "43",
    "44",
    "45",
    "46",
    "50",
    "51",
    "52",
    "53",
    "54",
    "61",
    "62",
    "63",
    "64",
    "65",
    "71",
    "81",
    "82",
    "83",
    "91",
}

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def validate_uscc(raw: str) -> str:
    """Unified social credit code (统一社会信用代码), 18 characters with a check character."""
    code = (raw or "").strip().upper()
    if len(code) != 18 or any(c not in _USCC_CHARS for c in code):
        raise ValidationError(
            _("A unified social credit code has 18 digits or capital letters (no I, O, Z, S, V)."), code="uscc_format"
        )
    if uscc_check_char(code[:17]) != code[17]:
        raise ValidationError(_("The unified social credit code's check character is wrong."), code="uscc_checksum")
    return code


_PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


def normalize_phone(raw: str) -> str:
    """Mainland mobile (11 digits) or landline with area code; raise ValidationError."""
    phone = re.sub(r"[\s()]", "", raw or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not _PHONE_RE.match(phone):
        raise ValidationError(
            _("Enter an 11-digit mobile number or a landline with its area code."), code="phone_format"
        )
    return phone.replace("-", "") if phone.startswith("1") else phone
