"""Spreadsheet import and export pages: templates to download, two upload forms, scoped exports."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from linli.people.spreadsheets import export
from linli.people.spreadsheets.export import ExportFilters
from linli.people.spreadsheets.forms import ExportForm, ImportForm
from linli.people.spreadsheets.houses import HouseImporter
from linli.people.spreadsheets.importing import Importer
from linli.people.spreadsheets.reader import MAX_ROWS, too_large_message
from linli.people.spreadsheets.residents import ResidentImporter
from linli.people.spreadsheets.templates import house_template, resident_template

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Exports up to this size are sent as one response body; larger ones stream from disk.
IN_ONE_PIECE_BYTES = 8 * 1024 * 1024
# Room for the multipart envelope and the other form fields around the file itself.
MULTIPART_OVERHEAD = 64 * 1024


def _has(user, perm: str) -> bool:
    return user.has_linli_perm(perm)


def _require(user, *perms: str) -> None:
    if not all(_has(user, perm) for perm in perms):
        raise PermissionDenied(_("You do not have permission to do this."))


def _page(request: HttpRequest, *, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("residents_form", ImportForm(prefix="residents"))
    context.setdefault("houses_form", ImportForm(prefix="houses"))
    context["panels"] = [
        ("residents", context["residents_form"], _("Residents")),
        ("houses", context["houses_form"], _("Houses")),
    ]
    context["max_mb"] = f"{settings.MAX_UPLOAD_BYTES / (1024 * 1024):g}"
    context["max_rows"] = f"{MAX_ROWS:,}"
    context["can_unmask"] = _has(request.user, "people.export")
    return render(request, "people/io.html", context, status=status)


@login_required
def io_index(request: HttpRequest) -> HttpResponse:
    _require(request.user, "people.import")
    return _page(request)


@login_required
def template_residents(request: HttpRequest) -> HttpResponse:
    _require(request.user, "people.import")
    return _download(resident_template(), _("residents-template"))


@login_required
def template_houses(request: HttpRequest) -> HttpResponse:
    _require(request.user, "people.import")
    return _download(house_template(), _("houses-template"))


def _download(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, f"{name}.xlsx") or "attachment"
    return response


# CSRF is checked by hand below, after the size check: checking it first would read the whole body.
@csrf_exempt
@login_required
def import_residents(request: HttpRequest) -> HttpResponse:
    return _import(request, ResidentImporter, "residents", "people.change")


@csrf_exempt
@login_required
def import_houses(request: HttpRequest) -> HttpResponse:
    return _import(request, HouseImporter, "houses", "places.change")


def _import(request: HttpRequest, importer: type[Importer], prefix: str, change_perm: str) -> HttpResponse:
    _require(request.user, "people.import", change_perm)
    if request.method != "POST":
        return redirect("people:io")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > settings.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD:
        # Refused before the body is read: nothing is parsed, stored or written.
        return _page(request, status=413, file_error=too_large_message(), kind=prefix)
    return csrf_protect(_run_import)(request, importer, prefix)


def _run_import(request: HttpRequest, importer: type[Importer], prefix: str) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES, prefix=prefix)
    if not form.is_valid():
        context: dict[str, Any] = {f"{prefix}_form": form}
        return _page(request, **context)
    result = importer(request.user).run(form.cleaned_data["file"], skip_bad=form.cleaned_data["skip_bad"])
    return _page(request, result=result, kind=prefix)


@login_required
def export_residents(request: HttpRequest) -> HttpResponseBase:
    """GET: the masked file at once. ?unmasked=1: the purpose form (people.export only); POST: its file."""
    _require(request.user, "people.view")
    filters = ExportFilters.from_query(request.GET)
    wants_full = request.method == "POST" or request.GET.get("unmasked") == "1"
    if wants_full:
        _require(request.user, "people.export")
    form = ExportForm(request.POST if request.method == "POST" else None, initial={"unmasked": True})
    unmasked = form.is_bound and form.is_valid() and form.cleaned_data["unmasked"]
    residents = export.resident_rows(request.user, filters, unmasked=unmasked)
    count = residents.count()
    too_many = count > export.MAX_EXPORT_ROWS
    if too_many or (wants_full and not form.is_valid()):
        return render(
            request,
            "people/io_export.html",
            {
                "form": form,
                "filters": filters.as_dict(),
                "count": count,
                "too_many": too_many,
                "max_rows": f"{export.MAX_EXPORT_ROWS:,}",
                "kind": "residents",
                "masked_query": urlencode(filters.as_dict()),
            },
        )
    out, rows = export.write_residents(residents, unmasked=unmasked)
    purpose = form.cleaned_data["purpose"].strip() if unmasked else ""
    export.record_export(
        request.user, "people.resident", rows=rows, filters=filters, unmasked=unmasked, purpose=purpose
    )
    return _xlsx_response(out, export.file_name("residents"))


@login_required
def export_houses(request: HttpRequest) -> HttpResponseBase:
    _require(request.user, "places.view")
    filters = ExportFilters.from_query(request.GET)
    houses = export.house_rows(request.user, filters)
    count = houses.count()
    if count > export.MAX_EXPORT_ROWS:
        return render(
            request,
            "people/io_export.html",
            {
                "filters": filters.as_dict(),
                "count": count,
                "too_many": True,
                "max_rows": f"{export.MAX_EXPORT_ROWS:,}",
                "kind": "houses",
            },
        )
    out, rows = export.write_houses(houses)
    export.record_export(request.user, "places.house", rows=rows, filters=filters, unmasked=False)
    return _xlsx_response(out, export.file_name("houses"))


def _xlsx_response(out, name: str) -> HttpResponseBase:
    """Small workbooks go out in one piece; big ones stream from their temporary file."""
    size = out.seek(0, 2)
    out.seek(0)
    if size > IN_ONE_PIECE_BYTES:
        return FileResponse(out, as_attachment=True, filename=name, content_type=XLSX)
    with out:
        response = HttpResponse(out.read(), content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, name) or "attachment"
    return response
