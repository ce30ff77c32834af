"""Open an uploaded workbook defensively and return its rows keyed by column, or a clear reason it cannot.

Everything a user might upload by mistake is expected here: a CSV or a picture renamed .xlsx, an old .xls,
a truncated download, a zip bomb, an empty workbook, a sheet with other headers, formulas, too many rows.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass, field
from typing import Any

import openpyxl
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from linli.people.spreadsheets.columns import Column, header_index, is_chinese, normalize_word

# One import runs synchronously inside one request and one transaction, so a file is capped at 20,000 rows.
# Measured on PostgreSQL: unchanged rows cost ~1.5 ms each (20,000 in ~30 s); each NEW resident costs ~45 ms
# in the audited service actions (1,000 in ~45 s), so a first load of 20,000 new residents takes ~15 minutes:
# the web worker's timeout must allow it, or the register is split into files of a few thousand rows.
MAX_ROWS = 20_000
# A real 20,000-row sheet unpacks to a few MB; anything far beyond that is a zip bomb, not data.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_FORMULA_CELLS_NAMED = 5

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls format


class SpreadsheetError(Exception):
    """The whole file is unusable; the message says why, in the user's language."""


@dataclass
class Row:
    number: int  # as Excel shows it: the header is row 1
    values: dict[str, Any]


@dataclass
class Sheet:
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)


def too_large_message() -> str:
    mb = settings.MAX_UPLOAD_BYTES / (1024 * 1024)
    return _("The file is larger than %(mb)s MB. Split it into smaller files and upload them one by one.") % {
        "mb": f"{mb:g}"
    }


def read_sheet(upload, columns: tuple[Column, ...]) -> Sheet:
    """Rows of the first worksheet of an uploaded .xlsx, keyed by column key. Raises SpreadsheetError."""
    if upload is None:
        raise SpreadsheetError(_("Choose an .xlsx file to upload."))
    if upload.size > settings.MAX_UPLOAD_BYTES:
        raise SpreadsheetError(too_large_message())
    if upload.size == 0:
        raise SpreadsheetError(_("The file is empty."))
    upload.seek(0)
    magic = upload.read(4)
    upload.seek(0)
    if magic == _OLE_MAGIC:
        raise SpreadsheetError(
            _(
                "This is an old-format .xls file. Open it in Excel or WPS, save it as "
                "“Excel Workbook (.xlsx)” and upload that."
            )
        )
    if magic != _ZIP_MAGIC:
        raise SpreadsheetError(
            _(
                "This file is not an Excel .xlsx workbook (is it a CSV file or a picture "
                "renamed .xlsx?). Download the template, fill it in and upload it."
            )
        )
    _check_package(upload)
    try:
        workbook = openpyxl.load_workbook(upload, read_only=True, data_only=False)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds of errors on a damaged file
        raise SpreadsheetError(_damaged()) from None
    try:
        return _read_rows(workbook, columns)
    except SpreadsheetError:
        raise
    except Exception:  # noqa: BLE001 - a damaged sheet can fail halfway through parsing
        raise SpreadsheetError(_damaged()) from None
    finally:
        workbook.close()


def _damaged() -> str:
    return _(
        "The file is damaged and cannot be read as an .xlsx workbook. Open it in Excel or WPS, save it "
        "again and upload it once more."
    )


def _check_package(upload) -> None:
    try:
        with zipfile.ZipFile(upload) as package:
            names = set(package.namelist())
            unpacked = sum(info.file_size for info in package.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise SpreadsheetError(_damaged()) from None
    finally:
        upload.seek(0)
    if "xl/workbook.xml" not in names:
        raise SpreadsheetError(_("This file is a zip archive or another document, not an Excel .xlsx workbook."))
    if unpacked > MAX_UNPACKED_BYTES:
        raise SpreadsheetError(_("The workbook is far too large once unpacked. Split it into smaller files."))


def _cell_value(value: Any) -> Any:
    """Text stripped; whole numbers as digits; other numbers and dates kept for the column parsers."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time | float):
        return value
    return str(value).strip()


def _read_rows(workbook, columns: tuple[Column, ...]) -> Sheet:
    if not workbook.worksheets:
        raise SpreadsheetError(_("The workbook is empty."))
    rows = workbook.worksheets[0].iter_rows()
    header = next(rows, None)
    if header is None or all(cell.value in (None, "") for cell in header):
        raise SpreadsheetError(
            _(
                "The workbook is empty: the first sheet needs the template's header row "
                "in row 1 and one row per record below it."
            )
        )
    positions = _map_header([cell.value for cell in header], columns)
    sheet = Sheet(columns=[col for _pos, col in positions])
    formulas: list[str] = []
    for number, cells in enumerate(rows, start=2):
        raw = {pos: cells[pos] for pos, _col in positions if pos < len(cells)}
        for pos, cell in raw.items():
            if getattr(cell, "data_type", None) == "f":
                formulas.append(f"{openpyxl.utils.get_column_letter(pos + 1)}{number}")
        values = {col.key: _cell_value(raw[pos].value) if pos in raw else "" for pos, col in positions}
        if all(v == "" for v in values.values()):
            continue
        if len(sheet.rows) >= MAX_ROWS:
            raise SpreadsheetError(
                _("The sheet has more than %(max)s rows. Split it into files of at most %(max)s rows each.")
                % {"max": f"{MAX_ROWS:,}"}
            )
        sheet.rows.append(Row(number, values))
    if formulas:
        named = (
            "、".join(formulas[:MAX_FORMULA_CELLS_NAMED])
            if is_chinese()
            else ", ".join(formulas[:MAX_FORMULA_CELLS_NAMED])
        )
        more = len(formulas) - MAX_FORMULA_CELLS_NAMED
        message = _(
            "The sheet contains formulas (cells %(cells)s). Copy the data and paste it as values "
            "only, then upload again."
        ) % {"cells": named}
        if more > 0:
            message += " " + ngettext("%(n)d more cell holds a formula.", "%(n)d more cells hold formulas.", more) % {
                "n": more
            }
        raise SpreadsheetError(message)
    if not sheet.rows:
        raise SpreadsheetError(_("The sheet has a header row but no data rows below it."))
    return sheet


def _map_header(values: list[Any], columns: tuple[Column, ...]) -> list[tuple[int, Column]]:
    index = header_index(columns)
    positions: list[tuple[int, Column]] = []
    seen: set[str] = set()
    unknown: list[str] = []
    duplicated: list[str] = []
    for pos, value in enumerate(values):
        if value is None or str(value).strip() == "":
            continue
        col = index.get(normalize_word(value))
        if col is None:
            unknown.append(str(value).strip())
        elif col.key in seen:
            duplicated.append(str(value).strip())
        else:
            seen.add(col.key)
            positions.append((pos, col))
    sep = "、" if is_chinese() else ", "
    problems = []
    missing = [col.label() for col in columns if col.required and col.key not in seen]
    if missing:
        problems.append(_("Missing columns: %(cols)s.") % {"cols": sep.join(missing)})
    if unknown:
        problems.append(_("Unknown columns: %(cols)s.") % {"cols": sep.join(unknown)})
    if duplicated:
        problems.append(_("Columns given twice: %(cols)s.") % {"cols": sep.join(duplicated)})
    if problems:
        problems.append(
            _("Row 1 must hold the template's headers (Chinese or English); download the template to see them.")
        )
        raise SpreadsheetError(" ".join(problems))
    return positions
