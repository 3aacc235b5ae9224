"""A strict, bounded BER reader (X.690) for the few ASN.1 messages we read: SNMP and LDAP.

Only definite lengths of at most four octets are accepted; anything else is
treated as malformed input rather than guessed at, so hostile bytes cannot make
the reader loop or allocate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

MAX_ELEMENT = 16 * 1024 * 1024

TAG_INTEGER = 0x02
TAG_OCTET_STRING = 0x04
TAG_ENUMERATED = 0x0A
TAG_SEQUENCE = 0x30


class BerError(ValueError):
    """The bytes are not the BER element we expected."""


@dataclass(frozen=True)
class Element:
    """One BER/DER element: tag, value, and where it ends."""

    tag: int
    value: bytes
    end: int  # offset just past this element in the buffer it came from


def header(buf: bytes, off: int) -> Optional[tuple[int, int, int]]:
    """(tag, value offset, value length), or None when the header is not complete yet."""
    if off + 2 > len(buf):
        return None
    tag = buf[off]
    if tag & 0x1F == 0x1F:
        raise BerError("multi-octet tags are not used by SNMP/LDAP")
    first = buf[off + 1]
    pos = off + 2
    if first < 0x80:
        return tag, pos, first
    count = first & 0x7F
    if count == 0 or count > 4:
        raise BerError("indefinite or oversized length")
    if pos + count > len(buf):
        return None
    length = int.from_bytes(buf[pos:pos + count], "big")
    if length > MAX_ELEMENT:
        raise BerError("element too large")
    return tag, pos + count, length


def element(buf: bytes, off: int = 0, expect: Optional[int] = None) -> Element:
    """The complete element at ``off``; raises BerError if truncated or of another tag."""
    head = header(buf, off)
    if head is None:
        raise BerError("truncated header")
    tag, start, length = head
    if start + length > len(buf):
        raise BerError("truncated value")
    if expect is not None and tag != expect:
        raise BerError(f"tag {tag:#x} where {expect:#x} was expected")
    return Element(tag, buf[start:start + length], start + length)


def children(value: bytes, limit: int = 64) -> list[Element]:
    """The elements inside a constructed value, at most ``limit`` of them."""
    out: list[Element] = []
    off = 0
    while off < len(value) and len(out) < limit:
        item = element(value, off)
        out.append(item)
        off = item.end
    return out


def integer(value: bytes) -> int:
    if not value or len(value) > 8:
        raise BerError("bad integer")
    return int.from_bytes(value, "big", signed=True)


def complete_length(buf: bytes) -> Optional[int]:
    """Total size of the element starting the buffer, or None if more bytes are needed."""
    head = header(buf, 0)
    if head is None:
        return None
    _, start, length = head
    return start + length
