"""Inputs: files and directories recognised by content, never by extension."""

from __future__ import annotations

import hashlib
import os
import queue
import stat
import threading
import zlib
from pathlib import Path
from typing import BinaryIO, Iterator, Optional, Sequence

GZIP_MAGIC = b"\x1f\x8b"
# classic pcap: byte order and time resolution by magic; pcapng: the section header block type
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
INFLATE_STEP = 4 << 20  # at most this much output per inflate call: a bomb never lands in memory at once
BOMB_RATIO = 250  # real captures and logs compress 2-50x (repetitive logs ~100x); deflate tops out at 1032x
BOMB_FLOOR = 64 << 20  # ratios are only judged past this much output


class InputError(Exception):
    """An input path that cannot be read at all."""


class UnreadableInput(InputError):
    """One input file that cannot be opened, or is no regular file: the scan records it, with ``reason``, and goes
    on."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.reason = reason


FILE_TYPES = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
              (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))


def _file_type(mode: int) -> str:
    return next((name for test, name in FILE_TYPES if test(mode)), "not a regular file")


def open_regular(path: Path) -> BinaryIO:
    """Open a regular file (or a symlink to one) for reading; anything else is an InputError, never opened blocking.

    A FIFO would block the scan until a writer comes, /dev/zero or /dev/urandom never end: their type is
    checked before opening, and again on the open descriptor (O_NONBLOCK: opening a FIFO does not wait).
    """
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise UnreadableInput(path, f"{_file_type(mode)}, not a regular file; skipped")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        raise UnreadableInput(path, f"cannot open: {exc.strerror or exc}; skipped") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):  # swapped between the two looks
        os.close(fd)
        raise UnreadableInput(path, f"{_file_type(mode)}, not a regular file; skipped")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


class GunzipReader:
    """Streaming gunzip that hands out everything before a cut instead of raising.

    gzip.GzipFile raises EOFError on a truncated member and loses the last
    buffer; a truncated capture must still yield the frames before the damage.
    """

    def __init__(self, raw: HashingReader):
        self.raw = raw
        self.inflater = zlib.decompressobj(wbits=31)
        self.pending = b""
        self.truncated = False
        self.corrupt = ""
        self.bomb = ""  # why decompression was stopped as a zip bomb
        self.consumed = 0
        self.produced = 0

    def read(self, size: int = -1) -> bytes:
        want = size if size >= 0 else 1 << 62
        while len(self.pending) < want and not (self.truncated or self.corrupt or self.bomb):
            if self.inflater.unconsumed_tail:
                self._inflate(b"")
                continue
            chunk = self.raw.read(1 << 16)
            if not chunk:
                if not self.inflater.eof:
                    self.truncated = True
                break
            self.consumed += len(chunk)
            self._inflate(chunk)
        data, self.pending = self.pending[:want], self.pending[want:]
        return data

    def _inflate(self, chunk: bytes) -> None:
        try:
            self._emit(self.inflater.decompress(self.inflater.unconsumed_tail + chunk, INFLATE_STEP))
            while self.inflater.eof and self.inflater.unused_data:
                rest = self.inflater.unused_data
                self.inflater = zlib.decompressobj(wbits=31)
                self._emit(self.inflater.decompress(rest, INFLATE_STEP))
        except zlib.error as exc:
            self.corrupt = str(exc)

    def _emit(self, data: bytes) -> None:
        self.pending += data
        self.produced += len(data)
        if self.produced > BOMB_FLOOR and self.produced > BOMB_RATIO * max(self.consumed, 1):
            self.bomb = (f"decompression stopped at {self.produced >> 20} MiB: over {BOMB_RATIO}x the compressed "
                         "size, a zip bomb rather than data")


class HashingReader:
    """A read-through file wrapper that hashes every byte it hands out.

    SHA-256 of a large capture costs as much as decoding it, so the digest is
    computed by a worker thread (hashlib releases the GIL) fed through a
    bounded queue: on a second core it is free, on one core it costs nothing extra.
    """

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.digest = hashlib.sha256()
        self.queue: queue.Queue[Optional[bytes]] = queue.Queue(maxsize=8)
        self.worker = threading.Thread(target=self._hash, name="sha256", daemon=True)
        self.worker.start()

    def _hash(self) -> None:
        while True:
            chunk = self.queue.get()
            if chunk is None:
                return
            self.digest.update(chunk)

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if data:
            self.queue.put(data)
        return data

    def finish(self) -> str:
        """Hash the rest of the file too, so the digest always covers the whole input."""
        while self.read(1 << 20):
            pass
        self.queue.put(None)
        self.worker.join()
        return self.digest.hexdigest()

    def close(self) -> None:
        if self.worker.is_alive():
            self.queue.put(None)
            self.worker.join()
        self.raw.close()


def discover(paths: list[str]) -> Iterator[Path]:
    """Files named directly, and every file under named directories, in a stable order.

    Special files (FIFOs, devices, sockets) are listed too: reading refuses them with a warning naming each.
    """
    for name in paths:
        path = Path(name)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for file in sorted(files, key=_volume_logs_last):
                    if not file.startswith("."):
                        yield Path(root) / file
        elif path.exists():
            yield path
        else:
            raise InputError(f"{name}: no such file or directory")


class InputDigests:
    """SHA-256 of input files computed before reading, each at most once per scan, whichever check asks first."""

    def __init__(self, paths: Sequence[Path]):
        self.paths = paths
        self.known: dict[int, Optional[str]] = {}

    def __call__(self, index: int) -> Optional[str]:
        if index not in self.known:
            self.known[index] = file_sha256(self.paths[index])
        return self.known[index]


def repeated_inputs(paths: Sequence[Path], digest: Optional[InputDigests] = None) -> dict[int, tuple[Path, str]]:
    """Inputs whose bytes equal an earlier input's: their index in ``paths`` -> (that earlier path, SHA-256).

    The same capture in two folders would count twice (volumes doubled). Only
    regular files that share their size with another are hashed, so a scan of
    distinct files reads nothing twice.
    """
    digest = digest or InputDigests(paths)
    by_size: dict[int, list[int]] = {}
    for index, path in enumerate(paths):
        try:
            info = os.stat(path)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_size:
            by_size.setdefault(info.st_size, []).append(index)
    repeats: dict[int, tuple[Path, str]] = {}
    for same_size in (group for group in by_size.values() if len(group) > 1):
        first_with: dict[str, Path] = {}
        for index in same_size:
            sha256 = digest(index)
            if sha256 is None:
                continue
            if sha256 in first_with:
                repeats[index] = (first_with[sha256], sha256)
            else:
                first_with[sha256] = paths[index]
    return repeats


def is_capture_file(path: Path) -> bool:
    """pcap or pcapng, plain or gzipped, judged from the first bytes only (no full read)."""
    try:
        with open_regular(path) as stream:
            head = stream.read(4096)
    except (InputError, OSError):
        return False
    if head[:2] == GZIP_MAGIC:
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, 8)
        except zlib.error:
            return False
    return sniff_kind(head[:4]) in ("pcap", "pcapng")


def file_sha256(path: Path) -> Optional[str]:
    """The SHA-256 of a file's bytes as stored (compressed or not); None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open_regular(path) as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
    except (InputError, OSError):
        return None
    return digest.hexdigest()


def _volume_logs_last(name: str) -> tuple[bool, str]:
    """Zeek's conn logs carry only addresses: read them after the dns/ssl/http logs that name those addresses."""
    return (name.startswith("conn.") or name.startswith("conn_"), name)


def sniff_kind(head: bytes) -> str:
    """'pcap', 'pcapng', 'text' or 'binary' from the first bytes (already decompressed)."""
    if head[:4] in PCAP_MAGICS:
        return "pcap"
    if head[:4] == PCAPNG_MAGIC:
        return "pcapng"
    if not head:
        return "text"
    if b"\x00" in head[:4096]:
        return "binary"
    try:
        head[:4096].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < 4090:  # a cut multi-byte character at the end is fine
            printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head[:4096])
            return "text" if printable > 0.9 * min(len(head), 4096) else "binary"
    return "text"


class OpenedInput:
    """One input file opened for streaming, transparently gunzipped and hashed."""

    def __init__(self, path: Path):
        self.path = path
        raw = open_regular(path)
        self.size = os.fstat(raw.fileno()).st_size
        self.hasher = HashingReader(raw)
        magic = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
        self.compressed = magic == GZIP_MAGIC
        self.gunzip = GunzipReader(self.hasher) if self.compressed else None
        self.stream: BinaryIO = self.gunzip or self.hasher  # type: ignore[assignment]
        self._head = b""

    def head(self, size: int = 32 * 1024) -> bytes:
        """Peek at the first bytes without losing them for the real read."""
        if not self._head:
            try:
                self._head = self.stream.read(size)
            except (OSError, EOFError) as exc:
                raise InputError(f"{self.path}: unreadable compressed data ({exc})") from exc
        return self._head

    def damage(self) -> str:
        """Why decompression stopped early, or '' when it did not."""
        if self.gunzip is None:
            return ""
        if self.gunzip.bomb:
            return self.gunzip.bomb
        if self.gunzip.corrupt:
            return f"compressed data is corrupt ({self.gunzip.corrupt})"
        return "compressed data ends early" if self.gunzip.truncated else ""

    def fileno(self) -> int:
        """The open file's descriptor: its identity (fstat) is the file actually read, even mid-rotation."""
        return self.hasher.raw.fileno()

    def reader(self) -> BinaryIO:
        """The stream from its first byte, including what head() peeked."""
        return _Prefixed(self._head, self.stream)

    def close(self) -> str:
        """Close and return the SHA-256 of the file as stored on disk."""
        digest = self.hasher.finish()
        self.hasher.close()
        return digest


class _Prefixed:
    def __init__(self, prefix: bytes, stream: BinaryIO):
        self.prefix = prefix
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        if self.prefix:
            if size < 0:
                data, self.prefix = self.prefix + self.stream.read(), b""
                return data
            data, self.prefix = self.prefix[:size], self.prefix[size:]
            if len(data) < size:
                data += self.stream.read(size - len(data))
            return data
        return self.stream.read(size)
