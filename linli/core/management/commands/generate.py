"""manage.py generate --scale demo|street|district|city [--seed N] [--workers N] [--district CODE]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from linli.core.generate.plan import SCALES
from linli.core.generate.run import GenerateError, generate


class Command(BaseCommand):
    help = (
        "Generate synthetic Tianjin registry data: demo (one street, 13 grids, ~3,000 households), street "
        "(~75 grids), district (one district) or city (16 districts, 281 streets, 5,846 communities, 21,066 "
        "grids, ~4.7 M households). Refuses to write into areas that already exist."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", default="demo", help="demo | street | district | city")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--workers", type=int, default=1, help="processes building rows in parallel")
        parser.add_argument(
            "--district", default=None, help="GB/T 2260 district code for demo/street/district scales (e.g. 120104)"
        )

    def handle(self, *args, scale, seed, workers, district, **options):
        if scale not in SCALES:
            raise CommandError(f"Unknown scale {scale!r}: choose demo, street, district or city.")
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        try:
            summary = generate(scale, seed=seed, workers=workers, district=district, stream=self.stderr._out)
        except GenerateError as exc:
            raise CommandError(str(exc)) from None
        c = summary.counts
        self.stdout.write(
            f"Generated {scale} (seed {seed}): {c.get('area', 0):,} areas, {c.get('building', 0):,} buildings, "
            f"{c.get('house', 0):,} houses, {c.get('household', 0):,} households, {c.get('resident', 0):,} residents, "
            f"{summary.rows:,} rows in {summary.seconds:.1f} s ({summary.rows_per_second:,.0f} rows/s; "
            f"{summary.mode})."
        )
