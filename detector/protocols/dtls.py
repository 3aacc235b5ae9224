"""DTLS 1.0/1.2 (RFC 6347) server certificates: who a UDP media or VPN flow talks to when it sends no name.

WebRTC calls (Discord, Zoom's web client, Meet) and UDP VPNs run DTLS, and
up to DTLS 1.2 the server's Certificate is in clear, as in TLS 1.2. DTLS cuts
handshake messages into fragments (each with its message sequence, offset
and length) that may share a datagram with other records, arrive reordered
or repeat; they are put together per flow until the Certificate is whole.
The side that sends the ServerHello is the server; a certificate from the
other side (WebRTC's self-signed "WebRTC" client certificate) is the
client's own and names no server.
"""

from __future__ import annotations

import struct
from typing import Optional

from detector.observations import Emit, TlsCertificate
from detector.protocols.base import Datagram, DatagramDecoder
from detector.protocols.tls import TlsError, certificate_names

RECORD_HEADER = 13  # type, version, epoch, sequence number (6), length
FRAGMENT_HEADER = 12  # type, length (3), message sequence, fragment offset (3), fragment length (3)
HANDSHAKE, CERTIFICATE, SERVER_HELLO = 22, 11, 2
VERSIONS = (b"\xfe\xff", b"\xfe\xfd")  # DTLS 1.0, 1.2 (1.3 encrypts the certificate)
MAX_MESSAGE = 64 * 1024
MAX_FRAGMENTS = 64
MAX_FLOWS = 4096

Flow = tuple[str, int, str, int]  # sender, its port, receiver, its port


def handshake_fragments(datagram: bytes) -> list[tuple[int, int, int, int, bytes]]:
    """(type, message length, sequence, offset, bytes) of the handshake fragments of one datagram's records."""
    out = []
    pos = 0
    while pos + RECORD_HEADER <= len(datagram):
        start = pos
        ctype, epoch, length = datagram[start], struct.unpack_from("!H", datagram, start + 3)[0], \
            struct.unpack_from("!H", datagram, start + 11)[0]
        if datagram[start + 1:start + 3] not in VERSIONS:
            break
        pos = start + RECORD_HEADER + length
        if ctype != HANDSHAKE or epoch != 0:  # a later epoch is encrypted
            continue
        body = datagram[start + RECORD_HEADER:pos]
        at = 0
        while at + FRAGMENT_HEADER <= len(body):
            mtype = body[at]
            total = int.from_bytes(body[at + 1:at + 4], "big")
            sequence = struct.unpack_from("!H", body, at + 4)[0]
            offset = int.from_bytes(body[at + 6:at + 9], "big")
            size = int.from_bytes(body[at + 9:at + 12], "big")
            out.append((mtype, total, sequence, offset, body[at + FRAGMENT_HEADER:at + FRAGMENT_HEADER + size]))
            at += FRAGMENT_HEADER + size
    return out


class Reassembly:
    """One handshake message put together from its fragments."""

    def __init__(self, total: int):
        self.total = total
        self.fragments: dict[int, bytes] = {}

    def add(self, offset: int, data: bytes) -> Optional[bytes]:
        """The whole message once every byte is there."""
        if len(self.fragments) < MAX_FRAGMENTS and len(data) > len(self.fragments.get(offset, b"")):
            self.fragments[offset] = data
        message = bytearray()
        for start in sorted(self.fragments):
            if start > len(message):
                return None
            message += self.fragments[start][len(message) - start:]
        return bytes(message[:self.total]) if len(message) >= self.total else None


class DtlsDecoder(DatagramDecoder):
    """The first whole Certificate of each flow and direction, as a TlsCertificate."""

    name = "dtls"
    prefixes = tuple(b"\x16" + version for version in VERSIONS)

    def __init__(self) -> None:
        self.servers: dict[Flow, None] = {}  # senders of a ServerHello
        self.pending: dict[Flow, Reassembly] = {}
        self.done: dict[Flow, None] = {}

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        flow = (dgram.src, dgram.sport, dgram.dst, dgram.dport)
        if flow in self.done:
            return
        for mtype, total, _sequence, offset, data in handshake_fragments(dgram.payload):
            if mtype == SERVER_HELLO:
                self._remember(self.servers, flow)
            if mtype != CERTIFICATE or total > MAX_MESSAGE:
                continue
            reassembly = self.pending.get(flow)
            if reassembly is None:
                if len(self.pending) >= MAX_FLOWS:
                    self.pending.clear()
                reassembly = self.pending[flow] = Reassembly(total)
            message = reassembly.add(offset, data)
            if message is not None:
                del self.pending[flow]
                self._remember(self.done, flow)
                self._certificate(dgram, flow, message, emit)
                return

    @staticmethod
    def _remember(table: dict[Flow, None], flow: Flow) -> None:
        if len(table) >= MAX_FLOWS:
            table.clear()
        table[flow] = None

    def _certificate(self, dgram: Datagram, flow: Flow, body: bytes, emit: Emit) -> None:
        try:
            names = certificate_names(body)
        except (TlsError, IndexError, struct.error):
            return
        if not names.subject and not names.issuer:
            return
        from_server = flow in self.servers
        client, server, port = (dgram.dst, dgram.src, dgram.sport) if from_server else \
            (dgram.src, dgram.dst, dgram.dport)
        emit(TlsCertificate(dgram.ts, dgram.where, client, server, port, names.subject, names.issuer,
                            from_client=not from_server))
