"""Encryption at rest for personal identifiers (ID and phone numbers).

Values are sealed with AES-256-GCM under LINLI_FIELD_KEY and looked up by exact
match through an HMAC-SHA256 "blind index" derived from the same key, so the
database never holds a plaintext identifier and equality search stays indexed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "v1:"


@lru_cache(maxsize=4)
def _keys(master_b64: str) -> tuple[AESGCM, bytes]:
    try:
        master = base64.urlsafe_b64decode(master_b64 + "=" * (-len(master_b64) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ImproperlyConfigured("LINLI_FIELD_KEY must be base64") from exc
    if len(master) != 32:
        raise ImproperlyConfigured("LINLI_FIELD_KEY must decode to 32 bytes")

    def derive(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)

    return AESGCM(derive(b"linli-field-encryption")), derive(b"linli-blind-index")


def _current() -> tuple[AESGCM, bytes]:
    return _keys(settings.FIELD_ENCRYPTION_KEY)


def encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    aead, _ = _current()
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, plaintext.encode(), None)
    return PREFIX + base64.b64encode(nonce + sealed).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    if not token.startswith(PREFIX):
        raise ValueError("unknown ciphertext version")
    raw = base64.b64decode(token[len(PREFIX) :])
    aead, _ = _current()
    return aead.decrypt(raw[:12], raw[12:], None).decode()


def blind_index(value: str) -> str:
    """Keyed hash for exact-match lookup; empty for an empty value."""
    if not value:
        return ""
    _, key = _current()
    return hmac.new(key, value.strip().upper().encode(), hashlib.sha256).hexdigest()


def mask_id_number(value: str) -> str:
    """110105199001011234 -> 110105********1234."""
    if not value:
        return ""
    if len(value) <= 10:
        return value[:2] + "*" * max(len(value) - 4, 0) + value[-2:]
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """13812345678 -> 138****5678."""
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
