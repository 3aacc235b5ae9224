"""Hostile numbers in the Wi-Fi detector: huge trial counts, absurd timestamps (issue 13)."""

from __future__ import annotations

import json
import math
import random
import time
from datetime import timedelta, timezone
from fractions import Fraction

import pytest

from detector.detectors.base import DetectorContext
from detector.detectors.wifi import WifiDropDetector
from detector.detectors.wifi.events import LocalClock, ObservedDays
from detector.detectors.wifi.recurrence import (
    DAY_MINUTES,
    EXACT_CLUSTER_MAX,
    WEEK_MINUTES,
    _best_cluster_direct,
    best_cluster,
    binomial_tail,
    cluster_chance,
    periodicity,
)
from detector.observations import WifiBeaconGap, WifiConnect, WifiDisconnect
from detector.policy.catalog import load_catalog
from detector.policy.settings import Settings


def _exact_tail(trials: int, successes: int, chance: float) -> float:
    p = Fraction(chance)
    return float(sum(math.comb(trials, i) * p ** i * (1 - p) ** (trials - i) for i in range(successes, trials + 1)))


@pytest.mark.parametrize("trials,successes,chance", [
    (10, 3, 0.1), (30, 12, 0.25), (60, 5, 0.02), (100, 99, 0.5), (7, 7, 0.999), (50, 1, 1e-9), (40, 20, 0.5),
])
def test_binomial_tail_matches_exact_arithmetic(trials, successes, chance):
    assert binomial_tail(trials, successes, chance) == pytest.approx(_exact_tail(trials, successes, chance),
                                                                      rel=1e-9, abs=1e-300)


def test_binomial_tail_does_not_overflow_on_thousands_of_trials():
    """math.comb(2000, 1000) times a float raised OverflowError; the tail is a plain probability."""
    assert binomial_tail(2000, 1000, 0.5) == pytest.approx(
        float(Fraction(1, 2) + Fraction(math.comb(2000, 1000), 2 ** 2001)), rel=1e-9)
    assert binomial_tail(5000, 4000, 0.3) < 1e-300
    assert binomial_tail(5000, 10, 0.3) == pytest.approx(1.0)
    assert binomial_tail(10, 11, 0.5) == 0.0 and binomial_tail(10, 0, 0.5) == 1.0
    assert binomial_tail(10, 3, float("nan")) == 0.0 and binomial_tail(10, 3, 2.0) == 1.0


def test_binomial_tail_is_fast_for_millions_of_trials():
    started = time.perf_counter()
    assert 0.0 <= binomial_tail(3_000_000, 3, 1e-6) <= 1.0
    assert 0.0 <= binomial_tail(10_000_000, 1_000_000, 0.1) <= 1.0
    assert cluster_chance(15, 1440, 0.01, 3_000_000, 4) <= 1.0
    assert time.perf_counter() - started < 1.0


def test_periodicity_ignores_non_finite_times():
    result = periodicity([0.0, 600.0, 1200.0, 1800.0, float("inf"), float("nan")])
    assert result is not None and result.interval_seconds == 600.0


def test_observed_days_is_a_range_not_a_list():
    clock = LocalClock(0)
    days = ObservedDays.spanning([1.0, 253_000_000_000.0], clock)
    assert len(days) > 2_900_000 and days.weeks() > 400_000
    assert len(days.latest(62)) == 62 and days.latest(62)[-1] == days.last
    week = ObservedDays.spanning([1_700_000_000.0 + d * 86400 for d in range(15)], clock)  # Tue 14 .. Tue 28 Nov
    assert len(week) == 15 and week.weeks() == 3


def _detector() -> WifiDropDetector:
    return WifiDropDetector(DetectorContext(Settings(), load_catalog(), zone=timezone(timedelta(hours=-14))))


@pytest.mark.parametrize("bad", [1e300, -1e300, float("nan"), float("inf"), 253_402_300_800.0, 2 ** 62])
def test_absurd_timestamps_are_unknown_times_not_crashes(bad):
    detector = _detector()
    base = 1_700_000_000.0
    for day in range(4):
        for n in range(3):
            detector.observe(WifiDisconnect(base + day * 86400 + n, "f", f"aa:bb:cc:00:00:0{n}", "10:20:30:40:50:60",
                                            4, direction="ap-to-sta"))
    detector.observe(WifiDisconnect(bad, "f", "aa:bb:cc:00:00:09", "10:20:30:40:50:60", 4, direction="ap-to-sta"))
    detector.observe(WifiConnect(bad, "f", "aa:bb:cc:00:00:09", "10:20:30:40:50:61"))
    detector.observe(WifiBeaconGap(bad, "f", "10:20:30:40:50:60", 60.0))
    for _ in range(60):  # a flood whose frames carry the absurd time
        detector.observe(WifiDisconnect(bad, "f", "ff:ff:ff:ff:ff:ff", "10:20:30:40:50:62", 7, direction="broadcast"))
    findings = detector.finish()
    json.dumps([f.as_dict() for f in findings])
    assert {f.detector for f in findings} >= {"wifi.recurring", "wifi.deauth-flood"}
    assert all(e.ts == 0.0 for e in detector.disconnects if e.station.endswith(":09"))


def _random_minutes(rng: random.Random, n: int, period: float) -> list[float]:
    shape = rng.randrange(3)
    if shape == 0:
        return [rng.uniform(0, period) for _ in range(n)]
    if shape == 1:  # clusters, one across midnight
        return [rng.gauss(rng.choice([3.0, 720.0, period - 4.0]), 8.0) % period for _ in range(n)]
    return [float(rng.choice([600, 615, 630, 0, 14, period - 1])) for _ in range(n)]  # whole minutes, edge ties


def test_large_inputs_find_the_same_cluster_as_the_direct_search():
    rng = random.Random(11)
    for _ in range(15):
        n = rng.randint(EXACT_CLUSTER_MAX + 1, 400)
        period = rng.choice([DAY_MINUTES, WEEK_MINUTES])
        values = _random_minutes(rng, n, period)
        groups = [rng.randrange(max(1, n // 4)) for _ in range(n)]
        window = rng.choice([5.0, 15.0, 60.0, period])
        direct = _best_cluster_direct(values, groups, window, period)
        fast = best_cluster(values, groups, window, period)
        assert direct is not None and fast is not None
        assert (fast.members, fast.centre, fast.spread) == (direct.members, direct.centre, direct.spread)


def test_tens_of_thousands_of_outages_do_not_hang_the_search():
    """A hostile capture can hold one station's drop every few minutes for months: O(n^2) took minutes."""
    rng = random.Random(3)
    values = [rng.uniform(0, DAY_MINUTES) for _ in range(20_000)]
    started = time.perf_counter()
    cluster = best_cluster(values, [i // 3 for i in range(20_000)], 15.0)
    assert cluster is not None and cluster.members
    assert time.perf_counter() - started < 20.0  # the direct search needs several minutes here
