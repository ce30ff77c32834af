"""manage.py mqtt_ingest: consume device messages from the MQTT broker (linli/iot/mqtt.py, docs/devices.md)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from linli.iot.mqtt import Consumer


class Command(BaseCommand):
    help = "Consume device messages from the MQTT broker (MQTT_URL) into Linli: telemetry, events, status."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=None, help="Broker URL (default: MQTT_URL).")
        parser.add_argument("--client-id", default=None, help="MQTT client id (default: LINLI_MQTT_CLIENT_ID).")
        parser.add_argument("--batch", type=int, default=None, help="Messages per batch (default: LINLI_INGEST_BATCH).")
        parser.add_argument("--seconds", type=float, default=None, help="Stop after this many seconds (tests).")

    def handle(self, *args, url=None, client_id=None, batch=None, seconds=None, **opts):
        import signal

        url = url or settings.MQTT_URL
        if not url:
            raise CommandError("Set MQTT_URL (mqtt://user:password@host:1883) or pass --url.")
        try:
            consumer = Consumer(url, client_id=client_id, batch_size=batch)
        except ValueError as e:
            raise CommandError(str(e)) from None
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: consumer.stop())
        self.stdout.write(f"mqtt_ingest: consuming {url.split('@')[-1]} as {consumer.client_id}")
        self.stdout.flush()
        stats = consumer.run(max_seconds=seconds)
        self.stdout.write(f"mqtt_ingest: stopped; {stats}")
