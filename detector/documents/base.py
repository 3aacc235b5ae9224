"""What a whole-file document format provides (a DocumentDecoder) and what reading one gives back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from detector.logs.base import LogContext
from detector.observations import Emit


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
