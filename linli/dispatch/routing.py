"""WebSocket routes of the dispatch center (served by linli/asgi.py)."""

from django.urls import path

from linli.dispatch.consumers import ConsoleConsumer

websocket_urlpatterns = [
    path("ws/dispatch/console/", ConsoleConsumer.as_asgi()),
]
