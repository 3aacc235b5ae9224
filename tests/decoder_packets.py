"""Feed scapy-built conversations through the real packet dispatcher and collect what the decoders observed.

Variations every decoder test uses: the port, whether the capture holds the
TCP handshake (a flow picked up mid-session has none), the segment size, and
which side is seen first (a capture started between a request and its answer).
"""

from __future__ import annotations

from scapy.compat import raw
from scapy.packet import Packet

from detector.capture.dispatch import PacketDispatcher
from detector.observations import Credential
from detector.policy.settings import Settings
from detector.protocols import packet_decoders
from detector.samples import tcp_session

CLIENT, SERVER = "10.1.2.3", "10.1.2.50"
T0 = 1_790_000_000.0
Exchange = list[tuple[bool, bytes]]


def observe(packets: list[Packet]) -> tuple[list, PacketDispatcher]:
    """Every observation the decoders emit for these frames, and the dispatcher (its error counts)."""
    seen: list = []
    dispatcher = PacketDispatcher(packet_decoders(Settings()), seen.append)
    for number, packet in enumerate(packets, 1):
        data = raw(packet)
        dispatcher.handle(data, 0, len(data), float(packet.time), 1, number)
    dispatcher.finish()
    return seen, dispatcher


def conversation(exchanges: Exchange, port: int, handshake: bool = True, mss: int = 1400,
                 client_port: int = 40000, server_first: bool = False) -> list[Packet]:
    """One TCP conversation; ``server_first`` drops the client's segments before the server's first one."""
    packets = tcp_session(CLIENT, SERVER, client_port, port, exchanges, T0, mss=mss, handshake=handshake)
    if server_first:
        first = next(i for i, p in enumerate(packets) if p.haslayer("Raw") and p["TCP"].sport == port)
        packets = [p for i, p in enumerate(packets) if i >= first or not p.haslayer("Raw")]
    return packets


def of_type(observations: list, kind: type) -> list:
    return [o for o in observations if isinstance(o, kind)]


def logins(observations: list) -> list[tuple[str, str, object]]:
    """(protocol, user, accepted) of every credential observation."""
    return [(o.protocol, o.username, o.accepted) for o in of_type(observations, Credential)]


# the variations a real capture brings: (TCP handshake seen, segment size)
SHAPES = [(True, 1400), (False, 1400), (True, 7), (False, 5)]
