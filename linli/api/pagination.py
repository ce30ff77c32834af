"""limit/offset pages: {"count", "limit", "offset", "results"} over an ordered, scoped queryset."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from ninja import Field, Schema
from pydantic import create_model


class Paging(Schema):
    limit: int | None = Field(
        None, ge=1, description="Rows per page (default API_PAGE_SIZE, capped at API_MAX_PAGE_SIZE)."
    )
    offset: int = Field(0, ge=0, description="Rows to skip.")


def page_of(item: type[Schema]) -> type[Schema]:
    """The page schema for one item schema, e.g. HousePage for HouseOut."""
    name = item.__name__.removesuffix("Out") + "Page"
    results = list[item]  # type: ignore[valid-type]
    fields: dict[str, Any] = {"count": (int, ...), "limit": (int, ...), "offset": (int, ...), "results": (results, ...)}
    return create_model(name, __base__=Schema, **fields)


def paginate(queryset: QuerySet, paging: Paging, ordering: tuple[str, ...]) -> dict[str, Any]:
    """One COUNT and one page query; the ordering ends with a unique column so pages never overlap."""
    limit = min(paging.limit or settings.API_PAGE_SIZE, settings.API_MAX_PAGE_SIZE)
    offset = paging.offset
    count = queryset.count()
    rows = list(queryset.order_by(*ordering)[offset : offset + limit]) if offset < count else []
    return {"count": count, "limit": limit, "offset": offset, "results": rows}
