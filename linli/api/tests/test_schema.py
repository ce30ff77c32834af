"""The OpenAPI schema validates, and the interactive docs work without the internet."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import CommandError, call_command
from django.test import Client

pytestmark = pytest.mark.django_db


def test_validate_openapi_command_passes(capsys):
    call_command("validate_openapi")
    assert "valid" in capsys.readouterr().out


def test_validate_openapi_command_fails_on_a_broken_schema(monkeypatch):
    from linli.api.main import api

    monkeypatch.setattr(api, "get_openapi_schema", lambda **kw: {"openapi": "3.1.0", "info": {}, "paths": {}})
    with pytest.raises(CommandError, match="not valid"):
        call_command("validate_openapi")


def test_openapi_json_is_served(world):
    r = Client().get("/api/v1/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    assert schema["info"]["version"] == "1"
    assert "/api/v1/residents/{resident_id}/reveal" in schema["paths"]
    assert set(schema["components"]["securitySchemes"]) == {"BearerToken", "SessionLogin"}
    assert "ErrorOut" in schema["components"]["schemas"]


def test_docs_page_is_local_only(world):
    r = Client().get("/api/v1/docs")
    assert r.status_code == 200
    html = r.content.decode()
    assert not re.search(r"https?://", html), re.findall(r"https?://\S+", html)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset
    assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io


def test_docs_send_csrf_for_the_session(world, client_for):
    html = client_for("grid").get("/api/v1/docs").content.decode()
    assert 'data-api-csrf="true"' in html
    assert re.search(r'data-csrf-token="[^"]+"', html)
