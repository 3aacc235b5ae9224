"""Live capture runs: frames in, periodic flushes to the database, a clean stop on signals.

Frames go through the very same ``Scan`` (decoders, detectors) as file
scans. Findings are flushed every ``flush_every`` seconds from a deep copy of
the scan, so the running state is never disturbed and a crash loses at most
one interval. The run is a ScanSession like a file scan's (policy, lock,
stored scan record, the end); SIGINT/SIGTERM stop the capture between frames
and still write everything, a second SIGINT aborts at once
(detector/interrupts.py).
"""

from __future__ import annotations

import os
import re
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence, TextIO

from detector.capture.live import LiveCaptureError, LiveSource, check_filter, default_filter, effective_filter
from detector.findings.finding import Finding
from detector.findings.result import InputRecord
from detector.protocols import packet_decoders
from detector.session.policy import classify
from detector.session.scan import RunRequest, ScanOutcome, ScanSession

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
LINK_NAMES = {1: "ethernet", 101: "raw-ip", 105: "802.11", 127: "radiotap", 192: "ppi", 113: "sll"}


def parse_duration(text: str) -> float:
    """'30s', '10m', '2h', '7d', '180d' or bare seconds -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(text).lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration (use e.g. 30s, 10m, 2h, 7d or seconds)")
    return float(match.group(1)) * DURATION_UNITS.get(match.group(2) or "s", 1)


@dataclass(kw_only=True, frozen=True, eq=False, repr=False)  # never compared or printed
class CaptureRequest(RunRequest):
    """``shadowit capture``: interfaces to read, when to stop, and where else the frames go."""

    interfaces: Sequence[str]
    duration: Optional[float] = None  # seconds; None = until stopped
    count: Optional[int] = None  # frames; None = unlimited
    bpf: Optional[str] = None
    bpf_mode: str = "extend"  # "extend" (default OR bpf) or "replace"
    write: Optional[Path] = None
    write_max_mb: Optional[float] = None
    write_keep: int = 10
    flush_every: float = 300.0
    status_stream: Optional[TextIO] = None  # one line when capturing starts, one per flush


# ---------------------------------------------------------------- pcapng output


class RotatingPcapng:
    """``--write``: pcapng, one interface block per interface; rotated by size, N files kept.

    Files hold raw traffic (clear-text passwords included), so they are 0600.
    """

    def __init__(self, path: Path, interfaces: list[tuple[str, int]], max_bytes: Optional[int], keep: int):
        self.path = path
        self.interfaces = interfaces
        self.max_bytes = max_bytes
        self.keep = max(keep, 1)
        self.files: list[Path] = []
        self.sequence = 0
        self.handle = None
        self.written = 0
        self.error = ""
        self._open_next()

    def _name(self) -> Path:
        if not self.max_bytes:
            return self.path
        suffix = "".join(self.path.suffixes) or ".pcapng"
        stem = self.path.name[: -len(suffix)] if self.path.suffixes else self.path.name
        return self.path.with_name(f"{stem}-{self.sequence:05d}{suffix}")

    def _open_next(self) -> None:
        if self.handle is not None:
            self.handle.close()
        self.sequence += 1
        target = self._name()
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self.handle = os.fdopen(fd, "wb")
        self.files.append(target)
        while len(self.files) > self.keep:
            self.files.pop(0).unlink(missing_ok=True)
        self.written = 0
        self._block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
        for name, linktype in self.interfaces:
            self._block(1, struct.pack("<HHI", linktype, 0, 262144) + _option(2, name.encode()) + b"\0" * 4)

    def _block(self, kind: int, body: bytes) -> None:
        length = 12 + len(body)
        self.handle.write(struct.pack("<II", kind, length) + body + struct.pack("<I", length))
        self.written += length

    def write(self, index: int, data: bytes, ts: float) -> None:
        if self.handle is None:
            return
        try:
            if self.max_bytes and self.written >= self.max_bytes:
                self._open_next()
            micros = int(ts * 1_000_000)
            pad = b"\0" * (-len(data) % 4)
            self._block(6, struct.pack("<IIIII", index, micros >> 32, micros & 0xFFFFFFFF, len(data), len(data))
                        + data + pad)
        except OSError as exc:
            self.error = f"--write stopped: {exc.strerror or exc}"
            self.close()

    def close(self) -> None:
        if self.handle is not None:
            try:
                self.handle.close()
            except OSError as exc:
                self.error = self.error or f"--write: {exc.strerror or exc}"
            self.handle = None


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


# ---------------------------------------------------------------- the run


@dataclass
class _Iface:
    name: str
    linktype: int
    record: InputRecord
    source: str = ""


@dataclass(eq=False)
class CaptureRun:
    """State of one capture; ``run_capture`` is the entry point."""

    request: CaptureRequest
    session: ScanSession
    live: LiveSource
    frames: int = 0
    flushes: int = 0
    writer: Optional[RotatingPcapng] = None
    ifaces: list[_Iface] = field(default_factory=list)

    def __post_init__(self) -> None:
        for reader in self.live.readers:
            kind = f"live:{LINK_NAMES.get(reader.linktype, f'linktype-{reader.linktype}')}"
            record = InputRecord(f"live:{reader.iface}", "", 0, kind)
            self.ifaces.append(_Iface(reader.iface, reader.linktype, record, f"live:{reader.iface}"))
        self.session.scan.inputs.extend(i.record for i in self.ifaces)

    def handle(self, index: int, data: bytes, ts: float) -> None:
        iface = self.ifaces[index]
        dispatcher = self.session.scan.dispatcher
        assert dispatcher is not None
        self.frames += 1
        record = iface.record
        record.records += 1
        record.bytes += len(data)
        if record.first_ts is None:
            record.first_ts = ts
        record.last_ts = ts
        if dispatcher.source != iface.source:
            dispatcher.source = iface.source
        dispatcher.handle(data, 0, len(data), ts, iface.linktype, self.frames)
        if self.writer is not None:
            self.writer.write(index, data, ts)

    def update_records(self) -> None:
        """Drop counters and read errors of every interface, and a --write failure, onto the input records."""
        for reader, iface in zip(self.live.readers, self.ifaces):
            reader.kernel_drops()
            stats = iface.record
            lost = reader.stats.kernel_drops + reader.stats.queue_drops
            warnings = [w for w in stats.warnings if not w.startswith(("capture lost", "read error"))]
            if lost:
                warnings.append(f"capture lost {lost} frame(s): {reader.stats.kernel_drops} in the kernel buffer, "
                                f"{reader.stats.queue_drops} in shadowit's queue; findings may be incomplete")
            warnings.extend(reader.stats.errors)
            stats.warnings = warnings
        if self.writer is not None and self.writer.error and self.ifaces:
            record = self.ifaces[0].record
            if self.writer.error not in record.warnings:
                record.warnings.append(self.writer.error)

    def drops(self) -> list[tuple[str, Optional[int], Optional[int]]]:
        return [(iface.record.path, reader.stats.kernel_drops + reader.stats.queue_drops, reader.stats.if_drops)
                for reader, iface in zip(self.live.readers, self.ifaces)]

    def flush(self) -> None:
        """The findings so far to the database; the live state goes on untouched (no copy of the whole scan)."""
        self.flushes += 1
        self.store_progress(classify(self.session.scan.snapshot(), self.session.policy.ruleset))
        _status(self.request, f"flushed {self.frames} frame(s) to the database (flush {self.flushes})")

    def store_progress(self, findings: list[Finding]) -> None:
        """Inputs, drop counters and the full current findings list."""
        self.update_records()
        self.session.store_progress([i.record for i in self.ifaces], findings)
        self.session.record_drops(self.drops())


def _status(request: CaptureRequest, text: str) -> None:
    if request.status_stream is not None:
        request.status_stream.write(f"shadowit: {text}\n")
        request.status_stream.flush()


def run_capture(request: CaptureRequest, source_factory: Optional[Callable[[list[str], str], LiveSource]] = None
                ) -> ScanOutcome:
    """Capture until duration, count or a signal; store and return the result like ``run_scan``."""
    session = ScanSession(request)
    settings = session.policy.ruleset.settings
    expression = effective_filter(default_filter(packet_decoders(settings)), request.bpf, request.bpf_mode)
    check_filter(expression)  # a typo in --bpf fails now, before privileges or the database matter
    with session:
        live = (source_factory or LiveSource)(list(request.interfaces), expression)
        session.on_exit(live.close)
        run = CaptureRun(request, session, live)
        if request.write is not None:
            run.writer = _writer(request, run.ifaces)
            session.on_exit(run.writer.close)
        session.begin()
        if session.store is not None:
            run.store_progress([])  # the interfaces are on record from the start
        with session.stop.polled():  # signals end the loop between frames; a second SIGINT aborts
            reason = _loop(run)
            early = reason in ("SIGINT", "SIGTERM") and (request.duration is not None or request.count is not None)
            session.stopped_by = reason if reason in ("SIGINT", "SIGTERM") else ""
            live.close()
            if run.writer is not None:
                run.writer.close()
            run.update_records()
            result = session.finish(cut_short=early)
            session.record_drops(run.drops())
    warnings = (f"capture stopped by {reason} after {run.frames} frame(s)",) if session.stopped_by else ()
    return session.outcome(result, cut_short=early, warnings=warnings)


def _writer(request: CaptureRequest, ifaces: list[_Iface]) -> RotatingPcapng:
    assert request.write is not None
    max_bytes = int(request.write_max_mb * 1024 * 1024) if request.write_max_mb else None
    try:
        return RotatingPcapng(request.write, [(i.name, i.linktype) for i in ifaces], max_bytes, request.write_keep)
    except OSError as exc:
        raise LiveCaptureError(f"cannot write {request.write}: {exc.strerror or exc}") from None


def _loop(run: CaptureRun) -> str:
    """Pump frames until something says stop; returns why."""
    request = run.request
    stop = run.session.stop
    run.live.start()
    names = ", ".join(i.name for i in run.ifaces)
    _status(request, f"capturing on {names} (filter: {'custom' if request.bpf else 'default'}); Ctrl-C stops")
    now = time.monotonic()
    deadline = now + request.duration if request.duration is not None else None
    next_flush = now + request.flush_every
    while True:
        if stop.requested:
            return stop.requested
        item = run.live.next_frame(timeout=0.2)
        if item is not None:
            run.handle(*item)
            if request.count is not None and run.frames >= request.count:
                return "count"
        elif not run.live.open_readers:
            return "interfaces closed"
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return "duration"
        if now >= next_flush:
            run.flush()
            next_flush = now + request.flush_every
