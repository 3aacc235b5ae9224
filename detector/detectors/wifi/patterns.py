"""Recurrence search over outages: fixed-interval, daily and weekly patterns, their heat map and hint.

The statistics (circular clustering, binomial tails) are in ``recurrence``;
this module decides what counts as a pattern, merges overlapping ones and says
what the evidence suggests (the ``hint`` of a finding).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Optional

from detector.detectors.wifi.events import Drop, LocalClock, ObservedDays, Outage, Pattern, duration_text, iso_week
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


HINT_MAX_CHARS = 500
MAX_CHANNEL_24GHZ = 14  # 802.11 channels 1-14 are the 2.4 GHz band
REASON_HINTS = {
    23: "reason 23 (802.1X authentication failed): the RADIUS/NPS server or its certificate fails at that time",
    15: "reason 15 (4-way handshake timeout): key exchange fails, e.g. an overloaded AP or a rekey job",
    4: "reason 4 (inactivity): idle timeout, often power saving or an AP session timer",
    2: "reason 2 (previous authentication no longer valid): a session or reauthentication timeout",
}


def pattern_hint(pattern: Pattern, drops: list[Drop], minute: float, settings: Settings) -> str:
    """Leads for the pattern, most specific first, joined by "; "."""
    hints = []
    reasons = Counter(d.reason for d in drops if d.reason)
    if reasons:
        top, count = reasons.most_common(1)[0]
        if top in REASON_HINTS and count * 2 >= sum(reasons.values()):
            hints.append(REASON_HINTS[top])
    hints += _timing_hints(pattern, minute, settings)
    if any(d.gap_seconds is not None for d in drops):
        hints.append("the AP stopped beaconing: it rebooted or lost power (check uptime, PoE switch schedule)")
    elif any(d.ap_initiated for d in drops):
        hints.append("the AP itself shut down or restarted before the stations dropped")
    channels = {d.channel for d in drops if d.channel}
    lunchtime = settings.wifi_hint_lunch_from_minute <= minute <= settings.wifi_hint_lunch_to_minute
    if lunchtime and channels and all(c <= MAX_CHANNEL_24GHZ for c in channels):
        hints.append("lunchtime on 2.4 GHz: interference, e.g. a microwave oven near the AP")
    if any(d.inferred == "dhcp" for d in drops):
        hints.append("clients re-requested DHCP together: check the DHCP server and the uplink at that time")
    stations = {d.station for d in drops if d.station}
    if len(stations) == 1:
        hints.append("only one station affected: its driver, power saving or location")
    elif len(stations) >= settings.wifi_site_outage_stations:
        aps = {d.ap for d in drops if d.ap}
        hints.append("all stations on one AP" if len(aps) <= 1 else f"stations on {len(aps)} APs at once")
    return "; ".join(hints)[:HINT_MAX_CHARS]


def _timing_hints(pattern: Pattern, minute: float, settings: Settings) -> list[str]:
    hints = []
    if pattern.kind == "interval":
        hints.append(f"every {duration_text(pattern.interval_seconds)} like clockwork: a timer such as "
                     "group rekey, session timeout or a watchdog reboot")
    elif min(minute % 60, 60 - minute % 60) <= settings.wifi_hint_on_hour_minutes and \
            pattern.spread <= settings.wifi_hint_on_hour_max_spread_minutes:
        hints.append("starts on the hour: a scheduled job (AP or controller reboot, firmware/config push, "
                     "DHCP or RADIUS maintenance task)")
    if pattern.kind == "weekly":
        hints.append("same weekday each week: a weekly maintenance window or backup")
    return hints


LABEL_MAX_CHARS = 60


def pattern_heatmap(drops: list[Drop], all_drops: list[Drop], pattern: Pattern, days: ObservedDays,
                    clock: LocalClock, settings: Settings) -> dict[str, Any]:
    """Hour x date counts of every drop on the pattern's main AP (or its stations), window marked."""
    aps = Counter(d.ap for d in drops if d.ap)
    if aps:
        label = aps.most_common(1)[0][0]
        chosen = [d for d in all_drops if d.ap == label]
    else:
        stations = {d.station for d in drops}
        label = ", ".join(sorted(stations))[:LABEL_MAX_CHARS]
        chosen = [d for d in all_drops if d.station in stations]
    dates = [d.isoformat() for d in days.latest(settings.wifi_heatmap_max_dates)]
    position = {day: i for i, day in enumerate(dates)}
    counts: Counter = Counter()
    for drop in chosen:
        local = clock.local(drop.ts)
        row = position.get(local.date().isoformat())
        if row is not None:
            counts[(row, local.hour)] += 1
    heatmap: dict[str, Any] = {"ap": label, "dates": dates,
                               "cells": [[row, hour, n] for (row, hour), n in sorted(counts.items())]}
    if pattern.kind != "interval":
        half = max(pattern.spread, settings.wifi_heatmap_min_half_window_minutes)
        minute = pattern.centre % DAY_MINUTES
        heatmap["window"] = [int(minute - half) % DAY_MINUTES, int(minute + half + 1) % DAY_MINUTES]
    return heatmap
