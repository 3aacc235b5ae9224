"""Streaming, bounded MIME reader (RFC 5322 / 2045-2047 / 2231) for mail seen on the wire or in files.

Fed one line at a time, it keeps only what the detectors need: the From/To/Cc
headers, attachment names with their decoded sizes (counted, never stored) and
up to MAX_TEXT characters of text parts for the password-in-message scanner.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re
from dataclasses import dataclass, field
from email.errors import MessageError
from email.header import decode_header, make_header
from typing import Optional
from urllib.parse import unquote

MAX_HEADER_BYTES = 64 * 1024
MAX_TEXT = 64 * 1024
MAX_PARTS = 200
MAX_DEPTH = 8
MAX_ADDRESSES = 50
ADDRESS_RE = re.compile(r"[\w.+'-]{1,64}@[\w.-]{1,253}")
PARAM_RE = r'(?:^|;)\s*{name}\*?=\s*(?:"([^"]{{0,512}})"|([^;\s]{{0,512}}))'


@dataclass
class Attachment:
    filename: str
    size: int  # decoded bytes
    content_type: str


@dataclass
class MailSummary:
    sender: str = ""
    recipients: tuple[str, ...] = ()
    subject: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    truncated: bool = False


@dataclass
class _Part:
    content_type: str = "text/plain"
    encoding: str = "7bit"
    charset: str = "utf-8"
    filename: str = ""
    boundary: str = ""
    attachment: bool = False
    size: int = 0
    b64_rest: bytes = b""
    text: list[bytes] = field(default_factory=list)
    text_bytes: int = 0


class MailReader:
    """One message, fed line by line (without the line ending)."""

    def __init__(self, body_only: bool = False) -> None:
        """``body_only``: the text of a message without its headers (IMAP BODY[TEXT])."""
        self.summary = MailSummary()
        self.header_lines: list[bytes] = []
        self.header_bytes = 0
        self.in_headers = not body_only
        self.top = not body_only
        self.part: Optional[_Part] = _Part() if body_only else None
        self.boundaries: list[str] = []
        self.parts = 0
        self.text_total = 0

    def line(self, raw: bytes) -> None:
        if self.in_headers:
            self._header_line(raw)
            return
        if self.boundaries and raw.startswith(b"--"):
            marker = raw[2:].rstrip().decode("latin-1")
            for depth in range(len(self.boundaries) - 1, -1, -1):
                boundary = self.boundaries[depth]
                if marker == boundary or marker == boundary + "--":
                    self._end_part()
                    del self.boundaries[depth + (1 if marker == boundary else 0):]
                    if marker == boundary:
                        self.in_headers = self.parts < MAX_PARTS
                        self.header_lines, self.header_bytes = [], 0
                        self.parts += 1
                    return
        if self.part is not None:
            self._body_line(self.part, raw)

    # ------------------------------------------------------------ headers

    def _header_line(self, raw: bytes) -> None:
        if raw.strip() == b"":
            self._end_headers()
            return
        self.header_bytes += len(raw)
        if self.header_bytes > MAX_HEADER_BYTES:
            self.summary.truncated = True
            return
        if raw[:1] in (b" ", b"\t") and self.header_lines:
            self.header_lines[-1] += b" " + raw.strip()
        else:
            self.header_lines.append(raw)

    def _end_headers(self) -> None:
        headers: dict[str, str] = {}
        for line in self.header_lines:
            name, sep, value = line.partition(b":")
            if sep:
                key = name.strip().lower().decode("latin-1")
                headers.setdefault(key, value.strip().decode("utf-8", "replace"))
        self.in_headers = False
        self.header_lines, self.header_bytes = [], 0
        if self.top:
            self.top = False
            self._envelope(headers)
        self.part = _part_from(headers)
        if self.part.boundary and len(self.boundaries) < MAX_DEPTH:
            self.boundaries.append(self.part.boundary)
            self.part = None

    def _envelope(self, headers: dict[str, str]) -> None:
        self.summary.sender = next(iter(addresses(headers.get("from", ""))), "")
        recipients = addresses(headers.get("to", "")) + addresses(headers.get("cc", ""))
        self.summary.recipients = tuple(dict.fromkeys(recipients))[:MAX_ADDRESSES]
        self.summary.subject = decode_words(headers.get("subject", ""))[:200]

    # ------------------------------------------------------------ bodies

    def _body_line(self, part: _Part, raw: bytes) -> None:
        if part.attachment:
            part.size += _decoded_size(part, raw)
        elif part.content_type in ("text/plain", "text/html", "text/enriched") and \
                self.text_total + part.text_bytes < MAX_TEXT:
            part.text.append(raw)
            part.text_bytes += len(raw) + 1

    def _end_part(self) -> None:
        part, self.part = self.part, None
        if part is None:
            return
        if part.attachment:
            if part.b64_rest:
                part.size += len(_b64(part.b64_rest))
            self.summary.attachments.append(Attachment(part.filename or "(unnamed)", part.size, part.content_type))
        elif part.text:
            body = _decode_text(part)
            self.text_total += len(body)
            self.summary.texts.append(body)

    def finish(self) -> MailSummary:
        """End of message: flush the open part; unterminated multiparts are kept as seen."""
        if self.in_headers and self.top:
            self._end_headers()
        self._end_part()
        return self.summary


def _part_from(headers: dict[str, str]) -> _Part:
    ctype_header = headers.get("content-type", "text/plain")
    ctype = ctype_header.split(";")[0].strip().lower() or "text/plain"
    disposition = headers.get("content-disposition", "")
    filename = param(disposition, "filename") or param(ctype_header, "name")
    part = _Part(content_type=ctype, encoding=headers.get("content-transfer-encoding", "7bit").strip().lower(),
                 charset=(param(ctype_header, "charset") or "utf-8").lower(), filename=filename[:256])
    if ctype.startswith("multipart/"):
        part.boundary = param(ctype_header, "boundary")[:200]
    part.attachment = bool(filename) or disposition.lower().startswith("attachment") or \
        not (ctype.startswith("text/") or ctype.startswith("multipart/") or ctype == "message/rfc822")
    return part


def param(header: str, name: str) -> str:
    """A MIME parameter, with RFC 2231 (name*=utf-8''...) and RFC 2047 encodings undone."""
    match = re.search(PARAM_RE.format(name=re.escape(name)), header, re.IGNORECASE)
    if not match:
        return ""
    value = match.group(1) if match.group(1) is not None else match.group(2) or ""
    if "''" in value:
        value = unquote(value.split("''", 1)[1])
    return decode_words(value)


def decode_words(value: str) -> str:
    """RFC 2047 encoded words (=?utf-8?B?...?=) as text; the raw value if they do not decode."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError, MessageError):  # HeaderParseError, CharsetError
        return value


def addresses(value: str) -> list[str]:
    return [a.lower() for a in ADDRESS_RE.findall(value)[:MAX_ADDRESSES]]


def _decoded_size(part: _Part, raw: bytes) -> int:
    if part.encoding == "base64":
        data = part.b64_rest + bytes(c for c in raw if c not in b" \t\r\n")
        usable = len(data) - len(data) % 4
        part.b64_rest = data[usable:]
        return len(_b64(data[:usable]))
    if part.encoding == "quoted-printable":
        return len(quopri.decodestring(raw)) + (0 if raw.endswith(b"=") else 2)
    return len(raw) + 2


def _b64(data: bytes) -> bytes:
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return b""


_SLOW_OR_ODD_CODECS = {"punycode", "idna", "raw_unicode_escape", "unicode_escape"}  # quadratic or not mail text


def _text_codec(charset: str) -> str:
    """The codec for a wire-given charset name; utf-8 for unknown, NUL-bearing or costly ones."""
    try:
        info = codecs.lookup(charset)
    except (LookupError, ValueError, TypeError):  # ValueError: "embedded null character"
        return "utf-8"
    if info.name in _SLOW_OR_ODD_CODECS or not getattr(info, "_is_text_encoding", True):
        return "utf-8"
    return info.name


def _decode_text(part: _Part) -> str:
    if part.encoding == "base64":
        raw = _b64(b"".join(line.strip() for line in part.text))
    elif part.encoding == "quoted-printable":
        raw = quopri.decodestring(b"\n".join(part.text))
    else:
        raw = b"\n".join(part.text)
    body = raw.decode(_text_codec(part.charset), "replace")
    if part.content_type == "text/html":
        body = re.sub(r"<[^>]{0,2000}>", " ", body)
    return body[:MAX_TEXT]
