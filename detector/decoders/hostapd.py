"""hostapd logs (also OpenWrt ``logread``): station connects, disconnects and AP shutdowns.

Accepts bare hostapd output, epoch-prefixed lines (``1539711731.123: wlan0: ...``)
and syslog lines (``Jun  3 14:05:01 ap hostapd: wlan0: ...``). A disconnect
right before the AP itself goes down is marked ``ap_initiated``: the station
did not drop, the AP was restarted.
"""

from __future__ import annotations

import re

from ..model import WifiConnect, WifiDisconnect
from .base import Emit, LineParser, LogContext, LogDecoder, first_match, plausible_text
from .syslog import LineClock, syslog_header

MAC = r"(?P<mac>[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})"
IFACE = r"(?P<iface>[\w.-]+)"
DISCONNECTED = re.compile(IFACE + r": AP-STA-DISCONNECTED " + MAC)
CONNECTED = re.compile(IFACE + r": AP-STA-CONNECTED " + MAC)
DISASSOCIATED = re.compile(IFACE + r": STA " + MAC + r" IEEE 802\.11: (?P<what>disassociated|deauthenticated)"
                           r"(?: due to (?:inactivity|local deauth request))?(?: \(reason (?P<reason>\d+)\))?")
AP_DOWN = re.compile(IFACE + r": (?:AP-DISABLED|INTERFACE-DISABLED|CTRL-EVENT-TERMINATING)")
HINTS = ("AP-STA-", "hostapd", "IEEE 802.11:", "AP-ENABLED", "AP-DISABLED", "CTRL-EVENT-TERMINATING")
AP_DOWN_WINDOW = 5.0  # seconds between a disconnect and the AP going down


class HostapdParser(LineParser):
    def __init__(self, ctx: LogContext):
        self.clock = LineClock(ctx)
        self.held: list[WifiDisconnect] = []  # waiting to see whether the AP goes down next
        self.held_rollovers = 0
        self.last_ts = 0.0
        self.lines_since = 0

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        emit = self.clock.emitter(emit)
        ts, rest = self.clock.parse(line)
        ts = ts if ts is not None else 0.0
        host = syslog_header(rest)[0] if ts else ""
        self.lines_since += 1
        if self.held and (self.lines_since > 3 or (ts and abs(ts - self.held[-1].ts) > AP_DOWN_WINDOW)):
            self._release(emit)
        match = DISCONNECTED.search(rest) or DISASSOCIATED.search(rest)
        if match:
            self._disconnect(match, ts, where, host)
            return True
        match = CONNECTED.search(rest)
        if match:
            emit(WifiConnect(ts, where, match.group("mac").lower(), _ap(host, match.group("iface")), origin="hostapd"))
            return True
        if AP_DOWN.search(rest):
            for event in self.held:
                event.ap_initiated = True
            self._release(emit)
            return True
        return plausible_text(rest)

    def _disconnect(self, match: re.Match, ts: float, where: str, host: str) -> None:
        station = match.group("mac").lower()
        groups = match.groupdict()
        reason = int(groups["reason"]) if groups.get("reason") else 0
        subtype = "deauth" if groups.get("what") == "deauthenticated" else "disassoc"
        if any(e.station == station and abs(e.ts - ts) <= 1.0 for e in self.held):
            return  # "disassociated" and "AP-STA-DISCONNECTED" describe one event
        if not self.held:
            self.held_rollovers = self.clock.rollovers
        self.held.append(WifiDisconnect(ts, where, station, _ap(host, match.group("iface")), reason, subtype,
                                        origin="hostapd"))
        self.lines_since = 0

    def _release(self, emit: Emit) -> None:
        for _ in range(self.clock.rollovers - self.held_rollovers):
            for event in self.held:  # stamped before a New Year the clock has since crossed
                event.ts = self.clock.year_earlier(event.ts)
        self.held_rollovers = self.clock.rollovers
        for event in self.held:
            emit(event)
        self.held = []

    def finish(self, emit: Emit) -> None:
        self._release(self.clock.emitter(emit))


def _ap(host: str, iface: str) -> str:
    """The AP as "host/interface" when the log names its host, so two APs' wlan0 stay apart."""
    return f"{host}/{iface}" if host else iface


class HostapdDecoder(LogDecoder):
    name = "hostapd"

    def sniff(self, head: list[str]) -> float:
        score = first_match(head, lambda line: any(h in line for h in HINTS))
        return score if score > 0.05 else 0.0

    def parser(self, ctx: LogContext) -> LineParser:
        return HostapdParser(ctx)

