from __future__ import annotations

import uuid

from linli.core import context


def client_ip(request) -> str:
    # Behind nginx, X-Real-IP is set by our own proxy config (docs/deployment.md).
    return request.META.get("HTTP_X_REAL_IP") or request.META.get("REMOTE_ADDR", "")


class RequestContextMiddleware:
    """Give every request an id and an actor context (user filled in after authentication)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.META.get("HTTP_X_REQUEST_ID") or uuid.uuid4().hex
        request.request_id = request_id[:64]
        ctx = context.ActorContext(ip=client_ip(request), request_id=request.request_id, channel="web")
        token = context.activate(ctx)
        try:
            response = self.get_response(request)
        finally:
            context.deactivate(token)
        response["X-Request-ID"] = request.request_id
        return response
