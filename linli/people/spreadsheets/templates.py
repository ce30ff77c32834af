"""The blank templates users download, fill in and upload: headers in the user's language, instructions and an
example row on a second sheet, drop-down lists where a cell takes one of a few words."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from linli.core.idnumber import make_id_number
from linli.people.spreadsheets.columns import (
    HOUSE_COLUMNS,
    RELATION_WORDS,
    RESIDENT_COLUMNS,
    USE_WORDS,
    Column,
    is_chinese,
    word_for,
)
from linli.people.spreadsheets.reader import MAX_ROWS

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="2F6F4F")
LAST_ROW = MAX_ROWS + 1


def resident_template() -> bytes:
    zh = is_chinese()
    example = {
        "house_code": "120101001001-001-001-01-0101",
        "name": "张三" if zh else "Zhang San",
        "id_number": make_id_number("120101", dt.date(1950, 3, 1), 1, "M"),
        "phone": "13800001234",
        "relation": word_for(RELATION_WORDS, "owner"),
        "ethnicity": "汉族" if zh else "Han",
        "labels": "独居、党员" if zh else "Living alone, Party member",
        "contact_name": "张小三" if zh else "Zhang Xiaosan",
        "contact_phone": "13900001234",
    }
    lists = {"relation": [word_for(RELATION_WORDS, value) for value in RELATION_WORDS]}
    return _template(
        _("Residents"),
        RESIDENT_COLUMNS,
        example,
        lists,
        {},
        [
            _("One row per resident and house. A resident who lives in two houses takes two rows."),
            _(
                "Residents are matched by ID number: importing the same person again updates them instead of adding "
                "a second record."
            ),
            _("House codes must belong to houses within your area; add missing houses first (houses template)."),
        ],
    )


def house_template() -> bytes:
    example = {
        "house_code": "",
        "grid_code": "120101001001001",
        "building_number": 3,
        "building_name": "3号楼" if is_chinese() else "Building 3",
        "estate_code": "",
        "unit": 1,
        "room": 502,
        "floor": 5,
        "use": word_for(USE_WORDS, "residential"),
        "floor_area": 86.5,
    }
    lists = {"use": [word_for(USE_WORDS, value) for value in USE_WORDS]}
    ranges = {"building_number": (1, 999), "unit": (0, 99), "room": (1, 9999)}
    return _template(
        _("Houses"),
        tuple(c for c in HOUSE_COLUMNS if c.importable),
        example,
        lists,
        ranges,
        [
            _(
                "One row per house. New buildings are created from grid code and building number; existing ones are "
                "reused."
            ),
            _(
                "Houses are matched by house code (grid, building, unit and room): importing the same house again "
                "updates its floor, use and floor area."
            ),
            _("Grid codes must belong to grids within your area."),
        ],
    )


def _template(
    title: str,
    columns: tuple[Column, ...],
    example: dict,
    lists: dict[str, list[str]],
    ranges: dict[str, tuple[int, int]],
    notes: list[str],
) -> bytes:
    zh = is_chinese()
    wb = Workbook()
    sheet = wb.active
    sheet.title = title
    _header(sheet, columns, zh)
    sheet.freeze_panes = "A2"
    for pos, col in enumerate(columns, start=1):
        letter = get_column_letter(pos)
        cells = f"{letter}2:{letter}{LAST_ROW}"
        if col.key in lists:
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(lists[col.key]) + '"',
                allow_blank=True,
                errorStyle="warning",
                showErrorMessage=True,
            )
            dv.add(cells)
            sheet.add_data_validation(dv)
        if col.key in ranges:
            low, high = ranges[col.key]
            dv = DataValidation(
                type="whole",
                operator="between",
                formula1=str(low),
                formula2=str(high),
                allow_blank=True,
                showErrorMessage=True,
                error=_("A whole number from %(low)d to %(high)d.") % {"low": low, "high": high},
            )
            dv.add(cells)
            sheet.add_data_validation(dv)
    _instructions(wb.create_sheet(_("Instructions")), columns, example, notes, zh)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _header(sheet: Worksheet, columns: tuple[Column, ...], zh: bool) -> None:
    for pos, col in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=pos, value=col.header(zh))
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        letter = get_column_letter(pos)
        sheet.column_dimensions[letter].width = max(col.width, len(col.header(zh)) * (2 if zh else 1) + 2)
        if col.text:
            # Excel keeps only 15 significant digits of a number: codes and ID numbers must stay text.
            sheet.column_dimensions[letter].number_format = "@"


def _instructions(sheet: Worksheet, columns: tuple[Column, ...], example: dict, notes: list[str], zh: bool) -> None:
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 10
    sheet.column_dimensions["C"].width = 80
    sheet.append([_("How to fill in this template")])
    sheet["A1"].font = Font(bold=True, size=14)
    for note in [
        _("Fill in the first sheet, one record per row, starting in row 2. Keep row 1 as it is."),
        _("Type codes, ID numbers and phone numbers as text so Excel keeps every digit. Do not use formulas."),
        _("At most %(n)s rows per file. Columns marked * are required.") % {"n": f"{MAX_ROWS:,}"},
        *notes,
        _("Headers may be in Chinese or English."),
    ]:
        sheet.append([note])
    sheet.append([])
    sheet.append([_("Column"), _("Required"), _("How to fill it in")])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for col in columns:
        sheet.append([col.header(zh), _("yes") if col.required else "", str(col.help)])
        sheet.cell(row=sheet.max_row, column=3).alignment = Alignment(wrap_text=True)
    sheet.append([])
    sheet.append([_("Example row (copy it to the first sheet only as a guide; it is not imported from here):")])
    sheet[f"A{sheet.max_row}"].font = Font(bold=True)
    sheet.append([col.header(zh) for col in columns])
    for cell in sheet[sheet.max_row]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    sheet.append([example.get(col.key, "") for col in columns])
