"""manage.py sweep_deadlines: run the deadline sweep once, now, and say what it did."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from huey.exceptions import TaskLockedException

from linli.cases.sweep import sweep
from linli.cases.tasks import SWEEP_LOCK


class Command(BaseCommand):
    help = "Warn cases due soon, mark overdue ones and escalate them (the periodic job, run once now)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--unlock",
            action="store_true",
            help="first clear the sweep lock a crashed worker left behind (only when no sweep is running)",
        )

    def handle(self, *args, unlock=False, **options):
        if unlock:
            SWEEP_LOCK.clear()
        try:
            # the same lock as the periodic job: never two sweeps at once
            with SWEEP_LOCK:
                result = sweep()
        except TaskLockedException as exc:
            raise CommandError(
                "Another deadline sweep is running (Huey lock 'sweep-deadlines'). If none is, a crashed "
                "worker left the lock behind: run again with --unlock."
            ) from exc
        self.stdout.write(
            f"warned {result.warned}, overdue {result.overdue}, escalated {result.escalated}, "
            f"notified {result.notified} in {result.seconds:.2f} s"
        )
