"""manage.py demo: migrate, load the demo street once, create one account per role, print logins, serve."""

from __future__ import annotations

import logging
import os
from typing import cast

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from huey.consumer import Consumer

from linli.core.generate.accounts import ensure_demo_accounts, join_demo_units
from linli.core.generate.live import open_demo_cases
from linli.core.generate.plan import DEFAULT_DISTRICT
from linli.core.generate.run import generate
from linli.places.models import Area


class Command(BaseCommand):
    help = "Run the Linli demo: SQLite under ./var, demo data and one account per role (password linli-demo)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("LINLI_PORT") or 8000))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--no-serve", action="store_true", help="prepare data and accounts, do not serve")
        parser.add_argument("--scale", default="demo", help="demo (default); tiny is for tests")

    def handle(self, *args, port, host, no_serve, scale, **options):
        if not settings.DEMO:
            raise CommandError("The demo runs only with LINLI_MODE=demo (it uses a well-known password).")
        if scale not in ("demo", "tiny"):
            raise CommandError("--scale is demo (or tiny, for tests).")
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", verbosity=0, interactive=False)
        street_code = f"{DEFAULT_DISTRICT[scale]}001000"
        street = Area.objects.filter(code=street_code).first()
        if street is None:
            self.stdout.write(f"Generating the {scale} data (one street of Tianjin, fictitious people)…")
            summary = generate(scale, stream=self.stderr._out)
            self.stdout.write(
                f"  {summary.counts.get('household', 0):,} households, "
                f"{summary.counts.get('resident', 0):,} residents in {summary.seconds:.1f} s"
            )
            street = Area.objects.get(code=street_code)
        else:
            self.stdout.write(f"Reusing the data in {settings.DATABASES['default']['NAME']}.")
        logins = ensure_demo_accounts(street)
        self._ensure_cases(street)
        url = f"http://{host}:{port}/"
        self.stdout.write("")
        self.stdout.write(f"Linli demo at {url}  — password for every account: {settings.DEMO_PASSWORD}")
        self.stdout.write(f"{'user':12} {'role':14} scope")
        for login in logins:
            self.stdout.write(f"{login.username:12} {login.role:14} {login.scope}")
        self.stdout.write("")
        if no_serve:
            return
        jobs = start_jobs()
        if jobs is not None:
            self.stdout.write(
                f"Background jobs (deadline sweep every {settings.LINLI_SWEEP_MINUTES} min, notifications, "
                f"nightly roll-up and training) run in-process: {jobs.workers} worker threads, queue "
                f"{settings.HUEY.get('filename', settings.HUEY['huey_class'])}."
            )
        self.stdout.write("Press Ctrl-C to stop.")
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        finally:
            if jobs is not None:
                jobs.stop(graceful=True)

    def _ensure_cases(self, street: Area) -> None:
        """Work orders once: handling units and routing for the street, a history of cases (most closed,
        some open, a few overdue), the demo accounts in their units, and the KPI roll-up."""
        from linli.cases import rollup
        from linli.cases.models import WorkOrder
        from linli.core.generate.cases import generate_cases

        if not WorkOrder.objects.filter(street=street).exists():
            self.stdout.write("Generating work-order history for the demo street…")
            summary = generate_cases("tiny", stream=self.stderr._out)
            start = WorkOrder.objects.order_by("submitted_at").values_list("submitted_at", flat=True).first()
            if start is not None:
                rollup.rebuild_range(timezone.localdate(start), timezone.localdate())
            self.stdout.write(f"  {summary.cases:,} cases ({summary.open:,} open) in {summary.seconds:.1f} s")
        join_demo_units(street)
        live = open_demo_cases(street)
        if live:
            self.stdout.write(f"  {live} cases happening now (new, being handled, due soon, overdue)")


class InProcessConsumer(Consumer):
    """Huey's consumer, run beside runserver. Consumer.start() installs SIGINT/SIGTERM/SIGHUP handlers
    for the process it runs in; here that process is runserver's, whose Ctrl-C must keep working, so
    this consumer installs none and is stopped by the demo command instead."""

    def _set_signal_handlers(self):
        pass


def start_jobs() -> Consumer | None:
    """Start Huey's scheduler and worker threads in this process (the demo's one-process setup)."""
    from huey.contrib.djhuey import HUEY

    if HUEY.immediate:
        return None
    autodiscover_modules("tasks")  # as run_huey does: registers linli/*/tasks.py
    logging.getLogger("huey").setLevel(logging.WARNING)  # keep runserver's console readable
    options = cast(dict, settings.HUEY.get("consumer", {}))
    consumer = InProcessConsumer(
        HUEY,
        workers=options.get("workers", 2),
        worker_type="thread",
        flush_locks=True,  # a lock left by a demo killed mid-sweep
        shutdown_timeout=5,
    )
    consumer.start()
    return consumer
