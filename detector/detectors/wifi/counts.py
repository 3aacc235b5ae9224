"""Deauthentication and disassociation frame counts, the way Wireshark's WLAN statistics break them down.

By frame type, by reason code, by direction and by station, so a reader can
see what an AP sent and received even when nothing reached an attack or
outage threshold.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

from detector.observations import WifiDisconnect
from detector.policy.settings import Settings

MAX_REASON_CODES = 32  # reason codes listed (802.11 defines about 70; a hostile capture could send 65536)
DIRECTION_KEYS = {"ap-to-sta": "ap_to_sta", "sta-to-ap": "sta_to_ap", "broadcast": "broadcast", "": "unknown"}


def frame_counts(frames: Iterable[WifiDisconnect], settings: Settings) -> dict[str, Any]:
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
    return {
        "deauth": kinds["deauth"],
        "disassoc": kinds["disassoc"],
        "reason_counts": {str(code): n for code, n in reasons.most_common(MAX_REASON_CODES)},
        "direction_counts": {key: directions[key] for key in DIRECTION_KEYS.values() if directions[key]},
        "station_counts": {mac: {key: n for key, n in sorted(counts.items()) if n}
                           for mac, counts in busiest[:settings.wifi_max_listed]},
    }
