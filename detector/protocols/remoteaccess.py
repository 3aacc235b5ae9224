"""Remote-access tools by protocol signature: TeamViewer's own protocol on port 5938 (TCP and UDP).

TeamViewer falls back to 443/80 through proxies, where its SNI/host names
(teamviewer.com) identify it; on its native port the first bytes do
(0x17 0x24 command packets, 0x11 0x30 for the older framing), as nDPI checks.
On any other TCP port nDPI's teamviewer.c waits for the fourth segment that
opens with the magic; so does this decoder.
"""

from __future__ import annotations

from detector.observations import Emit, ServiceContact
from detector.protocols.base import Datagram, DatagramDecoder, Endpoints, StreamDecoder, StreamSession

TEAMVIEWER_PORT = 5938
TEAMVIEWER_MAGIC = (b"\x17\x24", b"\x11\x30")


def _contact(ts: float, where: str, client: str, server: str, port: int, transport: str) -> ServiceContact:
    return ServiceContact(ts, where, client, service="TeamViewer", method="signature", server=server,
                          server_port=port, detail=f"TeamViewer protocol ({transport}) {client} -> {server}:{port}")


MAGIC_SEGMENTS_ELSEWHERE = 4  # segments opening with the magic before a flow off port 5938 is TeamViewer
MAX_SEGMENTS = 32  # segments looked at before giving up


class TeamViewerSession(StreamSession):
    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.magic = self.segments = 0

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        e = self.ends
        self.segments += 1
        if data.startswith(TEAMVIEWER_MAGIC):
            self.magic += 1
            if TEAMVIEWER_PORT in (e.server_port, e.client_port) or self.magic >= MAGIC_SEGMENTS_ELSEWHERE:
                self.emit(_contact(ts, where, e.client, e.server, e.server_port, "tcp"))
                return False
        return self.magic > 0 and self.segments < MAX_SEGMENTS


class TeamViewerDecoder(StreamDecoder):
    name = "teamviewer"
    tcp_ports = frozenset({TEAMVIEWER_PORT})
    client_prefixes = TEAMVIEWER_MAGIC

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        return (first_client or first_server).startswith(TEAMVIEWER_MAGIC)

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return TeamViewerSession(ends, emit)


class TeamViewerUdpDecoder(DatagramDecoder):
    name = "teamviewer-udp"
    udp_ports = frozenset({TEAMVIEWER_PORT})

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        if dgram.dport != TEAMVIEWER_PORT or len(dgram.payload) < 8 or not dgram.payload.startswith(TEAMVIEWER_MAGIC):
            return
        emit(_contact(dgram.ts, dgram.where, dgram.src, dgram.dst, dgram.dport, "udp"))
