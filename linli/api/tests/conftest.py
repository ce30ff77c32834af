"""API test helpers: `api("grid")` is a client that sends that world user's bearer token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from linli.accounts.models import ApiToken

BASE = "/api/v1"


class ApiClient:
    def __init__(self, token: str | None = None, client: Any = None, **headers: str) -> None:
        self.client = client or Client()
        self.headers = dict(headers)
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body=None, *, raw: str | None = None, **query):
        url = path if path.startswith("/") and path.startswith(BASE) else f"{BASE}{path}"
        kwargs: dict[str, Any] = {"headers": self.headers}
        if method == "get":
            return self.client.get(url, query, **kwargs)
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        return getattr(self.client, method)(url, data=data, content_type="application/json", **kwargs)

    def get(self, path: str, **query):
        return self.call("get", path, **query)

    def post(self, path: str, body=None, **kw):
        return self.call("post", path, body, **kw)

    def patch(self, path: str, body=None, **kw):
        return self.call("patch", path, body, **kw)


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The one error format: {"error": {"code", "message", "fields"}} with a request id header."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.has_header("X-Request-ID")
    body = response.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == {"code", "message", "fields"}
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["fields"], dict)
    if code is not None:
        assert err["code"] == code, err
    return err


@pytest.fixture
def api(world):
    """api("grid") -> ApiClient with a fresh bearer token for that world user; api() is anonymous."""

    def make(name: str | None = None, **headers: str) -> ApiClient:
        if name is None:
            return ApiClient(**headers)
        _token, key = ApiToken.issue(world.users[name])
        return ApiClient(key, **headers)

    return make
