"""One JSON error format for every API failure.

    {"error": {"code": "not_found", "message": "<text in the request language>", "fields": {"name": ["…"]}}}

The request id travels in the X-Request-ID header (set by RequestContextMiddleware).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

logger = logging.getLogger("linli.api")

Fields = dict[str, list[str]]


class ApiError(Exception):
    """Raised by endpoints for an error with our own code and an already translated message."""

    def __init__(
        self, status: int, code: str, message: str, fields: Fields | None = None, headers: dict | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or {}
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, fields: Fields | None = None) -> JsonResponse:
    body = {"error": {"code": code, "message": str(message), "fields": fields or {}}}
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def default_message(status: int) -> tuple[str, str]:
    """(code, message) for a bare HTTP status, in the active language."""
    known = {
        400: ("bad_request", _("The request could not be understood.")),
        401: ("not_authenticated", _("Sign in first: send a valid API token or use a signed-in session.")),
        403: ("permission_denied", _("You do not have permission to do this.")),
        404: ("not_found", _("Not found, or outside your area.")),
        405: ("method_not_allowed", _("This method is not allowed here.")),
        409: ("conflict", _("This conflicts with a record saved at the same time. Reload and try again.")),
        422: ("validation_error", _("Some fields are not valid.")),
        429: ("rate_limited", _("Too many requests. Wait a moment and try again.")),
    }
    return known.get(
        status, ("server_error", _("Something went wrong on our side. Quote the request id when you report it."))
    )


def status_response(status: int, fields: Fields | None = None) -> JsonResponse:
    code, message = default_message(status)
    return error_response(status, code, message, fields)


# pydantic error type -> message in the user's language
def _pydantic_message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("Enter a whole number.")
    if kind in ("float_parsing", "float_type", "decimal_parsing", "decimal_type"):
        return _("Enter a number.")
    if kind in ("bool_parsing", "bool_type"):
        return _("Enter true or false.")
    if kind in ("string_type",):
        return _("Enter text.")
    if kind in ("list_type",):
        return _("Enter a list.")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _("Enter an object.")
    if kind == "greater_than_equal":
        return _("Enter a value of at least %(n)s.") % {"n": ctx.get("ge")}
    if kind == "greater_than":
        return _("Enter a value greater than %(n)s.") % {"n": ctx.get("gt")}
    if kind == "less_than_equal":
        return _("Enter a value of at most %(n)s.") % {"n": ctx.get("le")}
    if kind == "string_too_long":
        return _("Enter at most %(n)s characters.") % {"n": ctx.get("max_length")}
    if kind == "string_too_short":
        return _("Enter at least %(n)s characters.") % {"n": ctx.get("min_length")}
    if kind in ("enum", "literal_error"):
        return _("Choose one of: %(choices)s.") % {"choices": ctx.get("expected", "")}
    if kind == "extra_forbidden":
        return _("Unknown field.")
    if kind in ("decimal_max_digits", "decimal_max_places", "decimal_whole_digits"):
        return _("Enter a number with fewer digits.")
    return _("Enter a valid value.")


def _field_name(loc: tuple | list) -> str:
    # ("body", "payload", "name") -> "name"; ("query", "limit") -> "limit"; ("body", "payload") -> "__all__"
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[2:]
    elif parts:
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or NON_FIELD_ERRORS


def ninja_validation_fields(errors: list[dict[str, Any]]) -> Fields:
    fields: Fields = {}
    for err in errors:
        fields.setdefault(_field_name(err.get("loc", ())), []).append(_pydantic_message(err))
    return fields


def django_validation_fields(exc: DjangoValidationError) -> Fields:
    if hasattr(exc, "error_dict"):
        return {name: [str(m) for m in msgs] for name, msgs in exc.message_dict.items()}
    return {NON_FIELD_ERRORS: [str(m) for m in exc.messages]}


def _on_api_error(request: HttpRequest, exc: ApiError) -> JsonResponse:
    response = error_response(exc.status, exc.code, exc.message, exc.fields)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def _on_ninja_validation(request: HttpRequest, exc: NinjaValidationError) -> JsonResponse:
    return status_response(422, ninja_validation_fields(exc.errors))


def _on_django_validation(request: HttpRequest, exc: DjangoValidationError) -> JsonResponse:
    fields = django_validation_fields(exc)
    message = _("Some fields are not valid.")
    if list(fields) == [NON_FIELD_ERRORS] and len(fields[NON_FIELD_ERRORS]) == 1:
        message = fields[NON_FIELD_ERRORS][0]
    return error_response(400, "validation_error", message, fields)


def _on_authentication(request: HttpRequest, exc: AuthenticationError) -> JsonResponse:
    response = status_response(401)
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _on_http_error(request: HttpRequest, exc: HttpError) -> JsonResponse:
    if exc.status_code == 400:  # ninja: the body is not valid JSON
        return error_response(400, "malformed_request", _("The request body is not valid JSON."))
    return status_response(exc.status_code)  # 429: ninja adds Retry-After itself


def _on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> JsonResponse:
    code, message = default_message(403)
    return error_response(403, code, str(exc) if exc.args and str(exc) else message)


def _on_not_found(request: HttpRequest, exc: Http404) -> JsonResponse:
    return status_response(404)  # never echo the exception: it could name an out-of-scope record


def _on_integrity(request: HttpRequest, exc: IntegrityError) -> JsonResponse:
    logger.warning("API integrity error: %s", exc)
    return status_response(409)


def _on_unexpected(request: HttpRequest, exc: Exception) -> JsonResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    return status_response(500)


def install(api: NinjaAPI) -> None:
    """Replace ninja's default handlers so that every failure uses the one format."""
    handlers: dict[type[Exception], Callable[..., HttpResponse]] = {
        ApiError: _on_api_error,
        NinjaValidationError: _on_ninja_validation,
        DjangoValidationError: _on_django_validation,
        AuthenticationError: _on_authentication,
        HttpError: _on_http_error,
        PermissionDenied: _on_permission_denied,
        Http404: _on_not_found,
        IntegrityError: _on_integrity,
        Exception: _on_unexpected,
    }
    for exc_class, handler in handlers.items():
        api.add_exception_handler(exc_class, handler)
