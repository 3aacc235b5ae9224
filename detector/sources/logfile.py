"""Log files: pick the format from the first lines, then stream lines to its parser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Optional

from ..decoders.base import DocumentDecoder, Emit, LogContext, LogDecoder

SNIFF_LINES = 200
MAX_LINE = 16 * 1024


@dataclass
class LogStats:
    lines: int = 0
    malformed: int = 0
    first_malformed: Optional[int] = None


def choose_format(head: bytes, decoders: list[LogDecoder]) -> tuple[Optional[LogDecoder], float]:
    """The line format most confident about these first lines, and its score."""
    lines = head.decode("utf-8", "replace").splitlines()[:SNIFF_LINES]
    return _best(decoders, lines)


def choose_document(head: bytes, decoders: list[DocumentDecoder]) -> tuple[Optional[DocumentDecoder], float]:
    """The whole-file format most confident about these first bytes, and its score."""
    return _best(decoders, head)


def _best(decoders: list, sample) -> tuple[Optional[Any], float]:
    best, best_score = None, 0.0
    for decoder in decoders:
        score = decoder.sniff(sample)
        if score > best_score:
            best, best_score = decoder, score
    return best, best_score


def read_log(stream: BinaryIO, decoder: LogDecoder, ctx: LogContext, emit: Emit, stats: LogStats,
             progress: Optional[Callable[[int], None]] = None) -> None:
    """Feed every line to the format's parser; malformed lines are counted and skipped."""
    parser = decoder.parser(ctx)
    for number, raw in enumerate(iter_raw_lines(stream), 1):
        stats.lines = number
        skip_raw = parser.skip_raw  # a parser may change its test as it learns the file (Zeek #fields)
        if skip_raw is not None and skip_raw(raw):
            continue
        line = raw.decode("utf-8", "replace")
        if not line.strip():
            continue
        if not parser.parse(line, f"{ctx.path}:line {number}", emit):
            stats.malformed += 1
            if stats.first_malformed is None:
                stats.first_malformed = number
        if progress is not None and number % 20000 == 0:
            progress(number)
    parser.finish(emit)


def iter_lines(stream: BinaryIO, chunk: int = 1 << 20):
    """Decoded lines of a byte stream, each cut to MAX_LINE characters."""
    for raw in iter_raw_lines(stream, chunk):
        yield raw.decode("utf-8", "replace")


def iter_raw_lines(stream: BinaryIO, chunk: int = 1 << 20):
    """Lines of a byte stream as bytes (no line end), each cut to MAX_LINE bytes."""
    pending = b""
    while True:
        data = stream.read(chunk)
        if not data:
            break
        lines = (pending + data).split(b"\n")
        pending = lines.pop()[: MAX_LINE * 4]
        for raw in lines:
            yield raw.rstrip(b"\r")[:MAX_LINE]
    if pending:
        yield pending.rstrip(b"\r")[:MAX_LINE]
