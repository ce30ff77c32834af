"""ASGI entry point: Django for HTTP, Channels for the dispatch console's WebSocket (/ws/dispatch/console/).

Served by daphne (`manage.py runserver` uses it too: daphne is first in INSTALLED_APPS). Pushes between
processes go through the channel layer (settings.CHANNEL_LAYERS: Redis with REDIS_URL, in-memory otherwise,
which only reaches sockets of the same process).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the consumers import models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from linli.dispatch.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
