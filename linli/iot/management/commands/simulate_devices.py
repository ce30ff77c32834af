"""manage.py simulate_devices: drive realistic device traffic for the devices in the database."""

from __future__ import annotations

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from linli.iot import simulator


class Command(BaseCommand):
    help = (
        "Simulate the registered devices: heartbeats, telemetry, occasional SOS, falls, smoke and gas, devices "
        "dropping offline. Issues fresh device secrets (kept in memory), so use it only on demo and test data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--transport", choices=["http", "mqtt"], default="http")
        parser.add_argument("--url", default="", help="http://host:port of Linli, or mqtt://[user:pass@]host:port")
        parser.add_argument("--devices", type=int, default=0, help="simulate at most N devices (0: all active)")
        parser.add_argument("--rate", type=float, default=2.0, help="telemetry messages per second, all devices")
        parser.add_argument("--duration", type=float, default=0, help="seconds to run (0: until Ctrl-C)")
        parser.add_argument("--sos-every", type=float, default=180.0, help="mean seconds between life-safety alarms")
        parser.add_argument("--first-sos", type=float, default=25.0, help="seconds until the first SOS")
        parser.add_argument("--offline-every", type=float, default=300.0, help="mean seconds between dropouts")
        parser.add_argument("--heartbeat", type=float, default=240.0, help="seconds between a device's status messages")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="run even though LINLI_MODE=production (it replaces the simulated devices' secrets)",
        )

    def handle(
        self,
        *args,
        transport,
        url,
        devices,
        rate,
        duration,
        sos_every,
        first_sos,
        offline_every,
        heartbeat,
        seed,
        allow_production,
        **options,
    ):
        if settings.MODE == "production" and not allow_production:
            raise CommandError(
                "simulate_devices replaces device secrets; refusing in production without --allow-production."
            )
        if rate < 0 or sos_every <= 0 or heartbeat <= 0 or duration < 0 or devices < 0:
            raise CommandError("--rate, --devices and --duration must not be negative; --sos-every must be positive.")
        url = url or (
            (settings.MQTT_URL or "mqtt://127.0.0.1:1883") if transport == "mqtt" else "http://127.0.0.1:8000"
        )
        if transport == "http" and not url.startswith(("http://", "https://")):
            raise CommandError("--url for HTTP is http://host:port")
        if transport == "mqtt" and not url.startswith("mqtt://"):
            raise CommandError("--url for MQTT is mqtt://[user:password@]host:port")
        sims = simulator.prepare_devices(limit=devices or None, issue=transport == "http", seed=seed)
        if not sims:
            raise CommandError("No active devices in the database. Run `manage.py demo --no-serve` first.")
        logging.getLogger("linli.simulator").setLevel(logging.INFO)
        sim = simulator.Simulator(
            sims,
            rate=rate,
            alarm_every=sos_every,
            first_alarm_after=first_sos,
            offline_every=offline_every,
            heartbeat=heartbeat,
            seed=seed,
        )
        try:
            channel = (
                simulator.HttpTransport(url, simulator.secrets_of(sims))
                if transport == "http"
                else simulator.MqttTransport(url)
            )
        except OSError as exc:
            raise CommandError(f"Cannot connect to {url}: {exc}") from None
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_a: stop.set())
        self.stdout.write(
            f"Simulating {len(sims)} devices over {transport} to {url}: {rate:g} telemetry msg/s, first SOS in "
            f"{first_sos:g} s, then a life-safety alarm every ~{sos_every:g} s. Ctrl-C stops."
        )

        def show(msg, ok):
            if msg.channel == "events":
                self.stdout.write(f"  {msg.payload['event']:6} from {msg.device}{'' if ok else '  (refused)'}")

        try:
            stats = simulator.run(sim, channel, duration=duration or None, stop=stop, on_message=show)
        except KeyboardInterrupt:
            stop.set()
            self.stdout.write("Stopped.")
            return
        self.stdout.write(
            f"Sent {stats.sent} messages ({stats.failed} refused or failed): "
            + ", ".join(f"{k} {v}" for k, v in sorted(stats.by_channel.items()))
        )
