"""limit/offset pages: {"count", "limit", "offset", "results"} over an ordered, scoped queryset."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count, QuerySet, Window
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


def paginate(
    queryset: QuerySet, paging: Paging, ordering: tuple[str, ...], count_with_page: bool = False
) -> dict[str, Any]:
    """One COUNT, the page's ids, then its rows; the ordering ends with a unique column so pages never overlap.
    The ids come first, without the joins of select_related: when PostgreSQL underestimates the matching
    rows (a word search through the bigram index: 1 estimated, 9,238 found) it would otherwise join every
    match to its category and unit in a nested loop before sorting (1.1 s instead of 0.1 s).

    `count_with_page` counts in the page's own query (COUNT(*) OVER ()), for filters that must read every
    matching row anyway (a word search): one reading instead of two. An empty first page means none; a page
    past the end has no row to carry the count, so only then is it counted apart."""
    limit = min(paging.limit or settings.API_PAGE_SIZE, settings.API_MAX_PAGE_SIZE)
    offset = paging.offset
    ordered = queryset.order_by(*ordering)
    if count_with_page:
        page = list(ordered.annotate(_total=Window(Count("pk"))).values_list("pk", "_total")[offset : offset + limit])
        ids = [pk for pk, _total in page]
        count = page[0][1] if page else (queryset.count() if offset else 0)
    else:
        count = queryset.count()
        ids = list(ordered.values_list("pk", flat=True)[offset : offset + limit]) if offset < count else []
    by_id = {row.pk: row for row in queryset.order_by().filter(pk__in=ids)} if ids else {}
    rows = [by_id[pk] for pk in ids if pk in by_id]
    return {"count": count, "limit": limit, "offset": offset, "results": rows}
