"""manage.py make_roster --area CODE [--from YYYY-MM-DD] [--days N]"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from linli.dispatch import roster
from linli.places.models import Area


class Command(BaseCommand):
    help = (
        "Put the dispatch center's three-shift roster (三班三运转) on the calendar for an area: night 00–08, "
        "day 08–16, evening 16–24 (Asia/Shanghai), three crews rotating backwards every two days. Creates "
        "three crews if the area has none. Idempotent: shifts already there are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--area", required=True, help="area code of the center (usually a district)")
        parser.add_argument("--from", dest="start", default=None, help="first day, YYYY-MM-DD (default today)")
        parser.add_argument("--days", type=int, default=28)

    def handle(self, *args, area, start, days, **options):
        found = Area.objects.filter(code=area.strip()).first()
        if found is None:
            raise CommandError(f"No area with code {area!r}.")
        try:
            first = dt.date.fromisoformat(start) if start else timezone.localdate()
        except ValueError:
            raise CommandError("--from must be a date as YYYY-MM-DD.") from None
        try:
            result = roster.make_roster(found, first, days)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        crews = ", ".join(c.name for c in result.crews)
        self.stdout.write(
            f"{found.name}: {result.created} shifts created, {result.existing} already on the roster, "
            f"{first:%Y-%m-%d} + {days} days; crews {crews}."
        )
