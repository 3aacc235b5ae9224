"""Every Wi-Fi source normalised to drops, and drops to outages: times, clocks, connects, DHCP bursts.

A drop is one station losing one AP (a deauth or disassoc frame, a log line, a
beacon gap); drops close in time form outages, whose durations come from the
next connect. Outages inferred from LAN re-join bursts (DHCP, gratuitous ARP)
join them. Times of day are read on the site's clock (``--tz``).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Iterable, Optional, Union

from detector.detectors.wifi.recurrence import DAY_MINUTES
from detector.observations import DhcpClientRequest, GratuitousArp, WifiBeaconGap, WifiConnect, WifiDisconnect
from detector.policy.settings import Settings

LEAVING_REASONS = frozenset({3, 8})  # IEEE 802.11 reason codes for "station is leaving" (deauth / disassoc)
# Latest timestamp every date/time computation can take, with any UTC offset: 9999-12-30T00:00Z.
# Anything beyond (a hostile pcapng field, a mangled log) is treated as "no time", like 0.
MAX_TIMESTAMP = 253_402_128_000.0


def usable_ts(ts: float) -> float:
    """``ts`` when datetime can represent it in any zone, else 0.0 (unknown time)."""
    try:
        value = float(ts)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    if math.isnan(value) or not 0 < value < MAX_TIMESTAMP:
        return 0.0
    return value


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
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


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class Outage:
    """Drops close enough together to count as one outage."""

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


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class Pattern:
    """Outages that recur (daily, weekly or at an interval)."""

    kind: str  # "daily", "weekly", "interval"
    outages: list[Outage]
    centre: float  # minute of day (daily/interval) or of week (weekly)
    spread: float  # minutes
    interval_seconds: float = 0.0
    regularity: float = 0.0


def ap_label(event: WifiDisconnect) -> str:
    """The AP a disconnect belongs to: its BSSID, else its SSID, else nothing."""
    if event.bssid:
        return event.bssid
    return f"ssid:{event.ssid}" if event.ssid else ""


def hhmm(minute: float) -> str:
    """A minute of the day as "HH:MM"."""
    total = int(round(minute)) % DAY_MINUTES
    return f"{total // 60:02d}:{total % 60:02d}"


def duration_text(seconds: float) -> str:
    """Seconds as "45 s", "12 min" or "1.5 h"."""
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h".replace(".0 h", " h")
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def iso_week(day: date) -> tuple[int, int]:
    iso_date = day.isocalendar()
    return iso_date[0], iso_date[1]


class LocalClock:
    """POSIX timestamps as wall-clock time in the scan's zone (--tz)."""

    def __init__(self, zone: Optional[tzinfo] = None):
        self.zone = zone or timezone.utc  # a named zone (zoneinfo) keeps summer time right

    def local(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, tz=self.zone)

    def date(self, ts: float) -> date:
        return self.local(ts).date()

    def minute(self, ts: float) -> float:
        """Minute of the day, with seconds as a fraction."""
        local = self.local(ts)
        return local.hour * 60 + local.minute + local.second / 60

    def week_minute(self, ts: float) -> float:
        """Minute of the week, Monday 00:00 being 0."""
        return self.local(ts).weekday() * DAY_MINUTES + self.minute(ts)


@dataclass(frozen=True)
class ObservedDays:
    """Every local date from the first to the last timestamp seen, as a range."""

    first: Optional[date] = None
    last: Optional[date] = None

    @classmethod
    def spanning(cls, stamps: Iterable[float], clock: LocalClock) -> ObservedDays:
        usable = [ts for ts in stamps if ts > 0]
        if not usable:
            return cls()
        return cls(clock.date(min(usable)), clock.date(max(usable)))

    def __len__(self) -> int:
        if self.first is None or self.last is None:
            return 0
        return (self.last - self.first).days + 1

    def weeks(self) -> int:
        """Distinct ISO weeks the span touches."""
        if self.first is None or self.last is None:
            return 0
        first_monday = self.first - timedelta(days=self.first.weekday())
        last_monday = self.last - timedelta(days=self.last.weekday())
        return (last_monday - first_monday).days // 7 + 1

    def latest(self, count: int) -> list[date]:
        """The last ``count`` dates of the span, oldest first."""
        total = len(self)
        if total == 0 or count <= 0 or self.last is None:
            return []
        shown = min(count, total)
        return [self.last - timedelta(days=shown - 1 - i) for i in range(shown)]


class ConnectIndex:
    """Per station, sorted connect times and the AP of each."""

    def __init__(self, connects: Iterable[WifiConnect]):
        by_station: dict[str, list[tuple[float, str]]] = {}
        for connect in connects:
            if connect.ts > 0:
                by_station.setdefault(connect.station, []).append((connect.ts, connect.bssid or connect.ssid))
        self.stations: dict[str, tuple[list[float], list[str]]] = {}
        for station, items in by_station.items():
            items.sort()
            self.stations[station] = ([t for t, _ in items], [a for _, a in items])

    def is_roaming(self, event: WifiDisconnect, roam_seconds: float) -> bool:
        """The station re-associated to another AP within seconds: a roam, not a drop."""
        index = self.stations.get(event.station)
        if index is None:
            return False
        times, aps = index
        here = ap_label(event)
        if not here:
            return False  # without the old AP there is no telling a roam from a reconnect
        limit = event.ts + roam_seconds
        for i in range(bisect.bisect_left(times, event.ts), len(times)):
            if times[i] > limit:
                break
            if aps[i] and aps[i] != here and aps[i] != event.ssid:
                return True
        return False

    def next_connect(self, station: str, after: float) -> Optional[float]:
        """The first time ``station`` connected strictly after ``after``."""
        index = self.stations.get(station)
        if index is None:
            return None
        times = index[0]
        i = bisect.bisect_right(times, after)
        return times[i] if i < len(times) else None


BROADCAST = "ff:ff:ff:ff:ff:ff"


def to_drops(events: Iterable[WifiDisconnect], gaps: Iterable[WifiBeaconGap], connects: ConnectIndex,
             settings: Settings) -> list[Drop]:
    """Timestamped, non-roaming disconnects plus long-enough beacon gaps, as Drops in time order."""
    drops = []
    for event in events:
        if event.ts <= 0 or connects.is_roaming(event, settings.wifi_roam_seconds):
            continue
        leaving = event.subtype == "leave" or (event.direction == "sta-to-ap" and event.reason in LEAVING_REASONS)
        to_all = event.direction == "broadcast" or event.station == BROADCAST
        # a deauthentication to everyone is the AP's own act (or forged as one): AP-wide, never a "station"
        drops.append(Drop(event.ts, "" if to_all else event.station, ap_label(event), event.where, event.origin,
                          event.reason, event.ssid, event.channel, event.ap_initiated or to_all, leaving))
    for gap in gaps:
        needed = max(settings.wifi_beacon_gap_min_seconds, settings.wifi_beacon_gap_intervals * gap.interval_ms / 1000)
        if gap.ts > 0 and gap.gap_seconds >= needed:
            drops.append(Drop(gap.ts, "", gap.bssid, gap.where, "beacon-gap", ssid=gap.ssid,
                              channel=gap.channel, gap_seconds=gap.gap_seconds))
    drops.sort(key=lambda d: d.ts)
    return drops


def group_outages(drops: list[Drop], settings: Settings) -> list[Outage]:
    """Drops closer than the outage window form one outage; lone leaves are not outages."""
    window = settings.wifi_outage_window_seconds
    groups: list[Outage] = []
    for drop in drops:
        if groups and drop.ts - groups[-1].end <= window:
            groups[-1].end = max(groups[-1].end, drop.ts)
            groups[-1].drops.append(drop)
        else:
            groups.append(Outage(drop.ts, drop.ts, [drop]))
    outages = []
    for outage in groups:
        if len(outage.stations) < settings.wifi_site_outage_stations:
            outage.drops = [d for d in outage.drops if not d.leaving]
        if outage.drops:
            outage.start = outage.drops[0].ts
            outages.append(outage)
    return outages


def is_site_outage(outage: Outage, settings: Settings) -> bool:
    """Worth a finding on its own: several stations, the AP going away, or a re-join burst."""
    return len(outage.stations) >= settings.wifi_site_outage_stations or any(
        d.gap_seconds is not None or d.ap_initiated or d.inferred for d in outage.drops)


Rejoin = Union[DhcpClientRequest, GratuitousArp]


def burst_outages(rejoins: Iterable[Rejoin], connects: Iterable[WifiConnect], known: list[Outage],
                  settings: Settings, clock: LocalClock) -> list[Outage]:
    """Re-join bursts that are not the recovery from an outage already known."""
    window = settings.wifi_burst_window_seconds
    dhcp = [(r.ts, r.client, r.where) for r in rejoins
            if r.ts > 0 and (isinstance(r, GratuitousArp) or r.initial)]
    reassoc = [(c.ts, c.station, c.where) for c in connects if c.ts > 0 and c.origin == "802.11"]
    found = []
    for kind, items in (("dhcp", dhcp), ("reassoc", reassoc)):
        items.sort()
        for burst in _bursts(items, window, kind, settings, clock):
            outage = Outage(burst[0].ts, burst[-1].ts, burst)
            if not _explained(outage, known, settings):
                for drop in burst:
                    drop.inferred = kind
                found.append(outage)
    return found


def _bursts(items: list[tuple[float, str, str]], window: float, kind: str, settings: Settings,
            clock: LocalClock) -> list[list[Drop]]:
    """Groups of clients that re-appear within ``window`` after having been seen earlier that day."""
    seen: dict[str, float] = {}
    group: list[Drop] = []
    bursts = []
    for ts, client, where in items:
        if group and ts - group[0].ts > window:
            if len({d.station for d in group}) >= settings.wifi_site_outage_stations:
                bursts.append(group)
            group = []
        previous = seen.get(client)
        seen[client] = ts
        rejoining = previous is not None and ts - previous > window and clock.date(previous) == clock.date(ts)
        if rejoining:
            group.append(Drop(ts, client, "", where, "dhcp" if kind == "dhcp" else "802.11"))
    if len({d.station for d in group}) >= settings.wifi_site_outage_stations:
        bursts.append(group)
    return bursts


def _explained(burst: Outage, known: list[Outage], settings: Settings) -> bool:
    """A re-join burst that follows a logged outage is its recovery, not a second outage."""
    horizon = settings.wifi_reconnect_horizon_seconds
    for outage in known:
        if burst.start - horizon <= outage.start <= burst.end and (outage.wide or outage.stations & burst.stations):
            return True
    return False


def outage_duration(outage: Outage, connects: ConnectIndex, settings: Settings) -> float:
    """The beacon gap when the AP was seen going silent, else the median time until stations came back.

    Without either, the time from the first to the last drop of the outage.
    """
    gaps = [d.gap_seconds for d in outage.drops if d.gap_seconds is not None]
    if gaps:
        return round(max(gaps), 1)
    horizon = settings.wifi_reconnect_horizon_seconds
    delays = []
    for station in outage.stations:
        last_drop = max(d.ts for d in outage.drops if d.station == station)
        back = connects.next_connect(station, last_drop)
        if back is not None and back - outage.start <= horizon:
            delays.append(back - outage.start)
    if delays:
        delays.sort()
        return round(delays[len(delays) // 2], 1)
    return round(outage.end - outage.start, 1)
