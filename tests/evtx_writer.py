"""A small writer of Windows ``.evtx`` files, so the tests build their inputs instead of committing binaries.

Layout per the libyal EVTX format notes: a 4096-byte file header, 65536-byte
chunks with a 512-byte header, and event records whose BinXML is either plain
tokens (elements with inline names, attributes and text values) or, as Windows
writes it, a template instance with an inline template definition and a
substitution array. Both CRC32 checksums are real, so a strict parser accepts
the file; tests damage it afterwards on purpose.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Optional, Union

FILE_HEADER_SIZE = 4096
CHUNK_SIZE = 65536
CHUNK_HEADER_SIZE = 512
FILETIME_EPOCH_OFFSET = 11_644_473_600  # seconds from 1601-01-01 to 1970-01-01

# BinXML tokens
EOF, OPEN_START, CLOSE_START, CLOSE_EMPTY, END_ELEMENT, VALUE, ATTRIBUTE, FRAGMENT = (
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0F)
TEMPLATE_INSTANCE, SUBSTITUTION = 0x0C, 0x0D
MORE = 0x40  # flag on open-start (has attributes) and attribute (another follows)
STRING_TYPE, UINT16_TYPE, FILETIME_TYPE = 0x01, 0x06, 0x11


@dataclass
class FileTime:
    """A value written as a BinXML FILETIME (type 0x11), as Windows writes SystemTime."""

    unix: float


@dataclass
class Sub:
    """A slot in a template definition, filled from the record's substitution array."""

    index: int
    value_type: int


Value = Union[str, FileTime, Sub]


@dataclass
class Element:
    name: str
    attributes: list[tuple[str, Value]] = field(default_factory=list)
    children: list[Element] = field(default_factory=list)
    text: Optional[Value] = None


def filetime(unix: float) -> int:
    return int(round((unix + FILETIME_EPOCH_OFFSET) * 10_000_000))


def name_hash(name: str) -> int:
    """The 16-bit name hash Windows stores next to each name (low word of a x65599 hash)."""
    value = 0
    for char in name:
        value = (value * 65599 + ord(char)) & 0xFFFFFFFF
    return value & 0xFFFF


class _BinXml:
    """Serialises elements; name offsets are relative to the chunk start, so it needs the record's position."""

    def __init__(self, base: int, dependency: bool = False):
        self.base = base
        self.dependency = dependency  # only elements inside template definitions carry a dependency identifier
        self.out = bytearray()

    def fragment(self, root: Element) -> bytes:
        self.out += bytes((FRAGMENT, 1, 1, 0))
        self.element(root)
        self.out.append(EOF)
        return bytes(self.out)

    def _inline_name(self, name: str) -> None:
        """A name offset pointing right after itself, followed by the name: Windows' inline form."""
        offset = self.base + len(self.out) + 4
        encoded = name.encode("utf-16-le")
        self.out += struct.pack("<IIHH", offset, 0, name_hash(name), len(name)) + encoded + b"\x00\x00"

    def _value(self, value: Value, token: int = VALUE) -> None:
        if isinstance(value, Sub):
            self.out += struct.pack("<BHB", SUBSTITUTION, value.index, value.value_type)
            return
        if isinstance(value, FileTime):
            self.out += struct.pack("<BBQ", token, FILETIME_TYPE, filetime(value.unix))
            return
        encoded = value.encode("utf-16-le")
        self.out += struct.pack("<BBH", token, STRING_TYPE, len(encoded) // 2) + encoded

    def element(self, element: Element) -> None:
        start = len(self.out)
        token = OPEN_START | (MORE if element.attributes else 0)
        self.out += struct.pack("<BHI", token, 0xFFFF, 0) if self.dependency else struct.pack("<BI", token, 0)
        size_at = start + (3 if self.dependency else 1)
        self._inline_name(element.name)
        if element.attributes:
            list_at = len(self.out)
            self.out += b"\x00\x00\x00\x00"
            for index, (name, value) in enumerate(element.attributes):
                more = MORE if index + 1 < len(element.attributes) else 0
                self.out.append(ATTRIBUTE | more)
                self._inline_name(name)
                self._value(value)
            struct.pack_into("<I", self.out, list_at, len(self.out) - list_at - 4)
        if element.children or element.text is not None:
            self.out.append(CLOSE_START)
            if element.text is not None:
                self._value(element.text)
            for child in element.children:
                self.element(child)
            self.out.append(END_ELEMENT)
        else:
            self.out.append(CLOSE_EMPTY)
        struct.pack_into("<I", self.out, size_at, len(self.out) - size_at - 4)  # bytes after the size field


@dataclass
class Templated:
    """An event as Windows stores it: a template tree with ``Sub`` slots plus the values for them."""

    template: Element
    values: list[Union[str, int, FileTime]]
    guid: bytes = bytes(range(16))


def _substitution(value: Union[str, int, FileTime]) -> tuple[int, bytes]:
    if isinstance(value, FileTime):
        return FILETIME_TYPE, struct.pack("<Q", filetime(value.unix))
    if isinstance(value, int):
        return UINT16_TYPE, struct.pack("<H", value)
    return STRING_TYPE, value.encode("utf-16-le")


def templated_fragment(base: int, event: Templated) -> bytes:
    """Fragment header, template instance with its definition inline, then the substitution array."""
    out = bytearray((FRAGMENT, 1, 1, 0))
    out += struct.pack("<BBI", TEMPLATE_INSTANCE, 1, zlib.crc32(event.guid))
    definition = base + len(out) + 4
    out += struct.pack("<I", definition)
    body = _BinXml(definition + 24, dependency=True).fragment(event.template)
    out += struct.pack("<I16sI", 0, event.guid, len(body)) + body
    values = [_substitution(value) for value in event.values]
    out += struct.pack("<I", len(values))
    for value_type, data in values:
        out += struct.pack("<HBB", len(data), value_type, 0)
    for _, data in values:
        out += data
    out.append(EOF)
    return bytes(out)


Event = Union[Element, Templated]


def record(record_id: int, written: float, root: Event, offset_in_chunk: int) -> bytes:
    """One event record: signature, size, id, FILETIME, BinXML, size copy."""
    base = offset_in_chunk + 24
    body = templated_fragment(base, root) if isinstance(root, Templated) else _BinXml(base).fragment(root)
    size = 24 + len(body) + 4
    return struct.pack("<4sIQQ", b"\x2a\x2a\x00\x00", size, record_id, filetime(written)) + body + struct.pack(
        "<I", size)


def chunk(records: list[bytes], first_id: int, last_offset: int) -> bytes:
    """A 64 KiB chunk around already-serialised ``records`` numbered from ``first_id``."""
    data = b"".join(records)
    free = CHUNK_HEADER_SIZE + len(data)
    last_id = first_id + len(records) - 1
    header = bytearray(CHUNK_HEADER_SIZE)
    struct.pack_into("<8sQQQQIIII", header, 0, b"ElfChnk\x00", first_id, last_id, first_id, last_id, 128,
                     last_offset, free, zlib.crc32(data))
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120]) + bytes(header[128:512])))
    return bytes(header) + data + bytes(CHUNK_SIZE - free)


def chunks(events: list[tuple[float, Event]], per_chunk: int) -> list[bytes]:
    """Records packed into chunks: a new chunk after ``per_chunk`` records or when the next one does not fit."""
    out: list[bytes] = []
    pending: list[bytes] = []
    first_id = offset = last_offset = 0
    for record_id, (written, root) in enumerate(events, 1):
        if not pending:
            first_id, offset = record_id, CHUNK_HEADER_SIZE
        data = record(record_id, written, root, offset)
        if pending and (len(pending) == per_chunk or offset + len(data) > CHUNK_SIZE):
            out.append(chunk(pending, first_id, last_offset))
            pending, first_id, offset = [], record_id, CHUNK_HEADER_SIZE
            data = record(record_id, written, root, offset)
        if offset + len(data) > CHUNK_SIZE:
            raise ValueError("event too large for one chunk")
        pending.append(data)
        last_offset, offset = offset, offset + len(data)
    if pending:
        out.append(chunk(pending, first_id, last_offset))
    return out


def file_header(chunks: int, next_record_id: int) -> bytes:
    header = bytearray(FILE_HEADER_SIZE)
    last = max(chunks - 1, 0)
    struct.pack_into("<8sQQQIHHHH", header, 0, b"ElfFile\x00", 0, last, next_record_id, 128, 1, 3,
                     FILE_HEADER_SIZE, chunks)
    struct.pack_into("<I", header, 120, 0)  # flags: clean, not full
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    return bytes(header)


def evtx_file(events: list[tuple[float, Event]], per_chunk: int = 100) -> bytes:
    """A whole .evtx file: events (written time, tree) over as many chunks as needed."""
    body = chunks(events, per_chunk)
    return file_header(len(body), len(events) + 1) + b"".join(body)


def windows_event(provider: str, event_id: int, ts: float, data: dict[str, str], computer: str = "") -> Element:
    """The ``<Event>`` tree of one Windows event as Get-WinEvent shows it."""
    system = [Element("Provider", [("Name", provider)]), Element("EventID", text=str(event_id)),
              Element("TimeCreated", [("SystemTime", FileTime(ts))])]
    if computer:
        system.append(Element("Computer", text=computer))
    event_data = [Element("Data", [("Name", key)], text=value) for key, value in data.items()]
    return Element("Event", [("xmlns", "http://schemas.microsoft.com/win/2004/08/events/event")],
                   [Element("System", children=system), Element("EventData", children=event_data)])


def windows_template_event(provider: str, event_id: int, ts: float, data: dict[str, str],
                           computer: str = "") -> Templated:
    """The same event as ``windows_event``, but as a template instance with typed substitutions."""
    system = [Element("Provider", [("Name", Sub(0, STRING_TYPE))]), Element("EventID", text=Sub(1, UINT16_TYPE)),
              Element("TimeCreated", [("SystemTime", Sub(2, FILETIME_TYPE))]),
              Element("Computer", text=Sub(3, STRING_TYPE))]
    event_data = [Element("Data", [("Name", key)], text=Sub(4 + i, STRING_TYPE)) for i, key in enumerate(data)]
    template = Element("Event", [("xmlns", "http://schemas.microsoft.com/win/2004/08/events/event")],
                       [Element("System", children=system), Element("EventData", children=event_data)])
    return Templated(template, [provider, event_id, FileTime(ts), computer, *data.values()])
