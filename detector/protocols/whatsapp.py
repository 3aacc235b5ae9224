"""WhatsApp chat by its Noise handshake prologue (TCP, any port: 5222, 443 or 80).

WhatsApp does not speak TLS on 443: the client opens with the Noise Pipes
prologue "WA" plus two version bytes (``WA\\x01\\x05`` in the 2015-era
clients), or the newer ``ED\\x00\\x01`` routing header followed by it. nDPI
matches the same prefixes.
"""

from __future__ import annotations

from detector.observations import Emit, ServiceContact
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession

PROLOGUES = (b"WA\x01\x05", b"WA\x02\x01", b"WA\x03\x00", b"WA\x04\x00", b"WA\x05\x02", b"WA\x06\x02",
             b"ED\x00\x01\x00\x00\x04\x08", b"ED\x00\x01\x00\x00\x02\x08")


class WhatsAppSession(StreamSession):
    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if from_client and data.startswith(PROLOGUES):
            e = self.ends
            version = data[:4].hex() if data.startswith(b"WA") else data[:8].hex()
            self.emit(ServiceContact(ts, where, e.client, service="WhatsApp", method="signature", server=e.server,
                                     server_port=e.server_port,
                                     detail=f"WhatsApp Noise handshake {e.client} -> {e.server}:{e.server_port} "
                                            f"(prologue {version})"))
        return False


class WhatsAppDecoder(StreamDecoder):
    name = "whatsapp"
    client_prefixes = PROLOGUES

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        return first_client.startswith(PROLOGUES)

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return WhatsAppSession(ends, emit)
