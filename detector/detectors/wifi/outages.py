"""From disconnect events and beacon gaps to outages: drops close in time, lone leaves left out."""

from __future__ import annotations

from typing import Iterable

from detector.detectors.wifi.connects import ConnectIndex
from detector.detectors.wifi.events import LEAVING_REASONS, Drop, Outage, ap_label
from detector.observations import WifiBeaconGap, WifiDisconnect
from detector.policy.settings import Settings

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
