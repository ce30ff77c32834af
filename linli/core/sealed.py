"""A model attribute backed by an encrypted column and a blind-index column.

    id_number_enc = models.TextField(blank=True, editable=False)
    id_number_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    id_number = Sealed(mask=crypto.mask_id_number)

Reading `obj.id_number` decrypts; assigning encrypts and re-indexes;
`obj.id_number_masked` is what every page shows.
"""

from __future__ import annotations

from collections.abc import Callable

from linli.core import crypto


class Sealed:
    def __init__(self, mask: Callable[[str], str]):
        self.mask = mask

    def __set_name__(self, owner, name: str) -> None:
        self.name = name
        self.enc, self.hash = f"{name}_enc", f"{name}_hash"
        sealed = dict(getattr(owner, "sealed_fields", {}))
        sealed[name] = self
        owner.sealed_fields = sealed

        mask = self.mask
        enc = self.enc

        def masked(obj) -> str:
            cache = obj.__dict__.setdefault("_sealed_plain", {})
            if name not in cache:
                cache[name] = crypto.decrypt(getattr(obj, enc))
            return mask(cache[name])

        setattr(owner, f"{name}_masked", property(masked))

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        cache = obj.__dict__.setdefault("_sealed_plain", {})
        if self.name not in cache:
            cache[self.name] = crypto.decrypt(getattr(obj, self.enc))
        return cache[self.name]

    def __set__(self, obj, value: str) -> None:
        value = (value or "").strip()
        obj.__dict__.setdefault("_sealed_plain", {})[self.name] = value
        setattr(obj, self.enc, crypto.encrypt(value))
        setattr(obj, self.hash, crypto.blind_index(value))


class SealedMixin:
    """Audit snapshots carry the masked value of each sealed field, never ciphertext or hash."""

    sealed_fields: dict[str, Sealed] = {}

    def masked_identifiers(self) -> dict[str, str]:
        return {name: getattr(self, f"{name}_masked") for name in self.sealed_fields}

    @classmethod
    def sealed_audit_exclude(cls) -> tuple[str, ...]:
        out: list[str] = []
        for name in cls.sealed_fields:
            out += [f"{name}_enc", f"{name}_hash"]
        return tuple(out)
