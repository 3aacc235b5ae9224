"""Deauthentication attacks and frame counts: floods against a BSSID, bursts aimed at one client.

Frames that belong to an attack become its finding; every BSSID's remaining
disconnect frames are summed up in an info finding.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from detector.detectors.base import finding_id
from detector.findings.finding import Evidence, Finding
from detector.findings.wifi import DeauthFloodAttributes, DeauthSummaryAttributes, TargetedDeauthAttributes
from detector.observations import WifiDisconnect
from detector.policy.settings import Settings
from detector.times import iso

MAX_REASON_CODES = 32  # reason codes listed (802.11 defines about 70; a hostile capture could send 65536)
DIRECTION_KEYS = {"ap-to-sta": "ap_to_sta", "sta-to-ap": "sta_to_ap", "broadcast": "broadcast", "": "unknown"}


@dataclass(frozen=True)
class FrameCounts:
    """Disconnect frames counted: totals, reasons, directions and per station."""

    deauth: int
    disassoc: int
    reason_counts: dict[str, int]
    direction_counts: dict[str, int]
    station_counts: dict[str, Any]


def frame_counts(frames: Iterable[WifiDisconnect], settings: Settings) -> FrameCounts:
    """Counts of disconnect frames: totals, reasons, directions and per station (busiest first, bounded)."""
    kinds: Counter = Counter()
    reasons: Counter = Counter()
    directions: Counter = Counter()
    per_station: dict[str, Counter] = {}
    for frame in frames:
        kinds[frame.subtype] += 1
        reasons[frame.reason] += 1
        direction = DIRECTION_KEYS.get(frame.direction, "unknown")
        directions[direction] += 1
        station = per_station.setdefault(frame.station, Counter())
        station[frame.subtype] += 1
        station[direction] += 1
    busiest = sorted(per_station.items(), key=lambda item: (-sum(item[1][k] for k in ("deauth", "disassoc")),
                                                            item[0]))
    return FrameCounts(
        deauth=kinds["deauth"],
        disassoc=kinds["disassoc"],
        reason_counts={str(code): n for code, n in reasons.most_common(MAX_REASON_CODES)},
        direction_counts={key: directions[key] for key in DIRECTION_KEYS.values() if directions[key]},
        station_counts={mac: {key: n for key, n in sorted(counts.items()) if n}
                        for mac, counts in busiest[:settings.wifi_max_listed]},
    )


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
    counts = frame_counts(frames, settings)
    return Finding(
        id=finding_id(DeauthFloodAttributes.detector, bssid),
        title=f"Deauthentication flood against {bssid}: {len(frames)} frames, up to {rate}/s",
        first_seen=frames[0].ts,
        last_seen=frames[-1].ts,
        count=len(frames),
        hosts=stations[:listed],
        attributes=DeauthFloodAttributes(
            bssid=bssid,
            ssid=next((f.ssid for f in frames if f.ssid), ""),
            frames=len(frames),
            seconds=round(frames[-1].ts - frames[0].ts, 1),
            peak_per_second=rate,
            deauth=counts.deauth,
            disassoc=counts.disassoc,
            broadcast=sum(f.direction == "broadcast" for f in frames),
            stations=stations[:listed],
            reasons={str(k): v for k, v in reasons.most_common(settings.wifi_reasons_listed)},
            reason_counts=counts.reason_counts,
            direction_counts=counts.direction_counts,
            station_counts=counts.station_counts,
        ),
        evidence=[Evidence(iso(f.ts), f.where, f"{f.subtype} {f.direction} reason {f.reason}")
                  for f in frames[:settings.wifi_attack_evidence_frames]],
        severity="high",
    )


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
        id=finding_id(TargetedDeauthAttributes.detector, attack.bssid, attack.station),
        title=f"Targeted deauthentication attack on {attack.station} via {attack.bssid}: {len(frames)} frames "
              f"in {len(attack.bursts)} burst(s), up to {rate}/s, spoofed in both directions",
        first_seen=frames[0].ts,
        last_seen=frames[-1].ts,
        count=len(frames),
        hosts=[attack.station],
        attributes=TargetedDeauthAttributes(
            bssid=attack.bssid,
            ssid=next((f.ssid for f in frames if f.ssid), ""),
            station=attack.station,
            frames=len(frames),
            bursts=len(attack.bursts),
            burst_starts=[iso(b[0].ts) for b in attack.bursts[:MAX_BURSTS_LISTED]],
            seconds=round(sum(b[-1].ts - b[0].ts for b in attack.bursts), 1),
            peak_per_second=rate,
            deauth=sum(f.subtype == "deauth" for f in frames),
            disassoc=sum(f.subtype == "disassoc" for f in frames),
            ap_to_sta=directions["ap-to-sta"],
            sta_to_ap=directions["sta-to-ap"],
            reasons={str(k): v for k, v in reasons.most_common(settings.wifi_reasons_listed)},
        ),
        evidence=evidence[:settings.max_evidence],
        severity="high",
    )




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
        id=finding_id(DeauthSummaryAttributes.detector, bssid),
        title=f"Disconnect frames on {bssid}{f' ({ssid})' if ssid else ''}: {counts.deauth} deauthentication, "
              f"{counts.disassoc} disassociation, {len(stations)} station(s)",
        first_seen=frames[0].ts,
        last_seen=frames[-1].ts,
        count=len(frames),
        hosts=stations[:settings.wifi_max_listed],
        attributes=DeauthSummaryAttributes(
            bssid=bssid,
            ssid=ssid,
            frames=len(frames),
            deauth=counts.deauth,
            disassoc=counts.disassoc,
            reason_counts=counts.reason_counts,
            direction_counts=counts.direction_counts,
            station_counts=counts.station_counts,
            stations=stations[:settings.wifi_max_listed],
            attack_frames=attack_frames,
        ),
        evidence=evidence,
        severity="info",
    )
