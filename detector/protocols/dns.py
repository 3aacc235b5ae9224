"""DNS (RFC 1035) over UDP and TCP (RFC 7766): query names, CNAME chains and answered addresses.

Answers matter as much as questions: the addresses let later flows to those
servers be attributed to the service that was looked up, and a CNAME chain
lets a neutral name be attributed to the service it aliases.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Optional

from detector.observations import DnsAlias, DnsQuery, Emit
from detector.protocols.base import Datagram, DatagramDecoder, Endpoints, StreamDecoder, StreamSession

MAX_NAME = 255
MAX_POINTERS = 16
MAX_ANSWERS = 32
MAX_ALIASES = 8
MAX_TCP_BUFFER = 2 * 65537  # two length-prefixed messages
MAX_TCP_MESSAGES = 64  # per connection (zone transfers are not what we look for)


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


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class DnsMessage:
    """The parts of a DNS message the detectors use."""

    is_response: bool
    qname: str
    qtype: int
    answers: tuple[str, ...]
    aliases: tuple[str, ...]  # CNAME targets, in the order the answer section gives them
    ttl: Optional[float] = None  # the shortest TTL of the address answers


def parse_dns(msg: bytes) -> DnsMessage:
    """Question, addresses and CNAME targets of one DNS message."""
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
    aliases: list[str] = []
    ttls: list[int] = []
    for _ in range(min(ancount, MAX_ANSWERS)):
        _, pos = read_name(msg, pos)
        if pos + 10 > len(msg):
            break
        rtype, _rclass, ttl, rdlen = struct.unpack_from("!HHIH", msg, pos)
        rdata = msg[pos + 10:pos + 10 + rdlen]
        if rtype == 1 and len(rdata) == 4:
            answers.append(socket.inet_ntop(socket.AF_INET, rdata))
            ttls.append(ttl)
        elif rtype == 28 and len(rdata) == 16:
            answers.append(socket.inet_ntop(socket.AF_INET6, rdata))
            ttls.append(ttl)
        elif rtype == 5 and len(aliases) < MAX_ALIASES:
            target, _ = read_name(msg, pos + 10)  # compressed names point into the whole message
            if target and target not in aliases:
                aliases.append(target)
        pos += 10 + rdlen
    return DnsMessage(bool(flags & 0x8000), name, qtype, tuple(answers), tuple(aliases),
                      float(min(ttls)) if ttls else None)


def emit_message(msg: bytes, client: str, server: str, from_client: bool, ts: float, where: str,
                 emit: Emit) -> None:
    """Observations for one message whatever the transport; malformed messages are ignored."""
    try:
        parsed = parse_dns(msg)
    except DnsError:
        return
    if not parsed.qname:
        return
    if not parsed.is_response:
        emit(DnsQuery(ts, where, client, server, parsed.qname, parsed.qtype))
        return
    emit(DnsQuery(ts, where, client, server, parsed.qname, parsed.qtype, parsed.answers, parsed.ttl))
    if parsed.aliases:
        emit(DnsAlias(ts, where, client, server, parsed.qname, parsed.aliases, parsed.answers))


class DnsDecoder(DatagramDecoder):
    name = "dns"
    udp_ports = frozenset({53, 5353, 5355})

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        response = len(dgram.payload) > 2 and bool(dgram.payload[2] & 0x80)
        client, server = (dgram.dst, dgram.src) if response else (dgram.src, dgram.dst)
        emit_message(dgram.payload, client, server, not response, dgram.ts, dgram.where, emit)


class DnsTcpSession(StreamSession):
    """Length-prefixed DNS messages in both directions of one TCP connection."""

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.buffers = [b"", b""]
        self.messages = 0

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        side = 0 if from_client else 1
        buf = self.buffers[side] + data
        while len(buf) >= 2:
            size = int.from_bytes(buf[:2], "big")
            if size < 12:
                return False  # not DNS: stop following
            if len(buf) < 2 + size:
                break
            emit_message(buf[2:2 + size], self.ends.client, self.ends.server, from_client, ts, where, self.emit)
            buf = buf[2 + size:]
            self.messages += 1
            if self.messages >= MAX_TCP_MESSAGES:
                return False
        if len(buf) > MAX_TCP_BUFFER:
            return False
        self.buffers[side] = buf
        return True


class DnsTcpDecoder(StreamDecoder):
    name = "dns-tcp"
    tcp_ports = frozenset({53})

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        head = first_client or first_server
        return len(head) >= 2 and int.from_bytes(head[:2], "big") >= 12

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return DnsTcpSession(ends, emit)
