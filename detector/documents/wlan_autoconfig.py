"""Windows WLAN-AutoConfig events (Microsoft-Windows-WLAN-AutoConfig/Operational) from text exports.

Event 8001 = connected, 8003 = disconnected, 8002 / 11004 / 11005 / 12013 =
connection, security or 802.1X failures. This module reads the two exports
an administrator produces with PowerShell or wevtutil: XML (``wevtutil qe
/f:xml`` or ``Get-WinEvent | % ToXml``) and CSV (``Get-WinEvent | Export-Csv``).
The binary ``.evtx`` reader in ``evtx.py`` feeds the same ``emit_wlan_event``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import BinaryIO, Iterator, Optional

from detector.documents.base import DocumentDecoder, DocumentStats
from detector.logs.base import LogContext
from detector.logs.syslog import file_station
from detector.observations import Emit, WifiConnect, WifiDisconnect

PROVIDER = "WLAN-AutoConfig"
CONNECTED, DISCONNECTED = 8001, 8003
FAILURES = {8002: 0, 11004: 0, 11005: 0, 12013: 23}  # 12013: 802.1X failed -> reason 23
WLAN_IDS = frozenset({CONNECTED, DISCONNECTED, *FAILURES})
USER_LEAVE = ("disconnected by the user", "user disconnect", "by the user")
MAX_EVENT_CHARS = 64 * 1024
MAX_FIELDS = 64
MAX_VALUE = 512


@dataclass
class WlanEvent:
    """One Windows event, reduced to what the Wi-Fi detector needs."""

    event_id: int
    ts: float
    where: str
    computer: str = ""
    provider: str = ""
    data: dict[str, str] = field(default_factory=dict)


def emit_wlan_event(event: WlanEvent, station_fallback: str, emit: Emit) -> bool:
    """Emit the observation a WLAN-AutoConfig event stands for; False when it is not one of them."""
    if event.event_id not in WLAN_IDS or (event.provider and PROVIDER not in event.provider):
        return False
    data = event.data
    station = event.computer or station_fallback
    ssid = data.get("SSID", "") or data.get("ProfileName", "")
    bssid = _bssid(data.get("BSSID", "") or data.get("PeerMac", ""))
    if event.event_id == CONNECTED:
        emit(WifiConnect(event.ts, event.where, station, bssid, ssid, "wlan-autoconfig"))
    elif event.event_id == DISCONNECTED:
        reason_text = data.get("Reason", "").lower()
        leave = any(phrase in reason_text for phrase in USER_LEAVE)
        emit(WifiDisconnect(event.ts, event.where, station, bssid, 0, "leave" if leave else "log",
                            "sta-to-ap" if leave else "", ssid, "wlan-autoconfig"))
    else:
        emit(WifiDisconnect(event.ts, event.where, station, bssid, FAILURES[event.event_id], "auth-failure", "",
                            ssid, "wlan-autoconfig"))
    return True


def _bssid(text: str) -> str:
    text = text.strip().lower().replace("-", ":")
    return text if re.fullmatch(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}", text) else ""


def parse_time(text: str, zone: Optional[tzinfo]) -> Optional[float]:
    """Windows export time stamps: ISO with or without offset, en-US "M/D/YYYY h:mm:ss AM" or "D.M.YYYY H:mm:ss"."""
    text = text.strip()[:40]
    if text.endswith(" UTC"):  # evtx (pyevtx-rs) renders some FILETIMEs as "2026-11-02 14:05:10.000000 UTC"
        text = text[:-4].rstrip("Z") + "Z"
    zone = zone or timezone.utc
    iso = re.match(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$", text)
    if iso:
        stamp = datetime.fromisoformat(f"{iso.group(1)}T{iso.group(2)}")
        offset = iso.group(4)
        if offset == "Z":
            stamp = stamp.replace(tzinfo=timezone.utc)
        elif offset:
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            stamp = stamp.replace(tzinfo=timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))))
        else:
            stamp = stamp.replace(tzinfo=zone)
        return stamp.timestamp() + (float(iso.group(3)) if iso.group(3) else 0.0)
    for pattern in ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=zone).timestamp()
        except ValueError:
            continue
    return None


MAX_CSV_LINE = 64 * 1024


def _bounded_lines(text: Iterator[str], stats: DocumentStats) -> Iterator[str]:
    """CSV lines without PowerShell's #TYPE header; an absurdly long line is counted and skipped."""
    for line in text:
        if len(line) > MAX_CSV_LINE:
            stats.malformed += 1
            continue
        if not line.startswith("#TYPE"):
            yield line


def _csv_rows(lines: Iterator[str], stats: DocumentStats) -> Iterator[dict]:
    """DictReader rows; a record the csv module rejects (field over its limit, NUL) costs only itself."""
    reader = csv.DictReader(lines)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            stats.malformed += 1
            continue
        yield row


def text_stream(stream: BinaryIO) -> io.TextIOWrapper:
    """PowerShell 5 writes UTF-16 with a BOM; everything else is UTF-8."""
    head = stream.read(2)
    rest = io.BufferedReader(_Prefixed(head, stream))  # type: ignore[arg-type]
    encoding = "utf-16" if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"
    return io.TextIOWrapper(rest, encoding=encoding, errors="replace", newline="")


class _Prefixed(io.RawIOBase):
    """A raw stream that replays bytes already read before the rest of ``stream``."""

    def __init__(self, prefix: bytes, stream: BinaryIO):
        self.prefix, self.stream = prefix, stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self.prefix:
            n = min(len(buffer), len(self.prefix))
            buffer[:n], self.prefix = self.prefix[:n], self.prefix[n:]
            return n
        data = self.stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


# ---------------------------------------------------------------- XML export

EVENT_ID = re.compile(r"<EventID[^>]{0,200}>\s*(\d{1,6})\s*</EventID>")
TIME_CREATED = re.compile(r"<TimeCreated\s+SystemTime=['\"]([^'\"]{1,40})['\"]")
COMPUTER = re.compile(r"<Computer>([^<]{0,255})</Computer>")
PROVIDER_NAME = re.compile(r"<Provider\s+Name=['\"]([^'\"]{0,200})['\"]")
DATA = re.compile(r"<Data\s+Name=['\"]([\w.-]{1,64})['\"]\s*(?:/>|>([^<]{0,2000})</Data>)")


def xml_events(text: io.TextIOBase, where_prefix: str, stats: DocumentStats) -> Iterator[tuple[str, str]]:
    """Each ``<Event>...</Event>`` block with its location; oversized blocks are counted and skipped."""
    pending, count = "", 0
    while True:
        chunk = text.read(1 << 16)
        if not chunk:
            return
        pending += chunk
        while True:
            end = pending.find("</Event>")
            if end < 0:
                break
            start = max(pending.rfind("<Event ", 0, end), pending.rfind("<Event>", 0, end))
            block, pending = pending[max(start, 0):end + 8], pending[end + 8:]
            count += 1
            yield block, f"{where_prefix}:event {count}"
        if len(pending) > MAX_EVENT_CHARS:
            stats.malformed += 1
            pending = pending[-256:]


def parse_xml_event(block: str, where: str, zone: Optional[tzinfo]) -> Optional[WlanEvent]:
    from xml.sax.saxutils import unescape  # pulls in urllib.request: only when an event is read

    event_id, stamp = EVENT_ID.search(block), TIME_CREATED.search(block)
    if not event_id or not stamp:
        return None
    ts = parse_time(stamp.group(1), zone)
    if ts is None:
        return None
    computer, provider = COMPUTER.search(block), PROVIDER_NAME.search(block)
    data = {m.group(1): unescape(m.group(2) or "")[:MAX_VALUE] for m in DATA.finditer(block[:MAX_EVENT_CHARS])}
    return WlanEvent(int(event_id.group(1)), ts, where, computer.group(1).strip() if computer else "",
                     provider.group(1) if provider else "", dict(list(data.items())[:MAX_FIELDS]))


class WlanXmlDecoder(DocumentDecoder):
    name = "wlan-autoconfig-xml"

    def sniff(self, head: bytes) -> float:
        text = _head_text(head)
        if "<Event" in text and "WLAN-AutoConfig" in text:
            return 0.95
        return 0.0

    def decode(self, stream: BinaryIO, ctx: LogContext, emit: Emit) -> DocumentStats:
        stats = DocumentStats()
        station = file_station(ctx)
        for block, where in xml_events(text_stream(stream), ctx.path, stats):
            stats.records += 1
            event = parse_xml_event(block, where, ctx.zone)
            if event is None:
                stats.malformed += 1
                continue
            emit_wlan_event(event, station, emit)
        return stats


# ---------------------------------------------------------------- CSV export

FIELD = re.compile(r"^\s*(SSID|BSSID|Profile Name|Reason|Peer MAC Address)\s*:\s*(.{0,256}?)\s*$", re.MULTILINE)
CSV_NAMES = {"Profile Name": "ProfileName", "Peer MAC Address": "PeerMac"}


class WlanCsvDecoder(DocumentDecoder):
    name = "wlan-autoconfig-csv"

    def sniff(self, head: bytes) -> float:
        text = _head_text(head)
        if "TimeCreated" in text and ('"Id"' in text or ",Id," in text or "Id," in text[:200]) and (
                "WLAN" in text or "wireless" in text.lower()):
            return 0.9
        return 0.0

    def decode(self, stream: BinaryIO, ctx: LogContext, emit: Emit) -> DocumentStats:
        stats = DocumentStats()
        station = file_station(ctx)
        lines = _bounded_lines(text_stream(stream), stats)
        for number, row in enumerate(_csv_rows(lines, stats), 1):
            stats.records += 1
            event = self._event(row, f"{ctx.path}:record {number}", ctx.zone)
            if event is None:
                stats.malformed += 1
                continue
            emit_wlan_event(event, station, emit)
        return stats

    @staticmethod
    def _event(row: dict, where: str, zone: Optional[tzinfo]) -> Optional[WlanEvent]:
        raw_id, raw_time = str(row.get("Id") or row.get("EventID") or ""), str(row.get("TimeCreated") or "")
        if not raw_id.strip().isdigit():
            return None
        ts = parse_time(raw_time, zone)
        if ts is None:
            return None
        message = str(row.get("Message") or "")[:MAX_EVENT_CHARS]
        data = {CSV_NAMES.get(m.group(1), m.group(1)): m.group(2) for m in FIELD.finditer(message)}
        return WlanEvent(int(raw_id), ts, where, str(row.get("MachineName") or "")[:255],
                         str(row.get("ProviderName") or ""), data)


def _head_text(head: bytes) -> str:
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return head.decode("utf-16", "replace")
    return head.decode("utf-8", "replace")
