"""System checks: the notification channels load, and a webhook channel has somewhere to post."""

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
