"""Read growing and rotating logs once across scheduled scans.

A file is known by its identity: device and inode, plus the SHA-256 of its
first KiB of (decompressed) content. The content part survives what rotation
does to a file: ``dns.log`` renamed to ``dns.log.1`` keeps its inode and head;
Zeek's archiver compressing it to ``dns.15:00:00-16:00:00.log.gz`` keeps its
head. So a rotated or compressed file resumes where its live self stopped, a
truncated one (copytruncate) starts again from the top, and a finished
``.gz`` is read once.

Positions are byte offsets in the decompressed stream, always at a line end:
a last line still being written is left for the next scan. They reach the
database only in the same transaction as the findings built from those lines
(``Store.save_findings(..., positions=)``): a run killed before that commit
leaves the previous positions and no findings, so the rerun reads the same
lines again - nothing lost, nothing counted twice. SIGINT/SIGTERM during a
read are held until the current line is done, so an interrupted scan stores
exactly the lines it finished.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Optional

from detector.interrupts import StopSignals
from detector.logs.base import LogContext, LogDecoder
from detector.logs.reader import LogStats, feed_lines, line_batches, note_edge_time
from detector.observations import Emit

HEAD_BYTES = 1024
MIN_CONTENT_MATCH = 64  # a shorter head (an empty or tiny file) is no identity across inodes
CHUNK = 1 << 20


@dataclass(frozen=True)
class FileIdentity:
    """Which file a reading position belongs to (device, inode and first bytes): a rotated log is recognised."""

    dev: int
    ino: int
    head_sha256: str
    head_len: int
    compressed: bool


@dataclass
class Position:
    """How far one file has been read; one row of the ``log_positions`` table."""

    path: str
    identity: FileIdentity
    offset: int = 0  # bytes of the (decompressed) stream consumed, at a line end
    lines: int = 0  # lines consumed, so line numbers in evidence stay true across runs
    size: int = 0  # the file's size on disk when last read
    complete: bool = False  # a compressed file read to its end: never again

    def row(self) -> dict[str, Any]:
        i = self.identity
        return {"path": self.path, "dev": i.dev, "ino": i.ino, "head_sha256": i.head_sha256,
                "head_len": i.head_len, "compressed": int(i.compressed), "offset": self.offset,
                "lines": self.lines, "size": self.size, "complete": int(self.complete)}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Position:
        identity = FileIdentity(int(row["dev"]), int(row["ino"]), row["head_sha256"], int(row["head_len"]),
                                bool(row["compressed"]))
        return cls(row["path"], identity, int(row["offset"]), int(row["lines"]), int(row["size"]),
                   bool(row["complete"]))


def identity_of(fd: int, head: bytes, compressed: bool) -> FileIdentity:
    stat = os.fstat(fd)
    first = head[:HEAD_BYTES]
    return FileIdentity(stat.st_dev, stat.st_ino, hashlib.sha256(first).hexdigest(), len(first), compressed)


@dataclass
class Start:
    """Where to begin reading one file, and why."""

    offset: int = 0
    lines: int = 0
    skip: bool = False
    note: str = ""


@dataclass
class PositionBook:
    """Positions committed by earlier scans, and the ones this scan reached."""

    known: list[Position] = field(default_factory=list)
    reached: dict[str, Position] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> PositionBook:
        """Rows oldest scan first; a later row for the same identity replaces an earlier one (and moves last)."""
        latest: dict[FileIdentity, Position] = {}
        for row in rows:
            position = Position.from_row(row)
            latest.pop(position.identity, None)
            latest[position.identity] = position
        return cls(list(latest.values()))

    def start(self, identity: FileIdentity, head: bytes, size: int) -> Start:
        """Newest knowledge first: the same inode with the same head, then the same head anywhere (rotated)."""
        newest_first = self.known[::-1]
        same_inode = [p for p in newest_first if (p.identity.dev, p.identity.ino) == (identity.dev, identity.ino)
                      and p.identity.compressed == identity.compressed]
        for previous in same_inode:
            if not _same_head(previous.identity, head):
                continue
            if not identity.compressed and size < previous.size:
                return Start(note="file is shorter than when last read (truncated): read from the start")
            return self._resume(previous)
        for previous in newest_first:
            if previous.identity.head_len >= MIN_CONTENT_MATCH and _same_head(previous.identity, head) \
                    and not (previous.complete and len(head[:HEAD_BYTES]) != previous.identity.head_len):
                return self._resume(previous, rotated=previous.path)
        if same_inode and size < same_inode[0].size:
            return Start(note="file is shorter than when last read (truncated): read from the start")
        if same_inode:
            return Start(note="file was replaced since the last scan: read from the start")
        return Start()

    @staticmethod
    def _resume(previous: Position, rotated: str = "") -> Start:
        if previous.complete:
            return Start(previous.offset, previous.lines, skip=True, note="already read by an earlier scan")
        note = f"continues {previous.path} (rotated) from line {previous.lines + 1}" if rotated else ""
        return Start(previous.offset, previous.lines, note=note)

    def reach(self, position: Position) -> None:
        self.reached[position.path] = position

    def rows(self) -> list[dict[str, Any]]:
        return [p.row() for p in self.reached.values()]


def _same_head(stored: FileIdentity, head: bytes) -> bool:
    """The file still starts with the bytes it started with (a short head may since have grown)."""
    if len(head) < stored.head_len:
        return False
    return hashlib.sha256(head[:stored.head_len]).hexdigest() == stored.head_sha256


def read_log_from(stream: BinaryIO, decoder: LogDecoder, ctx: LogContext, emit: Emit, stats: LogStats,
                  start: Start, position: Position, at_end_complete: bool, head: bytes = b"",
                  stop: Optional[StopSignals] = None) -> None:
    """Skip what earlier scans read, then feed whole lines, moving ``position`` after each batch of them.

    A last line without its newline is consumed only when the file is
    finished (``at_end_complete``: a compressed archive), else left for later.
    Resuming mid-file, the ``#`` header lines at the top (Zeek's ``#fields``)
    are replayed first so the parser knows the columns again. The run's ``stop`` signals (or, outside a
    run, this read's own) are held until a batch of lines is done.
    """
    parser = decoder.parser(ctx)
    if start.offset:
        _replay_header(parser, head[:start.offset], ctx)
    _skip(stream, start.offset)
    position.offset, position.lines = start.offset, start.lines
    signals = stop or StopSignals()
    with signals.held():
        last_batch: list[Optional[bytes]] = []  # for the time of the last record read
        for lines, consumed, tail in line_batches(stream, CHUNK):
            if tail and not at_end_complete:
                break  # a line still being written: a later scan reads it whole
            number = feed_lines(parser, lines, position.lines, ctx, emit, stats)
            if not last_batch:  # the first batch this scan reads: its first record time
                note_edge_time(parser, lines, stats, from_end=False)
            last_batch = lines
            stats.lines += number - position.lines
            position.offset += consumed
            position.lines = number
            signals.check()  # between batches: the position matches every line handled so far
        note_edge_time(parser, last_batch, stats, from_end=True)
        parser.finish(emit)


def _replay_header(parser, head: bytes, ctx: LogContext) -> None:
    for number, raw in enumerate(head.split(b"\n")[:-1], 1):
        if not raw.startswith(b"#"):
            return
        parser.parse(raw.rstrip(b"\r").decode("utf-8", "replace"), f"{ctx.path}:line {number}", lambda obs: None)


def _skip(stream: BinaryIO, count: int) -> None:
    while count > 0:
        data = stream.read(min(count, CHUNK))
        if not data:
            return
        count -= len(data)


@dataclass(frozen=True)
class TimeWindow:
    """--since/--until: observations outside [since, until) are dropped (0 = a time the source did not give)."""

    since: Optional[float] = None
    until: Optional[float] = None

    def wrap(self, emit: Emit) -> Emit:
        since, until = self.since, self.until

        def windowed(obs) -> None:
            ts = obs.ts
            if ts and ((since is not None and ts < since) or (until is not None and ts >= until)):
                return
            emit(obs)

        return windowed
