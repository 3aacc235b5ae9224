"""Text from the wire or a log, made safe to print on a terminal.

A user name of ``ESC ] 52 ; c ; ... BEL`` writes the auditor's clipboard on
common terminals; ``ESC ] 0 ;`` retitles the window; a right-to-left override
(U+202E) makes ``gpj.exe`` read as ``exe.jpg``; tag characters (U+E0000 to
U+E007F) and variation selectors carry hidden ASCII past a reader. Every
string that came from input is shown with such characters escaped,
Python-style (``\\x1b``, ``\\u202e``), so the line shows exactly what was on
the wire and nothing acts on the terminal.
"""

from __future__ import annotations

import unicodedata
from typing import Any

# Format characters (Unicode category Cf: bidi controls, zero-width marks, tags, ...) and line/paragraph
# separators act on or vanish from a terminal; these invisible ones are of other categories.
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Zl", "Zp", "Cs"})
_INVISIBLE_RANGES = (
    (0xFE00, 0xFE0F),  # variation selectors
    (0xE0000, 0xE007F),  # the tag block, unassigned code points included
    (0xE0100, 0xE01EF),  # variation selectors supplement
)
_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0")  # grapheme joiner, Hangul and Khmer fillers


def _needs_escape(ch: str, keep: str) -> bool:
    code = ord(ch)
    if ch in keep:
        return False
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return True
    return code >= 0xA0 and (ch in _INVISIBLE or unicodedata.category(ch) in _INVISIBLE_CATEGORIES
                            or any(low <= code <= high for low, high in _INVISIBLE_RANGES))


def _escaped(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def term_safe(value: Any, keep: str = "") -> str:
    """``value`` as text with C0/C1 controls, ESC, DEL, bidi controls and invisible marks escaped.

    ``keep`` lists control characters our own output uses on purpose
    (``"\\n"`` for multi-line messages, ``"\\r"`` for a progress bar); wire-borne
    fields are passed without it so an embedded newline cannot forge a line.
    A backslash is left as is: escapes are for reading, not for round trips.
    """
    text = value if isinstance(value, str) else str(value)
    if all(" " <= ch < "\x7f" for ch in text):  # the common case: printable ASCII
        return text
    return "".join(_escaped(ch) if _needs_escape(ch, keep) else ch for ch in text)


class SafeStream:
    """A text stream wrapper whose writes go through term_safe, keeping \\r and \\n (progress bars, status lines)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(term_safe(text, keep="\r\n\t"))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class SafeLines(SafeStream):
    """A stream written whole lines at a time (csv.writer writes one row per call): only the line end is kept.

    A CSV cell may hold a quoted \\r or \\n; on a terminal that would forge a row, so it is escaped there.
    """

    def write(self, text: str) -> int:
        body, end = (text[:-1], "\n") if text.endswith("\n") else (text, "")
        return self.stream.write(term_safe(body, keep="\t") + end)
