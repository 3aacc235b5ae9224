"""Lines of a log read a chunk at a time: the same lines, line ends and over-long markers as a whole split."""

from __future__ import annotations

import io
import random

import pytest

from detector.logs import reader as logfile


def reference(data: bytes, limit: int) -> list:
    pieces = data.split(b"\n")
    if not pieces[-1]:
        pieces.pop()
    return [None if len(raw) > limit + 1 else raw.rstrip(b"\r") for raw in pieces]


@pytest.mark.parametrize("seed", range(40))
def test_batches_equal_a_whole_split(monkeypatch, seed):
    monkeypatch.setattr(logfile, "MAX_LINE", 12)
    rng = random.Random(seed)
    size = rng.randrange(300)
    data = bytes(rng.choice(b"ab\r\n\n") if rng.random() < 0.3 else rng.choice(b"xyz") for _ in range(size))
    for chunk in (1, 2, 3, 7, 16, 64, 1 << 20):
        batches = list(logfile.iter_line_batches(io.BytesIO(data), chunk))
        assert [raw for batch in batches for raw in batch] == reference(data, 12), chunk
        assert list(logfile.iter_raw_lines(io.BytesIO(data), chunk)) == reference(data, 12)
        items = list(logfile.line_batches(io.BytesIO(data), chunk))
        assert sum(consumed for _, consumed, _ in items) == len(data)  # the incremental position's arithmetic
        unterminated = bool(data) and not data.endswith(b"\n")  # then the last item alone is the tail
        assert [tail for _, _, tail in items] == [False] * (len(items) - unterminated) + [True] * unterminated


def test_feed_lines_numbers_every_line_and_counts_long_ones():
    class Parser:
        skip_raw = None

        def __init__(self):
            self.seen = []

        def parse(self, line, where, emit):
            self.seen.append(where)
            return line != "bad"

    parser, stats = Parser(), logfile.LogStats()
    last = logfile.feed_lines(parser, [b"a", None, b"", b"bad", b"b\xff"], 10, logfile.LogContext("f"), print, stats)
    assert last == 15
    assert parser.seen == ["f:line 11", "f:line 14", "f:line 15"]
    assert (stats.too_long, stats.malformed, stats.first_malformed) == (1, 2, 12)
