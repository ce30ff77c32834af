"""System checks: the notification channels load, a webhook channel has somewhere to post, and in production
the live pages (dispatch console, rescuer page) reach every process through a shared channel layer."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured


@register()
def channels_configured(app_configs=None, **kwargs):
    from linli.notifications import channels

    try:
        loaded = channels.configured()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="linli.E301")]
    return [Error(problem, id="linli.E302") for c in loaded for problem in c.check()]


@register(Tags.security, deploy=True)
def channels_reach_people(app_configs=None, **kwargs):
    from linli.notifications import channels

    try:
        loaded = channels.configured()
    except ImproperlyConfigured:
        return []  # reported by channels_configured
    if getattr(settings, "PRODUCTION", False) and all(isinstance(c, channels.LoggingChannel) for c in loaded):
        return [
            Warning(
                "Only the logging notification channel is configured: no SMS or WeChat message leaves Linli.",
                hint="Set LINLI_NOTIFY_CHANNELS and the gateway URL (docs/jobs.md), or accept in-app only.",
                id="linli.W301",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def channel_layer_shared(app_configs=None, **kwargs):
    """The in-memory channel layer only reaches consumers in the same process: with several web processes,
    or with the MQTT ingester and Huey workers apart from the web server, the console stays silent."""
    backend = (getattr(settings, "CHANNEL_LAYERS", {}).get("default") or {}).get("BACKEND", "")
    if getattr(settings, "PRODUCTION", False) and (not backend or backend.endswith(".InMemoryChannelLayer")):
        return [
            Warning(
                "REDIS_URL is not set, so the live pages use the in-memory channel layer: alarms raised in another "
                "process (MQTT ingester, worker, a second web process) never reach the dispatch console.",
                hint="Set REDIS_URL (docs/deployment.md) so that every process shares one Redis channel layer.",
                id="linli.W302",
            )
        ]
    return []
