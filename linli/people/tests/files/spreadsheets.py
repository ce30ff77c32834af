"""Builders for the spreadsheet tests: workbooks are generated in the test, never stored."""

from __future__ import annotations

import datetime as dt
import html
import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from linli.core.idnumber import make_id_number

RESIDENT_HEADERS_ZH = [
    "房屋编码*",
    "姓名*",
    "身份证号*",
    "手机号",
    "与房屋关系*",
    "民族",
    "人口标签",
    "紧急联系人",
    "紧急联系人电话",
]
RESIDENT_HEADERS_EN = [
    "House code*",
    "Name*",
    "ID number*",
    "Phone",
    "Relation to house*",
    "Ethnicity",
    "Labels",
    "Emergency contact name",
    "Emergency contact phone",
]
HOUSE_HEADERS_ZH = [
    "网格编码*",
    "楼栋号*",
    "楼栋名称",
    "小区编码",
    "单元号",
    "房间号*",
    "楼层",
    "用途",
    "建筑面积（㎡）",
]
HOUSE_HEADERS_EN = [
    "Grid code*",
    "Building number*",
    "Building name",
    "Estate code",
    "Unit",
    "Room*",
    "Floor",
    "Use",
    "Floor area (m²)",
]


def new_id(day: int, sex: str = "M") -> str:
    """A checksum-valid ID number no world resident holds."""
    return make_id_number("120101", dt.date(1985, 1, day), day, sex)


def xlsx(header: list, rows: list[list], *, sheet_title: str = "data") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet_title
    if header:
        ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def post_import(client, kind: str, content: bytes, *, name: str = "data.xlsx", skip_bad: bool = False):
    data: dict[str, SimpleUploadedFile | str] = {f"{kind}-file": SimpleUploadedFile(name, content)}
    if skip_bad:
        data[f"{kind}-skip_bad"] = "on"
    return client.post(reverse(f"people:io-import-{kind}"), data)


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def sheet_rows(content: bytes, index: int = 0) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    return list(wb.worksheets[index].iter_rows(values_only=True))


def downloaded(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content
