"""Mount the API and make sure that nothing under /api/v1/ answers with an HTML error page."""

from __future__ import annotations

from functools import wraps

from django.http import Http404, HttpRequest
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from linli.api.errors import status_response
from linli.api.main import api
from linli.api.security import activate_language
from linli.core import context


def json_errors(view):
    """Channel "api" for audit, the request language, and JSON for 404/405 that happen outside ninja."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        context.current().channel = "api"
        activate_language(request, getattr(request, "user", None))
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return status_response(404)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
            allowed = response.get("Allow", "")
            response = status_response(405)
            response["Allow"] = allowed
        return response

    return wrapped


def _wrap(patterns: list) -> list:
    for p in patterns:
        if isinstance(p, URLResolver):
            _wrap(p.url_patterns)
        elif isinstance(p, URLPattern):
            p.callback = json_errors(p.callback)
    return patterns


@csrf_exempt  # a POST to no endpoint is a JSON 404, not the CSRF middleware's HTML 403 (it changes nothing)
def not_found(request: HttpRequest, rest: str = ""):
    return json_errors(lambda r: status_response(404))(request)


# not `app_name`: that name at module level would namespace this whole urlconf
_patterns, _app, _namespace = api.urls
urlpatterns = [
    path("", include((_wrap(_patterns), _app), namespace=_namespace)),
    re_path(r"^(?P<rest>.*)$", not_found),
]
