"""The deploy check for the channel layer: in production without Redis the live console would stay silent."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from linli.notifications import checks

MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
REDIS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://r:6379/0"]}}}


def test_production_with_the_in_memory_layer_warns():
    with override_settings(PRODUCTION=True, CHANNEL_LAYERS=MEMORY):
        found = checks.channel_layer_shared()
    assert [m.id for m in found] == ["linli.W302"]
    assert "REDIS_URL" in found[0].msg and "REDIS_URL" in found[0].hint


def test_redis_or_a_non_production_mode_is_quiet():
    with override_settings(PRODUCTION=True, CHANNEL_LAYERS=REDIS):
        assert checks.channel_layer_shared() == []
    with override_settings(PRODUCTION=False, CHANNEL_LAYERS=MEMORY):
        assert checks.channel_layer_shared() == []
    with override_settings(PRODUCTION=True, CHANNEL_LAYERS={}):
        assert [m.id for m in checks.channel_layer_shared()] == ["linli.W302"]


def test_check_deploy_reports_it():
    with override_settings(PRODUCTION=True, CHANNEL_LAYERS=MEMORY):
        try:
            call_command("check", "--deploy", "--fail-level", "WARNING", "--tag", "security")
        except SystemCheckError as exc:
            assert "linli.W302" in str(exc)
        else:
            raise AssertionError("check --deploy passed without a shared channel layer")
