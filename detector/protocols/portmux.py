"""Ports 443 and 5222 carry more than TLS and XMPP: WhatsApp's Noise, Telegram's MTProto, OpenVPN over TCP.

The dispatcher opens a flow on its SYN with the first decoder registered for
the port, before any payload is seen. This decoder goes first on its port and
decides on the client's first bytes which protocol's session gets the
stream; the port's own protocol (TLS, XMPP) remains the default and the only
choice when the server speaks first, so its flows see no difference but one
call.
"""

from __future__ import annotations

from typing import Optional

from detector.observations import Emit
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession

MUX_PORTS = frozenset({443})


class MuxSession(StreamSession):
    def __init__(self, decoders: list[StreamDecoder], ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.decoders = decoders  # the first is the default (TLS)
        self.inner: Optional[StreamSession] = None

    def _choose(self, from_client: bool, data: bytes) -> StreamSession:
        head = data[:64]
        first_client, first_server = (head, b"") if from_client else (b"", head)
        for decoder in self.decoders:
            if decoder.accepts(first_client, first_server):
                return decoder.session(self.ends, self.emit)
        return self.decoders[0].session(self.ends, self.emit)

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if self.inner is None:
            self.inner = self._choose(from_client, data)
        return self.inner.feed(from_client, data, ts, where)

    def close(self, ts: float, where: str) -> None:
        if self.inner is not None:
            self.inner.close(ts, where)


class PortMuxDecoder(StreamDecoder):
    name = "port-443"
    tcp_ports = MUX_PORTS

    def __init__(self, decoders: list[StreamDecoder], ports: frozenset[int] = MUX_PORTS):
        self.decoders = decoders
        self.tcp_ports = ports
        self.name = f"port-{min(ports)}"

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        return any(d.accepts(first_client, first_server) for d in self.decoders)

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return MuxSession(self.decoders, ends, emit)
