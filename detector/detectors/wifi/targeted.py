"""Targeted deauthentication: a burst of disconnect frames between one AP and ONE client, spoofed both ways.

aireplay-ng and similar tools knock a single client off by forging, within
a second, dozens of deauthentication frames "from the AP" to the client and
"from the client" to the AP. A client leaving sends one frame (a few with
retries), an AP rejecting a confused client answers in one direction only:
neither reaches tens of frames a second in both directions. The burst's
frames are an attack, not drops, and are taken out of the outage analysis.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from detector.detectors.base import finding_id
from detector.detectors.wifi.flood import densest_window
from detector.findings.finding import CATEGORY_WIFI_ATTACK, Evidence, Finding
from detector.observations import WifiDisconnect
from detector.policy.settings import Settings
from detector.times import iso

DIRECTED = ("ap-to-sta", "sta-to-ap")
BROADCAST = "ff:ff:ff:ff:ff:ff"
MAX_BURSTS_LISTED = 50


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class TargetedAttack:
    """Every burst aimed at one station through one BSSID."""

    bssid: str
    station: str
    bursts: list[list[WifiDisconnect]] = field(default_factory=list)

    @property
    def frames(self) -> list[WifiDisconnect]:
        return [f for burst in self.bursts for f in burst]


def split_targeted(events: list[WifiDisconnect], settings: Settings) -> tuple[list[TargetedAttack], list]:
    """Targeted attacks (one per BSSID and station) and every event not part of one (time order kept)."""
    pairs: dict[tuple[str, str], list[WifiDisconnect]] = {}
    for event in events:
        if event.origin == "802.11" and event.direction in DIRECTED and event.station != BROADCAST:
            pairs.setdefault((event.bssid, event.station), []).append(event)
    attacks = []
    for (bssid, station), frames in pairs.items():
        bursts = _bursts(frames, settings)
        if bursts:
            attacks.append(TargetedAttack(bssid, station, bursts))
    taken = {id(f) for attack in attacks for f in attack.frames}
    return attacks, [e for e in events if id(e) not in taken]


def _bursts(frames: list[WifiDisconnect], settings: Settings) -> list[list[WifiDisconnect]]:
    """Frames inside any window holding enough frames, enough of them each way, grouped into bursts."""
    window = settings.wifi_targeted_window_seconds
    need, each_way = settings.wifi_targeted_min_frames, settings.wifi_targeted_min_per_direction
    marked = [False] * len(frames)
    ways: Counter = Counter()
    start = marked_upto = 0
    for end, frame in enumerate(frames):
        ways[frame.direction] += 1
        while frame.ts - frames[start].ts > window:
            ways[frames[start].direction] -= 1
            start += 1
        if end - start + 1 >= need and all(ways[d] >= each_way for d in DIRECTED):
            for i in range(max(start, marked_upto), end + 1):
                marked[i] = True
            marked_upto = end + 1
    bursts: list[list[WifiDisconnect]] = []
    for frame, hit in zip(frames, marked):
        if not hit:
            continue
        if bursts and frame.ts - bursts[-1][-1].ts <= window:
            bursts[-1].append(frame)
        else:
            bursts.append([frame])
    return bursts


def targeted_finding(attack: TargetedAttack, settings: Settings) -> Finding:
    frames = sorted(attack.frames, key=lambda f: f.ts)
    directions = Counter(f.direction for f in frames)
    reasons = Counter(f.reason for f in frames)
    rate = densest_window(frames, settings.wifi_targeted_window_seconds)
    per_burst = max(1, settings.wifi_attack_evidence_frames // len(attack.bursts))
    evidence = [Evidence(iso(f.ts), f.where, f"{f.subtype} {f.direction} reason {f.reason} ({attack.station})")
                for burst in attack.bursts for f in burst[:per_burst]]
    return Finding(
        id=finding_id("wifi.deauth-targeted", attack.bssid, attack.station),
        detector="wifi.deauth-targeted",
        category=CATEGORY_WIFI_ATTACK,
        title=f"Targeted deauthentication attack on {attack.station} via {attack.bssid}: {len(frames)} frames "
              f"in {len(attack.bursts)} burst(s), up to {rate}/s, spoofed in both directions",
        first_seen=frames[0].ts,
        last_seen=frames[-1].ts,
        count=len(frames),
        hosts=[attack.station],
        attributes={
            "bssid": attack.bssid,
            "ssid": next((f.ssid for f in frames if f.ssid), ""),
            "station": attack.station,
            "frames": len(frames),
            "bursts": len(attack.bursts),
            "burst_starts": [iso(b[0].ts) for b in attack.bursts[:MAX_BURSTS_LISTED]],
            "seconds": round(sum(b[-1].ts - b[0].ts for b in attack.bursts), 1),
            "peak_per_second": rate,
            "deauth": sum(f.subtype == "deauth" for f in frames),
            "disassoc": sum(f.subtype == "disassoc" for f in frames),
            "ap_to_sta": directions["ap-to-sta"],
            "sta_to_ap": directions["sta-to-ap"],
            "reasons": {str(k): v for k, v in reasons.most_common(settings.wifi_reasons_listed)},
        },
        evidence=evidence[:settings.max_evidence],
        severity="high",
    )
