"""Statistics behind recurring Wi-Fi drops: time-of-day clusters, weekly slots, fixed intervals.

Pure functions over plain numbers so they can be tested without a capture.
Times of day are minutes on a circle (23:58 and 00:03 are five minutes apart);
weekly slots use the same arithmetic on a 7-day circle.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Optional, Sequence

DAY_MINUTES = 1440
WEEK_MINUTES = 7 * DAY_MINUTES


def circular_distance(a: float, b: float, period: float = DAY_MINUTES) -> float:
    d = abs(a - b) % period
    return min(d, period - d)


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


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class Cluster:
    """Indexes of the values that fall within the window around ``centre``."""

    centre: float
    members: list[int]
    spread: float  # largest distance of a member from the centre, minutes


FIXED_POINT = 2.0 ** 40  # cos/sin terms summed as integers: the sum is exact whatever the order


def _unit_vector(value: float, period: float) -> tuple[int, int]:
    angle = 2 * math.pi * value / period
    return round(math.cos(angle) * FIXED_POINT), round(math.sin(angle) * FIXED_POINT)


def _angle_centre(x: int, y: int, period: float) -> float:
    return (math.atan2(y / FIXED_POINT, x / FIXED_POINT) * period / (2 * math.pi)) % period


EDGE = 1e-6  # minutes: a value this close to a window edge is checked with circular_distance itself
EXACT_CLUSTER_MAX = 256  # up to this many values every seed is scanned directly (O(n^2)); beyond, sorted search


def best_cluster(values: Sequence[float], groups: Sequence[object], window: float,
                 period: float = DAY_MINUTES) -> Optional[Cluster]:
    """The window around some value that covers the most distinct groups (days or weeks), then the tightest.

    Every value is tried as a seed: the values near it give a centre (their
    circular mean), the values near that centre are the cluster. Large inputs
    (a hostile capture can hold tens of thousands of drops) use a sorted circle
    with prefix sums and an offline distinct count: O(n log n) instead of O(n^2).
    """
    if len(values) <= EXACT_CLUSTER_MAX:
        return _best_cluster_direct(values, groups, window, period)
    return _SortedCircle(values, groups, window, period).best_cluster()


def _best_cluster_direct(values: Sequence[float], groups: Sequence[object], window: float,
                         period: float) -> Optional[Cluster]:
    best: Optional[tuple[int, float, Cluster]] = None
    for seed in values:
        near = [i for i, v in enumerate(values) if circular_distance(v, seed, period) <= window]
        vectors = [_unit_vector(values[i], period) for i in near]
        centre = _angle_centre(sum(x for x, _ in vectors), sum(y for _, y in vectors), period)
        members = [i for i, v in enumerate(values) if circular_distance(v, centre, period) <= window]
        if not members:
            continue
        spread = max(circular_distance(values[i], centre, period) for i in members)
        covered = len({groups[i] for i in members})
        if best is None or (covered, -spread) > (best[0], -best[1]):
            best = (covered, spread, Cluster(centre, members, spread))
    return best[2] if best else None


class _SortedCircle:
    """The values sorted around the circle, laid out three times (-period, 0, +period) so windows never wrap."""

    def __init__(self, values: Sequence[float], groups: Sequence[object], window: float, period: float):
        self.values, self.window, self.period = values, window, period
        n = self.n = len(values)
        self.order = sorted(range(n), key=lambda i: values[i] % period)
        self.line = [values[self.order[j % n]] % period + (j // n - 1) * period for j in range(3 * n)]
        ids: dict[object, int] = {}
        self.group = [ids.setdefault(groups[self.order[j % n]], len(ids)) for j in range(3 * n)]
        self.cos_sum, self.sin_sum = [0], [0]
        vectors = [_unit_vector(values[i], period) for i in self.order]
        for j in range(3 * n):
            x, y = vectors[j % n]
            self.cos_sum.append(self.cos_sum[-1] + x)
            self.sin_sum.append(self.sin_sum[-1] + y)

    def _near(self, j: int, centre: float) -> bool:
        return circular_distance(self.values[self.order[j % self.n]], centre, self.period) <= self.window

    def _span(self, centre: float) -> tuple[int, int]:
        """[lo, hi) of the positions within the window of ``centre`` (the same test as the direct search)."""
        centre %= self.period
        low, high = centre - self.window, centre + self.window
        lo, hi = bisect.bisect_left(self.line, low), bisect.bisect_right(self.line, high)
        # the positions are exact up to rounding; only values at the very edge need the direct test
        line, end = self.line, 3 * self.n
        while lo > 0 and line[lo - 1] >= low - EDGE and self._near(lo - 1, centre):
            lo -= 1
        while lo < hi and line[lo] <= low + EDGE and not self._near(lo, centre):
            lo += 1
        while hi < end and line[hi] <= high + EDGE and self._near(hi, centre):
            hi += 1
        while hi > lo and line[hi - 1] >= high - EDGE and not self._near(hi - 1, centre):
            hi -= 1
        return lo, hi

    def _centre(self, lo: int, hi: int) -> float:
        return _angle_centre(self.cos_sum[hi] - self.cos_sum[lo], self.sin_sum[hi] - self.sin_sum[lo], self.period)

    def best_cluster(self) -> Optional[Cluster]:
        n = self.n
        if 2 * self.window >= self.period:  # every value is near every other: one cluster of everything
            return self._everything()
        candidates = []  # (lo, hi, centre) in seed order
        known: dict[float, tuple[int, int, float]] = {}  # equal seeds (whole-minute log times) give equal clusters
        for seed in range(n):
            value = self.values[seed]
            if value not in known:
                lo, hi = self._span(value)
                centre = self._centre(lo, hi)
                known[value] = (*self._span(centre), centre)
            lo, hi, centre = known[value]
            if hi > lo:
                candidates.append((lo, hi, centre))
        covered = self._distinct_groups([(lo, hi) for lo, hi, _ in candidates])
        best: Optional[tuple[int, float, int]] = None
        for k, (lo, hi, centre) in enumerate(candidates):
            spread = max(circular_distance(self.values[self.order[j % n]], centre, self.period) for j in (lo, hi - 1))
            if best is None or (covered[k], -spread) > (best[0], -best[1]):
                best = (covered[k], spread, k)
        if best is None:
            return None
        lo, hi, centre = candidates[best[2]]
        return Cluster(centre, sorted(self.order[j % n] for j in range(lo, hi)), best[1])

    def _everything(self) -> Cluster:
        members = list(range(self.n))
        vectors = [_unit_vector(v, self.period) for v in self.values]
        centre = _angle_centre(sum(x for x, _ in vectors), sum(y for _, y in vectors), self.period)
        return Cluster(centre, members, max(circular_distance(v, centre, self.period) for v in self.values))

    def _distinct_groups(self, spans: list[tuple[int, int]]) -> list[int]:
        """Distinct groups within each [lo, hi): offline, by right end, with a Fenwick tree of last occurrences."""
        size = 3 * self.n
        tree = [0] * (size + 1)

        def add(pos: int, delta: int) -> None:
            pos += 1
            while pos <= size:
                tree[pos] += delta
                pos += pos & -pos

        def prefix(pos: int) -> int:  # sum over [0, pos)
            total = 0
            while pos > 0:
                total += tree[pos]
                pos -= pos & -pos
            return total

        answers = [0] * len(spans)
        last: dict[int, int] = {}
        by_end = sorted(range(len(spans)), key=lambda k: spans[k][1])
        right = 0
        for k in by_end:
            lo, hi = spans[k]
            while right < hi:
                group = self.group[right]
                if group in last:
                    add(last[group], -1)
                add(right, 1)
                last[group] = right
                right += 1
            answers[k] = prefix(hi) - prefix(lo)
        return answers


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


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class Periodicity:
    """How regular a series of drops is, and at what interval."""

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
