"""What a decoder module provides, and what it is given.

Decoders are pure functions of bytes (or lines) that emit observations; they
know nothing of risk. Each protocol or log format is one module that defines
one of the classes below and registers it in ``detector.decoders.REGISTRY``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import BinaryIO, Callable, Container, Iterable, Optional

from ..model import Observation

Emit = Callable[[Observation], None]


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


class LineParser:
    """Per-file state of a log format (year roll-over, time zone, pending events)."""

    # optional cheap test on the raw bytes of a line: True = nothing in it matters, skip it undecoded
    skip_raw: Optional[Callable[[bytes], bool]] = None

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        """Emit observations for one line; return False if the line is malformed."""
        raise AssertionError("subclass must override parse")

    def finish(self, emit: Emit) -> None:
        """End of file: flush pending state."""

    def line_time(self, line: str) -> Optional[float]:
        """The time of a record line, when the format carries one; None otherwise.

        Asked only of the first and the last lines of a file, so a report can say
        which period a log covers even when its records were skipped unparsed.
        """
        return None


@dataclass
class LogContext:
    """What a log parser may need beyond the line itself."""

    path: str
    year: Optional[int] = None  # for syslog lines without a year: the file's mtime year
    zone: Optional[tzinfo] = None  # --tz: the zone of times without an offset (None = UTC)
    # addresses a detector asked to meter: flow records to any other server say nothing and may be skipped
    watched: Optional[Container[str]] = None
    # the same addresses as ASCII bytes, for tests on raw lines; the scan passes its live set, a context built
    # by hand without it gets a snapshot of ``watched``
    watched_raw: Optional[Container[bytes]] = None
    # does a host name belong to a catalog service? Records naming no such host, carrying nothing else
    # (no login, no CNAME chain), may be skipped before they are dissected; None = dissect everything
    relevant_name: Optional[Callable[[str], bool]] = None

    def __post_init__(self) -> None:
        if self.watched_raw is None and self.watched is not None:
            self.watched_raw = {address.encode("ascii", "replace") for address in self.watched}


class LogDecoder:
    """A log format, recognised by content from the first lines of a file."""

    name = ""

    def sniff(self, head: list[str]) -> float:
        """Confidence 0..1 that these first lines are this format."""
        raise AssertionError("subclass must override sniff")

    def parser(self, ctx: LogContext) -> LineParser:
        raise AssertionError("subclass must override parser")


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class DocumentStats:
    """What reading one whole-file document gave: records, malformed, warnings."""

    records: int = 0
    malformed: int = 0
    warnings: list[str] = field(default_factory=list)


class DocumentDecoder:
    """A whole-file format (Slack/Teams JSON export, mbox, .eml, Windows .evtx).

    Chosen over line-based log formats when its sniff score is higher. It gets
    the decompressed byte stream and reads it itself, bounding what it keeps.
    """

    name = ""

    def sniff(self, head: bytes) -> float:
        """Confidence 0..1 from the first bytes (up to 8 KiB) of the file."""
        raise AssertionError("subclass must override sniff")

    def decode(self, stream: BinaryIO, ctx: LogContext, emit: Emit) -> DocumentStats:
        raise AssertionError("subclass must override decode")


def plausible_text(line: str, limit: int = 4096) -> bool:
    """A log line that is text at all: no control bytes or decoding damage, not absurdly long.

    Free-form logs (hostapd, wpa_supplicant) print many lines that are no
    event; only lines that cannot be log text at all count as malformed.
    """
    if len(line) > limit or "\ufffd" in line:
        return False
    return not any(ord(c) < 32 and c != "\t" for c in line)


def first_match(lines: Iterable[str], test: Callable[[str], bool]) -> float:
    """Share of non-empty lines that pass ``test``: a simple sniffing score."""
    total = hits = 0
    for line in lines:
        if not line.strip():
            continue
        total += 1
        hits += bool(test(line))
    return hits / total if total else 0.0
