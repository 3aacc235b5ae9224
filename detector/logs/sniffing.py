"""Which format a file is, judged by content from its first lines (or bytes), never by its name.

Every format's decoder scores a sample from 0 to 1; the most confident wins
and ties go to the first in the list given (``log_decoders``, ``document_decoders``).
The sample is the first few KB as lines: a UTF-8 BOM, blank lines, a first line
longer than the sample (a 9 KB Squid URL) and a line cut by the sample's end do not
count; comment lines (``#``, ``;``) are offered both ways, since for some formats
(Zeek's ``#separator`` header) they are the format.
"""

from __future__ import annotations

from typing import Any, Optional

from detector.logs.base import LogDecoder

SNIFF_LINES = 200
SNIFF_BYTES = 32 * 1024  # the sample: enough for a few lines of even the longest proxy log
LONG_LINE = 8 * 1024  # a first line longer than this is passed over (its format shows in the next ones)
BOM = b"\xef\xbb\xbf"
COMMENT = ("#", ";")


def sample_lines(head: bytes) -> list[str]:
    """The complete, non-blank lines of the first SNIFF_BYTES of a file, without its BOM."""
    head = head[:SNIFF_BYTES]
    cut = len(head) == SNIFF_BYTES and not head.endswith(b"\n")
    if head.startswith(BOM):
        head = head[len(BOM):]
    lines = head.decode("utf-8", "replace").splitlines()
    if cut and len(lines) > 1:
        lines.pop()  # the sample ends inside this line
    lines = [line for line in lines if line.strip()]
    while len(lines) > 1 and len(lines[0]) > LONG_LINE:
        lines.pop(0)
    return lines[:SNIFF_LINES]


def choose_format(head: bytes, decoders: list[LogDecoder]) -> tuple[Optional[LogDecoder], float]:
    """The line format most confident about these first lines, and its score."""
    lines = sample_lines(head)
    best, best_score = best_sniff(decoders, lines)
    uncommented = [line for line in lines if not line.lstrip().startswith(COMMENT)]
    if uncommented and len(uncommented) < len(lines):
        other, other_score = best_sniff(decoders, uncommented)
        if other_score > best_score:
            return other, other_score
    return best, best_score


def best_sniff(decoders: list, sample) -> tuple[Optional[Any], float]:
    best, best_score = None, 0.0
    for decoder in decoders:
        score = decoder.sniff(sample)
        if score > best_score:
            best, best_score = decoder, score
    return best, best_score
