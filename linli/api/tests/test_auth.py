"""Tokens: issue, bearer use, expiry, lockout, session auth with CSRF, and the audit trail."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from linli.accounts.models import ApiToken
from linli.api.tests.conftest import ApiClient, assert_error
from linli.core.models import AuditRecord

pytestmark = pytest.mark.django_db


def issue(username: str, password: str = settings.DEMO_PASSWORD, **headers):
    return ApiClient(**headers).post("/auth/token", {"username": username, "password": password})


def test_token_is_issued_stored_as_digest_and_audited(world):
    r = issue("grid")
    assert r.status_code == 201, r.content
    assert r["Cache-Control"] == "no-store"
    key = r.json()["token"]
    assert r.json()["expires_at"]
    token = ApiToken.objects.get(user=world.users["grid"])
    assert token.digest == ApiToken.digest_of(key) and key not in token.digest
    actions = list(AuditRecord.objects.filter(username="grid").order_by("seq").values_list("action", "channel"))
    assert actions[-2:] == [("login", "api"), ("token", "api")]
    me = ApiClient(key).get("/me")
    assert me.status_code == 200 and me.json()["username"] == "grid"


def test_wrong_password_is_401_in_the_error_format_and_audited(world):
    r = issue("grid", "wrong-password")
    assert_error(r, 401, "invalid_credentials")
    assert "wrong-password" not in r.content.decode()
    assert not ApiToken.objects.exists()
    assert AuditRecord.objects.filter(action="login_failed", username="grid").count() == 1


def test_unknown_user_gets_the_same_answer(world):
    assert_error(issue("nosuchuser", "whatever-pass"), 401, "invalid_credentials")


def test_lockout_applies_to_the_api(world):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        assert_error(issue("grid", "wrong-password"), 401)
    world.users["grid"].refresh_from_db()
    assert world.users["grid"].is_locked
    err = assert_error(issue("grid"), 401, "account_locked")
    assert err["message"]
    assert not ApiToken.objects.exists()


def test_missing_body_fields_are_422(world):
    err = assert_error(ApiClient().post("/auth/token", {"username": "grid"}), 422, "validation_error")
    assert list(err["fields"]) == ["password"]


@pytest.mark.parametrize("header", ["", "Bearer ", "Bearer lnl_unknown", "Token abc", "Basic Z3JpZDpsaW5saS1kZW1v"])
def test_missing_or_unknown_token_is_401(world, header):
    headers = {"Authorization": header} if header else {}
    r = ApiClient(**headers).get("/residents")
    assert_error(r, 401)
    assert "WWW-Authenticate" in r or r.json()["error"]["code"] == "invalid_token"


def test_expired_token_is_401(world):
    token, key = ApiToken.issue(world.users["grid"])
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timezone.timedelta(seconds=1))
    assert_error(ApiClient(key).get("/residents"), 401, "invalid_token")


def test_token_of_a_deactivated_user_is_refused(world):
    _token, key = ApiToken.issue(world.users["grid"])
    world.users["grid"].is_active = False
    world.users["grid"].save()
    assert_error(ApiClient(key).get("/me"), 401, "invalid_token")


def test_session_auth_reads_and_needs_csrf_to_write(world):
    c = Client(enforce_csrf_checks=True)
    c.force_login(world.users["grid"])
    api = ApiClient(client=c)
    assert api.get("/residents").json()["count"] == 2
    house = world.house_in("A1-1")
    r = api.post("/residents", {"name": "新居民", "house": house.pk})
    assert_error(r, 403, "csrf_failed")
    assert api.get("/residents").json()["count"] == 2


def test_session_write_with_csrf_token_works(world):
    c = Client(enforce_csrf_checks=True)
    c.force_login(world.users["grid"])
    c.get("/api/v1/docs")  # the docs page sets the CSRF cookie it sends back
    csrf = c.cookies["csrftoken"].value
    api = ApiClient(client=c, **{"X-CSRFToken": csrf})
    r = api.post("/residents", {"name": "新居民", "house": world.house_in("A1-1").pk})
    assert r.status_code == 201, r.content
    assert AuditRecord.objects.filter(action="create", object_type="people.resident").latest("seq").channel == "api"


def test_errors_speak_the_request_language(world):
    zh = issue("grid", "wrong-password", **{"Accept-Language": "zh-hans"}).json()["error"]["message"]
    en = issue("grid", "wrong-password", **{"Accept-Language": "en"}).json()["error"]["message"]
    assert en.startswith("The user name or password is wrong")
    assert zh  # the Chinese catalogue is compiled centrally; the message is never empty


def test_user_language_applies_without_accept_language(world, api):
    user = world.users["grid"]
    user.language = "en"
    user.save()
    r = api("grid").get("/residents/999999")
    assert r["Content-Language"] == "en"
    r = api("grid", **{"Accept-Language": "zh-CN"}).get("/residents/999999")
    assert r["Content-Language"] == "zh-hans"


def test_token_endpoint_is_rate_limited(world, monkeypatch):
    from linli.api.auth import TokenThrottle

    monkeypatch.setattr(TokenThrottle, "allow_request", lambda self, request: False)
    monkeypatch.setattr(TokenThrottle, "wait", lambda self: 12.0)
    r = issue("grid")
    assert_error(r, 429, "rate_limited")
    assert r["Retry-After"] == "12"
    assert not ApiToken.objects.exists()
