"""One run per database at a time: an advisory ``flock`` on ``<db>.lock``.

SQLite already serialises single writes; the lock keeps whole runs (a scan, a
prune) from interleaving, e.g. a prune deleting a scan another run is filling.
The file is never deleted: removing a lock file lets two runs lock two inodes.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import stat
import time
from pathlib import Path
from typing import Optional, Union

from detector.store.errors import LockBusy, StoreError

POLL_SECONDS = 0.05


def lock_path(db_path: Union[Path, str]) -> Path:
    return Path(str(db_path) + ".lock")


class ScanLock:
    """``with ScanLock(db, wait=False):`` raises LockBusy if another run holds it.

    With ``wait=True`` it polls until free, or raises LockBusy after ``timeout``
    seconds (None: wait forever).
    """

    def __init__(self, db_path: Union[Path, str], wait: bool = False, timeout: Optional[float] = None):
        self.path = lock_path(db_path)
        self.wait = wait
        self.timeout = timeout
        self._fd: Optional[int] = None

    def _try_lock(self, fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _holder(self) -> str:
        try:
            text = self.path.read_text().strip()
        except OSError:
            text = ""
        return f" (held by {text})" if text else ""

    def _busy(self, waited: bool) -> LockBusy:
        how = f"still busy after waiting {self.timeout:g}s" if waited else "busy"
        return LockBusy(
            f"another shadowit run is using this database: lock {self.path} is {how}{self._holder()}; "
            "wait for it to finish or run with --wait"
        )

    def _open(self) -> int:
        """The lock file itself, never what a symlink or a second hard link points to: it gets truncated."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise StoreError(f"lock {self.path} is a symbolic link; refusing to use it: remove it "
                                 "(shadowit creates its own lock file)") from None
            raise StoreError(f"cannot create lock {self.path}: {exc.strerror or exc}; use a --db in a directory "
                             "you can write to") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            raise StoreError(f"lock {self.path} is not a plain file of its own (a device, a FIFO or a hard link); "
                             "refusing to use it: remove it (shadowit creates its own lock file)")
        return fd

    def acquire(self) -> None:
        fd = self._open()
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        while not self._try_lock(fd):
            if not self.wait or (deadline is not None and time.monotonic() >= deadline):
                os.close(fd)
                raise self._busy(self.wait)
            time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> ScanLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
