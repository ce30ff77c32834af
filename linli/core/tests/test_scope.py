"""The data scope at queryset level: who sees which places and people."""

import pytest

from linli.people.models import Household, Occupancy, Organization, Resident
from linli.places.models import Area, Building, Estate, House

pytestmark = pytest.mark.django_db


def names(qs):
    return sorted(str(o) for o in qs)


def resident_keys(world, user):
    ids = set(Resident.objects.for_user(user).values_list("pk", flat=True))
    return sorted(k for k, r in world.residents.items() if r.pk in ids)


def test_grid_worker_sees_own_grid_only(world):
    assert resident_keys(world, world.users["grid"]) == ["A1-1/101", "A1-1/102"]
    assert resident_keys(world, world.users["grid_b"]) == ["B1-1/101", "B1-1/102"]


def test_community_street_and_property_scopes(world):
    assert resident_keys(world, world.users["community"]) == ["A1-1/101", "A1-1/102", "A1-2/101", "A1-2/102"]
    assert len(resident_keys(world, world.users["street"])) == 6
    assert resident_keys(world, world.users["property"]) == ["A1-1/101", "A1-1/102"]
    assert resident_keys(world, world.users["property_b"]) == ["B1-1/101", "B1-1/102"]


def test_resident_sees_own_household(world):
    assert resident_keys(world, world.users["resident"]) == ["A1-1/101"]
    houses = House.objects.for_user(world.users["resident"])
    assert list(houses) == [world.houses["A1-1/101"]]


def test_no_role_and_platform_roles_see_no_people(world):
    for name in ("nobody", "admin", "secadmin", "auditor", "provider"):
        assert Resident.objects.for_user(world.users[name]).count() == 0, name
        assert Household.objects.for_user(world.users[name]).count() == 0, name


def test_admin_sees_all_places(world):
    assert Area.objects.for_user(world.users["admin"]).count() == Area.objects.count()
    assert House.objects.for_user(world.users["nobody"]).count() == 0


def test_area_tree_scope(world):
    codes = set(Area.objects.for_user(world.users["community"]).values_list("code", flat=True))
    assert codes == {"120101001001", "120101001001001", "120101001001002"}
    assert Building.objects.for_user(world.users["street_b"]).count() == 1
    assert Estate.objects.for_user(world.users["grid"]).get() == world.estates["E1"]
    assert Estate.objects.for_user(world.users["property"]).get() == world.estates["E1"]


def test_change_scope_follows_role_permissions(world):
    # street staff may view but not change people
    assert Resident.objects.for_user(world.users["street"], "change").count() == 0
    assert Resident.objects.for_user(world.users["grid"], "change").count() == 2


def test_organizations_and_occupancy_scope(world):
    assert names(Organization.objects.for_user(world.users["property"])) == ["新华物业公司"]
    assert Occupancy.objects.for_user(world.users["grid"]).count() == 2
    assert Organization.objects.for_user(world.users["nobody"]).count() == 0


def test_scope_is_computed_once_per_user_object(world, django_assert_max_num_queries):
    user = world.users["street"]
    list(Resident.objects.for_user(user))
    with django_assert_max_num_queries(1):
        list(Resident.objects.for_user(user))
        user.has_linli_perm("people.view")
