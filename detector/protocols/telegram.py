"""Telegram MTProto over TCP: plain transports by their tag, obfuscated ones by decrypting the tag.

MTProto's TCP transports announce themselves in the first bytes: 0xef
(abridged), 0xeeeeeeee (intermediate), 0xdddddddd (padded intermediate). The
obfuscated transport (what the apps use on 443/80 and what MTProxy carries)
hides the tag: the first 64 bytes are random, but bytes 8-40 and 40-56 are an
AES-256-CTR key and IV for the stream itself, and decrypting those 64 bytes
gives the tag again at offset 56. That check is exact for genuine clients
and passes random data once in about 2^30 tries; together with the server's
address in Telegram's published ranges it is a signature, without it a
heuristic (an MTProxy run by anyone).
"""

from __future__ import annotations

from detector.observations import Emit, ServiceContact
from detector.policy.ipranges import default_ranges
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession

TAGS = {b"\xef\xef\xef\xef": "abridged", b"\xee\xee\xee\xee": "intermediate", b"\xdd\xdd\xdd\xdd": "padded"}
OBFUSCATED_LEN = 64
# first 4 bytes a genuine obfuscated client never sends (they would make the stream look like another transport)
RESERVED_STARTS = (b"HEAD", b"POST", b"GET ", b"OPTI", b"\x16\x03\x01\x02", b"\xdd\xdd\xdd\xdd",
                   b"\xee\xee\xee\xee")
TELEGRAM_PORTS = frozenset({80, 5222, 8888})  # and 443 through the port multiplexer (portmux.py)


def obfuscated_tag(init: bytes) -> str:
    """The transport an obfuscated2 init block hides, or '' when it is not one."""
    if len(init) < OBFUSCATED_LEN or init[:1] == b"\xef" or init.startswith(RESERVED_STARTS) \
            or init[4:8] == b"\x00\x00\x00\x00":
        return ""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # only for a candidate hello

    decryptor = Cipher(algorithms.AES(init[8:40]), modes.CTR(init[40:56])).decryptor()
    plain = decryptor.update(init[:OBFUSCATED_LEN])
    return TAGS.get(plain[56:60], "")


def plain_tag(head: bytes) -> str:
    """Intermediate or padded transport tag (abridged's single 0xef byte is too weak to count)."""
    return {b"\xee\xee\xee\xee": "intermediate", b"\xdd\xdd\xdd\xdd": "padded"}.get(head[:4], "")


class TelegramSession(StreamSession):
    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.buf = b""

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if not from_client:
            return False
        self.buf += data
        if len(self.buf) < OBFUSCATED_LEN and not plain_tag(self.buf):
            return len(self.buf) < 4
        e = self.ends
        in_range = default_ranges().service_of(e.server)
        telegram_range = in_range is not None and in_range.service == "Telegram"
        tag = obfuscated_tag(self.buf)
        kind = f"obfuscated ({tag})" if tag else ""
        if not kind and telegram_range:
            kind = plain_tag(self.buf)
        if kind:
            detail = f"Telegram MTProto {kind} transport {e.client} -> {e.server}:{e.server_port}"
            if telegram_range:
                detail += f" (address in Telegram's range {in_range.network})"
            self.emit(ServiceContact(ts, where, e.client, service="Telegram",
                                     method="signature" if telegram_range else "heuristic", server=e.server,
                                     server_port=e.server_port, detail=detail))
        return False


class TelegramDecoder(StreamDecoder):
    """Offered the flows on 80/5222/8888 (and 443 via portmux) that are not HTTP, XMPP or TLS."""

    name = "telegram"
    tcp_ports = TELEGRAM_PORTS
    client_prefixes = (b"\xee\xee\xee\xee", b"\xdd\xdd\xdd\xdd")

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        return bool(plain_tag(first_client)) or bool(obfuscated_tag(first_client))

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return TelegramSession(ends, emit)
