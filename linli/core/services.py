"""Helpers shared by every app's action functions."""

from __future__ import annotations

from typing import cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.fields.mixins import FieldCacheMixin
from django.http import Http404
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.models import LinliModel


def require_perm(user, perm: str) -> None:
    if user is not None and not user.has_linli_perm(perm):
        raise PermissionDenied(_("You do not have permission to do this."))


def require_in_scope(user, obj: LinliModel, action: str = "change") -> None:
    """Re-check, inside the transaction, that the object is still within the user's scope."""
    if user is None:  # system and management commands act on everything
        return
    model = type(obj)
    if not model.objects.for_user(user, action).filter(pk=obj.pk).exists():
        raise Http404


def _derived_or_loaded_relations(obj: LinliModel) -> list[str]:
    """Foreign keys whose target is already proven to exist: loaded objects, and the area ids an action
    copied from them (non-editable). Validating them again would cost one query each."""
    return [
        f.name
        for f in obj._meta.concrete_fields
        if f.is_relation and (not f.editable or cast(FieldCacheMixin, f).is_cached(obj))
    ]


def save_audited(obj: LinliModel, before: dict | None, actor=None) -> None:
    """full_clean, save and audit one object (call inside transaction.atomic)."""
    obj.full_clean(exclude=_derived_or_loaded_relations(obj), validate_unique=True)
    obj.save()
    audit.record_change(obj, before, obj.audit_snapshot(), user=actor)


def delete_audited(obj: LinliModel, actor=None) -> None:
    before = obj.audit_snapshot()
    pk = obj.pk
    obj.delete()
    obj.pk = pk
    audit.record_change(obj, before, None, user=actor)


def field_error(field: str, message: str, code: str = "invalid") -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})
