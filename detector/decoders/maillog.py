"""Mail-server logs: Postfix syslog lines and Microsoft 365 message-trace CSV exports.

Each delivered message becomes a FileTransfer(protocol="mail-log") with its
size, sender and recipients; the detector decides which ones matter (large
messages to personal mail domains are files mailed out of the company).
"""

from __future__ import annotations

import csv
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from ..model import FileTransfer
from .base import Emit, LineParser, LogContext, LogDecoder, first_match
from .syslog import LineClock

POSTFIX = re.compile(r"postfix(?:/[\w-]+)*/(?P<daemon>[\w-]+)\[\d+\]: (?P<qid>[0-9A-Za-z]{5,20}): (?P<rest>.*)$")
POSTFIX_ANY = re.compile(r"postfix(?:/[\w-]+)*/[\w-]+\[\d+\]: ")
CLIENT = re.compile(r"^client=[^\[]*\[(?P<ip>[0-9a-fA-F.:]+)\]")
FROM = re.compile(r"^from=<(?P<addr>[^>]{0,320})>, size=(?P<size>\d+)")
TO = re.compile(r"^to=<(?P<addr>[^>]{1,320})>,(?: orig_to=<[^>]*>,)? relay=(?P<relay>[^,\s]+).*?status=(?P<status>\w+)")
RELAY_IP = re.compile(r"\[(?P<ip>[0-9a-fA-F.:]+)\]")
MAX_QUEUE = 10_000
MAX_RECIPIENTS = 100
M365_HEADER = ("received", "senderaddress", "recipientaddress")
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

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        match = POSTFIX.search(line)
        if match is None:
            return bool(POSTFIX_ANY.search(line))
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

    def sniff(self, head: list[str]) -> float:
        return first_match(head, lambda line: bool(POSTFIX_ANY.search(line)))

    def parser(self, ctx: LogContext) -> LineParser:
        return PostfixParser(ctx)


def _m365_time(text: str) -> Optional[float]:
    text = text.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S"):
        try:
            stamp = datetime.strptime(text.split(".")[0].rstrip("Z"), fmt)
        except ValueError:
            continue
        return stamp.replace(tzinfo=timezone.utc).timestamp()
    return None


class MessageTraceParser(LineParser):
    """Microsoft 365 / Exchange Online message trace CSV (Get-MessageTrace | Export-Csv)."""

    def __init__(self) -> None:
        self.columns: dict[str, int] = {}

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        try:
            row = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            return False
        lowered = [cell.strip().lower() for cell in row]
        if all(name in lowered for name in M365_HEADER):
            self.columns = {name: index for index, name in enumerate(lowered)}
            return True
        if line.startswith("#TYPE"):
            return True
        if not self.columns or len(row) < len(self.columns):
            return False
        ts = _m365_time(self._cell(row, "received"))
        recipient = self._cell(row, "recipientaddress").lower()
        if ts is None or "@" not in recipient:
            return False
        if self._cell(row, "status").lower() not in M365_DONE:
            return True
        size = self._cell(row, "size")
        subject = self._cell(row, "subject")[:120]
        emit(FileTransfer(ts, where, self._cell(row, "fromip"), self._cell(row, "toip"), "mail-log",
                          f"message {subject!r}" if subject else f"message {self._cell(row, 'messageid')[:120]}",
                          "up", int(size) if size.isdigit() else None, self._cell(row, "senderaddress").lower(),
                          (recipient,)))
        return True

    def _cell(self, row: list[str], name: str) -> str:
        index = self.columns.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""


class MessageTraceDecoder(LogDecoder):
    name = "m365-message-trace"

    def sniff(self, head: list[str]) -> float:
        for line in head[:3]:
            lowered = line.lower()
            if all(name in lowered for name in M365_HEADER):
                return 0.95
        return 0.0

    def parser(self, ctx: LogContext) -> LineParser:
        return MessageTraceParser()
