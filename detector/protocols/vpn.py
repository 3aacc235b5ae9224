"""VPN tunnels leaving the office by their handshakes: OpenVPN (UDP and TCP) and WireGuard.

A personal VPN (or a home tunnel) hides everything else a user does from the
office's filters, so the handshake itself is the finding. Only tunnels to
public addresses count: a site-to-site link between private networks is
the office's own.

* WireGuard: handshake initiation is exactly 148 bytes starting 01 00 00 00,
  the response 92 bytes starting 02 00 00 00 (whitepaper section 5.4).
* OpenVPN: P_CONTROL_HARD_RESET_CLIENT_V2/V3 (opcode 7 or 10, key id 0:
  first byte 0x38 or 0x50), then the server's P_CONTROL_HARD_RESET_SERVER_V2
  (0x40) on the same flow; over TCP each packet has a 2-byte length prefix.

Whose tunnel it is: OpenVPN runs a TLS handshake inside its P_CONTROL_V1
packets (opcode 4, first byte 0x20). Without tls-crypt that handshake is in
clear (tls-auth only adds an HMAC), so the server's certificate names the
provider: NordVPN's servers present ``us1234.nordvpn.com``, PIA's and others'
are issued by the provider's own CA. The packet layout (OpenVPN's ssl_pkt.c):
opcode/key id (1), session id (8), with tls-auth an HMAC, packet id and time,
an ack array (count, 4 bytes each, then the remote session id), the message
packet id (4), then the TLS bytes. The client's hard reset carries no TLS, so
its length gives the size of the tls-auth block for the whole session.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Optional

from detector.observations import Emit, ServiceContact, TlsCertificate
from detector.protocols.base import Datagram, DatagramDecoder, Endpoints, StreamDecoder, StreamSession
from detector.protocols.tls import CertificateNames, TlsError, certificate_names, flight_handshake, handshake_messages

WG_INITIATION, WG_RESPONSE = b"\x01\x00\x00\x00", b"\x02\x00\x00\x00"
WG_INITIATION_LEN, WG_RESPONSE_LEN = 148, 92
OVPN_CLIENT_RESET = (0x38, 0x50)
OVPN_SERVER_RESET = 0x40
OVPN_RESET_SIZES = range(14, 120)  # session id + optional tls-auth/tls-crypt HMAC, packet id, time, acks
MAX_PENDING = 4096
OPENVPN, WIREGUARD = "OpenVPN tunnel", "WireGuard tunnel"
OVPN_CONTROL = 4  # P_CONTROL_V1
OVPN_PLAIN_RESET = 14  # opcode, session id, empty ack array, message packet id: no tls-auth block
OVPN_AUTH_BLOCKS = (0, 20 + 8, 32 + 8, 48 + 8, 64 + 8)  # none, or HMAC-SHA1/256/384/512 + packet id + time
MAX_CONTROL_BYTES = 64 * 1024  # the server's TLS flight up to its certificate
MAX_CONTROL_PACKETS = 64


def is_public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


def _contact(ts: float, where: str, client: str, server: str, port: int, service: str, what: str) -> ServiceContact:
    return ServiceContact(ts, where, client, service=service, method="signature", server=server, server_port=port,
                          detail=f"{what} {client} -> {server}:{port}")


class OpenVpnControl:
    """The server's TLS flight carried in one session's P_CONTROL_V1 packets, until its certificate."""

    def __init__(self, client_reset_length: int):
        self.auth = client_reset_length - OVPN_PLAIN_RESET
        self.messages: dict[int, bytes] = {}  # message packet id -> TLS bytes (UDP may repeat or reorder)
        self.held = 0
        self.done = self.auth not in OVPN_AUTH_BLOCKS  # tls-crypt or unknown: the handshake is not in clear

    def add(self, packet: bytes) -> Optional[CertificateNames]:
        """Take one server packet; the certificate's names once the flight holds it."""
        if self.done or not packet or packet[0] >> 3 != OVPN_CONTROL:
            return None
        pos = 9 + self.auth
        if pos >= len(packet):
            return None
        acks = packet[pos]
        pos += 1 + 4 * acks + (8 if acks else 0)
        if pos + 4 > len(packet):
            return None
        message_id = struct.unpack_from("!I", packet, pos)[0]
        payload = packet[pos + 4:]
        if message_id not in self.messages:
            self.messages[message_id] = payload
            self.held += len(payload)
        if self.held > MAX_CONTROL_BYTES or len(self.messages) > MAX_CONTROL_PACKETS:
            self.done = True
            return None
        return self._certificate()

    def _certificate(self) -> Optional[CertificateNames]:
        stream = b""
        message_id = 1  # the server's hard reset was message 0; its TLS bytes follow in order from 1
        while message_id in self.messages:
            stream += self.messages[message_id]
            message_id += 1
        try:
            handshake, over = flight_handshake(stream)
            for mtype, body in handshake_messages(handshake):
                if mtype == 11:
                    self.done = True
                    return certificate_names(body)
        except (TlsError, IndexError, struct.error):
            self.done = True
            return None
        self.done = over
        return None


def _certificate(ts: float, where: str, client: str, server: str, port: int, names: CertificateNames) -> TlsCertificate:
    return TlsCertificate(ts, where, client, server, port, names.subject, names.issuer)


def openvpn_reset(packet: bytes) -> bool:
    """An OpenVPN client hard-reset packet: opcode, session id, and a zero message packet id at the end."""
    return packet[:1] != b"" and packet[0] in OVPN_CLIENT_RESET and len(packet) in OVPN_RESET_SIZES \
        and packet[-4:] == b"\x00\x00\x00\x00"


class VpnUdpDecoder(DatagramDecoder):
    name = "vpn-udp"
    udp_ports = frozenset({1194, 51820})
    prefixes = (WG_INITIATION, WG_RESPONSE, b"\x38", b"\x50", b"\x40", b"\x20")

    def __init__(self) -> None:
        self.pending: dict[tuple[str, int, str, int], int] = {}  # OpenVPN resets awaiting the server's: length
        self.done: dict[tuple[str, str, int, int], None] = {}
        self.control: dict[tuple[str, int, str, int], OpenVpnControl] = {}  # (server, port, client, port)

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        data = dgram.payload
        if len(data) == WG_INITIATION_LEN and data.startswith(WG_INITIATION):
            self._found(dgram.ts, dgram.where, dgram.src, dgram.dst, dgram.dport, WIREGUARD,
                        "WireGuard handshake initiation", emit, dgram.sport)
        elif len(data) == WG_RESPONSE_LEN and data.startswith(WG_RESPONSE):
            self._found(dgram.ts, dgram.where, dgram.dst, dgram.src, dgram.sport, WIREGUARD,
                        "WireGuard handshake response", emit, dgram.dport)
        elif openvpn_reset(data):
            if len(self.pending) >= MAX_PENDING:
                self.pending.clear()
            self.pending[(dgram.src, dgram.sport, dgram.dst, dgram.dport)] = len(data)
        elif data[:1] == b"\x40" and len(data) >= 9:
            key = (dgram.dst, dgram.dport, dgram.src, dgram.sport)
            if key in self.pending:
                if len(self.control) >= MAX_PENDING:
                    self.control.clear()
                self.control[(dgram.src, dgram.sport, dgram.dst, dgram.dport)] = OpenVpnControl(self.pending.pop(key))
                self._found(dgram.ts, dgram.where, dgram.dst, dgram.src, dgram.sport, OPENVPN,
                            "OpenVPN hard reset (UDP) answered", emit, dgram.dport)
        elif data[:1] == b"\x20":
            control = self.control.get((dgram.src, dgram.sport, dgram.dst, dgram.dport))
            names = control.add(data) if control is not None else None
            if names is not None and is_public(dgram.src):
                emit(_certificate(dgram.ts, dgram.where, dgram.dst, dgram.src, dgram.sport, names))

    def _found(self, ts: float, where: str, client: str, server: str, port: int, service: str, what: str,
               emit: Emit, client_port: int = 0) -> None:
        key = (client, server, port, client_port)  # per flow, so every --jobs split gives the same contacts
        if key in self.done or not is_public(server):
            return
        if len(self.done) >= MAX_PENDING:
            self.done.clear()
        self.done[key] = None
        emit(_contact(ts, where, client, server, port, service, what))


class OpenVpnTcpSession(StreamSession):
    """The reset exchange, then the server's length-prefixed packets until its certificate."""

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.control: Optional[OpenVpnControl] = None
        self.server_bytes = b""
        self.answered = False

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if from_client:
            if self.control is None and len(data) >= 2:
                self.control = OpenVpnControl(int.from_bytes(data[:2], "big"))
            return self.control is None or not self.control.done
        if self.control is None:
            return False
        e = self.ends
        if not self.answered:
            self.answered = True
            if len(data) < 3 or data[2] != OVPN_SERVER_RESET or not is_public(e.server):
                return False
            self.emit(_contact(ts, where, e.client, e.server, e.server_port, OPENVPN,
                               "OpenVPN hard reset (TCP) answered"))
        self.server_bytes += data
        while len(self.server_bytes) >= 2 and not self.control.done:
            size = int.from_bytes(self.server_bytes[:2], "big")
            if len(self.server_bytes) < 2 + size:
                break
            names = self.control.add(self.server_bytes[2:2 + size])
            self.server_bytes = self.server_bytes[2 + size:]
            if names is not None:
                self.emit(_certificate(ts, where, e.client, e.server, e.server_port, names))
        if len(self.server_bytes) > MAX_CONTROL_BYTES:
            self.control.done = True
        return not self.control.done


class OpenVpnTcpDecoder(StreamDecoder):
    """OpenVPN over TCP (1194, or 443 to slip through firewalls): length-prefixed client reset.

    No payload prefixes on other ports: a 3-byte length-and-opcode prefix is too common to select flows by.
    """

    name = "openvpn-tcp"
    tcp_ports = frozenset({1194})  # and 443 through the port multiplexer (portmux.py)

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        if len(first_client) < 3:
            return False
        size = int.from_bytes(first_client[:2], "big")
        return openvpn_reset(first_client[2:2 + size]) if len(first_client) >= 2 + size else \
            first_client[2] in OVPN_CLIENT_RESET and size in OVPN_RESET_SIZES

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return OpenVpnTcpSession(ends, emit)
