"""Open311 services: one per active second-level category, and the attributes a client may send with each.

Every service takes `house_code` (the 24-digit code on the door plate, when the problem is at a home)
and `anonymous` (yes/no). The elevator service (0301) also asks whether someone is trapped: "yes" makes
the case urgent.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from linli.cases.models import Category, KeywordRule, Priority
from linli.core import codes

STRING_MAX = 200


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str  # string, number, datetime, text, singlevaluelist, multivaluelist
    required: bool
    order: int
    description: object  # lazy text
    datatype_description: object = ""
    values: tuple[tuple[str, object], ...] = ()

    def as_dict(self) -> dict:
        return {
            "variable": True,
            "code": self.code,
            "datatype": self.datatype,
            "required": self.required,
            "datatype_description": str(self.datatype_description) or None,
            "order": self.order,
            "description": str(self.description),
            "values": [{"key": key, "name": str(name)} for key, name in self.values],
        }


YES_NO = (("yes", gettext_lazy("yes")), ("no", gettext_lazy("no")))

HOUSE_CODE = Attribute(
    "house_code",
    "string",
    False,
    1,
    gettext_lazy("If the problem is in or at a home: the house code on the door plate."),
    gettext_lazy("24 digits; spaces and dashes are ignored."),
)
ANONYMOUS = Attribute(
    "anonymous",
    "singlevaluelist",
    False,
    2,
    gettext_lazy("Report anonymously: the name and phone number sent with the request are not kept."),
    values=YES_NO,
)
ELEVATOR_STUCK = Attribute(
    "elevator_stuck_person",
    "singlevaluelist",
    True,
    3,
    gettext_lazy("Is someone trapped in the elevator? If yes, the case is handled as urgent. Call 119 as well."),
    values=YES_NO,
)

EXTRA: dict[str, tuple[Attribute, ...]] = {"0301": (ELEVATOR_STUCK,)}


def attributes_for(code: str) -> tuple[Attribute, ...]:
    return (HOUSE_CODE, ANONYMOUS, *EXTRA.get(code, ()))


def services() -> list[Category]:
    """The active leaf categories, with their group, in code order."""
    return list(
        Category.objects.filter(active=True, parent__isnull=False, parent__active=True)
        .select_related("parent")
        .order_by("code")
    )


def service(code: str) -> Category | None:
    return (
        Category.objects.filter(code=code, active=True, parent__isnull=False, parent__active=True)
        .select_related("parent")
        .first()
    )


def keywords() -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for category_id, word in (
        KeywordRule.objects.filter(active=True).order_by("-weight", "keyword").values_list("category_id", "keyword")
    ):
        out.setdefault(category_id, []).append(word)
    return out


def service_dict(category: Category, words: list[str]) -> dict:
    group = category.parent.name if category.parent else ""
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": f"{group} / {category.name}" if group else category.name,
        "metadata": bool(attributes_for(category.code)),
        "type": "realtime",
        "keywords": ", ".join(words[:12]),
        "group": group,
    }


def definition_dict(category: Category) -> dict:
    return {"service_code": category.code, "attributes": [a.as_dict() for a in attributes_for(category.code)]}


def clean_attributes(code: str, raw: dict[str, list[str]]) -> tuple[dict[str, str], list[str]]:
    """Check the submitted attribute values against the service definition: (values, error messages)."""
    defs = {a.code: a for a in attributes_for(code)}
    values: dict[str, str] = {}
    problems: list[str] = []
    refused: set[str] = set()
    for name, sent in raw.items():
        spec = defs.get(name)
        if spec is None:
            problems.append(_("This service has no attribute “%(code)s”.") % {"code": name})
            continue
        refused.add(name)
        sent = [v.strip() for v in sent if v.strip()]
        if not sent:
            refused.discard(name)
            continue
        if len(sent) > 1:
            problems.append(_("Send one value for the attribute “%(code)s”.") % {"code": name})
            continue
        value = sent[0]
        if spec.datatype == "singlevaluelist":
            keys = [key for key, _name in spec.values]
            if value not in keys:
                problems.append(
                    _("“%(value)s” is not a value of the attribute “%(code)s”; choose one of: %(keys)s.")
                    % {"value": value[:40], "code": name, "keys": ", ".join(keys)}
                )
                continue
        elif name == "house_code":
            value = codes.compact_code(value)
            if len(value) != 24 or not value.isdigit():
                problems.append(_("A house code is its building code plus 2 unit and 4 room digits (24 digits)."))
                continue
        elif len(value) > STRING_MAX or "\n" in value:
            problems.append(
                _("The attribute “%(code)s” takes one line of at most %(n)s characters.")
                % {"code": name, "n": STRING_MAX}
            )
            continue
        values[name] = value
        refused.discard(name)
    for spec in defs.values():
        if spec.required and spec.code not in values and spec.code not in refused:
            problems.append(_("The attribute “%(code)s” is required for this service.") % {"code": spec.code})
    return values, problems


def priority_from(code: str, values: dict[str, str]) -> str | None:
    if code == "0301" and values.get("elevator_stuck_person") == "yes":
        return Priority.URGENT
    return None
