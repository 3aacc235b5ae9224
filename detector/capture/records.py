"""What both capture readers share: the chunk buffer, read statistics and the warnings they give.

Records are parsed straight out of a reused chunk buffer and handed on as
(buffer, offset, length) so that the fast path can look at a few bytes of a
packet without copying it. A damaged file stops a reader with a warning;
everything read before the damage has already been delivered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Optional

CHUNK = 1 << 20
MAX_RECORD = 1 << 18  # no link type carries frames over 256 KiB
TS_LIMIT = 4102444800.0  # 2100-01-01: frames stamped outside 1970..2100 are skipped with a warning

# handler(buf, offset, caplen, ts, linktype, frame_no); buf is only valid during the call
FrameHandler = Callable[[bytes, int, int, float, int, int], None]


class CaptureFormatError(Exception):
    """The file is not a capture this reader understands."""


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class ReadStats:
    """What reading one capture gave: frames, time span, warnings."""

    frames: int = 0
    warnings: list[str] = field(default_factory=list)
    first_ts: Optional[float] = None
    last_ts: Optional[float] = None
    linktypes: set[int] = field(default_factory=set)
    bad_times: int = 0  # frames skipped for a timestamp outside 1970..2100


class Chunked:
    """A sliding window over a stream: records may straddle chunk borders."""

    def __init__(self, stream: BinaryIO, consumed: int = 0):
        self.stream = stream
        self.buf = b""
        self.pos = 0
        self.base = consumed  # file offset of buf[0]
        self.eof = False

    def ensure(self, need: int) -> bool:
        """Make ``need`` bytes available at self.pos; False at end of data.

        A record cut by the chunk border is completed with a small read of
        just its missing bytes; the next chunk then starts fresh, so whole
        chunks are never copied to join them.
        """
        if len(self.buf) - self.pos >= need:
            return True
        rest = self.buf[self.pos:]
        self.base += self.pos
        self.pos = 0
        if not rest:
            self.buf = self._read(max(CHUNK, need))
        else:
            self.buf = rest + self._read(need - len(rest))
        return len(self.buf) >= need

    def _read(self, size: int) -> bytes:
        parts = []
        while size > 0 and not self.eof:
            data = self.stream.read(size)
            if not data:
                self.eof = True
                break
            parts.append(data)
            size -= len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def offset(self) -> int:
        return self.base + self.pos


def truncated(stats: ReadStats, where: int, frames: int) -> None:
    stats.warnings.append(
        f"capture truncated at byte {where} after {frames} frames; findings cover the frames before the cut"
    )


def note_times(stats: ReadStats, first: Optional[float], last: Optional[float]) -> None:
    if first is not None and (stats.first_ts is None or first < stats.first_ts):
        stats.first_ts = first
    if last is not None and (stats.last_ts is None or last > stats.last_ts):
        stats.last_ts = last


def bad_time(stats: ReadStats, frame_no: int) -> None:
    """A frame stamped outside 1970..2100 (hostile ts high word, offset or resolution) is skipped, once warned."""
    stats.bad_times += 1
    if stats.bad_times == 1:
        stats.warnings.append(f"frame {frame_no}: timestamp outside 1970..2100; such frames are skipped")
