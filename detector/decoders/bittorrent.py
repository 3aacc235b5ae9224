"""BitTorrent by protocol signature, on any port: peer handshakes, DHT (BEP 5) and UDP trackers (BEP 15).

Torrent clients pick random ports, so ports prove nothing; the peer-wire
handshake, the bencoded KRPC messages and the UDP tracker's magic number do.
HTTP tracker announces arrive as HttpRequest observations and are recognised
by the file-sharing detector.
"""

from __future__ import annotations

import re

from ..model import ServiceContact
from .base import Datagram, DatagramDecoder, Emit, Endpoints, StreamDecoder, StreamSession

SERVICE = "BitTorrent"
METHOD = "bittorrent"
HANDSHAKE = b"\x13BitTorrent protocol"
HANDSHAKE_LEN = 68
UDP_TRACKER_CONNECT = b"\x00\x00\x04\x17\x27\x10\x19\x80\x00\x00\x00\x00"
DHT_PREFIXES = (b"d1:ad2:id20:", b"d1:rd2:id20:", b"d1:eli", b"d2:ip6:", b"d2:ip18:", b"d1:ad9:")
DHT_KIND = re.compile(rb"1:y1:([qre])")
DHT_QUERY = re.compile(rb"1:q(\d{1,2}):")
MAX_DHT = 4096


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
        self.ends = ends
        self.emit = emit
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
    prefixes = DHT_PREFIXES + (UDP_TRACKER_CONNECT,)

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        data = dgram.payload
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
