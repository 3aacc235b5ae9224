"""Firewall traffic logs in key=value form: FortiGate (``srcip= dstip= sentbyte= rcvdbyte= hostname=``),
Sophos (``src_ip= dst_ip= sent_bytes= recv_bytes= url=``) and SonicWall (``src=ip:port:if dst=... sent= rcvd=
dstname=``).

One line per finished session with the bytes each way and, with web
filtering on, the host name or application name: flow accounting for free.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Optional
from urllib.parse import urlsplit

from detector.logs.base import LineParser, LogContext, LogDecoder, first_match
from detector.observations import Emit, ServiceContact
from detector.times import local_to_utc, plausible_ts

# a key starts where a word starts: unanchored \w+ restarts inside every long word (quadratic, issue 13)
PAIR = re.compile(r'(?<!\w)(\w{1,64})=("(?:[^"\\]|\\.)*"|\S*)')
MAX_PAIRS = 128
KEYS = {
    "client": ("srcip", "src_ip", "src"),
    "server": ("dstip", "dst_ip", "dst"),
    "port": ("dstport", "dst_port"),
    "up": ("sentbyte", "sent_bytes", "bytes_sent", "sent"),
    "down": ("rcvdbyte", "recv_bytes", "rcvd_bytes", "bytes_received", "rcvd"),
    "host": ("hostname", "domain", "dstname", "url"),
    "app": ("app", "application", "appname"),
}


def pairs(line: str) -> dict[str, str]:
    """The key=value pairs of a line, quotes removed, bounded in number."""
    out: dict[str, str] = {}
    for key, value in PAIR.findall(line)[:MAX_PAIRS]:
        out[key.lower()] = value[1:-1] if value.startswith('"') and value.endswith('"') else value
    return out


def first(fields: dict[str, str], role: str) -> str:
    for key in KEYS[role]:
        value = fields.get(key)
        if value:
            return value
    return ""


def _endpoint(value: str) -> tuple[str, Optional[int]]:
    """SonicWall writes ``ip:port:interface``; others write the bare address."""
    parts = value.split(":")
    if len(parts) in (2, 3) and "." in parts[0]:
        return parts[0], _number(parts[1])
    return value, None


def _number(text: str) -> Optional[int]:
    return int(text) if text.isdigit() else None


def _host(value: str) -> str:
    if "://" in value:
        try:
            return (urlsplit(value).hostname or "")[:255]
        except ValueError:  # "Invalid IPv6 URL" from a hostile url= field
            return ""
    return value.split("/")[0].split(":")[0].lower()[:255]


def _time(fields: dict[str, str], zone: Optional[tzinfo]) -> float:
    eventtime = fields.get("eventtime", "")
    if eventtime.isdigit():
        if not eventtime.isascii() or len(eventtime) > 20:  # hostile: 10**4000 or Unicode digits
            return -1.0
        raw = int(eventtime)
        return raw / 1e9 if raw > 1e17 else raw / 1e6 if raw > 1e14 else float(raw)
    date, clock = fields.get("date", ""), fields.get("time", "")
    if " " in clock:  # SonicWall: time="2026-10-26 10:00:00"
        date, clock = clock.split(" ", 2)[:2]
    try:
        stamp = datetime.strptime(f"{date} {clock}", "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return 0.0
    return local_to_utc(stamp, zone)


class FirewallParser(LineParser):
    def __init__(self, ctx: LogContext):
        self.zone = ctx.zone

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        fields = pairs(line)
        client, _ = _endpoint(first(fields, "client"))
        server, server_port = _endpoint(first(fields, "server"))
        if not client or not server:
            return False
        host = _host(first(fields, "host"))
        app = first(fields, "app")
        up, down = _number(first(fields, "up")), _number(first(fields, "down"))
        port = _number(first(fields, "port")) or server_port or 0
        ts = _time(fields, self.zone)
        if not plausible_ts(ts):  # FortiGate eventtime out of 1970..2100: the line is malformed
            return False
        emit(ServiceContact(ts, where, client, host=host, service=app,
                            method="firewall-log", server=server, server_port=port, bytes_up=up, bytes_down=down,
                            detail=f"firewall: {client} -> {host or server}:{port} ({app or 'no app'}), "
                                   f"{up or 0} B sent, {down or 0} B received"))
        return True


class FirewallDecoder(LogDecoder):
    name = "firewall-kv"
    parser_class = FirewallParser

    def sniff(self, head: list[str]) -> float:
        return first_match(head, lambda line: ("srcip=" in line and "dstip=" in line)
                           or ("src_ip=" in line and "dst_ip=" in line)
                           or (" src=" in line and " dst=" in line and ("sent=" in line or "rcvd=" in line)))
