"""A one-line progress display on stderr: counts, rate and ETA (no dependency)."""

from __future__ import annotations

import sys
import time


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Progress:
    def __init__(self, total: int, unit: str, stream=None, label: str = ""):
        self.total, self.unit, self.label = total, unit, label
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.start = time.monotonic()
        self.last_draw = 0.0

    def advance(self, n: int, note: str = "") -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last_draw >= 0.2 or self.done >= self.total:
            self.last_draw = now
            self.draw(note)

    def line(self, note: str = "") -> str:
        elapsed = max(time.monotonic() - self.start, 1e-6)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0
        pct = 100 * self.done / self.total if self.total else 100
        width = 24
        filled = int(width * pct / 100)
        bar = "#" * filled + "-" * (width - filled)
        return (
            f"{self.label}[{bar}] {pct:5.1f}% {self.done:,}/{self.total:,} {self.unit} "
            f"{rate:,.0f}/s elapsed {_duration(elapsed)} ETA {_duration(left)} {note}"
        )

    def draw(self, note: str = "") -> None:
        self.stream.write("\r" + self.line(note)[:160].ljust(100))
        self.stream.flush()

    def finish(self) -> None:
        self.draw()
        self.stream.write("\n")
        self.stream.flush()
