"""Place actions: validation, scope re-check inside the action, audit."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from linli.core.models import AuditRecord
from linli.places import services
from linli.places.models import Area, Building, House

pytestmark = pytest.mark.django_db


def test_create_grid_is_audited(world):
    before = AuditRecord.objects.count()
    g = services.create_area(
        world.users["community"], level="grid", code="120101001001003", name="三网格", parent=world.areas["A1"]
    )
    assert (g.community_id, g.street_id, g.district_id, g.city_id) == (
        world.areas["A1"].pk,
        world.areas["A"].pk,
        world.areas["district"].pk,
        world.areas["city"].pk,
    )
    rec = AuditRecord.objects.order_by("-seq").first()
    assert AuditRecord.objects.count() == before + 1
    assert (rec.action, rec.object_type, rec.username) == ("create", "places.area", "community")
    assert rec.after["code"] == "120101001001003"


@pytest.mark.parametrize("code", ["120101002001003", "12010100100100", "120101001001000", "120101001001001"])
def test_bad_or_foreign_or_duplicate_codes_write_nothing(world, code):
    n, a = Area.objects.count(), AuditRecord.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.create_area(None, level="grid", code=code, name="x", parent=world.areas["A1"])
    assert "code" in exc.value.message_dict
    assert (Area.objects.count(), AuditRecord.objects.count()) == (n, a)


def test_bad_boundary_is_a_field_error(world):
    with pytest.raises(ValidationError) as exc:
        services.update_area(None, world.areas["A1-1"], boundary='{"type":"Polygon","coordinates":[[[0,0]]]}')
    assert "boundary" in exc.value.message_dict


def test_gcj02_point_is_stored_as_wgs84(world):
    a = services.update_area(None, world.areas["A1-1"], lng=117.2, lat=39.13, crs="gcj02")
    assert a.lng != 117.2 and abs(a.lng - 117.2) < 0.01


def test_out_of_scope_and_unpermitted_writes_are_refused(world):
    n = Building.objects.count()
    with pytest.raises(Http404):
        services.create_building(world.users["community"], grid=world.areas["B1-1"], number=2)
    with pytest.raises(PermissionDenied):
        services.create_building(world.users["street"], grid=world.areas["A1-1"], number=2)
    with pytest.raises(PermissionDenied):
        services.create_area(
            world.users["grid"], level="grid", code="120101001001009", name="x", parent=world.areas["A1"]
        )
    assert Building.objects.count() == n


def test_house_codes_are_unique_and_derived(world):
    b = world.buildings["A1-1"]
    h = services.create_house(world.users["community"], building=b, unit_number=1, room=502)
    assert h.code == b.code + "010502" and h.floor == 5 and h.estate_id == world.estates["E1"].pk
    with pytest.raises(ValidationError):
        services.create_house(None, building=b, unit_number=1, room=502)
    assert House.objects.filter(code=h.code).count() == 1


def test_building_number_range(world):
    for n in (0, 1000, "x"):
        with pytest.raises(ValidationError):
            services.create_building(None, grid=world.areas["A1-1"], number=n)
