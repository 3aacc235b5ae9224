"""Host names a machine announces for itself on the LAN: NetBIOS (RFC 1002), LLMNR (RFC 4795), mDNS (RFC 6762).

Only claims a host makes about *itself* count, never questions about others:
- NetBIOS name service (UDP 137): registrations, refreshes and positive query
  responses name the owner (unique names with suffix 00/20 are host names; the
  group name with suffix 00 is the workgroup or domain);
- NetBIOS datagram service (UDP 138): the source name of browser announcements;
- LLMNR (UDP 5355) and mDNS (UDP 5353) responses and announcements: A/AAAA
  records for the responder's own name (SRV targets and PTR answers are ignored).
"""

from __future__ import annotations

import socket
import struct

from detector.observations import Emit, HostIdentity
from detector.protocols.base import Datagram, DatagramDecoder
from detector.protocols.dns import DnsError, read_name

NBNS_PORT, NBDS_PORT, LLMNR_PORT, MDNS_PORT = 137, 138, 5355, 5353
OPCODE_QUERY, OPCODE_REGISTRATION, OPCODE_RELEASE, OPCODE_REFRESH, OPCODE_REFRESH_ALT = 0, 5, 6, 8, 9
NB_TYPE = 0x20
HOST_SUFFIXES = (0x00, 0x20)  # workstation and file server service
GROUP_FLAG = 0x8000
MAX_RECORDS = 32
MAX_NAMES_PER_PACKET = 8


def netbios_name(encoded: bytes) -> tuple[str, int]:
    """First-level decoding (RFC 1001 14.1): 32 letters -> 15-character name and its suffix byte."""
    if len(encoded) != 32 or any(not 0x41 <= c <= 0x50 for c in encoded):
        raise DnsError("not a NetBIOS encoded name")
    raw = bytes(((encoded[i] - 0x41) << 4) | (encoded[i + 1] - 0x41) for i in range(0, 32, 2))
    return raw[:15].decode("latin-1").rstrip(" \x00"), raw[15]


def _printable(name: str) -> bool:
    return bool(name) and all(c.isprintable() for c in name) and name not in ("*", "__MSBROWSE__")


def _records(msg: bytes, count: int, pos: int):
    """(name, type, rdata) of ``count`` resource records starting at ``pos``; stops at malformed ones."""
    for _ in range(min(count, MAX_RECORDS)):
        try:
            name, pos = read_name(msg, pos)
        except DnsError:
            return
        if pos + 10 > len(msg):
            return
        rtype, _rclass, _ttl, rdlen = struct.unpack_from("!HHIH", msg, pos)
        rdata = msg[pos + 10:pos + 10 + rdlen]
        pos += 10 + rdlen
        yield name, rtype, rdata


def _raw_name(msg: bytes, pos: int) -> tuple[bytes, int]:
    """The first label of an uncompressed NetBIOS name in a name-service packet (case kept)."""
    if pos >= len(msg) or msg[pos] != 32 or pos + 34 > len(msg):
        raise DnsError("not a NetBIOS name")
    return msg[pos + 1:pos + 33], pos + 33 + (msg[pos + 33] + 1 if msg[pos + 33] else 1)


class NamesDecoder(DatagramDecoder):
    """NetBIOS, LLMNR and mDNS self-announcements -> HostIdentity (address, host name, workgroup)."""

    name = "names"
    udp_ports = frozenset({NBNS_PORT, NBDS_PORT, LLMNR_PORT, MDNS_PORT})

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        if dgram.sport == NBNS_PORT or dgram.dport == NBNS_PORT:
            self._nbns(dgram, emit)
        elif dgram.sport == NBDS_PORT and dgram.dport == NBDS_PORT:
            self._nbds(dgram, emit)
        elif dgram.sport == LLMNR_PORT:
            self._dns_names(dgram, "llmnr", emit)
        elif dgram.sport == MDNS_PORT:
            self._dns_names(dgram, "mdns", emit)

    # ------------------------------------------------------------ NetBIOS name service

    def _nbns(self, dgram: Datagram, emit: Emit) -> None:
        msg = dgram.payload
        if len(msg) < 12:
            return
        flags, qdcount, ancount, _nscount, arcount = struct.unpack_from("!HHHHH", msg, 2)
        response, opcode = bool(flags & 0x8000), (flags >> 11) & 0x0F
        pos = 12
        try:
            if opcode in (OPCODE_REGISTRATION, OPCODE_REFRESH, OPCODE_REFRESH_ALT) and not response and qdcount:
                # a registration: the question names the host, the additional record gives its address
                encoded, pos = _raw_name(msg, pos)
                pos += 4
                for _name, rtype, rdata in _records(msg, arcount, pos):
                    if rtype == NB_TYPE and len(rdata) >= 6:
                        self._nb_claim(dgram, encoded, rdata, emit)
                        return
            elif opcode == OPCODE_QUERY and response and ancount:
                encoded, pos = _raw_name(msg, pos)
                pos += 8
                rdlen = struct.unpack_from("!H", msg, pos)[0] if pos + 2 <= len(msg) else 0
                rdata = msg[pos + 2:pos + 2 + rdlen]
                if len(rdata) >= 6:
                    self._nb_claim(dgram, encoded, rdata, emit)
        except (DnsError, struct.error):
            return

    def _nb_claim(self, dgram: Datagram, encoded: bytes, rdata: bytes, emit: Emit) -> None:
        name, suffix = netbios_name(encoded)
        nb_flags = struct.unpack_from("!H", rdata, 0)[0]
        address = socket.inet_ntoa(rdata[2:6])
        if not _printable(name) or suffix not in HOST_SUFFIXES or address == "0.0.0.0":
            return
        if nb_flags & GROUP_FLAG:
            if suffix == 0x00:
                emit(HostIdentity(dgram.ts, dgram.where, address, domain=name, source="netbios"))
            return
        emit(HostIdentity(dgram.ts, dgram.where, address, hostname=name, source="netbios"))

    # ------------------------------------------------------------ NetBIOS datagram service

    def _nbds(self, dgram: Datagram, emit: Emit) -> None:
        """Direct/broadcast datagrams (types 0x10-0x12): the source name is the sending host."""
        msg = dgram.payload
        if len(msg) < 14 + 34 or msg[0] not in (0x10, 0x11, 0x12):
            return
        address = socket.inet_ntoa(msg[4:8])
        try:
            encoded, _ = _raw_name(msg, 14)
            name, suffix = netbios_name(encoded)
        except DnsError:
            return
        if _printable(name) and suffix in HOST_SUFFIXES and address != "0.0.0.0":
            emit(HostIdentity(dgram.ts, dgram.where, address, hostname=name, source="netbios"))

    # ------------------------------------------------------------ LLMNR and mDNS

    def _dns_names(self, dgram: Datagram, source: str, emit: Emit) -> None:
        msg = dgram.payload
        if len(msg) < 12:
            return
        flags, qdcount, ancount, nscount, arcount = struct.unpack_from("!HHHHH", msg, 2)
        if not flags & 0x8000:
            return  # a question is about someone else
        pos = 12
        try:
            for _ in range(min(qdcount, MAX_RECORDS)):
                _, pos = read_name(msg, pos)
                pos += 4
        except DnsError:
            return
        seen: set[tuple[str, str]] = set()
        for name, rtype, rdata in _records(msg, ancount + nscount + arcount, pos):
            if rtype == 1 and len(rdata) == 4:
                address = socket.inet_ntoa(rdata)
            elif rtype == 28 and len(rdata) == 16:
                address = socket.inet_ntop(socket.AF_INET6, rdata)
            else:
                continue
            host = name[:-6] if name.endswith(".local") else name
            if not host or "." in host and source == "mdns" or (address, host) in seen:
                continue
            if address != dgram.src and source == "llmnr":
                continue  # LLMNR responders answer for their own name only
            seen.add((address, host))
            emit(HostIdentity(dgram.ts, dgram.where, address, hostname=host, source=source))
            if len(seen) >= MAX_NAMES_PER_PACKET:
                return
