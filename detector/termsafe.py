"""Text from the wire or a log, made safe to print on a terminal.

A user name of ``ESC ] 52 ; c ; ... BEL`` writes the auditor's clipboard on
common terminals; ``ESC ] 0 ;`` retitles the window; a right-to-left override
(U+202E) makes ``gpj.exe`` read as ``exe.jpg``. Every string that came from
input is shown with such characters escaped, Python-style (``\\x1b``,
``\\u202e``), so the line shows exactly what was on the wire and nothing acts
on the terminal.
"""

from __future__ import annotations

from typing import Any

# bidi embeddings, overrides and isolates, and the implicit marks (LRM, RLM, ALM)
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# invisible characters that can hide or join text on a terminal
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u2028\u2029")


def _needs_escape(ch: str, keep: str) -> bool:
    code = ord(ch)
    if ch in keep:
        return False
    return code < 0x20 or 0x7F <= code <= 0x9F or ch in _BIDI or ch in _INVISIBLE or 0xD800 <= code <= 0xDFFF


def _escaped(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


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
