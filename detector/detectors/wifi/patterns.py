"""Which outages recur: fixed-interval, daily (time of day) and weekly patterns, merged across stations."""

from __future__ import annotations

from typing import Optional

from detector.detectors.wifi.clock import LocalClock, ObservedDays, iso_week
from detector.detectors.wifi.events import Outage, Pattern
from detector.detectors.wifi.recurrence import (
    DAY_MINUTES,
    WEEK_MINUTES,
    Cluster,
    best_cluster,
    circular_distance,
    cluster_chance,
    periodicity,
)
from detector.policy.settings import Settings


class PatternSearch:
    """Searches outages for schedules, judged against the dates the scan observed."""

    def __init__(self, settings: Settings, clock: LocalClock, days: ObservedDays):
        self.settings = settings
        self.clock = clock
        self.days = days

    def find(self, outages: list[Outage]) -> list[Pattern]:
        """Shared outages are searched together; each station's lone drops on their own; matches merged."""
        pools: list[list[Outage]] = [[o for o in outages if o.wide]]
        by_station: dict[str, list[Outage]] = {}
        for outage in outages:
            if not outage.wide and outage.stations:
                by_station.setdefault(min(outage.stations), []).append(outage)
        pools += list(by_station.values())
        found: list[Pattern] = []
        for pool in pools:
            found += self._pool_patterns(pool)
        return merge_patterns(found, self.settings)

    def _pool_patterns(self, pool: list[Outage]) -> list[Pattern]:
        patterns = []
        interval = self._interval_pattern(pool)
        if interval is not None:
            patterns.append(interval)
            pool = _without(pool, interval.outages)
        while pool:
            pattern = self._calendar_pattern(pool)
            if pattern is None:
                break
            patterns.append(pattern)
            pool = _without(pool, pattern.outages)
        return patterns

    def _interval_pattern(self, pool: list[Outage]) -> Optional[Pattern]:
        s = self.settings
        if len(pool) < s.wifi_interval_min_occurrences:
            return None
        result = periodicity([o.start for o in pool])
        if result is None or result.regularity < s.wifi_interval_min_score:
            return None
        if not s.wifi_interval_min_seconds <= result.interval_seconds <= s.wifi_interval_max_seconds:
            return None  # daily and longer rhythms are calendar patterns
        return Pattern("interval", list(pool), self.clock.minute(pool[0].start), result.mad_seconds / 60,
                       result.interval_seconds, result.regularity)

    def _calendar_pattern(self, pool: list[Outage]) -> Optional[Pattern]:
        daily = self._daily_pattern(pool)
        if daily is not None:
            return self._as_weekly(daily) or daily
        return self._weekly_pattern(pool)

    def _daily_pattern(self, pool: list[Outage]) -> Optional[Pattern]:
        s = self.settings
        values = [self.clock.minute(o.start) for o in pool]
        dates = [self.clock.date(o.start) for o in pool]
        cluster = best_cluster(values, dates, s.wifi_window_minutes)
        if cluster is None:
            return None
        covered = len({dates[i] for i in cluster.members})
        observed = max(len(self.days), covered)
        per_day = len({(d, round(v)) for d, v in zip(dates, values)}) / observed
        if covered < s.wifi_min_days or cluster_chance(
                s.wifi_window_minutes, DAY_MINUTES, per_day, observed, covered) > s.wifi_pattern_max_p:
            return None
        return _pattern("daily", pool, cluster)

    def _weekly_pattern(self, pool: list[Outage]) -> Optional[Pattern]:
        s = self.settings
        weeks_observed = self.days.weeks()
        if weeks_observed < s.wifi_weekly_min_weeks:
            return None
        values = [self.clock.week_minute(o.start) for o in pool]
        weeks = [iso_week(self.clock.date(o.start)) for o in pool]
        cluster = best_cluster(values, weeks, s.wifi_window_minutes, WEEK_MINUTES)
        if cluster is None:
            return None
        covered = len({weeks[i] for i in cluster.members})
        if covered < s.wifi_weekly_min_weeks or cluster_chance(
                s.wifi_window_minutes, WEEK_MINUTES, len(pool) / weeks_observed, weeks_observed,
                covered) > s.wifi_pattern_max_p:
            return None
        return _pattern("weekly", pool, cluster)

    def _as_weekly(self, daily: Pattern) -> Optional[Pattern]:
        """A 'daily' cluster whose days are all one weekday, across weeks, is really weekly."""
        s = self.settings
        days = {self.clock.date(o.start) for o in daily.outages}
        weekdays = {d.weekday() for d in days}
        weeks = {iso_week(d) for d in days}
        if len(weekdays) != 1 or len(weeks) < s.wifi_weekly_min_weeks or \
                len(self.days) < s.wifi_weekly_min_days_observed:
            return None
        weekday = next(iter(weekdays))
        return Pattern("weekly", daily.outages, weekday * DAY_MINUTES + daily.centre, daily.spread)


def _without(pool: list[Outage], taken: list[Outage]) -> list[Outage]:
    """The pool minus the outages a pattern took (by identity: linear, not a list scan per outage)."""
    ids = {id(o) for o in taken}
    return [o for o in pool if id(o) not in ids]


def _pattern(kind: str, pool: list[Outage], cluster: Cluster) -> Pattern:
    return Pattern(kind, [pool[i] for i in cluster.members], cluster.centre, cluster.spread)


def merge_patterns(patterns: list[Pattern], settings: Settings) -> list[Pattern]:
    """The same schedule found for several stations is one pattern."""
    window = settings.wifi_window_minutes
    tolerance = settings.wifi_interval_merge_tolerance
    merged: list[Pattern] = []
    for pattern in sorted(patterns, key=lambda p: -len(p.outages)):
        period = WEEK_MINUTES if pattern.kind == "weekly" else DAY_MINUTES
        for other in merged:
            same_interval = pattern.kind != "interval" or abs(
                pattern.interval_seconds - other.interval_seconds) <= tolerance * other.interval_seconds
            if other.kind == pattern.kind and same_interval and \
                    circular_distance(other.centre, pattern.centre, period) <= window:
                other.outages = sorted(other.outages + pattern.outages, key=lambda o: o.start)
                other.spread = max(other.spread, pattern.spread)
                break
        else:
            merged.append(pattern)
    return merged
