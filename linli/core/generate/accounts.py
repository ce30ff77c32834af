"""The demo accounts: one per role, each assigned to a place of the generated demo street."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from linli.accounts.models import Assignment, Role, User
from linli.core.permissions import DEFAULT_ROLES
from linli.people.models import Resident
from linli.places.models import Area, Estate

ROLE_ORDER = list(DEFAULT_ROLES)  # the roles of DESIGN.md section 1, in its order

# The people behind the demo accounts (the username stays the role's code). A role word as a name reads like a
# label on the pages: "推荐：救援员", "值班长: 值班长". The resident account keeps "居民": staff pages show
# a resident's name masked, and a display name would show it whole.
DEMO_NAMES = {
    "admin": "周立明",
    "secadmin": "沈晓峰",
    "auditor": "韩雪梅",
    "street": "王建华",
    "community": "刘丽娟",
    "grid": "陈志强",
    "property": "赵海涛",
    "handler": "孙文斌",
    "dispatcher": "林晓燕",
    "shift_lead": "杨国庆",
    "rescuer": "马振宇",
    "provider": "郭红梅",
}


@dataclass
class Login:
    username: str
    role: str
    scope: str


@transaction.atomic
def ensure_demo_accounts(street: Area) -> list[Login]:
    """Create the 13 demo accounts once (password settings.DEMO_PASSWORD); later runs only list them."""
    community = Area.objects.filter(level="community", street=street).order_by("code").first()
    grid = Area.objects.filter(level="grid", community=community).order_by("code").first()
    estate = Estate.objects.filter(community=community).order_by("code").first()
    places = {
        "street": street,
        "community": community,
        "grid": grid,
        "handler": street,
        "dispatcher": street,
        "shift_lead": street,
        "rescuer": street,
    }
    logins = []
    for code in ROLE_ORDER:
        role = Role.objects.get(code=code)
        name = DEMO_NAMES.get(code, role.name_zh)
        user, created = User.objects.get_or_create(username=code, defaults={"display_name": name})
        if created:
            user.set_password(settings.DEMO_PASSWORD)
            user.save(update_fields=["password"])
        elif user.display_name == role.name_zh != name:  # made by an earlier version: the role word as name
            User.objects.filter(pk=user.pk).update(display_name=name)
        area = places.get(code)
        est = estate if code == "property" else None
        Assignment.objects.get_or_create(user=user, role=role, area=area, estate=est)
        scope = str(area or est or "")
        if code == "resident":
            me = Resident.objects.filter(user=user).select_related("household__house").first()
            if me is None:
                me = (
                    Resident.objects.filter(user__isnull=True, relation_to_head="本人", occupancies__grid=grid)
                    .order_by("id")
                    .first()
                )
                if me is not None:
                    Resident.objects.filter(pk=me.pk).update(user=user)
            scope = f"{me.name} · {me.household.house}" if me and me.household_id else ""
        elif code in ("admin", "secadmin", "auditor", "provider"):
            scope = str(_("whole platform")) if code != "provider" else str(_("own catalogue and orders"))
        logins.append(Login(code, role.name_zh, scope))
    return logins


@transaction.atomic
def join_demo_units(street: Area) -> None:
    """Put the demo accounts into the handling units of the demo street (created by the case generator):
    the community and grid workers into their 居委会, the property account into its company, the department
    handler into the street's 城管. Safe to run again."""
    from linli.cases.models import HandlingUnit

    community = Area.objects.filter(level="community", street=street).order_by("code").first()
    estate = Estate.objects.filter(community=community).order_by("code").first()
    users = {u.username: u for u in User.objects.filter(username__in=["community", "grid", "property", "handler"])}
    memberships = [
        (f"c-{community.code}" if community else "", ("community", "grid")),
        (f"s-{street.code}-urban", ("handler",)),
    ]
    for code, names in memberships:
        unit = HandlingUnit.objects.filter(code=code).first()
        if unit is not None:
            unit.members.add(*[users[n] for n in names if n in users])
    if estate is not None and "property" in users:
        for unit in HandlingUnit.objects.filter(kind="property", estates=estate):
            unit.members.add(users["property"])
