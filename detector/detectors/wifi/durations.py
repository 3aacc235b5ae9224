"""How long an outage lasted, from the best evidence available."""

from __future__ import annotations

from detector.detectors.wifi.connects import ConnectIndex
from detector.detectors.wifi.events import Outage
from detector.policy.settings import Settings


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
