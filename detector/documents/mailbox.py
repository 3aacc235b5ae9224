"""Mail files handed to the consultant: a single ``.eml`` message or an mbox mailbox.

Each message is streamed through the MIME reader; its text parts go to the
password-in-message scanner with the From/To/Cc of the message and its Date.
"""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from typing import BinaryIO, Optional

from detector.documents.base import DocumentDecoder, DocumentStats
from detector.documents.mime import MailReader
from detector.logs.base import LogContext
from detector.observations import Emit
from detector.textscan import shared_passwords

HEADER_NAMES = (b"from:", b"to:", b"subject:", b"date:", b"message-id:", b"received:", b"mime-version:",
                b"return-path:", b"cc:", b"content-type:", b"delivered-to:", b"x-mailer:", b"reply-to:")
MBOX_SEPARATOR = re.compile(rb"^From \S+ .{0,200}\d{4}")
DATE_LINE = re.compile(rb"^date:\s*(.{1,120})$", re.IGNORECASE)
MAX_LINE = 64 * 1024
MAX_MESSAGES = 100_000


class _Message:
    __slots__ = ("reader", "ts", "where", "in_headers")

    def __init__(self, where: str) -> None:
        self.reader = MailReader()
        self.ts = 0.0
        self.where = where
        self.in_headers = True


class MailboxDecoder(DocumentDecoder):
    name = "mailbox"

    def sniff(self, head: bytes) -> float:
        lines = head.split(b"\n", 40)[:40]
        if lines and MBOX_SEPARATOR.match(lines[0]):
            return 0.95
        header_lines = 0
        for line in lines:
            if not line.strip():
                break
            if line.lower().startswith(HEADER_NAMES):
                header_lines += 1
        return 0.9 if header_lines >= 3 else 0.0

    def decode(self, stream: BinaryIO, ctx: LogContext, emit: Emit) -> DocumentStats:
        stats = DocumentStats()
        message: Optional[_Message] = None
        previous_blank = True
        for number, line in enumerate(_lines(stream), 1):
            if previous_blank and MBOX_SEPARATOR.match(line):
                if message is not None:
                    self._finish(message, emit, stats)
                message = None
                previous_blank = False
                continue
            if message is None:
                if stats.records >= MAX_MESSAGES:
                    stats.warnings.append(f"stopped after {MAX_MESSAGES} messages")
                    break
                message = _Message(f"{ctx.path}:line {number}")
            if message.in_headers:
                message.in_headers = bool(line.strip())
                date = DATE_LINE.match(line)
                if date:
                    message.ts = _date(date.group(1))
            message.reader.line(line[1:] if line.startswith(b">From ") else line)
            previous_blank = not line.strip()
        if message is not None:
            self._finish(message, emit, stats)
        return stats

    def _finish(self, message: _Message, emit: Emit, stats: DocumentStats) -> None:
        stats.records += 1
        summary = message.reader.finish()
        if summary.truncated:
            stats.malformed += 1
        for body in summary.texts:
            for obs in shared_passwords(body, "mailbox", summary.sender, summary.recipients, message.ts,
                                        message.where):
                emit(obs)


def _lines(stream: BinaryIO):
    pending = b""
    while True:
        chunk = stream.read(1 << 20)
        if not chunk:
            break
        parts = (pending + chunk).split(b"\n")
        pending = parts.pop()[:MAX_LINE * 4]
        for raw in parts:
            yield raw.rstrip(b"\r")[:MAX_LINE]
    if pending:
        yield pending.rstrip(b"\r")[:MAX_LINE]


def _date(raw: bytes) -> float:
    try:
        return parsedate_to_datetime(raw.decode("latin-1").strip()).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return 0.0
