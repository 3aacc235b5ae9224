"""One info finding per BSSID with the disconnect frames it sent and received, below any threshold.

A Wireshark or Kismet user expects to see that an AP sent three
deauthentications (and why) even when that is no attack and no outage. A
BSSID under a flood already carries the same counts in its flood finding.
"""

from __future__ import annotations

from detector.detectors.base import finding_id
from detector.detectors.wifi.counts import frame_counts
from detector.findings.finding import CATEGORY_WIFI, Evidence, Finding
from detector.observations import WifiDisconnect
from detector.policy.settings import Settings
from detector.times import iso

BROADCAST = "ff:ff:ff:ff:ff:ff"


def frames_by_bssid(events: list[WifiDisconnect]) -> dict[str, list[WifiDisconnect]]:
    """802.11 disconnect frames (not log lines) per BSSID, in time order."""
    by_bssid: dict[str, list[WifiDisconnect]] = {}
    for event in events:
        if event.origin == "802.11":
            by_bssid.setdefault(event.bssid, []).append(event)
    return by_bssid


def summary_finding(bssid: str, frames: list[WifiDisconnect], attack_frames: int, settings: Settings) -> Finding:
    counts = frame_counts(frames, settings)
    stations = sorted({f.station for f in frames if f.station and f.station != BROADCAST})
    ssid = next((f.ssid for f in frames if f.ssid), "")
    evidence, cited = [], set()
    for frame in frames:  # the first frame of each station
        if frame.station not in cited and len(evidence) < settings.max_evidence:
            cited.add(frame.station)
            evidence.append(Evidence(iso(frame.ts), frame.where,
                                     f"{frame.subtype} {frame.direction or 'unknown direction'} reason "
                                     f"{frame.reason} ({frame.station})"))
    return Finding(
        id=finding_id("wifi.deauth-summary", bssid),
        detector="wifi.deauth-summary",
        category=CATEGORY_WIFI,
        title=f"Disconnect frames on {bssid}{f' ({ssid})' if ssid else ''}: {counts['deauth']} deauthentication, "
              f"{counts['disassoc']} disassociation, {len(stations)} station(s)",
        first_seen=frames[0].ts,
        last_seen=frames[-1].ts,
        count=len(frames),
        hosts=stations[:settings.wifi_max_listed],
        attributes={
            "bssid": bssid,
            "ssid": ssid,
            "frames": len(frames),
            **counts,
            "stations": stations[:settings.wifi_max_listed],
            "attack_frames": attack_frames,
        },
        evidence=evidence,
        severity="info",
    )
