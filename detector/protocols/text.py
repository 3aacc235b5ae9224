"""Helpers shared by line-oriented clear-text protocols (FTP, POP3, IMAP, SMTP, HTTP headers)."""

from __future__ import annotations

MAX_LINE = 8192


class LineSplitter:
    """Splits a byte stream into lines (CRLF or LF), bounding how much it keeps."""

    __slots__ = ("pending",)

    def __init__(self) -> None:
        self.pending = b""

    def push(self, data: bytes) -> list[bytes]:
        data = self.pending + data
        lines = data.split(b"\n")
        self.pending = lines.pop()
        if len(self.pending) > MAX_LINE:
            self.pending = b""
        return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def text(raw: bytes, limit: int = 512) -> str:
    """Bytes from the wire as bounded text: bytes that are not UTF-8 kept as escaped hex (``\\xfc``), so a
    binary or Latin-1 value stays readable and distinct instead of turning into replacement characters."""
    return raw[:limit].decode("utf-8", "backslashreplace").replace("\x00", "")
