"""What a packet protocol module provides (a decoder class) and what it is given (endpoints, payload).

Decoders are pure functions of bytes that emit observations; they know nothing
of risk. Each protocol is one module in this folder, listed once in
``detector.protocols.packet_decoders``.
"""

from __future__ import annotations

from dataclasses import dataclass

from detector.observations import Emit


@dataclass
class Endpoints:
    """Who talks to whom, as text; built only for packets that matter."""

    client: str
    server: str
    client_port: int
    server_port: int
    transport: str  # "tcp" or "udp"


@dataclass
class Datagram:
    """One UDP datagram, with its addresses and ports, as datagram decoders receive it."""

    ts: float
    where: str
    src: str
    dst: str
    sport: int
    dport: int
    payload: bytes


class DatagramDecoder:
    """A UDP protocol: one datagram in, observations out."""

    name = ""
    udp_ports: frozenset[int] = frozenset()
    # payload prefixes that select this decoder on any port (cheap signature)
    prefixes: tuple[bytes, ...] = ()

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        raise AssertionError("subclass must override decode")


class StreamSession:
    """State for one TCP connection; fed in-order bytes per direction."""

    tls_started = False  # set by a clear-text protocol whose STARTTLS (STLS, AUTH TLS) the server accepted

    def __init__(self, ends: Endpoints, emit: Emit):
        self.ends = ends
        self.emit = emit

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        """Consume bytes; return False when nothing more is of interest."""
        raise AssertionError("subclass must override feed")

    def close(self, ts: float, where: str) -> None:
        """The connection ended or was evicted; flush pending state."""


class StreamDecoder:
    """A TCP protocol: sessions over reassembled, in-order byte streams."""

    name = ""
    tcp_ports: frozenset[int] = frozenset()
    # first bytes sent by the client / server that identify the protocol on any port
    client_prefixes: tuple[bytes, ...] = ()
    server_prefixes: tuple[bytes, ...] = ()

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        """Confirm a port or prefix guess from the first bytes seen; default: trust it."""
        return True

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        raise AssertionError("subclass must override session")


class FrameDecoder:
    """A non-IP link-layer protocol (802.11 management frames)."""

    name = ""

    def decode(self, frame: bytes, ts: float, where: str, emit: Emit) -> None:
        raise AssertionError("subclass must override decode")


class EtherDecoder:
    """A non-IP Ethernet protocol (ARP), selected by EtherType."""

    name = ""
    ethertypes: frozenset[int] = frozenset()

    def decode(self, payload: bytes, ts: float, where: str, emit: Emit) -> None:
        raise AssertionError("subclass must override decode")
