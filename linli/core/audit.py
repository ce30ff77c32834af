"""Audit: append-only records, each hash-chained to the one before.

`record()` is called by service actions inside their transaction, so a change
and its audit entry commit or roll back together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from linli.core import context
from linli.core.models import AuditChainHead, AuditRecord

GENESIS = "0" * 64


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def snapshot(obj: models.Model) -> dict:
    """Field values for before/after; encrypted identifiers appear masked, never in clear."""
    exclude = set(getattr(obj, "audit_exclude", ()))
    data: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if f.name in exclude:
            continue
        data[f.attname] = getattr(obj, f.attname)
    masked = getattr(obj, "masked_identifiers", None)
    if callable(masked):
        data.update(masked())
    for m2m in obj._meta.many_to_many:
        if obj.pk is not None and m2m.name not in exclude:
            data[m2m.name] = sorted(getattr(obj, m2m.attname).values_list("pk", flat=True))
    return _jsonable(data)


def changes(before: dict | None, after: dict | None) -> tuple[dict | None, dict | None]:
    """Keep only the keys that differ (all of them for a create or delete)."""
    if before is None or after is None:
        return before, after
    keys = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def _digest(fields: dict) -> str:
    payload = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _hashed_fields(rec: AuditRecord) -> dict:
    ts = rec.ts.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return {
        "seq": rec.seq,
        "ts": ts,
        "user_id": rec.user_id,
        "username": rec.username,
        "action": rec.action,
        "object_type": rec.object_type,
        "object_id": rec.object_id,
        "object_repr": rec.object_repr,
        "before": rec.before,
        "after": rec.after,
        "purpose": rec.purpose,
        "ip": rec.ip,
        "request_id": rec.request_id,
        "channel": rec.channel,
        "prev_hash": rec.prev_hash,
    }


def object_type_of(obj: Any) -> str:
    return obj._meta.label_lower if isinstance(obj, models.Model) else str(obj)


def record(
    action: str,
    obj: Any = None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    purpose: str = "",
    user: Any = None,
    username: str = "",
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
) -> AuditRecord:
    ctx = context.current()
    actor = user if user is not None else ctx.user
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if obj is not None and isinstance(obj, models.Model):
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        rec = AuditRecord(
            seq=head.last_seq + 1,
            ts=timezone.now(),
            user_id=actor.pk if actor is not None else None,
            username=(actor.get_username() if actor is not None else username)[:150],
            action=action,
            object_type=object_type_of(obj) if obj is not None else object_type,
            object_id=object_id,
            object_repr=object_repr[:200],
            before=_jsonable(before) if before is not None else None,
            after=_jsonable(after) if after is not None else None,
            purpose=purpose[:300],
            ip=ctx.ip,
            request_id=ctx.request_id,
            channel=ctx.channel,
            prev_hash=head.last_hash,
        )
        rec.hash = _digest(_hashed_fields(rec))
        rec.save()
        AuditChainHead.objects.filter(pk=1).update(last_seq=rec.seq, last_hash=rec.hash)
    return rec


def record_change(obj: models.Model, before: dict | None, after: dict | None, **kw) -> AuditRecord | None:
    action = (
        AuditRecord.Action.CREATE
        if before is None
        else (AuditRecord.Action.DELETE if after is None else AuditRecord.Action.UPDATE)
    )
    b, a = changes(before, after)
    if action == AuditRecord.Action.UPDATE and not a:
        return None
    return record(action, obj, before=b, after=a, **kw)


@dataclass
class ChainReport:
    checked: int
    first_broken: AuditRecord | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken is None


def verify_chain(batch: int = 5000) -> ChainReport:
    """Walk the chain in order; name the first record whose hash or link does not hold."""
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = list(AuditRecord.objects.filter(seq__gt=last_seq).order_by("seq")[:batch])
        if not rows:
            break
        for rec in rows:
            if rec.seq != expected_seq:
                return ChainReport(checked, rec, f"sequence gap: expected {expected_seq}, found {rec.seq}")
            if rec.prev_hash != prev_hash:
                return ChainReport(checked, rec, "link to the previous record is broken")
            if _digest(_hashed_fields(rec)) != rec.hash:
                return ChainReport(checked, rec, "content does not match its hash")
            prev_hash, expected_seq, checked = rec.hash, rec.seq + 1, checked + 1
            last_seq = rec.seq
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_seq != last_seq:
        return ChainReport(checked, AuditRecord(seq=head.last_seq), "records at the end of the chain are missing")
    return ChainReport(checked, None)
