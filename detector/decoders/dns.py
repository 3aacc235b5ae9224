"""DNS (RFC 1035) over UDP: query names and the addresses answered for them.

Answers matter as much as questions: the addresses let later flows to those
servers be attributed to the service that was looked up.
"""

from __future__ import annotations

import socket
import struct

from ..model import DnsQuery
from .base import Datagram, DatagramDecoder, Emit

MAX_NAME = 255
MAX_POINTERS = 16
MAX_ANSWERS = 32


class DnsError(ValueError):
    pass


def read_name(msg: bytes, pos: int) -> tuple[str, int]:
    """Decode a possibly compressed name; returns (name, position after it)."""
    labels: list[str] = []
    jumps = 0
    after = -1
    length = 0
    while True:
        if pos >= len(msg):
            raise DnsError("name runs past the message")
        size = msg[pos]
        if size & 0xC0 == 0xC0:
            if pos + 1 >= len(msg) or jumps >= MAX_POINTERS:
                raise DnsError("bad compression pointer")
            if after < 0:
                after = pos + 2
            pos = ((size & 0x3F) << 8) | msg[pos + 1]
            jumps += 1
            continue
        if size & 0xC0:
            raise DnsError("unsupported label type")
        pos += 1
        if size == 0:
            break
        label = msg[pos:pos + size]
        length += size + 1
        if len(label) < size or length > MAX_NAME:
            raise DnsError("label too long or truncated")
        labels.append(label.decode("ascii", "replace"))
        pos += size
    return ".".join(labels).lower(), (after if after >= 0 else pos)


def parse_message(msg: bytes) -> tuple[bool, str, int, tuple[str, ...]]:
    """(is_response, first question name, qtype, answered addresses)."""
    if len(msg) < 12:
        raise DnsError("short header")
    _ident, flags, qdcount, ancount = struct.unpack_from("!HHHH", msg, 0)
    if qdcount == 0:
        raise DnsError("no question")
    name, pos = read_name(msg, 12)
    if pos + 4 > len(msg):
        raise DnsError("truncated question")
    qtype = struct.unpack_from("!H", msg, pos)[0]
    pos += 4
    for _ in range(qdcount - 1):
        _, pos = read_name(msg, pos)
        pos += 4
    answers: list[str] = []
    for _ in range(min(ancount, MAX_ANSWERS)):
        _, pos = read_name(msg, pos)
        if pos + 10 > len(msg):
            break
        rtype, _rclass, _ttl, rdlen = struct.unpack_from("!HHIH", msg, pos)
        rdata = msg[pos + 10:pos + 10 + rdlen]
        pos += 10 + rdlen
        if rtype == 1 and len(rdata) == 4:
            answers.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif rtype == 28 and len(rdata) == 16:
            answers.append(socket.inet_ntop(socket.AF_INET6, rdata))
    return bool(flags & 0x8000), name, qtype, tuple(answers)


class DnsDecoder(DatagramDecoder):
    name = "dns"
    udp_ports = frozenset({53, 5353, 5355})

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        try:
            is_response, qname, qtype, answers = parse_message(dgram.payload)
        except DnsError:
            return
        if not qname:
            return
        if is_response:
            emit(DnsQuery(dgram.ts, dgram.where, dgram.dst, dgram.src, qname, qtype, answers))
        else:
            emit(DnsQuery(dgram.ts, dgram.where, dgram.src, dgram.dst, qname, qtype))
