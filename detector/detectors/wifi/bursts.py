"""Outages nobody logged: many clients re-joining at once (DHCP from scratch, or 802.11 re-association)."""

from __future__ import annotations

from typing import Iterable, Union

from detector.detectors.wifi.clock import LocalClock
from detector.detectors.wifi.events import Drop, Outage
from detector.observations import DhcpClientRequest, GratuitousArp, WifiConnect
from detector.policy.settings import Settings

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
