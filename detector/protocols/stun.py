"""STUN/TURN (RFC 5389/8656): which calling service set up a call, from the attributes in clear.

Every calling app (WhatsApp, Teams/Skype, Zoom, Messenger, Signal, Discord)
opens its media path with STUN bindings or TURN allocations. The message
layout is fixed (type, length, magic cookie 0x2112A442, 96-bit transaction
id, then type-length-value attributes), and vendors add their own attributes:

* 0x4000-0x4007: WhatsApp's relay attributes (nDPI labels these WhatsAppCall);
* 0x8054/0x8055/0x8070 (MS-CANDIDATE-IDENTIFIER, MS-SERVICE-QUALITY,
  MS-IMPLEMENTATION-VERSION) and 0x8008 (MS-VERSION): Microsoft Teams and Skype
  ([MS-TURN], [MS-ICE2]);
* SOFTWARE (0x8022), REALM (0x0014) and USERNAME (0x0006): free text that often
  names the product or the TURN server's domain.

A binding to a published range (Zoom's 134.224.0.0/16, Meta's networks) with
no vendor attribute is attributed by the range: a STUN flow to Meta is a call,
not a page view, so the shared network corroborates here.
"""

from __future__ import annotations

import re
import struct
from typing import Optional

from detector.observations import Emit, ServiceContact
from detector.policy.ipranges import RangeMatch, default_ranges
from detector.protocols.base import Datagram, DatagramDecoder

MAGIC = b"\x21\x12\xa4\x42"
HEADER = 20
STUN_PORTS = frozenset({3478, 3479, 3480, 3481, 5349, 19302, 19303, 19305, 8801, 8802})
# first two bytes of the messages worth reading: Binding / Allocate / Refresh / CreatePermission requests and
# success responses (method bits; class bits 00 request, 10 success)
STUN_TYPES = (b"\x00\x01", b"\x01\x01", b"\x00\x03", b"\x01\x03", b"\x00\x04", b"\x01\x04", b"\x00\x08")
ATTR_USERNAME, ATTR_REALM, ATTR_SOFTWARE = 0x0006, 0x0014, 0x8022
MICROSOFT_ATTRS = frozenset({0x8008, 0x8054, 0x8055, 0x8070})
WHATSAPP_ATTRS = frozenset(range(0x4000, 0x4008))
MAX_ATTRIBUTES = 64
MAX_TEXT = 128
MAX_FLOWS = 8192
HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
# SOFTWARE strings that name a catalog service (matched case-insensitively as words)
MICROSOFT_CALLS = "Microsoft Teams / Skype calls"
SOFTWARE_SERVICES = (("whatsapp", "WhatsApp"), ("zoom", "Zoom"), ("signal", "Signal"), ("discord", "Discord"),
                     ("telegram", "Telegram"), ("messenger", "Facebook Messenger"), ("skype", MICROSOFT_CALLS),
                     ("teams", MICROSOFT_CALLS))


def parse_stun(data: bytes) -> Optional[tuple[int, dict[int, bytes]]]:
    """(message type, first value of each attribute) of an RFC 5389 message, or None if it is not one."""
    if len(data) < HEADER or data[4:8] != MAGIC or data[0] & 0xC0:
        return None
    mtype, length = struct.unpack_from("!HH", data)
    if length % 4 or HEADER + length > len(data) or HEADER + length < len(data) - 4:
        return None
    attributes: dict[int, bytes] = {}
    pos, end = HEADER, HEADER + length
    while pos + 4 <= end and len(attributes) < MAX_ATTRIBUTES:
        kind, size = struct.unpack_from("!HH", data, pos)
        if pos + 4 + size > end:
            return None
        attributes.setdefault(kind, data[pos + 4:pos + 4 + size])
        pos += 4 + (size + 3) // 4 * 4
    return mtype, attributes


def text(value: bytes) -> str:
    """An attribute as printable text, bounded: bytes that are not UTF-8 text (a binary USERNAME) as escaped hex
    (``\\x9f``), never as replacement characters."""
    decoded = value[:MAX_TEXT].decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else "".join(f"\\x{b:02x}" for b in c.encode("utf-8")) for c in decoded)


def service_from_attributes(attributes: dict[int, bytes]) -> Optional[str]:
    """The calling service the vendor-specific attributes or SOFTWARE string name, if any."""
    kinds = attributes.keys()
    if WHATSAPP_ATTRS.intersection(kinds):
        return "WhatsApp"
    if MICROSOFT_ATTRS.intersection(kinds):
        return MICROSOFT_CALLS
    software = text(attributes.get(ATTR_SOFTWARE, b"")).lower()
    for word, service in SOFTWARE_SERVICES:
        if re.search(rf"\b{word}\b", software):
            return service
    return None


def realm_host(attributes: dict[int, bytes]) -> str:
    """A DNS name in REALM (or USERNAME), as TURN servers put their domain there."""
    for kind in (ATTR_REALM, ATTR_USERNAME):
        match = HOST.search(text(attributes.get(kind, b"")).lower())
        if match:
            return match.group(0)
    return ""


def describe(attributes: dict[int, bytes]) -> str:
    parts = []
    for kind, label in ((ATTR_SOFTWARE, "SOFTWARE"), (ATTR_REALM, "REALM"), (ATTR_USERNAME, "USERNAME")):
        if kind in attributes:
            parts.append(f"{label}='{text(attributes[kind])[:60]}'")
    vendor = sorted(k for k in attributes if k in WHATSAPP_ATTRS or k in MICROSOFT_ATTRS)
    if vendor:
        parts.append("attributes " + ",".join(f"{k:#06x}" for k in vendor))
    return " ".join(parts)


class StunDecoder(DatagramDecoder):
    """One identification per (client, server, port): the first message that says who is calling."""

    name = "stun"
    udp_ports = STUN_PORTS
    prefixes = STUN_TYPES

    def __init__(self) -> None:
        self.done: dict[tuple[str, str, int, int], None] = {}
        self.ranges = default_ranges()

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        parsed = parse_stun(dgram.payload)
        if parsed is None:
            return
        mtype, attributes = parsed
        request = not mtype & 0x0100
        client, server, port = (dgram.src, dgram.dst, dgram.dport) if request else (dgram.dst, dgram.src, dgram.sport)
        key = (client, server, port, dgram.sport if client == dgram.src else dgram.dport)  # per flow
        if key in self.done:
            return
        service = service_from_attributes(attributes)
        method = "signature"
        where_range: Optional[RangeMatch] = self.ranges.service_of(server)
        if service is None and where_range is not None:
            # a call set up through a provider's own network: an owned range names it, Meta's is a WhatsApp call
            service = where_range.service or ("WhatsApp" if where_range.range_set.name == "Meta" else None)
            method = "ip-range"
        host = realm_host(attributes)
        if service is None and not host:
            return
        if len(self.done) >= MAX_FLOWS:
            self.done.clear()
        self.done[key] = None
        detail = f"STUN {mtype:#06x} {client} -> {server}:{port}"
        extra = describe(attributes)
        if extra:
            detail += f" {extra}"
        if where_range is not None:
            detail += f" (address in {where_range.range_set.name} range {where_range.network})"
        emit(ServiceContact(dgram.ts, dgram.where, client, host=host if service is None else "", service=service or "",
                            method=method if service else "stun-realm", server=server, server_port=port,
                            detail=detail))
