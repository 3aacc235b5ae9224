"""Deauthentication floods: disconnect frames sent faster than any real AP would, an attack not an outage."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from detector.detectors.base import finding_id
from detector.detectors.wifi.counts import frame_counts
from detector.findings.finding import CATEGORY_WIFI_ATTACK, Evidence, Finding
from detector.observations import WifiDisconnect
from detector.policy.settings import Settings
from detector.times import iso


def densest_window(frames: Sequence[WifiDisconnect], window: float) -> int:
    """The most frames (in time order) that fall within any ``window`` seconds."""
    best = start = 0
    for end, frame in enumerate(frames):
        while frame.ts - frames[start].ts > window:
            start += 1
        best = max(best, end - start + 1)
    return best


def split_floods(events: list[WifiDisconnect], settings: Settings) -> tuple[dict[str, list[WifiDisconnect]], list]:
    """Frames of flooded BSSIDs, by BSSID, and every other event (time order kept)."""
    by_bssid: dict[str, list[WifiDisconnect]] = {}
    for event in events:
        if event.origin == "802.11":
            by_bssid.setdefault(event.bssid, []).append(event)
    flooded: dict[str, list[WifiDisconnect]] = {}
    for bssid, frames in by_bssid.items():
        burst = densest_window(frames, settings.wifi_flood_window_seconds)
        if len(frames) >= settings.wifi_flood_min_frames and burst >= settings.wifi_flood_frames_per_second:
            flooded[bssid] = frames
    flood_ids = {id(e) for frames in flooded.values() for e in frames}
    return flooded, [e for e in events if id(e) not in flood_ids]


def flood_finding(bssid: str, frames: list[WifiDisconnect], settings: Settings) -> Finding:
    stations = sorted({f.station for f in frames})
    reasons = Counter(f.reason for f in frames)
    rate = densest_window(frames, settings.wifi_flood_window_seconds)
    listed = settings.wifi_max_listed
    return Finding(
        id=finding_id("wifi.deauth-flood", bssid),
        detector="wifi.deauth-flood",
        category=CATEGORY_WIFI_ATTACK,
        title=f"Deauthentication flood against {bssid}: {len(frames)} frames, up to {rate}/s",
        first_seen=frames[0].ts,
        last_seen=frames[-1].ts,
        count=len(frames),
        hosts=stations[:listed],
        attributes={
            "bssid": bssid,
            "ssid": next((f.ssid for f in frames if f.ssid), ""),
            "frames": len(frames),
            "seconds": round(frames[-1].ts - frames[0].ts, 1),
            "peak_per_second": rate,
            "deauth": sum(f.subtype == "deauth" for f in frames),
            "disassoc": sum(f.subtype == "disassoc" for f in frames),
            "broadcast": sum(f.direction == "broadcast" for f in frames),
            "stations": stations[:listed],
            "reasons": {str(k): v for k, v in reasons.most_common(settings.wifi_reasons_listed)},
            **frame_counts(frames, settings),
        },
        evidence=[Evidence(iso(f.ts), f.where, f"{f.subtype} {f.direction} reason {f.reason}")
                  for f in frames[:settings.wifi_attack_evidence_frames]],
        severity="high",
    )
