from django.conf import settings

from linli.web.nav import nav_for


def linli(request):
    user = getattr(request, "user", None)
    authed = bool(user is not None and user.is_authenticated)
    session = getattr(request, "session", None)
    elder = user.elder_mode if authed else bool(session and session.get("elder_mode", False))
    return {
        "elder_mode": elder,
        "demo_mode": settings.DEMO,
        "LANGUAGES": settings.LANGUAGES,
        "nav": nav_for(user) if authed else [],
        "map_tile_url": settings.MAP_TILE_URL,
        "map_tile_attribution": settings.MAP_TILE_ATTRIBUTION,
    }
