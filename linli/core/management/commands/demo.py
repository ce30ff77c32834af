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
from linli.core.generate.care_profiles import ensure_demo_care_profiles
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
        parser.add_argument("--no-simulator", action="store_true", help="do not simulate device traffic")
        parser.add_argument("--sos-every", type=float, default=180.0, help="mean seconds between simulated alarms")

    def handle(self, *args, port, host, no_serve, scale, no_simulator=False, sos_every=180.0, **options):
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
        self._ensure_iot(street)
        self._ensure_dispatch_history(street)
        ensure_demo_care_profiles(street)
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
        sim_stop = None if no_simulator else self._start_simulator(host, port, sos_every)
        self.stdout.write("Press Ctrl-C to stop.")
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        finally:
            if sim_stop is not None:
                sim_stop.set()
            if jobs is not None:
                jobs.stop(graceful=True)

    def _ensure_iot(self, street: Area) -> None:
        """Devices in the homes of elderly residents living alone, the dispatch crews, roster and rescuers."""
        from linli.core.generate.devices import ensure_demo_iot

        iot = ensure_demo_iot(street)
        kinds = ", ".join(f"{n} {kind}" for kind, n in iot.by_kind.items())
        self.stdout.write(f"  {iot.devices:,} devices ({kinds}); {iot.rescuers} rescuers in {iot.crews} crews")
        if iot.on_duty:
            self.stdout.write(f"  on duty now: {iot.on_duty} — dispatcher, shift_lead and rescuer are on it")

    def _ensure_dispatch_history(self, street: Area) -> None:
        """The roster from four weeks back to next week, a lead per crew, and (once) four weeks of incidents."""
        from linli.core.generate.dispatch_history import ensure_dispatch_history

        history = ensure_dispatch_history(street)
        if history.alarms:
            self.stdout.write(
                f"  dispatch history: {history.alarms:,} life-safety alarms, {history.incidents:,} incidents "
                f"({history.false_alarms} false alarms or tests), {history.offline} devices offline for a while"
            )

    def _start_simulator(self, host: str, port: int, sos_every: float):
        """Simulated devices post to this server's device API once it answers; the first SOS ~25 s later."""
        from linli.iot.simulator import QuietDeviceApi, start_in_thread

        logging.getLogger("django.channels.server").addFilter(QuietDeviceApi())

        base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"  # noqa: S104 - loopback
        _thread, stop = start_in_thread(base, alarm_every=sos_every, first_alarm_after=25.0)
        self.stdout.write(
            f"Device simulator: posting to {base}/api/v1/devices/…; first SOS about 25 s after start, then a "
            f"life-safety alarm every ~{sos_every:g} s (--sos-every; --no-simulator to switch it off)."
        )
        return stop

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
