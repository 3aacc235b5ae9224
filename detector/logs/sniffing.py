"""Which format a file is, judged by content from its first lines (or bytes), never by its name.

Every format's decoder scores a sample from 0 to 1; the most confident wins
and ties go to the first in the list given (``log_decoders``, ``document_decoders``).
"""

from __future__ import annotations

from typing import Any, Optional

from detector.logs.base import LogDecoder

SNIFF_LINES = 200


def choose_format(head: bytes, decoders: list[LogDecoder]) -> tuple[Optional[LogDecoder], float]:
    """The line format most confident about these first lines, and its score."""
    lines = head.decode("utf-8", "replace").splitlines()[:SNIFF_LINES]
    return best_sniff(decoders, lines)


def best_sniff(decoders: list, sample) -> tuple[Optional[Any], float]:
    best, best_score = None, 0.0
    for decoder in decoders:
        score = decoder.sniff(sample)
        if score > best_score:
            best, best_score = decoder, score
    return best, best_score
