"""GeoReport v2 bodies as JSON or XML.

The XML is schemaless and without a namespace, as the spec asks; the JSON is its Spark-convention
mapping: a list of records at the top, a list of child elements for `attributes`, `values`,
`endpoints` and `formats`, null for an empty element, true/false for booleans.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from django.http import HttpResponse

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}

# list element name -> the name of each of its children
CHILD = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: ET.Element, name: str, value: Any) -> None:
    element = ET.SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(element, key, item)
    elif isinstance(value, list | tuple):
        child = CHILD[name]
        for item in value:
            _fill(element, child, item)
    else:
        element.text = _text(value)


def to_xml(root: str, body: Any) -> str:
    """`root` is the document element: a list body becomes its children (named by CHILD), a dict its fields."""
    element = ET.Element(root)
    if isinstance(body, dict):
        for key, item in body.items():
            _fill(element, key, item)
    else:
        for item in body:
            _fill(element, CHILD[root], item)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="unicode")


def respond(fmt: str, root: str, body: Any, status: int = 200) -> HttpResponse:
    if fmt == "xml":
        content = to_xml(root, body)
    else:
        content = json.dumps(body, ensure_ascii=False)
    return HttpResponse(content.encode("utf-8"), status=status, content_type=CONTENT_TYPES[fmt])


def errors(fmt: str, status: int, *descriptions: str) -> HttpResponse:
    """GeoReport's error list; the code in each error is the HTTP status."""
    body = [{"code": status, "description": str(d)} for d in descriptions]
    return respond(fmt, "errors", body, status=status)
