"""The demo accounts are people with names, not role words: "推荐：救援员" or "值班长: 值班长" read like labels."""

from __future__ import annotations

import pytest

from linli.accounts.models import Role, User
from linli.core.generate.accounts import DEMO_NAMES, ROLE_ORDER, ensure_demo_accounts

pytestmark = pytest.mark.django_db


@pytest.fixture
def street(world):
    # the test world has users named like the demo accounts: move them aside
    for user in User.objects.filter(username__in=ROLE_ORDER):
        User.objects.filter(pk=user.pk).update(username=f"world-{user.username}")
    return world.areas["A"]


def test_demo_accounts_have_person_names_and_keep_their_usernames(street):
    ensure_demo_accounts(street)
    role_words = set(Role.objects.values_list("name_zh", flat=True))
    users = {u.username: u.display_name for u in User.objects.filter(username__in=ROLE_ORDER)}
    assert set(users) == set(ROLE_ORDER)
    for code in ("dispatcher", "shift_lead", "rescuer", "street", "community", "grid", "property", "handler"):
        assert users[code] == DEMO_NAMES[code] and users[code] not in role_words, code
    named = [users[c] for c in DEMO_NAMES]
    assert len(set(named)) == len(named)  # nobody shares a name: a roster or a pick list tells them apart
    assert users["resident"] == "居民"  # a resident's real name would show whole on staff pages


def test_an_earlier_demo_database_gets_the_names_and_an_edited_name_stays(street):
    lead_role = Role.objects.get(code="shift_lead")
    User.objects.create(username="shift_lead", display_name=lead_role.name_zh)  # as an earlier version made it
    User.objects.create(username="dispatcher", display_name="张自己改的")
    ensure_demo_accounts(street)
    assert User.objects.get(username="shift_lead").display_name == DEMO_NAMES["shift_lead"]
    assert User.objects.get(username="dispatcher").display_name == "张自己改的"
    ensure_demo_accounts(street)  # again: nothing changes
    assert User.objects.get(username="shift_lead").display_name == DEMO_NAMES["shift_lead"]
