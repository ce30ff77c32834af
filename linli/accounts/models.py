"""Accounts: users, roles (sets of permissions) and assignments (role × place)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from linli.core import permissions as perms
from linli.core.scope import Scope


class User(AbstractUser):
    display_name = models.CharField(_("display name"), max_length=50, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    elder_mode = models.BooleanField(_("elder mode"), default=False)
    failed_logins = models.PositiveSmallIntegerField(default=0, editable=False)
    locked_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    # Permissions and scope are computed once per request object (netbox#5052).
    def _assignments(self) -> list[Assignment]:
        cache = self.__dict__.get("_linli_assignments")
        if cache is None:
            cache = list(self.assignments.select_related("role", "area", "estate").all())
            self.__dict__["_linli_assignments"] = cache
        return cache

    @property
    def linli_perms(self) -> set[str]:
        cached = self.__dict__.get("_linli_perms")
        if cached is None:
            cached = set()
            if self.is_active:
                for a in self._assignments():
                    cached.update(a.role.permissions)
            self.__dict__["_linli_perms"] = cached
        return cached

    def has_linli_perm(self, perm: str) -> bool:
        return perm in self.linli_perms

    @property
    def role_codes(self) -> set[str]:
        return {a.role.code for a in self._assignments()}

    def scope_for(self, perm: str) -> Scope:
        cache = self.__dict__.setdefault("_linli_scopes", {})
        if perm in cache:
            return cache[perm]
        scope = Scope()
        for a in self._assignments():
            if perm not in a.role.permissions:
                continue
            if a.role.scope_kind == perms.PLATFORM:
                scope.all = True
            elif a.role.scope_kind == perms.AREA and a.area is not None:
                scope.add_area(a.area.level, a.area.pk)
            elif a.role.scope_kind == perms.ESTATE and a.estate_id:
                scope.estate_ids.add(a.estate_id)
            elif a.role.scope_kind == perms.HOUSEHOLD:
                self._add_household(scope)
        cache[perm] = scope
        return scope

    def _add_household(self, scope: Scope) -> None:
        from linli.people.models import Resident

        me = Resident.objects.filter(user=self).select_related("household").first()
        if me is None:
            return
        scope.resident_ids.add(me.pk)
        if me.household_id:
            scope.resident_ids.update(
                Resident.objects.filter(household_id=me.household_id).values_list("pk", flat=True)
            )
            scope.house_ids.add(me.household.house_id)

    def forget_permissions(self) -> None:
        for key in ("_linli_assignments", "_linli_perms", "_linli_scopes"):
            self.__dict__.pop(key, None)

    @property
    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()


def preload_assignments(users: list[User]) -> None:
    """Load the assignments (with role, area, estate) of many users in one query, for their permission checks."""
    pending = [u for u in users if "_linli_assignments" not in u.__dict__]
    if not pending:
        return
    by_user: dict[int, list[Assignment]] = {u.pk: [] for u in pending}
    for a in Assignment.objects.filter(user_id__in=list(by_user)).select_related("role", "area", "estate"):
        by_user[a.user_id].append(a)
    for u in pending:
        u.__dict__["_linli_assignments"] = by_user[u.pk]


class Role(models.Model):
    code = models.SlugField(_("code"), max_length=30, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=40)
    name_en = models.CharField(_("name (English)"), max_length=60)
    scope_kind = models.CharField(
        _("scope"),
        max_length=10,
        choices=[
            (perms.AREA, _("an area")),
            (perms.ESTATE, _("an estate")),
            (perms.HOUSEHOLD, _("own household")),
            (perms.PLATFORM, _("the whole platform")),
        ],
    )
    permissions = models.JSONField(_("permissions"), default=list)

    class Meta:
        ordering = ["id"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


class Assignment(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("user"))
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="assignments", verbose_name=_("role"))
    area = models.ForeignKey(
        "places.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("area")
    )
    estate = models.ForeignKey(
        "places.Estate", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("estate")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "area", "estate"], name="assignment_unique", nulls_distinct=False
            ),
        ]

    def __str__(self) -> str:
        where = self.area or self.estate or ""
        return f"{self.user} · {self.role} {where}".strip()


class ApiToken(models.Model):
    """A bearer token for /api/v1/. Only its SHA-256 is stored; the key is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} · {self.prefix}…"

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User) -> tuple[ApiToken, str]:
        key = "lnl_" + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            digest=cls.digest_of(key),
            prefix=key[4:12],
            expires_at=timezone.now() + timedelta(days=settings.API_TOKEN_DAYS),
        )
        return token, key


class BindingRequest(models.Model):
    """A resident asks to link their account to a house; community staff verify it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="binding_requests", verbose_name=_("user"))
    house = models.ForeignKey("places.House", on_delete=models.CASCADE, related_name="+", verbose_name=_("house"))
    name = models.CharField(_("name"), max_length=50)
    id_number_hash = models.CharField(max_length=64, editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=24, editable=False)
    relation = models.CharField(_("relation"), max_length=16)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} → {self.house_id}"

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("binding request")
        verbose_name_plural = _("binding requests")
