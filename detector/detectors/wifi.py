"""Recurring Wi-Fi drops: the schedule behind "the Wi-Fi cuts out every day".

Every source (802.11 frames, beacon gaps, AP/controller/client logs, DHCP
bursts on the wire) is normalised to drops. Deauthentication floods become
their own attack finding, roaming is discarded, and lone station-initiated
leaves are dropped unless they cluster. Drops close in time form outages;
outages are then searched for fixed-interval, daily (time-of-day on the
24-hour circle) and weekly patterns. Each pattern says when, how often, how
long, who was hit and what the evidence suggests.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Optional

from ..model import (
    CATEGORY_WIFI,
    CATEGORY_WIFI_ATTACK,
    DhcpClientRequest,
    Evidence,
    Finding,
    GratuitousArp,
    Observation,
    WifiBeaconGap,
    WifiConnect,
    WifiDisconnect,
    iso,
)
from .base import Detector, DetectorContext, finding_id
from .wifi_recurrence import (
    DAY_MINUTES,
    WEEK_MINUTES,
    Cluster,
    best_cluster,
    circular_distance,
    cluster_chance,
    periodicity,
)

MAX_EVENTS = 200_000
MAX_LISTED = 200
MAX_HEAT_DATES = 62
MAX_OUTAGE_FINDINGS = 50
LEAVING_REASONS = frozenset({3, 8})  # "station is leaving" (deauth / disassoc)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
REASON_HINTS = {
    23: "reason 23 (802.1X authentication failed): the RADIUS/NPS server or its certificate fails at that time",
    15: "reason 15 (4-way handshake timeout): key exchange fails, e.g. an overloaded AP or a rekey job",
    4: "reason 4 (inactivity): idle timeout, often power saving or an AP session timer",
    2: "reason 2 (previous authentication no longer valid): a session or reauthentication timeout",
}


@dataclass
class Drop:
    """One normalised loss of Wi-Fi for a station (or, for a beacon gap, for a whole AP)."""

    ts: float
    station: str
    ap: str
    where: str
    source: str
    reason: int = 0
    ssid: str = ""
    channel: int = 0
    ap_initiated: bool = False
    leaving: bool = False  # the station said it was leaving
    gap_seconds: Optional[float] = None  # beacon gap: how long the AP was silent
    inferred: str = ""  # "dhcp" or "reassoc" for bursts that imply an outage


@dataclass
class Outage:
    start: float
    end: float
    drops: list[Drop] = field(default_factory=list)
    duration: float = 0.0

    @property
    def stations(self) -> set[str]:
        return {d.station for d in self.drops if d.station}

    @property
    def aps(self) -> set[str]:
        return {d.ap for d in self.drops if d.ap}

    @property
    def wide(self) -> bool:
        """More than one station lost the Wi-Fi together, or the AP itself went away."""
        return (len(self.stations) >= 2 or any(d.gap_seconds is not None or d.ap_initiated for d in self.drops)
                or any(d.inferred for d in self.drops))


@dataclass
class Pattern:
    kind: str  # "daily", "weekly", "interval"
    outages: list[Outage]
    centre: float  # minute of day (daily/interval) or of week (weekly)
    spread: float  # minutes
    interval_seconds: float = 0.0
    regularity: float = 0.0


def _ap_label(event: WifiDisconnect) -> str:
    if event.bssid:
        return event.bssid
    return f"ssid:{event.ssid}" if event.ssid else ""


class WifiDropDetector(Detector):
    name = "wifi"
    consumes = (WifiDisconnect, WifiConnect, WifiBeaconGap, DhcpClientRequest, GratuitousArp)

    def __init__(self, ctx: DetectorContext):
        super().__init__(ctx)
        self.disconnects: list[WifiDisconnect] = []
        self.connects: list[WifiConnect] = []
        self.gaps: list[WifiBeaconGap] = []
        self.dhcp: list = []  # DhcpClientRequest and GratuitousArp: hosts rejoining the LAN
        self.zone = ctx.zone or timezone.utc
        self.connect_index: dict[str, tuple[list[float], list[str]]] = {}
        self.all_drops: list[Drop] = []
        self.days: list[date] = []

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, WifiDisconnect):
            target: list = self.disconnects
        elif isinstance(obs, WifiConnect):
            target = self.connects
        elif isinstance(obs, WifiBeaconGap):
            target = self.gaps
        elif isinstance(obs, (DhcpClientRequest, GratuitousArp)):
            target = self.dhcp
        else:
            return
        if len(target) < MAX_EVENTS:
            target.append(obs)

    # ------------------------------------------------------------ analysis

    def finish(self) -> list[Finding]:
        self._index_connects()
        events = sorted(self.disconnects, key=lambda e: e.ts)
        floods, events = self._split_floods(events)
        findings = [self._flood_finding(bssid, frames) for bssid, frames in floods.items()]
        drops = self._drops(events)
        outages = self._outages(drops)
        outages += self._burst_outages(outages)
        outages.sort(key=lambda o: o.start)
        for outage in outages:
            outage.duration = self._duration(outage)
        self.all_drops = [d for o in outages for d in o.drops]
        self.days = self._observed_dates()
        patterns = self._patterns(outages)
        findings += [self._pattern_finding(p) for p in patterns]
        in_pattern = {id(o) for p in patterns for o in p.outages}
        lone = [o for o in outages if id(o) not in in_pattern and self._is_outage(o)]
        findings += [self._outage_finding(o) for o in lone[:MAX_OUTAGE_FINDINGS]]
        return findings

    def _index_connects(self) -> None:
        """Per station, sorted connect times and APs, so roaming and reconnect look-ups are bisections."""
        by_station: dict[str, list[tuple[float, str]]] = {}
        for connect in self.connects:
            if connect.ts > 0:
                by_station.setdefault(connect.station, []).append((connect.ts, connect.bssid or connect.ssid))
        for station, items in by_station.items():
            items.sort()
            self.connect_index[station] = ([t for t, _ in items], [a for _, a in items])

    def _split_floods(self, events: list[WifiDisconnect]) -> tuple[dict[str, list[WifiDisconnect]], list]:
        """Frames sent faster than any real AP would are an attack, not an outage."""
        s = self.ctx.settings
        by_bssid: dict[str, list[WifiDisconnect]] = {}
        for event in events:
            if event.origin == "802.11":
                by_bssid.setdefault(event.bssid, []).append(event)
        flooded: dict[str, list[WifiDisconnect]] = {}
        for bssid, frames in by_bssid.items():
            burst = self._densest_second(frames)
            if len(frames) >= s.wifi_flood_min_frames and burst >= s.wifi_flood_frames_per_second:
                flooded[bssid] = frames
        flood_ids = {id(e) for frames in flooded.values() for e in frames}
        return flooded, [e for e in events if id(e) not in flood_ids]

    @staticmethod
    def _densest_second(frames: list[WifiDisconnect]) -> int:
        best = start = 0
        for end, frame in enumerate(frames):
            while frame.ts - frames[start].ts > 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best

    def _drops(self, events: list[WifiDisconnect]) -> list[Drop]:
        """Timestamped, non-roaming disconnects plus beacon gaps, as Drops in time order."""
        drops = []
        for event in events:
            if event.ts <= 0 or self._is_roaming(event):
                continue
            leaving = event.subtype == "leave" or (event.direction == "sta-to-ap" and event.reason in LEAVING_REASONS)
            drops.append(Drop(event.ts, event.station, _ap_label(event), event.where, event.origin, event.reason,
                              event.ssid, event.channel, event.ap_initiated, leaving))
        s = self.ctx.settings
        for gap in self.gaps:
            needed = max(s.wifi_beacon_gap_min_seconds, s.wifi_beacon_gap_intervals * gap.interval_ms / 1000)
            if gap.ts > 0 and gap.gap_seconds >= needed:
                drops.append(Drop(gap.ts, "", gap.bssid, gap.where, "beacon-gap", ssid=gap.ssid,
                                  channel=gap.channel, gap_seconds=gap.gap_seconds))
        drops.sort(key=lambda d: d.ts)
        return drops

    def _is_roaming(self, event: WifiDisconnect) -> bool:
        """The station re-associated to another AP within seconds: a roam, not a drop."""
        index = self.connect_index.get(event.station)
        if index is None:
            return False
        times, aps = index
        here = _ap_label(event)
        if not here:
            return False  # without the old AP there is no telling a roam from a reconnect
        limit = event.ts + self.ctx.settings.wifi_roam_seconds
        for i in range(bisect.bisect_left(times, event.ts), len(times)):
            if times[i] > limit:
                break
            if aps[i] and aps[i] != here and aps[i] != event.ssid:
                return True
        return False

    def _outages(self, drops: list[Drop]) -> list[Outage]:
        """Drops closer than the outage window form one outage; lone leaves are not outages."""
        window = self.ctx.settings.wifi_outage_window_seconds
        groups: list[Outage] = []
        for drop in drops:
            if groups and drop.ts - groups[-1].end <= window:
                groups[-1].end = max(groups[-1].end, drop.ts)
                groups[-1].drops.append(drop)
            else:
                groups.append(Outage(drop.ts, drop.ts, [drop]))
        outages = []
        for outage in groups:
            if len(outage.stations) < self.ctx.settings.wifi_site_outage_stations:
                outage.drops = [d for d in outage.drops if not d.leaving]
            if outage.drops:
                outage.start = outage.drops[0].ts
                outages.append(outage)
        return outages

    def _burst_outages(self, known: list[Outage]) -> list[Outage]:
        """Many clients re-joining at once (DHCP or re-association) imply an outage nobody logged."""
        window = self.ctx.settings.wifi_burst_window_seconds
        dhcp = [(r.ts, r.client, r.where) for r in self.dhcp
                if r.ts > 0 and (isinstance(r, GratuitousArp) or r.initial)]
        reassoc = [(c.ts, c.station, c.where) for c in self.connects if c.ts > 0 and c.origin == "802.11"]
        found = []
        for kind, items in (("dhcp", dhcp), ("reassoc", reassoc)):
            items.sort()
            for burst in self._bursts(items, window, kind):
                outage = Outage(burst[0].ts, burst[-1].ts, burst)
                if not self._explained(outage, known):
                    for drop in burst:
                        drop.inferred = kind
                    found.append(outage)
        return found

    def _bursts(self, items: list[tuple[float, str, str]], window: float, kind: str) -> list[list[Drop]]:
        """Groups of clients that re-appear within ``window`` after having been seen earlier that day."""
        s = self.ctx.settings
        seen: dict[str, float] = {}
        group: list[Drop] = []
        bursts = []
        for ts, client, where in items:
            if group and ts - group[0].ts > window:
                if len({d.station for d in group}) >= s.wifi_site_outage_stations:
                    bursts.append(group)
                group = []
            previous = seen.get(client)
            seen[client] = ts
            rejoining = previous is not None and ts - previous > window and \
                self._local(previous).date() == self._local(ts).date()
            if rejoining:
                group.append(Drop(ts, client, "", where, "dhcp" if kind == "dhcp" else "802.11"))
        if len({d.station for d in group}) >= s.wifi_site_outage_stations:
            bursts.append(group)
        return bursts

    def _explained(self, burst: Outage, known: list[Outage]) -> bool:
        """A re-join burst that follows a logged outage is its recovery, not a second outage."""
        horizon = self.ctx.settings.wifi_reconnect_horizon_seconds
        for outage in known:
            if burst.start - horizon <= outage.start <= burst.end and (outage.wide or
                                                                         outage.stations & burst.stations):
                return True
        return False

    def _duration(self, outage: Outage) -> float:
        """The beacon gap when the AP was seen going silent, else the median time until stations came back."""
        gaps = [d.gap_seconds for d in outage.drops if d.gap_seconds is not None]
        if gaps:
            return round(max(gaps), 1)
        horizon = self.ctx.settings.wifi_reconnect_horizon_seconds
        delays = []
        for station in outage.stations:
            index = self.connect_index.get(station)
            if index is None:
                continue
            times = index[0]
            last_drop = max(d.ts for d in outage.drops if d.station == station)
            i = bisect.bisect_right(times, last_drop)
            if i < len(times) and times[i] - outage.start <= horizon:
                delays.append(times[i] - outage.start)
        if delays:
            delays.sort()
            return round(delays[len(delays) // 2], 1)
        return round(outage.end - outage.start, 1)

    def _is_outage(self, outage: Outage) -> bool:
        s = self.ctx.settings
        return len(outage.stations) >= s.wifi_site_outage_stations or any(
            d.gap_seconds is not None or d.ap_initiated or d.inferred for d in outage.drops)

    # ------------------------------------------------------------ time

    def _local(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, tz=self.zone)

    def _minute(self, ts: float) -> float:
        local = self._local(ts)
        return local.hour * 60 + local.minute + local.second / 60

    def _week_minute(self, ts: float) -> float:
        return self._local(ts).weekday() * DAY_MINUTES + self._minute(ts)

    def _observed_dates(self) -> list[date]:
        stamps = [e.ts for e in self.disconnects if e.ts > 0] + [c.ts for c in self.connects if c.ts > 0]
        stamps += [g.ts for g in self.gaps if g.ts > 0] + [r.ts for r in self.dhcp if r.ts > 0]
        if not stamps:
            return []
        first, last = self._local(min(stamps)).date(), self._local(max(stamps)).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    # ------------------------------------------------------------ recurrence

    def _patterns(self, outages: list[Outage]) -> list[Pattern]:
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
        return self._merge(found)

    def _pool_patterns(self, pool: list[Outage]) -> list[Pattern]:
        patterns = []
        interval = self._interval_pattern(pool)
        if interval is not None:
            patterns.append(interval)
            pool = [o for o in pool if o not in interval.outages]
        while pool:
            pattern = self._calendar_pattern(pool)
            if pattern is None:
                break
            patterns.append(pattern)
            pool = [o for o in pool if all(o is not m for m in pattern.outages)]
        return patterns

    def _interval_pattern(self, pool: list[Outage]) -> Optional[Pattern]:
        s = self.ctx.settings
        if len(pool) < s.wifi_interval_min_occurrences:
            return None
        result = periodicity([o.start for o in pool])
        if result is None or result.regularity < s.wifi_interval_min_score:
            return None
        if not 300 <= result.interval_seconds <= 20 * 3600:
            return None  # daily and longer rhythms are calendar patterns
        return Pattern("interval", list(pool), self._minute(pool[0].start), result.mad_seconds / 60,
                       result.interval_seconds, result.regularity)

    def _calendar_pattern(self, pool: list[Outage]) -> Optional[Pattern]:
        daily = self._daily_pattern(pool)
        if daily is not None:
            return self._as_weekly(daily) or daily
        return self._weekly_pattern(pool)

    def _daily_pattern(self, pool: list[Outage]) -> Optional[Pattern]:
        s = self.ctx.settings
        values = [self._minute(o.start) for o in pool]
        dates = [self._local(o.start).date() for o in pool]
        cluster = best_cluster(values, dates, s.wifi_window_minutes)
        if cluster is None:
            return None
        covered = len({dates[i] for i in cluster.members})
        observed = max(len(self.days), covered)
        per_day = len({(d, round(v)) for d, v in zip(dates, values)}) / observed
        if covered < s.wifi_min_days or cluster_chance(
                s.wifi_window_minutes, DAY_MINUTES, per_day, observed, covered) > s.wifi_pattern_max_p:
            return None
        return self._pattern("daily", pool, cluster)

    def _weekly_pattern(self, pool: list[Outage]) -> Optional[Pattern]:
        s = self.ctx.settings
        weeks_observed = len({self._iso_week(d) for d in self.days})
        if weeks_observed < s.wifi_weekly_min_weeks:
            return None
        values = [self._week_minute(o.start) for o in pool]
        weeks = [self._iso_week(self._local(o.start).date()) for o in pool]
        cluster = best_cluster(values, weeks, s.wifi_window_minutes, WEEK_MINUTES)
        if cluster is None:
            return None
        covered = len({weeks[i] for i in cluster.members})
        if covered < s.wifi_weekly_min_weeks or cluster_chance(
                s.wifi_window_minutes, WEEK_MINUTES, len(pool) / weeks_observed, weeks_observed,
                covered) > s.wifi_pattern_max_p:
            return None
        return self._pattern("weekly", pool, cluster)

    def _as_weekly(self, daily: Pattern) -> Optional[Pattern]:
        """A 'daily' cluster whose days are all one weekday, across weeks, is really weekly."""
        s = self.ctx.settings
        days = {self._local(o.start).date() for o in daily.outages}
        weekdays = {d.weekday() for d in days}
        weeks = {self._iso_week(d) for d in days}
        if len(weekdays) != 1 or len(weeks) < s.wifi_weekly_min_weeks or len(self.days) < 14:
            return None
        weekday = next(iter(weekdays))
        return Pattern("weekly", daily.outages, weekday * DAY_MINUTES + daily.centre, daily.spread)

    @staticmethod
    def _iso_week(day: date) -> tuple[int, int]:
        iso_date = day.isocalendar()
        return iso_date[0], iso_date[1]

    @staticmethod
    def _pattern(kind: str, pool: list[Outage], cluster: Cluster) -> Pattern:
        return Pattern(kind, [pool[i] for i in cluster.members], cluster.centre, cluster.spread)

    def _merge(self, patterns: list[Pattern]) -> list[Pattern]:
        """The same schedule found for several stations is one pattern."""
        window = self.ctx.settings.wifi_window_minutes
        merged: list[Pattern] = []
        for pattern in sorted(patterns, key=lambda p: -len(p.outages)):
            period = WEEK_MINUTES if pattern.kind == "weekly" else DAY_MINUTES
            for other in merged:
                same_interval = pattern.kind != "interval" or abs(
                    pattern.interval_seconds - other.interval_seconds) <= 0.1 * other.interval_seconds
                if other.kind == pattern.kind and same_interval and \
                        circular_distance(other.centre, pattern.centre, period) <= window:
                    other.outages = sorted(other.outages + pattern.outages, key=lambda o: o.start)
                    other.spread = max(other.spread, pattern.spread)
                    break
            else:
                merged.append(pattern)
        return merged

    # ------------------------------------------------------------ findings

    def _pattern_finding(self, pattern: Pattern) -> Finding:
        s = self.ctx.settings
        outages = sorted(pattern.outages, key=lambda o: o.start)
        drops = [d for o in outages for d in o.drops]
        stations = sorted({d.station for d in drops if d.station})
        aps = sorted({d.ap for d in drops if d.ap})
        dates = sorted({self._local(o.start).date().isoformat() for o in outages})
        minute = pattern.centre % DAY_MINUTES
        hhmm = _hhmm(minute)
        reasons = Counter(d.reason for d in drops if d.reason)
        durations = sorted(o.duration for o in outages)
        typical = durations[len(durations) // 2]
        attributes: dict[str, Any] = {
            "pattern": pattern.kind,
            "time_of_day": hhmm,
            "spread_minutes": round(pattern.spread, 1),
            "days_with_drop": len(dates),
            "days_observed": max(len(self.days), len(dates)),
            "occurrences": len(outages),
            "stations": stations[:MAX_LISTED],
            "aps": aps[:50],
            "hint": self._hint(pattern, drops, minute),
            "reasons": {str(k): v for k, v in reasons.most_common(5)},
            "typical_duration_s": typical,
            "dates": dates[:MAX_HEAT_DATES * 6],
            "sources": sorted({d.source for d in drops}),
        }
        when = f"every day around {hhmm}"
        if pattern.kind == "weekly":
            weekday = WEEKDAYS[int(pattern.centre // DAY_MINUTES) % 7]
            attributes["weekday"] = weekday
            when = f"every {weekday} around {hhmm}"
        elif pattern.kind == "interval":
            minutes = round(pattern.interval_seconds / 60, 1)
            attributes["interval_minutes"] = minutes
            attributes["regularity"] = pattern.regularity
            when = f"every {_duration_text(pattern.interval_seconds)} (first at {hhmm})"
        attributes["heatmap"] = self._heatmap(drops, pattern)
        attributes["outages"] = [self._outage_entry(o) for o in outages[: s.wifi_max_outages_reported]]
        key = ",".join(aps) or ",".join(stations)
        return Finding(
            id=finding_id("wifi.recurring", pattern.kind, key, hhmm[:4],
                          attributes.get("weekday", ""), round(pattern.interval_seconds / 600)),
            detector="wifi.recurring",
            category=CATEGORY_WIFI,
            title=f"Wi-Fi drops {when} ({len(dates)} of {attributes['days_observed']} days, "
                  f"{len(stations)} station(s))",
            first_seen=outages[0].start,
            last_seen=max(o.end for o in outages),
            count=len(outages),
            hosts=stations[:MAX_LISTED],
            attributes=attributes,
            evidence=[self._outage_evidence(o) for o in outages[: s.max_evidence]],
            severity="medium",
        )

    def _hint(self, pattern: Pattern, drops: list[Drop], minute: float) -> str:
        """Plain-language leads derived only from the evidence, most specific first."""
        hints = []
        reasons = Counter(d.reason for d in drops if d.reason)
        if reasons:
            top, count = reasons.most_common(1)[0]
            if top in REASON_HINTS and count * 2 >= sum(reasons.values()):
                hints.append(REASON_HINTS[top])
        if pattern.kind == "interval":
            hints.append(f"every {_duration_text(pattern.interval_seconds)} like clockwork: a timer such as "
                         "group rekey, session timeout or a watchdog reboot")
        elif min(minute % 60, 60 - minute % 60) <= 3 and pattern.spread <= 10:
            hints.append("starts on the hour: a scheduled job (AP or controller reboot, firmware/config push, "
                         "DHCP or RADIUS maintenance task)")
        if pattern.kind == "weekly":
            hints.append("same weekday each week: a weekly maintenance window or backup")
        if any(d.gap_seconds is not None for d in drops):
            hints.append("the AP stopped beaconing: it rebooted or lost power (check uptime, PoE switch schedule)")
        elif any(d.ap_initiated for d in drops):
            hints.append("the AP itself shut down or restarted before the stations dropped")
        channels = {d.channel for d in drops if d.channel}
        if 11 * 60 + 30 <= minute <= 14 * 60 and channels and all(c <= 14 for c in channels):
            hints.append("lunchtime on 2.4 GHz: interference, e.g. a microwave oven near the AP")
        if any(d.inferred == "dhcp" for d in drops):
            hints.append("clients re-requested DHCP together: check the DHCP server and the uplink at that time")
        stations = {d.station for d in drops if d.station}
        if len(stations) == 1:
            hints.append("only one station affected: its driver, power saving or location")
        elif len(stations) >= self.ctx.settings.wifi_site_outage_stations:
            aps = {d.ap for d in drops if d.ap}
            hints.append("all stations on one AP" if len(aps) <= 1 else f"stations on {len(aps)} APs at once")
        return "; ".join(hints)[:500]

    def _heatmap(self, drops: list[Drop], pattern: Pattern) -> dict[str, Any]:
        """Hour x date counts of every drop on the pattern's main AP (or station), window marked."""
        aps = Counter(d.ap for d in drops if d.ap)
        if aps:
            label = aps.most_common(1)[0][0]
            chosen = [d for d in self.all_drops if d.ap == label]
        else:
            stations = {d.station for d in drops}
            label = ", ".join(sorted(stations))[:60]
            chosen = [d for d in self.all_drops if d.station in stations]
        dates = [d.isoformat() for d in self.days][-MAX_HEAT_DATES:]
        position = {day: i for i, day in enumerate(dates)}
        counts: Counter = Counter()
        for drop in chosen:
            local = self._local(drop.ts)
            row = position.get(local.date().isoformat())
            if row is not None:
                counts[(row, local.hour)] += 1
        heatmap: dict[str, Any] = {"ap": label, "dates": dates,
                                   "cells": [[row, hour, n] for (row, hour), n in sorted(counts.items())]}
        if pattern.kind != "interval":
            half = max(pattern.spread, 5.0)
            minute = pattern.centre % DAY_MINUTES
            heatmap["window"] = [int(minute - half) % DAY_MINUTES, int(minute + half + 1) % DAY_MINUTES]
        return heatmap

    def _outage_entry(self, outage: Outage) -> dict[str, Any]:
        return {"start": iso(outage.start), "duration_s": outage.duration, "stations": len(outage.stations),
                "aps": sorted(outage.aps)[:10]}

    def _outage_evidence(self, outage: Outage) -> Evidence:
        first = outage.drops[0]
        reason = f"reason {first.reason}" if first.reason else first.inferred or "no reason code"
        return Evidence(iso(outage.start), first.where,
                        f"{len(outage.stations)} station(s) lost Wi-Fi on {', '.join(sorted(outage.aps)) or 'an AP'}"
                        f" for ~{_duration_text(outage.duration)} ({first.source}, {reason})"[:300])

    def _outage_finding(self, outage: Outage) -> Finding:
        stations = sorted(outage.stations)
        aps = sorted(outage.aps)
        reasons = Counter(d.reason for d in outage.drops if d.reason)
        return Finding(
            id=finding_id("wifi.outage", ",".join(aps), round(outage.start)),
            detector="wifi.outage",
            category=CATEGORY_WIFI,
            title=f"Wi-Fi outage at {iso(outage.start)}: {len(stations)} station(s) on "
                  f"{', '.join(aps[:3]) or 'unknown AP'}",
            first_seen=outage.start,
            last_seen=outage.end,
            count=len(outage.drops),
            hosts=stations[:MAX_LISTED],
            attributes={
                "start": iso(outage.start),
                "duration_s": outage.duration,
                "stations": len(stations),
                "aps": aps[:50],
                "reasons": {str(k): v for k, v in reasons.most_common(5)},
                "sources": sorted({d.source for d in outage.drops}),
                "outages": [self._outage_entry(outage)],
            },
            evidence=[self._outage_evidence(outage)],
            severity="low",
        )

    def _flood_finding(self, bssid: str, frames: list[WifiDisconnect]) -> Finding:
        stations = sorted({f.station for f in frames})
        reasons = Counter(f.reason for f in frames)
        rate = self._densest_second(frames)
        return Finding(
            id=finding_id("wifi.deauth-flood", bssid),
            detector="wifi.deauth-flood",
            category=CATEGORY_WIFI_ATTACK,
            title=f"Deauthentication flood against {bssid}: {len(frames)} frames, up to {rate}/s",
            first_seen=frames[0].ts,
            last_seen=frames[-1].ts,
            count=len(frames),
            hosts=stations[:MAX_LISTED],
            attributes={
                "bssid": bssid,
                "ssid": next((f.ssid for f in frames if f.ssid), ""),
                "frames": len(frames),
                "seconds": round(frames[-1].ts - frames[0].ts, 1),
                "peak_per_second": rate,
                "deauth": sum(f.subtype == "deauth" for f in frames),
                "disassoc": sum(f.subtype == "disassoc" for f in frames),
                "broadcast": sum(f.direction == "broadcast" for f in frames),
                "stations": stations[:MAX_LISTED],
                "reasons": {str(k): v for k, v in reasons.most_common(5)},
            },
            evidence=[Evidence(iso(f.ts), f.where, f"{f.subtype} {f.direction} reason {f.reason}")
                      for f in frames[:5]],
            severity="high",
        )


def _hhmm(minute: float) -> str:
    total = int(round(minute)) % DAY_MINUTES
    return f"{total // 60:02d}:{total % 60:02d}"


def _duration_text(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h".replace(".0 h", " h")
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
