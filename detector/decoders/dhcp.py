"""DHCP client requests (RFC 2131/2132) on UDP 67/68: the LAN-side footprint of a Wi-Fi outage.

When the Wi-Fi comes back, every client that lost it asks for its address again
(DISCOVER, or REQUEST with no client address: INIT-REBOOT / SELECTING) within
seconds. Renewals from a bound lease (REQUEST with ``ciaddr`` set) are marked
so the detector can ignore them.
"""

from __future__ import annotations

from ..model import DhcpClientRequest
from .base import Datagram, DatagramDecoder, Emit

BOOTREQUEST = 1
MAGIC = b"\x63\x82\x53\x63"
OPTIONS_AT = 240
MESSAGES = {1: "discover", 3: "request"}
OPT_PAD, OPT_HOSTNAME, OPT_MESSAGE_TYPE, OPT_END = 0, 12, 53, 255
MAX_OPTION_BYTES = 1500


def dhcp_options(payload: bytes) -> dict[int, bytes]:
    """Option code -> value, first occurrence wins; a bounded, defensive TLV walk."""
    options: dict[int, bytes] = {}
    pos, end = OPTIONS_AT, min(len(payload), OPTIONS_AT + MAX_OPTION_BYTES)
    while pos < end:
        code = payload[pos]
        if code == OPT_PAD:
            pos += 1
            continue
        if code == OPT_END or pos + 1 >= end:
            break
        size = payload[pos + 1]
        options.setdefault(code, payload[pos + 2:pos + 2 + size])
        pos += 2 + size
    return options


class DhcpDecoder(DatagramDecoder):
    name = "dhcp"
    udp_ports = frozenset({67, 68})

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        payload = dgram.payload
        if len(payload) < OPTIONS_AT or payload[0] != BOOTREQUEST or payload[236:240] != MAGIC:
            return
        hlen = min(payload[2], 16) or 6
        options = dhcp_options(payload)
        kind = options.get(OPT_MESSAGE_TYPE, b"")
        message = MESSAGES.get(kind[0]) if kind else None
        if message is None:
            return
        client = ":".join(f"{b:02x}" for b in payload[28:28 + hlen])
        bound = payload[12:16] != b"\x00\x00\x00\x00"
        hostname = options.get(OPT_HOSTNAME, b"")[:64].decode("utf-8", "replace")
        emit(DhcpClientRequest(dgram.ts, dgram.where, client, message, not bound, hostname))
