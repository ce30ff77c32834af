"""manage.py generate_cases --scale tiny|district|city [--district CODE] [--seed N] [--per-grid N]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from linli.core.generate.cases import SCALES, CasesError, generate_cases


class Command(BaseCommand):
    help = (
        "Generate synthetic work-order history over the grids already generated (run `manage.py generate` "
        "first): tiny (100 cases a grid), district (one district, ≈ 814 cases a grid: ≈ 1.3 M for 120104) or "
        "city (every district without cases: the seeds' 17.15 M cases over 21,066 grids). Never adds to a "
        "district that already has cases."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", default="district", help="tiny | district | city")
        parser.add_argument("--district", default=None, help="district code for --scale district (default 120104)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--per-grid", type=float, default=None, help="cases per grid (default by scale)")

    def handle(self, *args, scale, district, seed, per_grid, **options):
        if scale not in SCALES:
            raise CommandError(f"Unknown scale {scale!r}: choose tiny, district or city.")
        if per_grid is not None and per_grid <= 0:
            raise CommandError("--per-grid must be positive.")
        try:
            s = generate_cases(scale, seed=seed, district=district, per_grid=per_grid, stream=self.stderr._out)
        except CasesError as exc:
            raise CommandError(str(exc)) from None
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in s.phases.items())
        statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(s.by_status.items()))
        self.stdout.write(
            f"Generated {s.cases:,} cases over {s.grids:,} grids ({', '.join(s.districts) or 'all grids'}), "
            f"{s.events:,} timeline events, {s.units:,} handling units and {s.rules:,} routing rules created, in "
            f"{s.seconds:.1f} s ({s.rows_per_second:,.0f} cases/s while loading; {s.mode}).\n"
            f"Phases: {phases}.\nBy status: {statuses}; open {s.open:,}."
        )
