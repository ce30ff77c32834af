"""Coordinates and boundaries.

Points are stored in WGS-84. Chinese map apps give GCJ-02 ("Mars coordinates"),
which is converted here with the published approximation (error below 1-2 m in
mainland China). Boundaries are GeoJSON Polygon/MultiPolygon geometries.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_A = 6378245.0
_EE = 0.00669342162296594323


def _outside_china(lng: float, lat: float) -> bool:
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _dlat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _dlng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    if _outside_china(lng, lat):
        return lng, lat
    dlat = _dlat(lng - 105.0, lat - 35.0)
    dlng = _dlng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lng + dlng, lat + dlat


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    """Invert wgs84_to_gcj02 by fixed-point iteration (converges to < 1e-7 degrees)."""
    if _outside_china(lng, lat):
        return lng, lat
    wlng, wlat = lng, lat
    for _i in range(30):
        glng, glat = wgs84_to_gcj02(wlng, wlat)
        dlng, dlat = glng - lng, glat - lat
        if abs(dlng) < 1e-9 and abs(dlat) < 1e-9:
            break
        wlng, wlat = wlng - dlng, wlat - dlat
    return wlng, wlat


def to_wgs84(lng: float, lat: float, crs: str) -> tuple[float, float]:
    crs = (crs or "wgs84").lower().replace("-", "")
    if crs == "wgs84":
        return lng, lat
    if crs == "gcj02":
        return gcj02_to_wgs84(lng, lat)
    raise ValidationError(_("Coordinates must be WGS-84 or GCJ-02."), code="crs")


def validate_point(lng: Any, lat: Any) -> tuple[float, float]:
    try:
        lng_f, lat_f = float(lng), float(lat)
    except (TypeError, ValueError):
        raise ValidationError(_("Longitude and latitude must be numbers."), code="point") from None
    if not (-180 <= lng_f <= 180 and -90 <= lat_f <= 90):
        raise ValidationError(_("Longitude must lie in -180..180 and latitude in -90..90."), code="point")
    return lng_f, lat_f


def _check_ring(ring: Any) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        raise ValidationError(_("Each polygon ring needs at least four positions."), code="geojson")
    for pos in ring:
        if not isinstance(pos, list) or len(pos) < 2:
            raise ValidationError(_("Each position is a [longitude, latitude] pair."), code="geojson")
        validate_point(pos[0], pos[1])
    if ring[0][:2] != ring[-1][:2]:
        raise ValidationError(_("A polygon ring must end where it starts."), code="geojson")


def parse_boundary(raw: Any) -> dict | None:
    """Accept a GeoJSON Polygon/MultiPolygon (or a Feature holding one); return the geometry."""
    if raw in (None, "", {}):
        return None
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ValidationError(_("The boundary is not valid JSON."), code="geojson") from None
    if not isinstance(raw, dict):
        raise ValidationError(_("The boundary must be a GeoJSON object."), code="geojson")
    if raw.get("type") == "Feature":
        raw = raw.get("geometry")
        if not isinstance(raw, dict):
            raise ValidationError(_("The GeoJSON feature has no geometry."), code="geojson")
    kind = raw.get("type")
    coords = raw.get("coordinates")
    polygons: object
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        polygons = coords
    else:
        raise ValidationError(_("The boundary must be a GeoJSON Polygon or MultiPolygon."), code="geojson")
    if not isinstance(polygons, list) or not polygons:
        raise ValidationError(_("The boundary has no coordinates."), code="geojson")
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise ValidationError(_("The boundary has no coordinates."), code="geojson")
        for ring in polygon:
            _check_ring(ring)
    return {"type": kind, "coordinates": coords}


def centroid(geometry: dict | None) -> tuple[float, float] | None:
    """Mean of the outer ring's vertices: good enough to place a label or marker."""
    if not geometry:
        return None
    ring = geometry["coordinates"][0] if geometry["type"] == "Polygon" else geometry["coordinates"][0][0]
    pts = ring[:-1] or ring
    return sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
