"""MikroTik RouterOS wireless logs (remote syslog or ``/log print``): station connects and disconnects.

``3C:22:FB:00:00:0A@wlan1: disconnected, received deauth: sending station leaving (3)``
is RouterOS 6; RouterOS 7 (wifi/wifiwave2) writes ``... @wifi1 disconnected, connection lost``.
``registered to other interface`` is a roam between the router's radios.
"""

from __future__ import annotations

import re
from datetime import datetime

from detector.logs.base import LineParser, LogContext, LogDecoder, first_match
from detector.logs.syslog import MONTHS, LineClock
from detector.observations import Emit, WifiConnect, WifiDisconnect

MAC = r"(?P<mac>[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})"
EVENT = re.compile(MAC + r"@(?P<iface>[\w.-]{1,32}):? (?P<what>connected|disconnected)(?P<detail>[^\n]{0,200})")
REASON = re.compile(r"\((?P<reason>\d{1,5})\)\s*$")
# "/log print" stamps: "jun/03/2026 14:05:01", "jun/03 14:05:01" or only "14:05:01"
PRINT_STAMP = re.compile(r"^(?:(?P<mon>[a-z]{3})/(?P<day>\d\d)(?:/(?P<year>\d{4}))? )?"
                         r"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d) ")
TOPICS = re.compile(r"^(?:wireless|wifi|caps)[\w,]*\s")
ROAMED = "registered to other interface"
LEAVING = ("station leaving", "leaving")


class MikrotikParser(LineParser):
    def __init__(self, ctx: LogContext):
        self.clock = LineClock(ctx)

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        emit = self.clock.emitter(emit)
        ts, rest = self.clock.parse(line)
        host = ""
        if ts is None:
            ts, rest = self._print_stamp(line)
        else:
            first, _, after = rest.partition(" ")
            if TOPICS.match(after):
                host, rest = first, after  # remote syslog: "<router> wireless,info ..."
        match = EVENT.search(rest)
        if not match:
            return bool(TOPICS.search(rest)) or ts is not None
        station, iface = match.group("mac").lower(), match.group("iface")
        ap = f"{host}/{iface}" if host else iface
        detail = match.group("detail")
        if match.group("what") == "connected":
            emit(WifiConnect(ts or 0.0, where, station, ap, origin="mikrotik"))
        elif ROAMED not in detail:
            reason = REASON.search(detail)
            leave = any(word in detail for word in LEAVING)
            emit(WifiDisconnect(ts or 0.0, where, station, ap, int(reason.group("reason")) if reason else 0,
                                "log", "sta-to-ap" if leave else "", origin="mikrotik"))
        return True

    def _print_stamp(self, line: str) -> tuple[float | None, str]:
        match = PRINT_STAMP.match(line)
        if not match or not match.group("mon"):
            return None, line
        month = MONTHS.get(match.group("mon"))
        year = int(match.group("year") or self.clock.year)
        try:
            stamp = datetime(year, month or 0, int(match.group("day")), int(match.group("h")),
                             int(match.group("m")), int(match.group("s")), tzinfo=self.clock.zone)
        except ValueError:
            return None, line
        return stamp.timestamp(), line[match.end():]


class MikrotikDecoder(LogDecoder):
    name = "mikrotik"
    parser_class = MikrotikParser

    def sniff(self, head: list[str]) -> float:
        score = first_match(head, lambda line: bool(EVENT.search(line)) and ("wireless" in line or "wifi" in line
                                                                               or "@" in line))
        return score if score > 0.05 else 0.0
