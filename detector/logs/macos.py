"""macOS system logs: ``AirPort: Link Down on en0`` is the Mac losing the Wi-Fi.

Only infrastructure Wi-Fi interfaces (``en<N>``) count: ``awdl0`` is Apple
Wireless Direct Link (AirDrop/AirPlay) and ``llw0`` its low-latency twin, whose
link flaps are normal. ``BSSID changed`` lines are roams and become connects,
so a link-down followed by a roam is not taken for a drop.
"""

from __future__ import annotations

import re

from detector.logs.base import LineParser, LogContext, LogDecoder, first_match
from detector.logs.syslog import LineClock, file_station
from detector.observations import Emit, WifiConnect, WifiDisconnect

LINK = re.compile(r"AirPort: Link (?P<state>Down|Up) on (?P<iface>[a-z]{2,5}\d{1,2})\b"
                  r"(?:\. Reason (?P<reason>\d{1,5}))?")
BSSID = re.compile(r"\b(?P<iface>en\d{1,2}): BSSID changed to (?P<bssid>[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2}){5})")
WIFI_IFACE = re.compile(r"^en\d{1,2}$")
HINTS = ("kernel[", "AirPort", "IO80211", "mDNSResponder", "com.apple.")


def _mac(text: str) -> str:
    """macOS prints MACs without leading zeros (0:1b:2c:...)."""
    return ":".join(part.zfill(2) for part in text.lower().split(":"))


class MacLogParser(LineParser):
    def __init__(self, ctx: LogContext):
        self.clock = LineClock(ctx)
        self.station = file_station(ctx)
        self.bssid: dict[str, str] = {}

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        emit = self.clock.emitter(emit)
        ts, rest = self.clock.parse(line)
        ts = ts or 0.0
        match = LINK.search(rest)
        if match:
            iface = match.group("iface")
            if WIFI_IFACE.match(iface):
                self._link(match, iface, ts, where, emit)
            return True
        match = BSSID.search(rest)
        if match:
            iface, bssid = match.group("iface"), _mac(match.group("bssid"))
            self.bssid[iface] = bssid
            emit(WifiConnect(ts, where, f"{self.station}/{iface}", bssid, origin="macos"))
            return True
        return ts > 0 or any(h in rest for h in HINTS)

    def _link(self, match: re.Match, iface: str, ts: float, where: str, emit: Emit) -> None:
        station = f"{self.station}/{iface}"
        bssid = self.bssid.get(iface, "")
        if match.group("state") == "Up":
            emit(WifiConnect(ts, where, station, bssid, origin="macos"))
            return
        reason = int(match.group("reason") or 0)
        emit(WifiDisconnect(ts, where, station, bssid, reason, "log", origin="macos"))


class MacLogDecoder(LogDecoder):
    name = "macos"
    parser_class = MacLogParser

    def sniff(self, head: list[str]) -> float:
        hits = first_match(head, lambda line: "AirPort" in line or "IO80211" in line or "kernel[0]:" in line)
        return min(1.0, hits * 2) if hits > 0.02 else 0.0
