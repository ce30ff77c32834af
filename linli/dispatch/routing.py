"""WebSocket routes of the dispatch center (served by linli/asgi.py)."""

from django.urls import path

from linli.dispatch.consumers import ConsoleConsumer, IncidentConsumer, RescueConsumer

websocket_urlpatterns = [
    path("ws/dispatch/console/", ConsoleConsumer.as_asgi()),
    path("ws/dispatch/incidents/<int:pk>/", IncidentConsumer.as_asgi()),
    path("ws/dispatch/rescue/", RescueConsumer.as_asgi()),
]
