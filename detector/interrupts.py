"""The one way a run stops on SIGINT or SIGTERM: file scans, incremental log reads and live capture alike.

The first signal asks the run to stop. A reader in the middle of a file is
interrupted at once (``Stopped``), unless it holds signals while it finishes
a unit of work (an incremental log read finishing its batch of lines, so the
stored position matches the lines handled); a polling loop (live capture)
reads ``requested`` instead, and so does the run while it stores its end.
Either way what was read is stored, and the exit code says which signal it
was (130 for SIGINT, 143 for SIGTERM). A second SIGINT ends the run at once
(``Aborted``).
"""

from __future__ import annotations

import signal
import threading
from contextlib import ExitStack, contextmanager
from typing import Any, Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """A stop signal ended reading early; ``signal_name`` says which (KeyboardInterrupt: Ctrl-C semantics)."""

    def __init__(self, signal_name: str = "SIGINT") -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


class Aborted(Exception):
    """A second SIGINT after the stop: end now, without storing what is left."""


def stop_reason(exc: KeyboardInterrupt) -> str:
    """Which signal a KeyboardInterrupt stands for (a plain one is Ctrl-C)."""
    return exc.signal_name if isinstance(exc, Stopped) else "SIGINT"


class StopSignals:
    """Catches SIGINT and SIGTERM for one run, on the main thread (elsewhere signals cannot be caught).

    The first signal raises ``Stopped`` in whatever code is running, unless that code holds or polls the
    signals: then it is only recorded in ``requested``, for the code to stop where it is safe.
    """

    def __init__(self) -> None:
        self.requested = ""  # SIGINT or SIGTERM once a stop was asked for
        self.installed = False
        self._deferred = 0
        self._raised = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {signum: signal.signal(signum, self._handle) for signum in STOP_SIGNALS}
            self.installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        self.installed = False

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            if signum == signal.SIGINT:
                raise Aborted("second interrupt")
            return
        self.requested = signal.Signals(signum).name
        if not self._deferred:
            self._raised = True
            raise Stopped(self.requested)

    @contextmanager
    def polled(self) -> Iterator[StopSignals]:
        """Signals only set ``requested`` while the block runs: a loop that reads it stops between steps."""
        self._deferred += 1
        try:
            yield self
        finally:
            self._deferred -= 1

    @contextmanager
    def held(self) -> Iterator[StopSignals]:
        """Signals wait while the block runs; it calls ``check()`` where stopping is safe, and so does its end.

        Outside a run (nothing installed this object) the block installs it for its own length.
        """
        with ExitStack() as stack:
            if not self.installed:
                stack.enter_context(self)
            with self.polled():
                yield self
            self.check()

    def check(self) -> None:
        """Raise ``Stopped`` here if a stop was asked for and not yet raised."""
        if self.requested and not self._raised:
            self._raised = True
            raise Stopped(self.requested)
