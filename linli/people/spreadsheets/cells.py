"""Reading one cell as a typed value, and collecting every reason a row is bad."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _

from linli.core.codes import compact_code
from linli.people.spreadsheets.columns import Column


class CellError(Exception):
    pass


def not_found_message() -> str:
    # One message for "no such code" and "not yours": never reveal that a record exists elsewhere.
    return _("not found or outside your area.")


def text(value: Any, max_length: int | None = None) -> str:
    if isinstance(value, float):
        raise CellError(
            _(
                "Excel stored %(value)s as a number and may have dropped digits; format the column "
                "as text and type it again."
            )
            % {"value": f"{value:g}"}
        )
    if isinstance(value, dt.date | dt.time):
        raise CellError(_("a date was found where text was expected."))
    value = str(value).strip()
    if max_length is not None and len(value) > max_length:
        raise CellError(_("at most %(n)d characters.") % {"n": max_length})
    return value


def digits(value: Any) -> str:
    """A code typed with or without dashes and spaces."""
    code = compact_code(text(value))
    if code and not code.isdigit():
        raise CellError(_("a code is made of digits (dashes allowed)."))
    return code


def integer(value: Any, low: int, high: int) -> int | None:
    if value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        number = None
    if number is None or number != number.to_integral_value() or not low <= number <= high:
        raise CellError(_("a whole number from %(low)d to %(high)d.") % {"low": low, "high": high})
    return int(number)


def decimal(value: Any, high: Decimal) -> Decimal | None:
    if value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise CellError(_("a number such as 86.5.")) from None
    if not number.is_finite() or number <= 0 or number >= high:
        raise CellError(_("a positive number below %(high)s.") % {"high": high})
    return number.quantize(Decimal("0.01"))


@dataclass
class RowCheck:
    """Collects every reason one row is bad, each prefixed with its column's header."""

    number: int
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons

    def fail(self, column: Column | None, message: str) -> None:
        if column is None:
            self.reasons.append(message)
        else:
            self.reasons.append(_("%(column)s: %(reason)s") % {"column": column.label(), "reason": message})

    def read(self, column: Column, parse: Callable[..., Any], value: Any, *args: Any) -> Any:
        """parse(value, *args), or None after recording why the cell is wrong."""
        if column.required and value == "":
            self.fail(column, _("required."))
            return None
        try:
            return parse(value, *args)
        except CellError as exc:
            self.fail(column, str(exc))
        except ValidationError as exc:
            for message in exc.messages:
                self.fail(column, message)
        return None

    def service_error(self, exc: Exception, columns: dict[str, Column]) -> None:
        """Reasons from a service's ValidationError (field -> messages), or a scope refusal."""
        if isinstance(exc, PermissionDenied | Http404):
            self.fail(None, _("Not found or outside your area."))
            return
        assert isinstance(exc, ValidationError)
        if hasattr(exc, "error_dict"):
            for name, errors in exc.message_dict.items():
                for message in errors:
                    self.fail(columns.get(name), message)
        else:
            for message in exc.messages:
                self.fail(None, message)
