"""The Wi-Fi detector's working types: a normalised drop, an outage (drops close in time) and a pattern."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from detector.observations import WifiDisconnect

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
