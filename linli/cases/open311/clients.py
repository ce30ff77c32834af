"""Open311 client applications and their api_keys. A key is shown once; only its SHA-256 is kept."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction

from linli.cases.models import Open311Client
from linli.core import audit
from linli.core.models import AuditRecord

KEY_PREFIX = "o311_"


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def issue(name: str, contact: str = "") -> tuple[Open311Client, str]:
    """A new client application and its key (the only time the key is visible)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    client = Open311Client.objects.create(
        name=name.strip()[:100],
        contact=contact.strip()[:200],
        key_digest=digest_of(key),
        key_prefix=key[len(KEY_PREFIX) : len(KEY_PREFIX) + 8],
    )
    audit.record(AuditRecord.Action.CREATE, client, after={"name": client.name, "prefix": client.key_prefix})
    return client, key


def authenticate(key: str) -> Open311Client | None:
    key = (key or "").strip()
    if not key:
        return None
    return Open311Client.objects.filter(key_digest=digest_of(key), active=True).first()


@transaction.atomic
def set_active(client: Open311Client, active: bool) -> None:
    before = {"active": client.active}
    client.active = active
    client.save(update_fields=["active"])
    audit.record(AuditRecord.Action.UPDATE, client, before=before, after={"active": active})
