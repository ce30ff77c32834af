"""The simulator's life-safety alarms come about every `alarm_every` seconds, and never much later: a demo walker
waiting for the next SOS waits at most 5/3 of the mean (300 s at the default 180 s), not a quarter of an hour."""

from __future__ import annotations

import math
import statistics

import pytest

from linli.iot.simulator import SimDevice, Simulator

START = 1_800_000_000.0


def _fleet() -> list[SimDevice]:
    return [
        SimDevice(code=f"{k[:3].upper()}-{i}", kind=k) for i in range(3) for k in ("call_button", "bracelet", "smoke")
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_alarm_gaps_are_capped_and_keep_their_mean(seed):
    sim = Simulator(_fleet(), alarm_every=180, seed=seed, start=START)
    gaps = [sim.alarm_gap() for _ in range(4000)]
    assert min(gaps) >= 90 and max(gaps) <= 300
    assert abs(statistics.fmean(gaps) - 180) < 6  # the mean stays where the operator set it
    assert max(gaps) > 270 and min(gaps) < 110  # still irregular, not a metronome


def test_the_cap_follows_another_mean_and_zero_means_no_alarms():
    sim = Simulator(_fleet(), alarm_every=60, seed=9, start=START)
    gaps = [sim.alarm_gap() for _ in range(2000)]
    assert 30 <= min(gaps) and max(gaps) <= 100 and abs(statistics.fmean(gaps) - 60) < 3
    assert Simulator(_fleet(), alarm_every=0, seed=9, start=START).alarm_gap() == math.inf


def test_driven_for_two_hours_no_alarm_waits_longer_than_300_s():
    sim = Simulator(_fleet(), rate=0, alarm_every=180, first_alarm_after=25, offline_every=0, seed=17, start=START)
    times, now = [], START
    while now < START + 2 * 3600:
        now += 5
        times += [now for m in sim.tick(now, 5.0) if m.channel == "events"]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert times[0] - START <= 30 and len(gaps) >= 30
    assert max(gaps) <= 300 + 5  # one tick of slack
    assert 150 <= statistics.fmean(gaps) <= 210
