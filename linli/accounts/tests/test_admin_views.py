"""Account administration: only the security admin; 三员分立; every change audited as "permission"."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from linli.accounts.models import Assignment, Role, User
from linli.core.models import AuditRecord

pytestmark = pytest.mark.django_db

STRONG = "Gr1d-Worker-2025!"


def url(name, *args):
    return reverse(f"accounts:{name}", args=args)


ADMIN_PAGES = ["user-list", "user-create", "role-list"]


@pytest.mark.parametrize("name", ADMIN_PAGES + ["profile", "audit-list"])
def test_anonymous_goes_to_login(world, name):
    response = Client().get(url(name))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("who", ["admin", "auditor", "street", "community", "grid", "resident", "nobody"])
def test_only_security_admin_manages_accounts(client_for, world, who):
    c = client_for(who)
    target = world.users["grid"]
    for name in ADMIN_PAGES:
        assert c.get(url(name)).status_code == 403, name
    assert c.get(url("user-detail", target.pk)).status_code == 403
    assert c.post(url("assignment-add", target.pk), {"role": Role.objects.get(code="admin").pk}).status_code == 403
    assert c.post(url("user-set-active", target.pk), {"active": "0"}).status_code == 403
    assert c.post(url("user-unlock", target.pk)).status_code == 403
    assert (
        c.post(url("user-reset-password", target.pk), {"new_password1": STRONG, "new_password2": STRONG}).status_code
        == 403
    )
    target.refresh_from_db()
    assert target.is_active and target.check_password(world.password)


def test_security_admin_lists_and_filters(client_for, world):
    c = client_for("secadmin")
    response = c.get(url("user-list"))
    assert response.status_code == 200 and "grid_b" in response.content.decode()
    grid = Role.objects.get(code="grid")
    names = [u.username for u in c.get(url("user-list"), {"role": grid.pk}).context["page"].object_list]
    assert names == ["grid", "grid_b"]


def test_create_user_validates_password(client_for, world):
    c = client_for("secadmin")
    count = User.objects.count()
    weak = c.post(
        url("user-create"),
        {"username": "newbie", "language": "zh-hans", "new_password1": "password", "new_password2": "password"},
    )
    assert weak.status_code == 200 and weak.context["form"].errors["new_password1"]
    taken = c.post(
        url("user-create"),
        {"username": "grid", "language": "zh-hans", "new_password1": STRONG, "new_password2": STRONG},
    )
    assert taken.context["form"].errors["username"]
    assert User.objects.count() == count
    ok = c.post(
        url("user-create"),
        {"username": "newbie", "language": "zh-hans", "new_password1": STRONG, "new_password2": STRONG},
    )
    assert ok.status_code == 302
    assert User.objects.get(username="newbie").check_password(STRONG)
    assert AuditRecord.objects.filter(action="permission", object_repr="newbie").exists()


def test_assign_and_remove_role_is_audited(client_for, world):
    c = client_for("secadmin")
    target = world.users["nobody"]
    grid = Role.objects.get(code="grid")
    response = c.post(url("assignment-add", target.pk), {"role": grid.pk, "area_code": world.areas["A2-1"].code})
    assert response.status_code == 302
    a = Assignment.objects.get(user=target)
    assert a.area == world.areas["A2-1"]
    rec = AuditRecord.objects.filter(action="permission", object_id=str(target.pk)).order_by("-seq").first()
    assert rec.before == {"assignments": []} and rec.after == {"assignments": [f"grid@{world.areas['A2-1'].code}"]}
    assert rec.username == "secadmin"
    assert c.post(url("assignment-remove", a.pk)).status_code == 302
    assert not Assignment.objects.filter(user=target).exists()
    rec = AuditRecord.objects.filter(action="permission", object_id=str(target.pk)).order_by("-seq").first()
    assert rec.after == {"assignments": []}


def test_area_role_needs_an_existing_area(client_for, world):
    c = client_for("secadmin")
    target = world.users["nobody"]
    response = c.post(
        url("assignment-add", target.pk), {"role": Role.objects.get(code="grid").pk, "area_code": "999999999999"}
    )
    assert response.status_code == 400 and response.context["assignment_form"].errors["area_code"]
    response = c.post(url("assignment-add", target.pk), {"role": Role.objects.get(code="property").pk})
    assert response.status_code == 400 and response.context["assignment_form"].errors["estate_code"]
    assert not Assignment.objects.filter(user=target).exists()


@pytest.mark.parametrize(("holder", "new_role"), [("admin", "auditor"), ("auditor", "secadmin"), ("admin", "secadmin")])
def test_separation_of_duties(client_for, world, holder, new_role):
    c = client_for("secadmin")
    target = world.users[holder]
    records = AuditRecord.objects.count()
    response = c.post(url("assignment-add", target.pk), {"role": Role.objects.get(code=new_role).pk})
    assert response.status_code == 400
    assert response.context["assignment_form"].errors["role"]
    assert set(target.assignments.values_list("role__code", flat=True)) == {holder}
    assert AuditRecord.objects.count() == records


def test_separated_role_is_fine_for_a_plain_user(client_for, world):
    c = client_for("secadmin")
    target = world.users["nobody"]
    assert c.post(url("assignment-add", target.pk), {"role": Role.objects.get(code="auditor").pk}).status_code == 302


def test_secadmin_cannot_assign_roles_to_themself(client_for, world):
    me = world.users["secadmin"]
    c = client_for("secadmin")
    response = c.post(
        url("assignment-add", me.pk), {"role": Role.objects.get(code="street").pk, "area_code": world.areas["A"].code}
    )
    assert response.status_code == 400
    assert set(me.assignments.values_list("role__code", flat=True)) == {"secadmin"}
    mine = me.assignments.get()
    c.post(url("assignment-remove", mine.pk))
    assert me.assignments.count() == 1
    c.post(url("user-set-active", me.pk), {"active": "0"})
    me.refresh_from_db()
    assert me.is_active


def test_disable_enable_unlock_and_reset(client_for, world):
    c = client_for("secadmin")
    target = world.users["grid"]
    assert c.post(url("user-set-active", target.pk), {"active": "0"}).status_code == 302
    target.refresh_from_db()
    assert not target.is_active
    assert AuditRecord.objects.filter(
        action="permission", object_id=str(target.pk), after={"is_active": False}
    ).exists()
    c.post(url("user-set-active", target.pk), {"active": "1"})
    target.refresh_from_db()
    assert target.is_active
    User.objects.filter(pk=target.pk).update(locked_until=timezone.now() + timezone.timedelta(minutes=5))
    assert c.post(url("user-unlock", target.pk)).status_code == 302
    target.refresh_from_db()
    assert not target.is_locked
    weak = c.post(url("user-reset-password", target.pk), {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 400
    assert (
        c.post(url("user-reset-password", target.pk), {"new_password1": STRONG, "new_password2": STRONG}).status_code
        == 302
    )
    target.refresh_from_db()
    assert target.check_password(STRONG)
    rec = AuditRecord.objects.filter(object_id=str(target.pk)).order_by("-seq").first()
    assert rec.action == "permission" and STRONG not in str(rec.after)


def test_role_edit_is_audited_and_limited_to_roles_manage(client_for, world):
    role = Role.objects.get(code="rescuer")
    assert client_for("admin").get(url("role-edit", role.pk)).status_code == 403
    c = client_for("secadmin")
    assert "people.reveal" in c.get(url("role-edit", role.pk)).content.decode()
    data = {
        "name_zh": role.name_zh,
        "name_en": role.name_en,
        "permissions": ["places.view", "people.view", "people.reveal"],
    }
    assert c.post(url("role-edit", role.pk), data).status_code == 302
    role.refresh_from_db()
    assert "people.reveal" in role.permissions
    rec = AuditRecord.objects.filter(object_type="accounts.role", object_id=str(role.pk)).get()
    assert rec.action == "permission" and "people.reveal" in rec.after["permissions"]
    bad = c.post(url("role-edit", role.pk), dict(data, permissions=["no.such"]))
    assert bad.status_code == 200 and bad.context["form"].errors["permissions"]


def test_profile_language_elder_mode_and_password(client_for, world):
    c = client_for("grid")
    assert c.post(url("profile"), {"form": "prefs", "language": "en", "elder_mode": "on"}).status_code == 302
    user = User.objects.get(username="grid")
    assert user.language == "en" and user.elder_mode
    wrong = c.post(
        url("profile"), {"form": "password", "old_password": "nope", "new_password1": STRONG, "new_password2": STRONG}
    )
    assert wrong.context["password"].errors["old_password"]
    weak = c.post(
        url("profile"),
        {
            "form": "password",
            "old_password": world.password,
            "new_password1": "abcdefghij",
            "new_password2": "abcdefghij",
        },
    )
    assert weak.context["password"].errors["new_password1"]
    ok = c.post(
        url("profile"),
        {"form": "password", "old_password": world.password, "new_password1": STRONG, "new_password2": STRONG},
    )
    assert ok.status_code == 302
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert c.get(url("profile")).status_code == 200  # still signed in after the change
