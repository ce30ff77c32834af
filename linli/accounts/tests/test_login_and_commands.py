"""Login lockout through the real login view, and the createadmin command."""

import io

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client

from linli.accounts.models import User
from linli.core.models import AuditRecord

pytestmark = pytest.mark.django_db

STRONG = "Adm1n-Linli-Strong!"


def test_lockout_after_repeated_failures(world):
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(settings.LOGIN_MAX_FAILURES):
        response = c.post("/login/", {"username": "grid", "password": "wrong-password"})
        assert response.status_code == 200
    user = User.objects.get(username="grid")
    assert user.is_locked
    assert AuditRecord.objects.filter(action="locked", object_id=str(user.pk)).exists()
    assert AuditRecord.objects.filter(action="login_failed", username="grid").count() == settings.LOGIN_MAX_FAILURES
    response = c.post("/login/", {"username": "grid", "password": world.password})
    assert response.status_code == 200
    assert "_auth_user_id" not in c.session
    assert "locked" in response.content.decode()


def test_secadmin_unlock_lets_the_user_in_again(world, client_for):
    c = Client()
    for _ in range(settings.LOGIN_MAX_FAILURES):
        c.post("/login/", {"username": "grid", "password": "wrong-password"})
    client_for("secadmin").post(f"/accounts/users/{world.users['grid'].pk}/unlock/")
    response = c.post("/login/", {"username": "grid", "password": world.password})
    assert response.status_code == 302


def test_createadmin_from_password_file(db, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(STRONG + "\n")
    call_command("createadmin", "root", "--password-file", str(pw), stdout=io.StringIO())
    user = User.objects.get(username="root")
    assert user.check_password(STRONG) and user.role_codes == {"admin"}
    call_command("createadmin", "sec", "--role", "secadmin", "--password-file", str(pw), stdout=io.StringIO())
    assert User.objects.get(username="sec").role_codes == {"secadmin"}
    assert AuditRecord.objects.filter(action="permission", object_repr="root").exists()
    with pytest.raises(CommandError, match="already exists"):
        call_command("createadmin", "root", "--password-file", str(pw))


@pytest.mark.parametrize("weak", ["short1A!", "password12", "abcdefghijkl", "1234567890123"])
def test_createadmin_refuses_weak_passwords(db, tmp_path, weak):
    pw = tmp_path / "pw"
    pw.write_text(weak)
    with pytest.raises(CommandError, match="too weak") as exc:
        call_command("createadmin", "root", "--password-file", str(pw))
    assert "\n" in str(exc.value)  # the validator messages follow
    assert not User.objects.filter(username="root").exists()


def test_createadmin_interactive(db, monkeypatch):
    answers = iter([STRONG, STRONG])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    call_command("createadmin", "auditor1", "--role", "auditor", stdout=io.StringIO())
    assert User.objects.get(username="auditor1").role_codes == {"auditor"}
    answers = iter([STRONG, STRONG + "x"])
    with pytest.raises(CommandError, match="differ"):
        call_command("createadmin", "auditor2", "--role", "auditor")
