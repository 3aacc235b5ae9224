"""BitTorrent by protocol signature, on any port: peer handshakes, DHT (BEP 5) and UDP trackers (BEP 15).

Torrent clients pick random ports, so ports prove nothing; the peer-wire
handshake, the bencoded KRPC messages and the UDP tracker's magic number do.
Also read: Local Service Discovery (BEP 14, ``BT-SEARCH`` multicast on 6771),
uTP connection setup (BEP 29 ST_SYN) and, heuristically, message-stream
encryption (MSE/PE) on the BitTorrent ports, whose first flights are a 96-byte
Diffie-Hellman key plus 0-512 random bytes each way and nothing readable.
HTTP tracker announces arrive as HttpRequest observations and are recognised
by the file-sharing detector.
"""

from __future__ import annotations

import re
from typing import Optional

from detector.observations import Emit, ServiceContact
from detector.protocols.base import Datagram, DatagramDecoder, Endpoints, StreamDecoder, StreamSession

SERVICE = "BitTorrent"
METHOD = "bittorrent"
HANDSHAKE = b"\x13BitTorrent protocol"
HANDSHAKE_LEN = 68
UDP_TRACKER_CONNECT = b"\x00\x00\x04\x17\x27\x10\x19\x80\x00\x00\x00\x00"
DHT_PREFIXES = (b"d1:ad2:id20:", b"d1:rd2:id20:", b"d1:eli", b"d2:ip6:", b"d2:ip18:", b"d1:ad9:")
DHT_KIND = re.compile(rb"1:y1:([qre])")
DHT_QUERY = re.compile(rb"1:q(\d{1,2}):")
MAX_DHT = 4096
LSD_PREFIX = b"BT-SEARCH * HTTP/1.1\r\n"
LSD_INFOHASH = re.compile(rb"\r\nInfohash: ?([0-9A-Fa-f]{40})")
UTP_SYN = (b"\x41\x00", b"\x41\x02")  # type ST_SYN (4), version 1; no extension or extension bits
UTP_HEADER = 20
MSE_PORTS = frozenset(range(6881, 6890)) | {51413}
MSE_MIN, MSE_MAX = 96, 96 + 512


def peer_id_client(peer_id: bytes) -> str:
    """Azureus-style client tag of a peer id (``-UT3550-`` -> ``UT3550``), else ''."""
    if len(peer_id) >= 8 and peer_id[:1] == b"-" and peer_id[7:8] == b"-":
        tag = peer_id[1:7]
        if tag.isalnum():
            return tag.decode("ascii")
    return ""


class BitTorrentSession(StreamSession):
    """Reads the first handshake of a peer-wire connection."""

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.buf = b""

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        self.buf = (self.buf + data)[:HANDSHAKE_LEN]
        if not HANDSHAKE.startswith(self.buf[:len(HANDSHAKE)]):
            return False
        if len(self.buf) < HANDSHAKE_LEN:
            return True
        info_hash = self.buf[28:48].hex()
        client = peer_id_client(self.buf[48:68])
        e = self.ends
        detail = f"BitTorrent peer handshake {e.client} <-> {e.server}:{e.server_port} info_hash {info_hash}"
        if client:
            detail += f" client {client}"
        self.emit(ServiceContact(ts, where, e.client, service=SERVICE, method=METHOD, server=e.server,
                                 server_port=e.server_port, detail=detail))
        return False


class BitTorrentDecoder(StreamDecoder):
    name = "bittorrent"
    client_prefixes = (HANDSHAKE,)
    server_prefixes = (HANDSHAKE,)

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        return (first_client or first_server).startswith(HANDSHAKE)

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return BitTorrentSession(ends, emit)


class BitTorrentUdpDecoder(DatagramDecoder):
    """DHT KRPC messages and UDP tracker connect requests, on any port."""

    name = "bittorrent-udp"
    prefixes = DHT_PREFIXES + (UDP_TRACKER_CONNECT, LSD_PREFIX) + UTP_SYN

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        data = dgram.payload
        if data.startswith(LSD_PREFIX):
            emit(lsd_contact(dgram))
            return
        if data.startswith(UTP_SYN):
            if utp_syn(data):
                emit(ServiceContact(dgram.ts, dgram.where, dgram.src, service=SERVICE, method=METHOD,
                                    server=dgram.dst, server_port=dgram.dport,
                                    detail=f"BitTorrent uTP connection request {dgram.src}:{dgram.sport} -> "
                                           f"{dgram.dst}:{dgram.dport}"))
            return
        if data.startswith(UDP_TRACKER_CONNECT):
            if len(data) == 16:
                emit(ServiceContact(dgram.ts, dgram.where, dgram.src, service=SERVICE, method=METHOD,
                                    server=dgram.dst, server_port=dgram.dport,
                                    detail=f"BitTorrent UDP tracker connect to {dgram.dst}:{dgram.dport}"))
            return
        if len(data) > MAX_DHT or not data.endswith(b"e"):
            return
        kind = DHT_KIND.search(data)
        if kind is None:
            return
        if kind.group(1) == b"q":
            query = DHT_QUERY.search(data)
            name = ""
            if query:
                start = query.end()
                name = data[start:start + int(query.group(1))].decode("ascii", "replace")
            client, server, port = dgram.src, dgram.dst, dgram.dport
            detail = f"BitTorrent DHT {name or 'query'} {dgram.src}:{dgram.sport} -> {dgram.dst}:{dgram.dport}"
        else:
            client, server, port = dgram.dst, dgram.src, dgram.sport
            what = "response" if kind.group(1) == b"r" else "error"
            detail = f"BitTorrent DHT {what} {dgram.src}:{dgram.sport} -> {dgram.dst}:{dgram.dport}"
        emit(ServiceContact(dgram.ts, dgram.where, client, service=SERVICE, method=METHOD, server=server,
                            server_port=port, detail=detail))


def lsd_contact(dgram: Datagram) -> ServiceContact:
    """A Local Service Discovery announce: a torrent client looking for peers on the LAN."""
    found = LSD_INFOHASH.search(dgram.payload[:1024])
    detail = f"BitTorrent local peer discovery (BT-SEARCH) from {dgram.src} to {dgram.dst}:{dgram.dport}"
    if found:
        detail += f" info_hash {found.group(1).decode('ascii').lower()}"
    return ServiceContact(dgram.ts, dgram.where, dgram.src, service=SERVICE, method=METHOD, server=dgram.dst,
                          server_port=dgram.dport, detail=detail)


def utp_syn(data: bytes) -> bool:
    """A uTP ST_SYN: 20-byte header (plus extensions), zero timestamp difference and zero ack number."""
    if len(data) < UTP_HEADER or data[8:12] != b"\x00\x00\x00\x00" or data[18:20] != b"\x00\x00":
        return False
    pos, extension = UTP_HEADER, data[1]
    while extension:  # extension chain: (next type, length, data)
        if pos + 2 > len(data):
            return False
        extension, size = data[pos], data[pos + 1]
        pos += 2 + size
    return pos == len(data)


def looks_random(data: bytes) -> bool:
    """No readable protocol: few zero bytes, not mostly text (a DH public key and random padding)."""
    if not data:
        return False
    zeros = data.count(0)
    text = sum(1 for b in data if 32 <= b < 127)
    return zeros * 16 <= len(data) and text * 10 < len(data) * 7


class MseSession(StreamSession):
    """Counts the first flight each way; both 96..608 random bytes means an MSE key exchange."""

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.client = b""
        self.server = b""
        self.plain: Optional[BitTorrentSession] = None  # the dispatcher opens the port's flows on the SYN

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if self.plain is None and not self.client and not self.server and data.startswith(HANDSHAKE[:1]):
            self.plain = BitTorrentSession(self.ends, self.emit)
        if self.plain is not None:
            return self.plain.feed(from_client, data, ts, where)
        if from_client:
            if self.server:  # the client's second flight: both first flights are complete
                self._judge(ts, where)
                return False
            self.client += data
            return len(self.client) <= MSE_MAX
        if not self.client:
            return False
        self.server += data
        return len(self.server) <= MSE_MAX

    def _judge(self, ts: float, where: str) -> None:
        if not (MSE_MIN <= len(self.client) <= MSE_MAX and MSE_MIN <= len(self.server) <= MSE_MAX):
            return
        if not (looks_random(self.client) and looks_random(self.server)):
            return
        e = self.ends
        self.emit(ServiceContact(ts, where, e.client, service=SERVICE, method="heuristic", server=e.server,
                                 server_port=e.server_port,
                                 detail=f"BitTorrent encrypted handshake (MSE: {len(self.client)} and "
                                        f"{len(self.server)} random bytes) {e.client} -> {e.server}:{e.server_port}"))


class BitTorrentMseDecoder(StreamDecoder):
    """Message-stream encryption on the BitTorrent ports (a port alone is no proof, the shape is the rest)."""

    name = "bittorrent-mse"
    tcp_ports = MSE_PORTS

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        return bool(first_client) and not first_client.startswith(HANDSHAKE) and looks_random(first_client)

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return MseSession(ends, emit)
