"""When and where each station (re)connected: roaming and reconnect look-ups as bisections."""

from __future__ import annotations

import bisect
from typing import Iterable, Optional

from detector.detectors.wifi.events import ap_label
from detector.observations import WifiConnect, WifiDisconnect


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
