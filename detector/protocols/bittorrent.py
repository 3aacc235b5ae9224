"""BitTorrent by protocol signature, on any port: peer handshakes, DHT (BEP 5) and UDP trackers (BEP 15).

Torrent clients pick random ports, so ports prove nothing; the peer-wire
handshake, the bencoded KRPC messages and the UDP tracker's magic number do.
Also read: Local Service Discovery (BEP 14, ``BT-SEARCH`` multicast on 6771,
and its DNS-SD form, an mDNS name ``_BitTorrent-<infohash>._tcp.local``), uTP
connection setup (BEP 29 ST_SYN) and, heuristically, message-stream encryption
(MSE/PE) on the BitTorrent ports, whose first flights are a 96-byte
Diffie-Hellman key plus 0-512 random bytes each way and nothing readable.

A connection seen only mid-transfer (no handshake in the capture) is known by
its peer-wire messages (BEP 3, 6, 10): a 4-byte length, a message id and a body
whose length the id fixes or bounds. Three consecutive valid messages in one
direction, at least one of them a have, bitfield, request, piece, cancel, port,
fast-extension or extended message, are required, so random or zero-filled
binary never passes; on any port the first segment must start a message, on the
BitTorrent ports the messages are also searched for inside the first 64 KiB.
HTTP tracker announces arrive as HttpRequest observations and are recognised
by the file-sharing detector.
"""

from __future__ import annotations

import re
import struct
from typing import Optional

from detector.observations import Emit, ServiceContact
from detector.protocols.base import Datagram, DatagramDecoder, Endpoints, StreamDecoder, StreamSession
from detector.protocols.dns import DnsError, read_name

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
MAX_BLOCK = 128 * 1024  # largest request/piece block clients accept (16 KiB is the norm)
MAX_WIRE_SCAN = 64 * 1024  # bytes per direction searched for peer-wire messages
WIRE_CHAIN = 3  # consecutive valid messages that prove the protocol
# message id -> (smallest, largest) length prefix (id byte + body), BEP 3 / BEP 6 (fast) / BEP 10 (extended)
WIRE_LENGTHS = {0: (1, 1), 1: (1, 1), 2: (1, 1), 3: (1, 1), 4: (5, 5), 5: (2, 1 + 2 ** 20), 6: (13, 13),
                7: (10, 9 + MAX_BLOCK), 8: (13, 13), 9: (3, 3), 13: (5, 5), 14: (1, 1), 15: (1, 1), 16: (13, 13),
                17: (5, 5), 20: (2, 2 ** 20)}
WIRE_NAMES = {0: "choke", 1: "unchoke", 2: "interested", 3: "not interested", 4: "have", 5: "bitfield",
              6: "request", 7: "piece", 8: "cancel", 9: "port", 13: "suggest", 14: "have all", 15: "have none",
              16: "reject", 17: "allowed fast", 20: "extended"}
STATE_ONLY = frozenset({0, 1, 2, 3})  # choke/interested messages alone prove little
# the first bytes of a peer-wire message: a length below 2^21 and a known id (checked in full by wire_message)
WIRE_PREFIXES = (b"\x00\x00", b"\x00\x01", b"\x00\x02", b"\x00\x10")
MDNS_PORT = 5353
DNS_SD_LABEL = b"_bittorrent-"
MAX_MDNS_NAMES = 32


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


def wire_message(buf: bytes, at: int) -> Optional[tuple[int, int]]:
    """(message id or -1 for keep-alive, total size) of a valid peer-wire message at ``at``; None if invalid.

    A message whose header is valid but whose body is not all in ``buf`` yet is
    returned too (its size tells where the next one starts).
    """
    if at + 4 > len(buf):
        return None
    length = struct.unpack_from("!I", buf, at)[0]
    if length == 0:
        return -1, 4
    if at + 5 > len(buf):
        return None
    kind = buf[at + 4]
    bounds = WIRE_LENGTHS.get(kind)
    if bounds is None or not bounds[0] <= length <= bounds[1]:
        return None
    body = buf[at + 5:at + 4 + length]
    if kind in (6, 8, 16) and len(body) == 12 and not 0 < struct.unpack_from("!I", body, 8)[0] <= MAX_BLOCK:
        return None  # request, cancel, reject: a block length of 1..128 KiB
    if kind == 20 and body[:1] == b"\x00" and len(body) > 1 and body[1:2] != b"d":
        return None  # the extended handshake is a bencoded dictionary
    return kind, 4 + length


def wire_chain(buf: bytes, at: int) -> tuple[Optional[bool], list[int]]:
    """Follow messages from ``at``: (True: proven, False: not peer-wire, None: more bytes needed), their ids."""
    kinds: list[int] = []
    while len(kinds) < WIRE_CHAIN * 4:  # a long run of keep-alives (zero bytes) proves nothing
        if proves_peer_wire(kinds):
            return True, kinds
        if at + 5 > len(buf) and not (at + 4 <= len(buf) and buf[at:at + 4] == b"\x00\x00\x00\x00"):
            return None, kinds
        found = wire_message(buf, at)
        if found is None:
            return False, kinds
        kinds.append(found[0])
        at += found[1]
    return False, kinds


def proves_peer_wire(kinds: list[int]) -> bool:
    """Enough consecutive messages, not only keep-alives and choke/interest state."""
    real = [kind for kind in kinds if kind >= 0]
    return len(kinds) >= WIRE_CHAIN and len(real) >= 2 and any(kind not in STATE_ONLY for kind in real)


class PeerWireScanner:
    """Looks for a chain of peer-wire messages in one direction of a connection (its first 64 KiB).

    Aligned (the stream starts at a message): only offset 0 is tried. Otherwise
    every offset is tried once; offsets whose chain waits for a long body are
    kept (a few) and tried again as bytes arrive, so the search stays linear.
    """

    MAX_PENDING = 16
    MARGIN = 64  # offsets this close to the end wait for the next segment

    def __init__(self, aligned: bool):
        self.aligned = aligned
        self.buf = b""
        self.next = 0  # first offset not tried yet
        self.pending: list[int] = []
        self.kinds: list[int] = []

    def push(self, data: bytes) -> Optional[bool]:
        """True once proven, False once it cannot be, None while undecided."""
        if len(self.buf) < MAX_WIRE_SCAN:
            self.buf = (self.buf + data)[:MAX_WIRE_SCAN]
        full = len(self.buf) >= MAX_WIRE_SCAN
        waiting, self.pending = self.pending, []
        for at in waiting:
            if self._try(at):
                return True
        limit = 1 if self.aligned else len(self.buf) - (0 if full else self.MARGIN)
        while self.next < limit:
            self.next += 1
            if self._try(self.next - 1):
                return True
        if self.pending and not full:
            return None
        return False if full or self.aligned else None

    def _try(self, at: int) -> bool:
        verdict, kinds = wire_chain(self.buf, at)
        if verdict:
            self.kinds = kinds
            return True
        if verdict is None and len(self.pending) < self.MAX_PENDING:
            self.pending.append(at)
        return False


class PeerWireSession(StreamSession):
    """A peer-wire connection picked up after its handshake: proven by its message framing."""

    def __init__(self, ends: Endpoints, emit: Emit, aligned: bool = True):
        super().__init__(ends, emit)
        self.scanners = {True: PeerWireScanner(aligned), False: PeerWireScanner(aligned)}
        self.given_up: set[bool] = set()

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if from_client in self.given_up:
            return len(self.given_up) < 2
        verdict = self.scanners[from_client].push(data)
        if verdict:
            self._report(self.scanners[from_client].kinds, ts, where)
            return False
        if verdict is False:
            self.given_up.add(from_client)
        return len(self.given_up) < 2

    def _report(self, kinds: list[int], ts: float, where: str) -> None:
        e = self.ends
        names = ", ".join(dict.fromkeys(WIRE_NAMES.get(kind, "keep-alive") for kind in kinds))
        self.emit(ServiceContact(ts, where, e.client, service=SERVICE, method=METHOD, server=e.server,
                                 server_port=e.server_port,
                                 detail=f"BitTorrent peer-wire messages ({names}) without a handshake "
                                        f"{e.client} <-> {e.server}:{e.server_port}"))


class PeerWireDecoder(StreamDecoder):
    """Peer-wire messages on any port, the first segment starting a message (a capture begun mid-transfer)."""

    name = "bittorrent-wire"
    client_prefixes = WIRE_PREFIXES
    server_prefixes = WIRE_PREFIXES

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        head = first_client or first_server
        found = wire_message(head, 0)
        return found is not None and found[0] >= 0

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return PeerWireSession(ends, emit)


class BitTorrentMdnsDecoder(DatagramDecoder):
    """Local peer discovery over DNS-SD: an mDNS question or answer naming ``_BitTorrent-<infohash>._tcp.local``."""

    name = "bittorrent-mdns"
    udp_ports = frozenset({MDNS_PORT})

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        data = dgram.payload
        if DNS_SD_LABEL not in data.lower() or len(data) < 12:
            return
        name = next((n for n in mdns_names(data) if n.startswith("_bittorrent-")), "")
        if not name:
            return
        info_hash = name.split(".", 1)[0][len("_bittorrent-"):]
        emit(ServiceContact(dgram.ts, dgram.where, dgram.src, service=SERVICE, method=METHOD, server=dgram.dst,
                            server_port=dgram.dport,
                            detail=f"BitTorrent local peer discovery over DNS-SD ({name[:120]}) from {dgram.src}"
                                   + (f" info_hash {info_hash[:40]}" if info_hash else "")))


def mdns_names(msg: bytes) -> list[str]:
    """The question and record names of an mDNS message (at most 32), as far as they parse."""
    qdcount, ancount, nscount, arcount = struct.unpack_from("!HHHH", msg, 4)
    names: list[str] = []
    pos = 12
    try:
        for index in range(min(qdcount + ancount + nscount + arcount, MAX_MDNS_NAMES)):
            name, pos = read_name(msg, pos)
            names.append(name)
            if index < qdcount:
                pos += 4
                continue
            if pos + 10 > len(msg):
                break
            pos += 10 + struct.unpack_from("!H", msg, pos + 8)[0]
    except DnsError:
        pass
    return names


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
        self.wire: Optional[PeerWireSession] = PeerWireSession(ends, emit, aligned=False)
        self.mse_open = True  # still measuring the first flights

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if self.plain is None and not self.client and not self.server and data.startswith(HANDSHAKE[:1]):
            self.plain = BitTorrentSession(self.ends, self.emit)
        if self.plain is not None:
            return self.plain.feed(from_client, data, ts, where)
        if self.wire is not None and not self.wire.feed(from_client, data, ts, where):
            self.wire = None  # proven (reported) or given up
        if self.mse_open:
            self.mse_open = self._flights(from_client, data, ts, where)
        return self.mse_open or self.wire is not None

    def _flights(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        """Measure the first flight each way; False once judged or out of shape."""
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
        """Random first bytes (an MSE key, or a piece's data mid-transfer) or a peer-wire message."""
        head = first_client or first_server
        return not head.startswith(HANDSHAKE) and (looks_random(head) or wire_message(head, 0) is not None)

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return MseSession(ends, emit)
