"""WhatsApp chat by its Noise handshake prologue (TCP, any port: 5222, 443 or 80).

WhatsApp does not speak TLS on 443: the client opens with the Noise Pipes
prologue "WA" plus two version bytes (``WA\\x01\\x05`` in the 2015-era
clients, ``WA\\x05\\x02``, ``WA\\x06\\x03`` ... later). Current clients put an
edge-routing header before it: ``ED\\x00\\x01``, a 3-byte big-endian length,
that many bytes of routing data, then the ``WA`` prologue (nDPI's whatsapp.c
matches ``ED 00 01 00 00 02 08 00 57 41`` across segments). The header may
arrive in a segment of its own, so the client's first bytes are collected
until the prologue after the header can be checked.
"""

from __future__ import annotations

from typing import Optional

from detector.observations import Emit, ServiceContact
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession

LEGACY_PROLOGUES = (b"WA\x01\x05", b"WA\x02\x01", b"WA\x03\x00", b"WA\x04\x00", b"WA\x05\x02", b"WA\x06\x02")
ROUTING_HEADER = b"ED\x00\x01"
MAX_ROUTING = 256  # routing data seen in practice is a few bytes (an edge id); more is not this protocol
NOISE_MAJOR = range(1, 16)  # "WA" then the protocol's major version byte
PROLOGUES = LEGACY_PROLOGUES + (ROUTING_HEADER,)


def prologue_after_routing(data: bytes) -> Optional[bool]:
    """For a stream starting with the routing header: True when the WA prologue follows it, None while unknown."""
    if len(data) < 7:
        return None
    size = int.from_bytes(data[4:7], "big")
    if size > MAX_ROUTING:
        return False
    start = 7 + size
    if len(data) < start + 4:
        return None
    return data[start:start + 2] == b"WA" and data[start + 2] in NOISE_MAJOR


class WhatsAppSession(StreamSession):
    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.head = b""

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if not from_client:
            return True  # undecided until the client's bytes say: a decided session has already returned False
        self.head += data[:7 + MAX_ROUTING + 4 - len(self.head)]
        if self.head.startswith(LEGACY_PROLOGUES):
            self._found(self.head[:4], ts, where)
            return False
        if not self.head.startswith(ROUTING_HEADER[:len(self.head)]):
            return False
        verdict = prologue_after_routing(self.head)
        if verdict is None:
            return len(self.head) < 7 + MAX_ROUTING + 4
        if verdict:
            start = 7 + int.from_bytes(self.head[4:7], "big")
            self._found(self.head[start:start + 4], ts, where, routed=True)
        return False

    def _found(self, prologue: bytes, ts: float, where: str, routed: bool = False) -> None:
        e = self.ends
        routing = " after the edge-routing header" if routed else ""
        self.emit(ServiceContact(ts, where, e.client, service="WhatsApp", method="signature", server=e.server,
                                 server_port=e.server_port,
                                 detail=f"WhatsApp Noise handshake {e.client} -> {e.server}:{e.server_port} "
                                        f"(prologue {prologue.hex()}{routing})"))


class WhatsAppDecoder(StreamDecoder):
    name = "whatsapp"
    client_prefixes = PROLOGUES

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        if first_client.startswith(LEGACY_PROLOGUES):
            return True
        return first_client.startswith(ROUTING_HEADER) and prologue_after_routing(first_client) is not False

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return WhatsAppSession(ends, emit)
