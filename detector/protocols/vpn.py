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
"""

from __future__ import annotations

import ipaddress

from detector.observations import Emit, ServiceContact
from detector.protocols.base import Datagram, DatagramDecoder, Endpoints, StreamDecoder, StreamSession

WG_INITIATION, WG_RESPONSE = b"\x01\x00\x00\x00", b"\x02\x00\x00\x00"
WG_INITIATION_LEN, WG_RESPONSE_LEN = 148, 92
OVPN_CLIENT_RESET = (0x38, 0x50)
OVPN_SERVER_RESET = 0x40
OVPN_RESET_SIZES = range(14, 120)  # session id + optional tls-auth/tls-crypt HMAC, packet id, time, acks
MAX_PENDING = 4096
OPENVPN, WIREGUARD = "OpenVPN tunnel", "WireGuard tunnel"


def is_public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


def _contact(ts: float, where: str, client: str, server: str, port: int, service: str, what: str) -> ServiceContact:
    return ServiceContact(ts, where, client, service=service, method="signature", server=server, server_port=port,
                          detail=f"{what} {client} -> {server}:{port}")


def openvpn_reset(packet: bytes) -> bool:
    """An OpenVPN client hard-reset packet: opcode, session id, and a zero message packet id at the end."""
    return packet[:1] != b"" and packet[0] in OVPN_CLIENT_RESET and len(packet) in OVPN_RESET_SIZES \
        and packet[-4:] == b"\x00\x00\x00\x00"


class VpnUdpDecoder(DatagramDecoder):
    name = "vpn-udp"
    udp_ports = frozenset({1194, 51820})
    prefixes = (WG_INITIATION, WG_RESPONSE, b"\x38", b"\x50", b"\x40")

    def __init__(self) -> None:
        self.pending: dict[tuple[str, int, str, int], bytes] = {}  # OpenVPN resets awaiting the server's
        self.done: dict[tuple[str, str, int, int], None] = {}

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
            self.pending[(dgram.src, dgram.sport, dgram.dst, dgram.dport)] = data[1:9]
        elif data[:1] == b"\x40" and len(data) >= 9:
            key = (dgram.dst, dgram.dport, dgram.src, dgram.sport)
            if key in self.pending:
                del self.pending[key]
                self._found(dgram.ts, dgram.where, dgram.dst, dgram.src, dgram.sport, OPENVPN,
                            "OpenVPN hard reset (UDP) answered", emit, dgram.dport)

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
    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.client_reset = False

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if from_client and not self.client_reset:
            self.client_reset = True
            return True
        if not from_client and self.client_reset:
            e = self.ends
            if len(data) >= 3 and data[2] == OVPN_SERVER_RESET and is_public(e.server):
                self.emit(_contact(ts, where, e.client, e.server, e.server_port, OPENVPN,
                                   "OpenVPN hard reset (TCP) answered"))
            return False
        return True


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
