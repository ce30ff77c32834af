"""The import run shared by residents and houses: read, check every row, then write in one transaction.

Nothing is written while any row is bad, unless the user asked to import the valid rows and skip the bad
ones. Each row is written through the service actions (which validate, re-check scope and audit) inside
its own savepoint, so a row the services refuse is skipped whole; one more audit entry sums up the run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils.translation import gettext as _

from linli.core import audit
from linli.core.models import AuditRecord
from linli.people.spreadsheets.cells import RowCheck
from linli.people.spreadsheets.columns import Column
from linli.people.spreadsheets.reader import SpreadsheetError, read_sheet

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
# The report page lists this many bad rows; the counts always cover all of them.
MAX_PROBLEMS_SHOWN = 500


@dataclass
class ImportResult:
    kind: str
    file_name: str
    skip_bad: bool = False
    rows: int = 0
    counts: Counter = field(default_factory=Counter)
    problems: list[RowCheck] = field(default_factory=list)
    written: bool = False
    file_error: str = ""

    @property
    def created(self) -> int:
        return self.counts[CREATED]

    @property
    def updated(self) -> int:
        return self.counts[UPDATED]

    @property
    def unchanged(self) -> int:
        return self.counts[UNCHANGED]

    @property
    def skipped(self) -> int:
        return len(self.problems) if self.written else 0

    @property
    def problems_shown(self) -> list[RowCheck]:
        return self.problems[:MAX_PROBLEMS_SHOWN]

    @property
    def problems_hidden(self) -> int:
        return max(len(self.problems) - MAX_PROBLEMS_SHOWN, 0)


class _AbortImportError(Exception):
    pass


class Importer:
    """Subclasses plan every row (no writes) and write one planned row through the services."""

    kind = ""
    object_type = ""
    columns: tuple[Column, ...] = ()
    # service field name -> column, to put a service's field errors under the right header
    service_fields: dict[str, str] = {}

    def __init__(self, user):
        self.user = user

    def plan(self, sheet) -> list[tuple[RowCheck, Any]]:
        raise NotImplementedError

    def write(self, plan: Any) -> str:
        raise NotImplementedError

    def run(self, upload, *, skip_bad: bool = False) -> ImportResult:
        result = ImportResult(kind=self.kind, file_name=getattr(upload, "name", "") or "", skip_bad=skip_bad)
        try:
            sheet = read_sheet(upload, self.columns)
        except SpreadsheetError as exc:
            result.file_error = str(exc)
            return result
        result.rows = len(sheet.rows)
        planned = self.plan(sheet)
        problems = [check for check, _plan in planned if not check.ok]
        result.problems = problems
        if problems and not skip_bad:
            return result
        try:
            self._write_all([(check, plan) for check, plan in planned if check.ok], result)
        except _AbortImportError:
            result.counts.clear()
            result.written = False
        result.problems.sort(key=lambda check: check.number)
        return result

    @transaction.atomic
    def _write_all(self, planned: list[tuple[RowCheck, Any]], result: ImportResult) -> None:
        by_field = {col.key: col for col in self.columns}
        by_field.update({name: by_field[key] for name, key in self.service_fields.items()})
        for check, plan in planned:
            try:
                # Only skipping needs a savepoint per row; otherwise the first refusal rolls back everything.
                with transaction.atomic(savepoint=result.skip_bad):
                    outcome = self.write(plan)
            except (ValidationError, PermissionDenied, Http404) as exc:
                check.service_error(exc, by_field)
            except IntegrityError:
                check.fail(None, _("This row clashes with a change made at the same time; import the file again."))
            else:
                result.counts[outcome] += 1
                continue
            result.problems.append(check)
            if not result.skip_bad:
                raise _AbortImportError
        if not result.counts:
            return
        audit.record(
            AuditRecord.Action.IMPORT,
            self.object_type,
            user=self.user,
            object_repr=result.file_name,
            after={
                "file": result.file_name,
                "rows": result.rows,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "skipped": len(result.problems),
            },
        )
        result.written = True


def chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]
