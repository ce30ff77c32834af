"""Device credentials: a random secret shown once when issued; only a keyed hash of it is kept.

Ingestion checks the secret on every HTTP request, so the hash is a fast keyed one (HMAC-SHA256 with the
project's SECRET_KEY), not a slow password hash: the secret is 32 random bytes, which nobody guesses.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

from linli.iot.models import Device

PREFIX = "v1$"


def hash_secret(secret: str) -> str:
    key = ("linli.iot.device-secret:" + settings.SECRET_KEY).encode()
    return PREFIX + hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


def issue_secret(device: Device) -> str:
    """Give the device a new secret (the old one stops working) and return it; it is shown only now."""
    secret = secrets.token_urlsafe(32)
    device.secret_hash = hash_secret(secret)
    Device.objects.filter(pk=device.pk).update(secret_hash=device.secret_hash)
    return secret


def check_secret(device: Device | None, secret: str | None) -> bool:
    """True when `secret` is the device's current secret (constant-time comparison)."""
    if device is None or not secret or not device.secret_hash:
        return False
    return hmac.compare_digest(device.secret_hash, hash_secret(secret))
