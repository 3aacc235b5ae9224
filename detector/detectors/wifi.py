"""Recurring Wi-Fi drops: outages that come back at the same time of day.

Disconnect events are cleaned (deauth floods become their own finding,
roaming is dropped), grouped into outages, and the outages' times of day are
clustered on the 24-hour circle: a cluster that covers enough distinct days is
a daily pattern ("the Wi-Fi dies every day at 14:05").
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Optional

from ..model import (
    CATEGORY_WIFI,
    CATEGORY_WIFI_ATTACK,
    Evidence,
    Finding,
    Observation,
    WifiConnect,
    WifiDisconnect,
    iso,
)
from .base import Detector, DetectorContext, finding_id

MAX_EVENTS = 200_000
DAY_MINUTES = 1440


@dataclass
class Outage:
    start: float
    end: float
    events: list[WifiDisconnect] = field(default_factory=list)

    @property
    def stations(self) -> set[str]:
        return {e.station for e in self.events}

    @property
    def aps(self) -> set[str]:
        return {e.bssid for e in self.events if e.bssid}


def circular_distance(a: float, b: float) -> float:
    d = abs(a - b) % DAY_MINUTES
    return min(d, DAY_MINUTES - d)


def circular_mean(minutes: list[float]) -> float:
    x = sum(math.cos(2 * math.pi * m / DAY_MINUTES) for m in minutes)
    y = sum(math.sin(2 * math.pi * m / DAY_MINUTES) for m in minutes)
    return (math.atan2(y, x) * DAY_MINUTES / (2 * math.pi)) % DAY_MINUTES


class WifiDropDetector(Detector):
    name = "wifi"
    consumes = (WifiDisconnect, WifiConnect)

    def __init__(self, ctx: DetectorContext):
        super().__init__(ctx)
        self.disconnects: list[WifiDisconnect] = []
        self.connects: list[WifiConnect] = []
        self.dropped_events = 0
        self.zone = timezone(timedelta(seconds=ctx.tz_offset_seconds))
        self.connects_by_station: dict[str, list[WifiConnect]] = {}

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, WifiDisconnect):
            target = self.disconnects
        elif isinstance(obs, WifiConnect):
            target = self.connects
        else:
            return
        if len(target) < MAX_EVENTS:
            target.append(obs)  # type: ignore[arg-type]
        else:
            self.dropped_events += 1

    # ------------------------------------------------------------ analysis

    def finish(self) -> list[Finding]:
        events = sorted(self.disconnects, key=lambda e: e.ts)
        for connect in self.connects:
            self.connects_by_station.setdefault(connect.station, []).append(connect)
        floods, events = self._split_floods(events)
        findings = [self._flood_finding(bssid, frames) for bssid, frames in floods.items()]
        events = [e for e in events if e.ts > 0 and not self._is_roaming(e)]
        outages = self._outages(events)
        days_observed = self._days_observed()
        remaining = list(outages)
        while True:
            pattern = self._best_daily_cluster(remaining)
            if pattern is None:
                break
            centre, members = pattern
            findings.append(self._daily_finding(centre, members, days_observed))
            remaining = [o for o in remaining if o not in members]
        return findings

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

    def _is_roaming(self, event: WifiDisconnect) -> bool:
        """The station re-associated to another AP within seconds: a roam, not a drop."""
        window = self.ctx.settings.wifi_roam_seconds
        for connect in self.connects_by_station.get(event.station, ()):
            if connect.bssid != event.bssid and 0 <= connect.ts - event.ts <= window:
                return True
        return False

    def _outages(self, events: list[WifiDisconnect]) -> list[Outage]:
        window = self.ctx.settings.wifi_outage_window_seconds
        outages: list[Outage] = []
        for event in events:
            if outages and event.ts - outages[-1].end <= window:
                outages[-1].end = event.ts
                outages[-1].events.append(event)
            else:
                outages.append(Outage(event.ts, event.ts, [event]))
        return outages

    def _local(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, tz=self.zone)

    def _minute(self, ts: float) -> float:
        local = self._local(ts)
        return local.hour * 60 + local.minute + local.second / 60

    def _days_observed(self) -> int:
        stamps = [e.ts for e in self.disconnects if e.ts > 0] + [c.ts for c in self.connects if c.ts > 0]
        if not stamps:
            return 0
        first, last = self._local(min(stamps)).date(), self._local(max(stamps)).date()
        return (last - first).days + 1

    def _best_daily_cluster(self, outages: list[Outage]) -> Optional[tuple[float, list[Outage]]]:
        s = self.ctx.settings
        best: Optional[tuple[int, float, float, list[Outage]]] = None
        minutes = [(self._minute(o.start), o) for o in outages]
        for centre, _ in minutes:
            members = [o for m, o in minutes if circular_distance(m, centre) <= s.wifi_window_minutes]
            refined = circular_mean([self._minute(o.start) for o in members])
            members = [o for m, o in minutes if circular_distance(m, refined) <= s.wifi_window_minutes]
            days = len({self._local(o.start).date() for o in members})
            spread = max(circular_distance(self._minute(o.start), refined) for o in members)
            if best is None or (days, -spread) > (best[0], -best[1]):
                best = (days, spread, refined, members)
        if best is None or best[0] < s.wifi_min_days:
            return None
        return best[2], best[3]

    # ------------------------------------------------------------ findings

    def _daily_finding(self, centre: float, members: list[Outage], days_observed: int) -> Finding:
        events = [e for o in members for e in o.events]
        stations = sorted({e.station for e in events})
        aps = sorted({e.bssid for e in events if e.bssid})
        spread = max(circular_distance(self._minute(o.start), centre) for o in members)
        days = sorted({self._local(o.start).date().isoformat() for o in members})
        hhmm = f"{int(centre // 60):02d}:{int(round(centre % 60)) % 60:02d}"
        if int(round(centre % 60)) == 60:
            hhmm = f"{(int(centre // 60) + 1) % 24:02d}:00"
        reasons = Counter(e.reason for e in events if e.reason)
        durations = sorted(o.end - o.start for o in members)
        evidence = [
            Evidence(iso(o.start), o.events[0].where,
                     f"{len(o.stations)} station(s) dropped on {', '.join(sorted(o.aps)) or 'unknown AP'}"
                     f" ({o.events[0].origin}, reason {o.events[0].reason or 'n/a'})")
            for o in members[: self.ctx.settings.max_evidence]
        ]
        return Finding(
            id=finding_id("wifi.recurring", "daily", ",".join(aps) or ",".join(stations), hhmm[:4]),
            detector="wifi.recurring",
            category=CATEGORY_WIFI,
            title=f"Wi-Fi drops every day around {hhmm} ({len(days)} of {days_observed} days)",
            first_seen=members[0].start,
            last_seen=members[-1].end,
            count=len(members),
            hosts=stations[:200],
            attributes={
                "pattern": "daily",
                "time_of_day": hhmm,
                "spread_minutes": round(spread, 1),
                "days_with_drop": len(days),
                "days_observed": days_observed,
                "occurrences": len(members),
                "stations": stations[:200],
                "aps": aps[:50],
                "dates": days,
                "reasons": {str(k): v for k, v in reasons.most_common(5)},
                "typical_duration_s": round(durations[len(durations) // 2], 1),
            },
            evidence=evidence,
            severity="medium",
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
            hosts=stations[:200],
            attributes={
                "bssid": bssid,
                "frames": len(frames),
                "peak_per_second": rate,
                "deauth": sum(f.subtype == "deauth" for f in frames),
                "disassoc": sum(f.subtype == "disassoc" for f in frames),
                "broadcast": sum(f.direction == "broadcast" for f in frames),
                "stations": stations[:200],
                "reasons": {str(k): v for k, v in reasons.most_common(5)},
            },
            evidence=[Evidence(iso(f.ts), f.where, f"{f.subtype} {f.direction} reason {f.reason}")
                      for f in frames[:5]],
            severity="high",
        )
