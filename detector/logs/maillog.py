"""Mail-server logs: Postfix syslog lines and Microsoft 365 message-trace CSV exports (PowerShell and admin center).

Each delivered message becomes a FileTransfer(protocol="mail-log") with its
size, sender and recipients; the detector decides which ones matter (large
messages to personal mail domains are files mailed out of the company).
"""

from __future__ import annotations

import csv
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Optional

from detector.logs.authlog import LoginLines
from detector.logs.base import LineParser, LogContext, LogDecoder, first_match
from detector.logs.syslog import LineClock
from detector.observations import Emit, FileTransfer

POSTFIX = re.compile(r"postfix(?:/[\w-]+)*/(?P<daemon>[\w-]+)\[\d+\]: (?P<qid>[0-9A-Za-z]{5,20}): (?P<rest>.*)$")
POSTFIX_ANY = re.compile(r"postfix(?:/[\w-]+)*/[\w-]+\[\d+\]: ")
CLIENT = re.compile(r"^client=[^\[]*\[(?P<ip>[0-9a-fA-F.:]+)\]")
FROM = re.compile(r"^from=<(?P<addr>[^>]{0,320})>, size=(?P<size>\d+)")
TO = re.compile(r"^to=<(?P<addr>[^>]{1,320})>,(?: orig_to=<[^>]*>,)? relay=(?P<relay>[^,\s]+).*?status=(?P<status>\w+)")
RELAY_IP = re.compile(r"\[(?P<ip>[0-9a-fA-F.:]+)\]")
MAX_QUEUE = 10_000
MAX_RECIPIENTS = 100
M365_DONE = {"delivered", "expanded", "resolved", "pending", "gettingstatus"}


@dataclass
class Message:
    ts: float = 0.0
    where: str = ""
    client: str = ""
    sender: str = ""
    size: Optional[int] = None
    relay: str = ""
    recipients: list[str] = field(default_factory=list)


class PostfixParser(LineParser):
    """Joins the lines of one queue id (client, from/size, to/status) into one message."""

    def __init__(self, ctx: LogContext):
        self.clock = LineClock(ctx)
        self.queue: OrderedDict[str, Message] = OrderedDict()
        self.logins = LoginLines(ctx)  # SASL and Dovecot logins in the same mail log

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        login = self.logins.handle(line, where, emit)
        match = POSTFIX.search(line)
        if match is None:
            return login or bool(POSTFIX_ANY.search(line))
        ts, _ = self.clock.parse(line)
        qid, rest = match.group("qid"), match.group("rest")
        if rest.startswith("removed"):
            message = self.queue.pop(qid, None)
            if message is not None:
                self._emit(qid, message, emit)
            return True
        message = self._message(qid, emit)
        if ts and not message.ts:
            message.ts, message.where = ts, where
        self._update(message, rest)
        return True

    def _message(self, qid: str, emit: Emit) -> Message:
        message = self.queue.get(qid)
        if message is None:
            message = self.queue[qid] = Message()
            if len(self.queue) > MAX_QUEUE:
                old_qid, old = self.queue.popitem(last=False)
                self._emit(old_qid, old, emit)
        return message

    @staticmethod
    def _update(message: Message, rest: str) -> None:
        found = CLIENT.match(rest)
        if found:
            message.client = found.group("ip")
            return
        found = FROM.match(rest)
        if found:
            message.sender, message.size = found.group("addr").lower(), int(found.group("size"))
            return
        found = TO.match(rest)
        if found and found.group("status") == "sent" and len(message.recipients) < MAX_RECIPIENTS:
            address = found.group("addr").lower()
            if address not in message.recipients:
                message.recipients.append(address)
            relay = RELAY_IP.search(found.group("relay"))
            message.relay = relay.group("ip") if relay else message.relay

    @staticmethod
    def _emit(qid: str, message: Message, emit: Emit) -> None:
        if not message.recipients:
            return
        emit(FileTransfer(message.ts, message.where or "postfix", message.client, message.relay, "mail-log",
                          f"message {qid}", "up", message.size, message.sender, tuple(message.recipients)))

    def finish(self, emit: Emit) -> None:
        for qid, message in self.queue.items():
            self._emit(qid, message, emit)
        self.queue.clear()


class PostfixDecoder(LogDecoder):
    name = "postfix"
    parser_class = PostfixParser

    def sniff(self, head: list[str]) -> float:
        return first_match(head, lambda line: bool(POSTFIX_ANY.search(line)))


# column names of the exports people hand over, normalised (lower case, no spaces, underscores or brackets):
# Get-MessageTrace | Export-Csv (Exchange Online PowerShell), the admin center's downloaded message trace and
# its historical search summary/extended reports
M365_COLUMNS = {
    "received": ("received", "receiveddatetime", "date", "dateutc", "datetime", "origintimestamputc",
                 "datetimeutc", "timestamp", "time"),
    "senderaddress": ("senderaddress", "sender", "from", "fromaddress"),
    "recipientaddress": ("recipientaddress", "recipient", "recipients", "to", "toaddress", "recipientstatus"),
    "subject": ("subject", "messagesubject"),
    "status": ("status", "deliverystatus"),
    "size": ("size", "totalbytes", "messagesize", "sizebytes", "sizeinbytes"),
    "fromip": ("fromip", "originalclientip", "clientip"),
    "toip": ("toip", "originalserverip", "serverip"),
    "messageid": ("messageid", "internetmessageid", "messagetraceid", "networkmessageid"),
}
M365_ALIASES = {alias: name for name, aliases in M365_COLUMNS.items() for alias in aliases}
# historical-search status words after "recipient##": the last event is the outcome
M365_EVENT_DONE = {"deliver", "delivered", "send", "sent", "transfer", "expand", "resolve"}
LOCALE_DATE = re.compile(
    r"^(?P<a>\d{1,4})[/.-](?P<b>\d{1,2})[/.-](?P<c>\d{1,4})[ T]+(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?"
    r"(?:[.,]\d+)?\s*(?P<ampm>[AaPp]\.?\s?[Mm]\.?)?\s*(?:Z|UTC|(?P<tz>[+-]\d{2}:?\d{2}))?$")


def _column(name: str) -> str:
    return re.sub(r"[\s_()\[\]-]+", "", name.strip().strip("\ufeff").lower())


def m365_time(text: str, day_first: Optional[bool] = None) -> tuple[Optional[float], Optional[bool]]:
    """POSIX time of an export's date cell, and what it proved about day/month order.

    ISO (2026-03-03T13:00:00.123Z), en-US (3/3/2026 1:00:00 PM), en-GB/fr (03/03/2026 13:00:00) and
    de (03.03.2026 13:00:00). An ambiguous d/m date follows what the file proved earlier, else month
    first with AM/PM (en-US) and day first without.
    """
    match = LOCALE_DATE.match(text.strip())
    if match is None:
        return None, day_first
    a, b, c = int(match.group("a")), int(match.group("b")), int(match.group("c"))
    ampm = (match.group("ampm") or "").replace(".", "").replace(" ", "").lower()
    if match.group("a") and len(match.group("a")) == 4:
        year, month, day = a, b, c
    else:
        year = c if c >= 100 else 2000 + c
        if a > 12:
            day_first = True
        elif b > 12:
            day_first = False
        first = day_first if day_first is not None else ("." in text or not ampm)
        day, month = (a, b) if first else (b, a)
    hour, minute, second = int(match.group("h")), int(match.group("mi")), int(match.group("s") or 0)
    if ampm:
        hour = hour % 12 + (12 if ampm.startswith("p") else 0)
    try:
        stamp = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        return None, day_first
    offset = match.group("tz")
    if offset:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        stamp -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return stamp.timestamp(), day_first


class MessageTraceParser(LineParser):
    """Microsoft 365 / Exchange Online message trace CSV, as exported or downloaded.

    Get-MessageTrace | Export-Csv (with its "#TYPE" line), the admin center download and the
    historical search reports (recipient_status "rcpt##Receive, Deliver"); a UTF-8 BOM, quoted
    fields and locale date formats are accepted.
    """

    def __init__(self) -> None:
        self.columns: dict[str, int] = {}
        self.day_first: Optional[bool] = None

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        line = line.lstrip("\ufeff")
        if line.startswith("#"):
            return True  # "#TYPE Deserialized..." from Export-Csv, comments of the historical reports
        if not line.strip():
            return True
        try:
            row = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            return False
        header = _header_columns(row)
        if header is not None:
            self.columns = header
            return True
        if not self.columns or len(row) < len(self.columns):
            return False
        ts, self.day_first = m365_time(self._cell(row, "received"), self.day_first)
        recipients, status = self._recipients(row)
        if ts is None or "@" not in self._cell(row, "recipientaddress"):
            return False
        if not recipients or (status not in M365_DONE and status not in M365_EVENT_DONE):
            return True  # failed, pending or filtered: nothing left the company
        size = self._cell(row, "size").replace(",", "").replace(".", "")
        subject = self._cell(row, "subject")[:120]
        emit(FileTransfer(ts, where, self._cell(row, "fromip"), self._cell(row, "toip"), "mail-log",
                          f"message {subject!r}" if subject else f"message {self._cell(row, 'messageid')[:120]}",
                          "up", int(size) if size.isdigit() else None, self._cell(row, "senderaddress").lower(),
                          tuple(recipients)))
        return True

    def _recipients(self, row: list[str]) -> tuple[list[str], str]:
        """Recipients and the delivery status, from plain columns or "rcpt##Receive, Deliver;rcpt2##..."."""
        cell = self._cell(row, "recipientaddress")
        status = self._cell(row, "status").lower()
        recipients = []
        for part in re.split(r"[;,](?=[^;,]*@)", cell)[:MAX_RECIPIENTS]:
            address, _, events = part.partition("##")
            address = address.strip().lower()
            if "@" not in address:
                continue
            if events and events.split(",")[-1].strip().lower() not in M365_EVENT_DONE:
                continue  # this recipient's last event is a failure or still pending
            recipients.append(address)
        return recipients, status or "delivered"

    def _cell(self, row: list[str], name: str) -> str:
        index = self.columns.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""


def _header_columns(row: list[str]) -> Optional[dict[str, int]]:
    """Column positions when this row is a message-trace header (it names a date, a sender and a recipient)."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(row):
        name = M365_ALIASES.get(_column(cell))
        if name and name not in columns:
            columns[name] = index
    required = {"received", "senderaddress", "recipientaddress"} <= set(columns)
    specific = bool({"subject", "messageid", "size", "status"} & set(columns))  # not any CSV with From/To/Date
    return columns if required and specific else None


class MessageTraceDecoder(LogDecoder):
    name = "m365-message-trace"

    def sniff(self, head: list[str]) -> float:
        for line in head[:3]:
            try:
                row = next(csv.reader([line.lstrip("\ufeff")]))
            except (csv.Error, StopIteration):
                continue
            if _header_columns(row) is not None:
                return 0.95
        return 0.0

    def parser(self, ctx: LogContext) -> LineParser:
        return MessageTraceParser()
