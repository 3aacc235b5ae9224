"""Discord voice by payload signature (UDP, any port): the IP discovery exchange and the keep-alive ping.

Discord voice servers answer on UDP 50000-50100 from many hosting networks,
so neither port nor address is proof. The client's first datagram is a
74-byte IP discovery request (type 0x0001, length 70, SSRC) answered by type
0x0002 carrying the client's public address as text; the 8-byte 0x1337cafe
datagram is the client's ping. Both are what nDPI matches.
"""

from __future__ import annotations

from detector.observations import Emit, ServiceContact
from detector.protocols.base import Datagram, DatagramDecoder

PING = b"\x13\x37\xca\xfe"
DISCOVERY_REQUEST = b"\x00\x01\x00\x46"
DISCOVERY_REPLY = b"\x00\x02\x00\x46"
DISCOVERY_LEN = 74
MAX_FLOWS = 8192


def discovered_address(payload: bytes) -> str:
    """The client address a discovery reply carries (NUL-padded text after the SSRC)."""
    raw = payload[8:72].split(b"\x00", 1)[0]
    try:
        value = raw.decode("ascii")
    except UnicodeDecodeError:
        return ""
    return value if value and all(c in "0123456789abcdef.:" for c in value.lower()) else ""


class DiscordDecoder(DatagramDecoder):
    name = "discord"
    prefixes = (PING, DISCOVERY_REQUEST, DISCOVERY_REPLY)

    def __init__(self) -> None:
        self.done: dict[tuple[str, str, int, int], None] = {}

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        data = dgram.payload
        if len(data) == 8 and data.startswith(PING):
            client, server, port, what = dgram.src, dgram.dst, dgram.dport, "voice ping 0x1337cafe"
        elif len(data) == DISCOVERY_LEN and data.startswith(DISCOVERY_REQUEST) and not any(data[8:72]):
            client, server, port, what = dgram.src, dgram.dst, dgram.dport, "voice IP discovery request"
        elif len(data) == DISCOVERY_LEN and data.startswith(DISCOVERY_REPLY) and discovered_address(data):
            client, server, port = dgram.dst, dgram.src, dgram.sport
            what = f"voice IP discovery reply (client seen as {discovered_address(data)})"
        else:
            return
        key = (client, server, port, dgram.sport if client == dgram.src else dgram.dport)  # per flow
        if key in self.done:
            return
        if len(self.done) >= MAX_FLOWS:
            self.done.clear()
        self.done[key] = None
        emit(ServiceContact(dgram.ts, dgram.where, client, service="Discord", method="signature", server=server,
                            server_port=port, detail=f"Discord {what} {client} -> {server}:{port}"))
