"""DNS server query logs: dnsmasq / Pi-hole (``query[A] name from client``) and BIND ``queries`` logs.

A resolver log names every service each client looked up, even when the
traffic itself is encrypted or never crossed the capture point.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Optional

from detector.logs.base import LineParser, LogContext, LogDecoder, first_match
from detector.logs.syslog import LineClock
from detector.observations import DnsQuery, Emit

QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33,
          "SVCB": 64, "HTTPS": 65, "ANY": 255}
DNSMASQ = re.compile(r"dnsmasq\[\d+\]: (?:\d+ )?(?:[\d.:a-fA-F]+/\d+ )?query\[(?P<type>[A-Z0-9]+)\] "
                     r"(?P<name>\S+) from (?P<client>[0-9a-fA-F.:]+)")
DNSMASQ_OTHER = re.compile(r"dnsmasq(?:-dhcp)?\[\d+\]:")
BIND = re.compile(r"client (?:@0x[0-9a-f]+ )?(?P<client>[0-9a-fA-F.:]+)#\d+ (?:\([^)]*\))?: (?:view \S+: )?"
                  r"query: (?P<name>\S+) IN (?P<type>[A-Z0-9]+)")
BIND_TIME = re.compile(r"^(?P<stamp>\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d)(?:\.\d+)?\s")
MAX_NAME = 255


def _bind_time(line: str) -> Optional[float]:
    match = BIND_TIME.match(line)
    if not match:
        return None
    try:
        return datetime.strptime(match.group("stamp"), "%d-%b-%Y %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


class DnsLogParser(LineParser):
    def __init__(self, ctx: LogContext):
        self.clock = LineClock(ctx)

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        match = DNSMASQ.search(line) or BIND.search(line)
        if match is None:
            return bool(DNSMASQ_OTHER.search(line))
        ts = _bind_time(line)
        if ts is None:
            ts, _ = self.clock.parse(line)
        name = match.group("name").lower().rstrip(".")[:MAX_NAME]
        if not name:
            return False
        emit(DnsQuery(ts or 0.0, where, match.group("client"), "", name, QTYPES.get(match.group("type"), 0)))
        return True


class DnsLogDecoder(LogDecoder):
    name = "dns-log"
    parser_class = DnsLogParser

    def sniff(self, head: list[str]) -> float:
        hits = first_match(head, lambda line: bool(DNSMASQ.search(line) or BIND.search(line)))
        related = first_match(head, lambda line: bool(DNSMASQ_OTHER.search(line)) or " query: " in line)
        return hits if hits > 0 else related * 0.5
