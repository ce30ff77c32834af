"""The /api/v1/ NinjaAPI: routers by domain, bearer-token or session auth, one error format."""

from __future__ import annotations

from typing import cast

from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI, Swagger
from ninja.renderers import JSONRenderer

from linli.api import auth, cases, devices, errors, people, places
from linli.api.security import BearerToken, SessionLogin

DESCRIPTION = _(
    "Linli's registry of places, houses, residents and organizations. Get a token with POST /api/v1/auth/token "
    "and send it as `Authorization: Bearer <token>`. You see exactly what your role and area allow, with ID and "
    "phone numbers masked; out-of-area records answer 404. Errors share one format: "
    '{"error": {"code", "message", "fields"}}.'
)


class Utf8JSON(JSONRenderer):
    """Chinese names as UTF-8, not \\u escapes (as the error bodies are)."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    title=cast(str, _("Linli API")),
    version="1",
    description=cast(str, DESCRIPTION),
    urls_namespace="api",
    renderer=Utf8JSON(),
    auth=[BearerToken(), SessionLogin()],
    # validatorUrl: swagger-ui would otherwise fetch a badge from validator.swagger.io
    docs=Swagger(settings={"validatorUrl": None, "defaultModelsExpandDepth": 0}),
)
errors.install(api)
api.add_router("", auth.router)
api.add_router("", places.router)
api.add_router("", people.router)
api.add_router("", cases.router)
api.add_router("", devices.router)
