"""Unified codes and coordinates."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from linli.core import codes, geo


@pytest.mark.parametrize(
    "code, level",
    [
        ("120100000000", "city"),
        ("120101000000", "district"),
        ("120101001000", "street"),
        ("120101001001", "community"),
        ("120101001001001", "grid"),
    ],
)
def test_levels(code, level):
    assert codes.level_of(code) == level


@pytest.mark.parametrize(
    "code", ["12010100100", "12010100100a", "120101001001000", "001010000000", "120101000001", "1201010010010011"]
)
def test_malformed_codes(code):
    with pytest.raises(ValidationError):
        codes.level_of(code)


def test_code_must_lie_under_parent():
    codes.validate_area_code("120101001001", "community", "120101001000", "street")
    with pytest.raises(ValidationError):
        codes.validate_area_code("120101002001", "community", "120101001000", "street")
    with pytest.raises(ValidationError):
        codes.validate_area_code("120101001001", "grid", "120101001000", "street")


def test_house_code():
    b = codes.building_code("120101001001001", 3)
    h = codes.house_code(b, 1, 502)
    assert len(h) == 24
    assert codes.format_house_code(h) == "120101001001-001-003-01-0502"
    with pytest.raises(ValidationError):
        codes.house_code(b, 100, 1)


@given(st.floats(min_value=73, max_value=135), st.floats(min_value=18, max_value=53))
def test_gcj02_round_trip_within_a_metre(lng, lat):
    g = geo.wgs84_to_gcj02(lng, lat)
    w = geo.gcj02_to_wgs84(*g)
    assert abs(w[0] - lng) < 1e-5 and abs(w[1] - lat) < 1e-5


def test_gcj02_offset_is_real_in_tianjin():
    lng, lat = geo.gcj02_to_wgs84(117.2, 39.13)
    assert 0.003 < abs(lng - 117.2) + abs(lat - 39.13) < 0.02


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        '{"type":"Point","coordinates":[1,2]}',
        '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1]]]}',
        '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}',
        '{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[200,1],[0,0]]]}',
    ],
)
def test_bad_boundaries(raw):
    with pytest.raises(ValidationError):
        geo.parse_boundary(raw)


def test_feature_boundary_accepted():
    feature = {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
    }
    assert geo.parse_boundary(feature)["type"] == "Polygon"
