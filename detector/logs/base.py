"""What a log format module provides (a LogDecoder that sniffs, a LineParser per file) and is given.

Each format is one module in this folder, listed once in ``detector.logs.log_decoders``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import TYPE_CHECKING, Callable, Container, Iterable, Optional

from detector.observations import Emit

if TYPE_CHECKING:
    from detector.logs.sensors.certificates import CertificateJoin


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
    # the scan's certificates for TLS sessions named only in another log (Zeek x509.log); None = per file
    certificates: Optional[CertificateJoin] = None

    def __post_init__(self) -> None:
        if self.watched_raw is None and self.watched is not None:
            self.watched_raw = {address.encode("ascii", "replace") for address in self.watched}


class LogDecoder:
    """A log format, recognised by content from the first lines of a file, read by a parser per file."""

    name = ""
    parser_class: Optional[Callable[[LogContext], LineParser]] = None  # most formats need nothing but this

    def sniff(self, head: list[str]) -> float:
        """Confidence 0..1 that these first lines are this format."""
        raise AssertionError("subclass must override sniff")

    def parser(self, ctx: LogContext) -> LineParser:
        """The per-file state of one file of this format."""
        if self.parser_class is None:
            raise AssertionError("subclass must set parser_class or override parser")
        return self.parser_class(ctx)


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
