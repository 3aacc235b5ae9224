"""Statistics behind recurring Wi-Fi drops: time-of-day clusters, weekly slots, fixed intervals.

Pure functions over plain numbers so they can be tested without a capture.
Times of day are minutes on a circle (23:58 and 00:03 are five minutes apart);
weekly slots use the same arithmetic on a 7-day circle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

DAY_MINUTES = 1440
WEEK_MINUTES = 7 * DAY_MINUTES


def circular_distance(a: float, b: float, period: float = DAY_MINUTES) -> float:
    d = abs(a - b) % period
    return min(d, period - d)


def circular_mean(values: Sequence[float], period: float = DAY_MINUTES) -> float:
    x = sum(math.cos(2 * math.pi * v / period) for v in values)
    y = sum(math.sin(2 * math.pi * v / period) for v in values)
    return (math.atan2(y, x) * period / (2 * math.pi)) % period


def binomial_tail(trials: int, successes: int, chance: float) -> float:
    """P(X >= successes) for X ~ Binomial(trials, chance): how easily chance alone lines drops up.

    Computed from log-probabilities (``lgamma``) and summed away from the mode
    until the terms stop mattering, so it neither overflows (``math.comb`` of a
    few thousand trials is beyond any float) nor loops over millions of trials.
    """
    if successes <= 0:
        return 1.0
    if successes > trials:
        return 0.0
    chance = min(max(chance, 0.0), 1.0) if chance == chance else 0.0
    if chance <= 0.0:
        return 0.0
    if chance >= 1.0:
        return 1.0
    mode = min(trials, int((trials + 1) * chance))
    if successes > mode:  # the upper tail: terms fall from ``successes`` on
        return min(1.0, _binomial_run(trials, successes, chance, upward=True))
    below = _binomial_run(trials, successes - 1, chance, upward=False)
    return min(1.0, max(0.0, 1.0 - below))


def _binomial_run(trials: int, start: int, chance: float, upward: bool) -> float:
    """Sum of P(X = i) from ``start`` away from the mode, stopping when terms no longer change the sum."""
    log_p, log_q = math.log(chance), math.log1p(-chance)
    log_term = (math.lgamma(trials + 1) - math.lgamma(start + 1) - math.lgamma(trials - start + 1)
                + start * log_p + (trials - start) * log_q)
    term = math.exp(log_term) if log_term > -745 else 0.0
    odds = chance / (1 - chance)
    total, i = 0.0, start
    while 0 <= i <= trials and term > 0.0:
        total += term
        if term <= total * 1e-17:
            break
        if upward:
            term *= (trials - i) / (i + 1) * odds
            i += 1
        else:
            term *= i / (trials - i + 1) / odds
            i -= 1
    return total


@dataclass
class Cluster:
    """Indexes of the values that fall within the window around ``centre``."""

    centre: float
    members: list[int]
    spread: float  # largest distance of a member from the centre, minutes


def best_cluster(values: Sequence[float], groups: Sequence[object], window: float,
                 period: float = DAY_MINUTES) -> Optional[Cluster]:
    """The window around some value that covers the most distinct groups (days or weeks), then the tightest."""
    best: Optional[tuple[int, float, Cluster]] = None
    for seed in values:
        near = [i for i, v in enumerate(values) if circular_distance(v, seed, period) <= window]
        centre = circular_mean([values[i] for i in near], period)
        members = [i for i, v in enumerate(values) if circular_distance(v, centre, period) <= window]
        if not members:
            continue
        spread = max(circular_distance(values[i], centre, period) for i in members)
        covered = len({groups[i] for i in members})
        if best is None or (covered, -spread) > (best[0], -best[1]):
            best = (covered, spread, Cluster(centre, members, spread))
    return best[2] if best else None


def cluster_chance(window: float, period: float, per_group: float, groups_observed: int, covered: int) -> float:
    """Chance that randomly timed drops cover this many groups in *some* window of this width."""
    slot = min(1.0, 2 * window / period)
    hit = 1 - (1 - slot) ** max(per_group, 0.0)
    windows_tried = max(1.0, period / max(2 * window, 1.0))
    return min(1.0, binomial_tail(groups_observed, covered, hit) * windows_tried)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * q
    low = int(math.floor(pos))
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


@dataclass
class Periodicity:
    interval_seconds: float
    regularity: float  # 0..1, RITA-style: skew, dispersion and coverage scores averaged
    mad_seconds: float


def periodicity(starts: Sequence[float]) -> Optional[Periodicity]:
    """Score how clock-like a series of start times is, in the spirit of RITA's beacon analysis.

    Three scores in 0..1 are averaged: symmetry of the gaps (Bowley skewness),
    their dispersion around the median (MAD relative to a tenth of the
    interval), and coverage (occurrences seen / occurrences the span implies).
    """
    times = sorted(t for t in starts if math.isfinite(t))
    if len(times) < 3:
        return None
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    median = quantile(gaps, 0.5)
    if median <= 0:
        return None
    q1, q3 = quantile(gaps, 0.25), quantile(gaps, 0.75)
    # Bowley skewness means nothing when the gaps hardly differ (a few seconds of jitter on hours)
    skew = (q3 + q1 - 2 * median) / (q3 - q1) if q3 - q1 > 0.02 * median else 0.0
    mad = quantile(sorted(abs(g - median) for g in gaps), 0.5)
    dispersion = max(0.0, 1 - mad / (0.1 * median))
    expected = (times[-1] - times[0]) / median + 1
    coverage = min(1.0, len(times) / expected) if expected > 0 else 0.0
    score = ((1 - min(abs(skew), 1.0)) + dispersion + coverage) / 3
    return Periodicity(median, round(score, 3), mad)
