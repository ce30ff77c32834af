"""manage.py check_devices: run the device check once (offline, inactivity, meter idle, partitions)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from linli.iot.tasks import check_devices


class Command(BaseCommand):
    help = "Raise offline, inactivity and meter-idle alarms now; create telemetry partitions ahead."

    def handle(self, *args, **opts):
        self.stdout.write(f"check_devices: {check_devices()}")
