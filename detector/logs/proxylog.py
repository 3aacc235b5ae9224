"""Web proxy logs: Squid ``access.log`` (native and common/combined) and the Proxifier client log.

Discovery tools (Defender for Cloud Apps, Zscaler) start from exactly these:
who went to which host and how many bytes went each way.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Optional
from urllib.parse import urlsplit

from detector.logs.base import LineParser, LogContext, LogDecoder, first_match
from detector.observations import Emit, ServiceContact

SQUID_NATIVE = re.compile(
    r"^(?P<ts>\d{9,10}\.\d{1,3})\s+(?P<elapsed>-?\d+)\s+(?P<client>\S+)\s+(?P<code>[A-Z_]+)/(?P<status>\d{3})\s+"
    r"(?P<bytes>\d+)\s+(?P<method>[A-Z_]+)\s+(?P<url>\S+)\s+(?P<user>\S+)\s+(?P<hier>\S+)(?:\s+(?P<type>\S+))?"
    r"(?:\s+(?P<up>\d+))?\s*$")
SQUID_COMMON = re.compile(
    r'^(?P<client>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<method>[A-Z_]+) (?P<url>\S+)(?: [^"]*)?" '
    r'(?P<status>\d{3}) (?P<bytes>\d+|-)(?: (?P<code>[A-Z_]+):\S+)?')
PROXIFIER = re.compile(
    r"^\[(?P<mon>\d\d)\.(?P<day>\d\d) (?P<time>\d\d:\d\d:\d\d)\] (?P<program>.{1,200}?) - "
    r"(?P<host>[^\s:]{1,255}):(?P<port>\d+) "
    r"(?P<what>open|close|error)(?P<rest>.*)$")
PROXIFIER_BYTES = re.compile(r"(?P<sent>\d+) bytes(?: \([^)]*\))? sent, "
                             r"(?P<received>\d+) bytes(?: \([^)]*\))? received")
MAX_HOST = 255


def url_host(url: str, method: str) -> tuple[str, int]:
    """Host and port of a proxy request URL (``CONNECT host:443`` or an absolute URL)."""
    if method == "CONNECT" or "://" not in url:
        host, _, port = url.rpartition(":")
        if not host:
            host, port = url, "443"
        return host.strip("[]").lower()[:MAX_HOST], int(port) if port.isdigit() else 443
    try:  # hostile URLs: "Invalid IPv6 URL", ports out of range
        parts = urlsplit(url)
        hostname = parts.hostname or ""
    except ValueError:
        return "", 80
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 80
    return hostname[:MAX_HOST], port


class SquidParser(LineParser):
    def parse(self, line: str, where: str, emit: Emit) -> bool:
        match = SQUID_NATIVE.match(line)
        if match:
            ts = float(match.group("ts"))
            up = int(match.group("up")) if match.group("up") else None
        else:
            match = SQUID_COMMON.match(line)
            if not match:
                return False
            ts = _clf_time(match.group("time"))
            if ts is None:
                return False
            up = None
        method = match.group("method")
        host, port = url_host(match.group("url"), method)
        if not host:
            return False
        size = match.group("bytes")
        down = int(size) if size and size.isdigit() else None
        client = match.group("client")
        emit(ServiceContact(ts, where, client, host=host, method="proxy-log", server_port=port, bytes_up=up,
                            bytes_down=down, detail=f"proxy: {client} {method} {host}:{port} "
                                                    f"{match.group('status')} {down or 0} B down"))
        return True


def _clf_time(text: str) -> Optional[float]:
    try:
        return datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z").timestamp()
    except ValueError:
        return None


class SquidDecoder(LogDecoder):
    name = "squid"

    def sniff(self, head: list[str]) -> float:
        native = first_match(head, lambda line: bool(SQUID_NATIVE.match(line)))
        common = first_match(head, lambda line: bool(SQUID_COMMON.match(line)) and
                             bool(re.search(r'"(?:CONNECT \S+:\d+|[A-Z]+ https?://)', line)))
        return max(native, common * 0.9)

    def parser(self, ctx: LogContext) -> LineParser:
        return SquidParser()


class ProxifierParser(LineParser):
    """Proxifier runs on the user's own computer: the device is the log's machine, the program is not a device."""

    def __init__(self, ctx: LogContext):
        self.year = ctx.year or datetime.now(timezone.utc).year
        self.device = f"log:{ctx.path}"  # the computer that wrote this log (Proxifier does not name it)

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        match = PROXIFIER.match(line)
        if not match:
            return False
        if match.group("what") != "close":
            return True  # the close line of the same connection carries its bytes
        sizes = PROXIFIER_BYTES.search(match.group("rest"))
        try:
            stamp = datetime.strptime(f"{self.year}.{match.group('mon')}.{match.group('day')} {match.group('time')}",
                                      "%Y.%m.%d %H:%M:%S").replace(tzinfo=timezone.utc)
        except ValueError:
            return False
        program = match.group("program")[:80]
        host = match.group("host").lower()[:MAX_HOST]
        up = int(sizes.group("sent")) if sizes else None
        down = int(sizes.group("received")) if sizes else None
        emit(ServiceContact(stamp.timestamp(), where, self.device, host=host, method="proxy-log", process=program,
                            server_port=int(match.group("port")), bytes_up=up, bytes_down=down,
                            detail=f"Proxifier: {program} -> {host}:{match.group('port')}, "
                                   f"{up or 0} B sent, {down or 0} B received"))
        return True


class ProxifierDecoder(LogDecoder):
    name = "proxifier"
    parser_class = ProxifierParser

    def sniff(self, head: list[str]) -> float:
        return first_match(head, lambda line: bool(PROXIFIER.match(line)))
