"""TLS ClientHello server name (RFC 8446 4.1.2, RFC 6066 3), on any TCP port.

The hello is collected across TCP segments and TLS records before parsing, so
a hello split by the network or by a large post-quantum key share still
yields its SNI.
"""

from __future__ import annotations

import struct
from typing import Optional

from ..model import TlsClientHello
from .base import Emit, Endpoints, StreamDecoder, StreamSession

MAX_HELLO = 64 * 1024
TLS_PORTS = frozenset({443, 8443, 465, 993, 995, 636, 853, 5223, 5061})


class TlsError(ValueError):
    pass


def handshake_bytes(stream: bytes) -> tuple[bytes, bool]:
    """Concatenate handshake-record payloads; (bytes, complete-records-only)."""
    out = bytearray()
    pos = 0
    while pos + 5 <= len(stream):
        ctype, _major, _minor, length = struct.unpack_from("!BBBH", stream, pos)
        if ctype != 22:
            raise TlsError("not a handshake record")
        if pos + 5 + length > len(stream):
            return bytes(out), False
        out += stream[pos + 5:pos + 5 + length]
        pos += 5 + length
    return bytes(out), pos == len(stream)


def client_hello_sni(handshake: bytes) -> Optional[str]:
    """The server_name of a complete ClientHello message, or None if it has none."""
    if len(handshake) < 4 or handshake[0] != 1:
        raise TlsError("not a ClientHello")
    body_len = int.from_bytes(handshake[1:4], "big")
    body = handshake[4:4 + body_len]
    if len(body) < body_len:
        raise TlsError("incomplete ClientHello")
    pos = 2 + 32  # version, random
    pos += 1 + body[pos]  # session id
    pos += 2 + int.from_bytes(body[pos:pos + 2], "big")  # cipher suites
    pos += 1 + body[pos]  # compression methods
    if pos + 2 > len(body):
        return None
    end = min(len(body), pos + 2 + int.from_bytes(body[pos:pos + 2], "big"))
    pos += 2
    while pos + 4 <= end:
        etype, elen = struct.unpack_from("!HH", body, pos)
        pos += 4
        if etype == 0:
            return _server_name(body[pos:pos + elen])
        pos += elen
    return None


def _server_name(ext: bytes) -> Optional[str]:
    pos = 2
    while pos + 3 <= len(ext):
        kind, size = ext[pos], int.from_bytes(ext[pos + 1:pos + 3], "big")
        name = ext[pos + 3:pos + 3 + size]
        if kind == 0 and name:
            return name.decode("ascii", "replace").lower().rstrip(".")[:255]
        pos += 3 + size
    return None


def hello_length(handshake: bytes) -> Optional[int]:
    if len(handshake) < 4:
        return None
    return 4 + int.from_bytes(handshake[1:4], "big")


class TlsSession(StreamSession):
    def __init__(self, ends: Endpoints, emit: Emit):
        self.ends = ends
        self.emit = emit
        self.buf = b""

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if not from_client:
            return True
        self.buf += data
        if len(self.buf) > MAX_HELLO:
            return False
        try:
            handshake, _ = handshake_bytes(self.buf)
            needed = hello_length(handshake)
            if needed is None or len(handshake) < needed:
                return True
            sni = client_hello_sni(handshake[:needed])
        except (TlsError, IndexError, struct.error):
            return False
        if sni:
            e = self.ends
            self.emit(TlsClientHello(ts, where, e.client, e.server, e.server_port, sni))
        return False


class TlsDecoder(StreamDecoder):
    name = "tls"
    tcp_ports = TLS_PORTS
    client_prefixes = (b"\x16\x03\x01", b"\x16\x03\x03", b"\x16\x03\x00", b"\x16\x03\x02")

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        return first_client.startswith(self.client_prefixes)

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return TlsSession(ends, emit)
