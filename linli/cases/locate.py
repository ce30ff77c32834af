"""Find the grid a reported point lies in."""

from __future__ import annotations

from linli.places.models import Area

# about 2 km around the point: grids whose centre lies further away are not candidates
_WINDOW = 0.02


def _inside(lng: float, lat: float, ring: list) -> bool:
    inside = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i][0], ring[i][1]
        x2, y2 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
        if (y1 > lat) != (y2 > lat) and lng < (x2 - x1) * (lat - y1) / ((y2 - y1) or 1e-12) + x1:
            inside = not inside
    return inside


def contains(boundary: dict | None, lng: float, lat: float) -> bool:
    if not boundary:
        return False
    geom = boundary.get("geometry", boundary) if boundary.get("type") == "Feature" else boundary
    polys = geom.get("coordinates") or []
    if geom.get("type") == "Polygon":
        polys = [polys]
    for poly in polys:
        if poly and _inside(lng, lat, poly[0]) and not any(_inside(lng, lat, hole) for hole in poly[1:]):
            return True
    return False


def grid_at(lng: float, lat: float, within=None) -> Area | None:
    """The grid whose boundary contains the point; else the nearest grid centre within ~2 km.
    `within` (a queryset of areas) limits the candidates, e.g. to a user's scope."""
    qs = within if within is not None else Area.objects.all()
    candidates = list(
        qs.filter(
            level="grid",
            lng__range=(lng - _WINDOW, lng + _WINDOW),
            lat__range=(lat - _WINDOW, lat + _WINDOW),
        ).only("pk", "boundary", "lng", "lat", "community_id", "street_id", "district_id", "city_id", "name", "code")
    )
    for grid in candidates:
        if contains(grid.boundary, lng, lat):
            return grid
    if not candidates:
        return None
    return min(candidates, key=lambda g: (g.lng - lng) ** 2 + (g.lat - lat) ** 2)
