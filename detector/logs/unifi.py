"""Ubiquiti UniFi access-point syslog: station join/leave events from ``wevent`` and ``stahtd``.

``wevent.ubnt_custom_event(): EVENT_STA_LEAVE ath0: 3c:22:fb:00:00:0a / 4`` and
the ``stahtd`` JSON tracker (``"event_type":"disassoc"``). The AP is the
device name the line was sent from, plus the VAP (one per SSID and band).
The embedded hostapd lines of a UniFi AP are left to the hostapd decoder.
"""

from __future__ import annotations

import json
import re

from detector.logs.base import LineParser, LogContext, LogDecoder, first_match
from detector.logs.syslog import LineClock
from detector.observations import Emit, WifiConnect, WifiDisconnect

MAC = r"(?P<mac>[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})"
WEVENT = re.compile(r"EVENT_STA_(?P<what>LEAVE|JOIN) (?P<vap>[\w.-]{1,32}): " + MAC)
STAHTD = re.compile(r"stahtd_dump_event\(\): (?P<json>\{.{0,4000}\})")
LEAVE_EVENTS = frozenset({"disassoc", "deauth", "sta_leave", "leave", "sta_leave_with_stats"})
JOIN_EVENTS = frozenset({"assoc", "reassoc", "sta_join", "join", "fixup"})
HINTS = ("EVENT_STA_", "stahtd", "hostapd:", "wevent", "mcad", "U7", "UAP", "U6")
MAX_JSON = 4096


class UnifiParser(LineParser):
    def __init__(self, ctx: LogContext):
        self.clock = LineClock(ctx)

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        emit = self.clock.emitter(emit)
        ts, rest = self.clock.parse(line)
        ts = ts or 0.0
        device = rest.split(" ", 1)[0][:64] if ts else ""
        match = WEVENT.search(rest)
        if match:
            self._event(match.group("what") == "JOIN", match.group("mac").lower(), device, match.group("vap"), "",
                        ts, where, emit)
            return True
        match = STAHTD.search(rest)
        if match:
            return self._tracker(match.group("json")[:MAX_JSON], device, ts, where, emit)
        return any(h in rest for h in HINTS) or ts > 0

    def _tracker(self, text: str, device: str, ts: float, where: str, emit: Emit) -> bool:
        try:
            event = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: [[[[... nested thousands deep
            return False
        if not isinstance(event, dict):
            return False
        kind, station = str(event.get("event_type", "")), str(event.get("mac", "")).lower()[:17]
        vap = str(event.get("vap", ""))[:32]
        if kind in LEAVE_EVENTS | JOIN_EVENTS and station:
            self._event(kind in JOIN_EVENTS, station, device, vap, str(event.get("ssid", ""))[:64], ts, where, emit)
        return True

    @staticmethod
    def _event(join: bool, station: str, device: str, vap: str, ssid: str, ts: float, where: str,
               emit: Emit) -> None:
        ap = f"{device}/{vap}" if device else vap
        if join:
            emit(WifiConnect(ts, where, station, ap, ssid, "unifi"))
        else:
            emit(WifiDisconnect(ts, where, station, ap, 0, "log", ssid=ssid, origin="unifi"))


class UnifiDecoder(LogDecoder):
    name = "unifi"
    parser_class = UnifiParser

    def sniff(self, head: list[str]) -> float:
        score = first_match(head, lambda line: "EVENT_STA_" in line or "stahtd" in line)
        return min(1.0, score * 1.5) if score > 0.02 else 0.0
