"""Log files: pick the format from the first lines, then stream lines to its parser."""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from itertools import repeat
from typing import BinaryIO, Callable, Iterator, Optional

from detector.logs.base import LineParser, LogContext, LogDecoder
from detector.observations import Emit
from detector.times import TS_MAX, TS_MIN

MAX_LINE = 16 * 1024
BOM = b"\xef\xbb\xbf"


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class LogStats:
    """What reading one log gave: lines, malformed and over-long lines."""

    lines: int = 0
    malformed: int = 0
    first_malformed: Optional[int] = None
    too_long: int = 0  # lines over MAX_LINE, skipped unparsed (also counted in malformed)
    failed: int = 0  # lines whose parser raised (also counted in malformed)
    first_error: str = ""
    first_ts: Optional[float] = None  # the period the lines read cover: their first and last record times
    last_ts: Optional[float] = None

    def note_time(self, ts: Optional[float]) -> bool:
        """Widen the period read to include ``ts``; False for a time outside 1970..2100 (hostile, not data)."""
        if ts is None or not TS_MIN < ts < TS_MAX:
            return False
        if self.first_ts is None or ts < self.first_ts:
            self.first_ts = ts
        if self.last_ts is None or ts > self.last_ts:
            self.last_ts = ts
        return True


def read_log(stream: BinaryIO, decoder: LogDecoder, ctx: LogContext, emit: Emit, stats: LogStats,
             progress: Optional[Callable[[int], None]] = None) -> None:
    """Feed every line to the format's parser; malformed lines are counted and skipped."""
    parser = decoder.parser(ctx)
    number = 0
    lines: list[Optional[bytes]] = []
    for lines in iter_line_batches(stream):
        number = feed_lines(parser, lines, number, ctx, emit, stats)
        if not stats.lines:  # the first batch: the file's first record time
            note_edge_time(parser, lines, stats, from_end=False)
        stats.lines = number
        if progress is not None:
            progress(number)
    note_edge_time(parser, lines, stats, from_end=True)
    parser.finish(emit)


EDGE_LINES = 64  # lines looked at from each end of a file for its first and last record time


def note_edge_time(parser: LineParser, lines: list[Optional[bytes]], stats: LogStats, from_end: bool) -> None:
    """The time of the first (or last) record line among the first (or last) lines of a batch, if any has one.

    Most records of a busy log are skipped unparsed, so the period a file covers
    comes from its edges, not from the records that mattered.
    """
    candidates = reversed(lines[-EDGE_LINES:]) if from_end else lines[:EDGE_LINES]
    for raw in candidates:
        if raw:
            try:
                ts = parser.line_time(raw.decode("utf-8", "replace"))
            except Exception:  # noqa: BLE001 - a hostile line costs only its time
                ts = None
            if stats.note_time(ts):
                return


def feed_lines(parser: LineParser, lines: list[Optional[bytes]], number: int, ctx: LogContext, emit: Emit,
               stats: LogStats) -> int:
    """One batch of lines (line ends removed, None for an over-long line) through ``parse_line``.

    The loop a busy log spends its time in: a line the parser's raw-bytes test
    rejects costs that test and the loop, no further call. Returns the number
    of the last line fed.
    """
    skip_raw = parser.skip_raw
    for raw in lines:
        number += 1
        if raw is not None and skip_raw is not None and skip_raw(raw):
            continue
        parse_line(parser, raw, number, ctx, emit, stats)
        skip_raw = parser.skip_raw  # a parser may change its test as it learns the file (Zeek #fields)
    return number


def parse_line(parser: LineParser, raw: Optional[bytes], number: int, ctx: LogContext, emit: Emit,
               stats: LogStats) -> None:
    """One line the parser's raw-bytes test let through (``feed_lines``), for whole and incremental reads alike.

    ``raw`` is None for a line over MAX_LINE (never parsed). Blank lines are
    passed over; a line the parser cannot read, or that makes it raise, is
    counted and skipped: one hostile line costs only itself, never the scan.
    """
    if raw is None:
        stats.too_long += 1
        _malformed(stats, number)
        return
    if number == 1 and raw[:3] == BOM:  # a UTF-8 byte order mark is no part of the first record
        raw = raw[3:]
    line = raw.decode("utf-8", "replace")
    if not line.strip():
        return
    try:
        parsed = parser.parse(line, f"{ctx.path}:line {number}", emit)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        parsed = False
        stats.failed += 1
        stats.first_error = stats.first_error or f"line {number}: {type(exc).__name__}: {exc}"[:200]
    if not parsed:
        _malformed(stats, number)


def _malformed(stats: LogStats, number: int) -> None:
    stats.malformed += 1
    if stats.first_malformed is None:
        stats.first_malformed = number


def iter_lines(stream: BinaryIO, chunk: int = 1 << 20) -> Iterator[Optional[str]]:
    """Decoded lines of a byte stream; None for a line over MAX_LINE bytes."""
    for raw in iter_raw_lines(stream, chunk):
        yield None if raw is None else raw.decode("utf-8", "replace")


def iter_raw_lines(stream: BinaryIO, chunk: int = 1 << 20) -> Iterator[Optional[bytes]]:
    """Lines of a byte stream as bytes (no line end); None for a line over MAX_LINE bytes (memory stays
    bounded: a 10 MB line is never held whole)."""
    for lines in iter_line_batches(stream, chunk):
        yield from lines


def iter_line_batches(stream: BinaryIO, chunk: int = 1 << 20) -> Iterator[list[Optional[bytes]]]:
    """The lines of each chunk read, as one list: what ``iter_raw_lines`` yields, without a step per line."""
    for lines, _consumed, _tail in line_batches(stream, chunk):
        yield lines


def line_batches(stream: BinaryIO, chunk: int = 1 << 20) -> Iterator[tuple[list[Optional[bytes]], int, bool]]:
    """Each chunk's complete lines, the bytes they took in the file, and whether they are the unterminated tail.

    Line ends (``\\n``, ``\\r\\n``) are removed; a line over MAX_LINE bytes is None
    and is never held whole. The chunk is cut at its line ends by
    ``BytesIO.readlines`` (memchr), not ``bytes.split`` (a byte at a time): the
    split was the largest cost of reading a busy log after the parser itself.
    The last item, when the file does not end with a line end, is that last
    line alone with ``tail`` True: an incremental read leaves it for later.
    """
    pending = b""
    dropped = 0  # bytes of an over-long line already thrown away
    while True:
        data = stream.read(chunk)
        if not data:
            break
        joined = pending + data
        lines, pending = cut_lines(joined)
        if lines:
            consumed = dropped + len(joined) - len(pending)
            clean_batch(lines, dropped > 0)
            dropped = 0
            yield lines, consumed, False
        if len(pending) > MAX_LINE + 1:
            dropped, pending = dropped + len(pending), b""
    if pending or dropped:
        tail: list[Optional[bytes]] = [pending]
        clean_batch(tail, dropped > 0)
        yield tail, dropped + len(pending), True


def cut_lines(data: bytes) -> tuple[list[Optional[bytes]], bytes]:
    """The complete lines of ``data`` (each still ending with its ``\\n``) and the incomplete rest."""
    lines: list[Optional[bytes]] = BytesIO(data).readlines()  # type: ignore[assignment]
    rest = b"" if lines[-1].endswith(b"\n") else lines.pop()  # type: ignore[union-attr]
    return lines, rest  # type: ignore[return-value]


def clean_batch(lines: list[Optional[bytes]], long_line: bool) -> None:
    """In place: line ends go, and over-long lines become None (the first one too when ``long_line``).

    A line here still ends with its ``\\n`` (the last line of a file may not):
    over MAX_LINE + 1 bytes before it is over-long, as a line cut by a split.
    """
    first = 1 if long_line else 0
    if long_line:
        lines[0] = None
    if max(map(len, lines[first:]), default=0) > MAX_LINE + 1:  # type: ignore[arg-type]
        lines[:] = [None if raw is None or len(raw.rstrip(b"\n")) > MAX_LINE + 1 else raw.rstrip(b"\r\n")
                    for raw in lines]
        return
    lines[first:] = map(bytes.rstrip, lines[first:], repeat(b"\r\n"))  # type: ignore[arg-type]
