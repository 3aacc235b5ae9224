"""Live capture runs: frames in, periodic flushes to the database, a clean stop on signals.

Frames go through the very same ``Scan`` (decoders, detectors) as file
scans. Findings are flushed every ``flush_every`` seconds from a deep copy of
the scan, so the running state is never disturbed and a crash loses at most
one interval. SIGINT/SIGTERM stop the capture and still write everything; a
second SIGINT aborts at once.
"""

from __future__ import annotations

import os
import re
import signal
import struct
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Callable, Optional, TextIO

from detector.capture.live import LiveCaptureError, LiveSource, check_filter, default_filter, effective_filter
from detector.findings.finding import Finding
from detector.findings.result import InputRecord, ScanResult
from detector.policy import RuleSet
from detector.protocols import packet_decoders
from detector.session.pipeline import Scan, ScanConfig
from detector.session.run import (
    ScanOutcome,
    begin_run,
    classify,
    conclude,
    default_operator,
    load_policy,
    lock_run,
    store_result,
)
from detector.store import Store

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
LINK_NAMES = {1: "ethernet", 101: "raw-ip", 105: "802.11", 127: "radiotap", 192: "ppi", 113: "sll"}


class CaptureAborted(Exception):
    """A second interrupt: stop now, without the final flush."""


def parse_duration(text: str) -> float:
    """'30s', '10m', '2h', '7d', '180d' or bare seconds -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", str(text).lower())
    if not match:
        raise ValueError(f"{text!r} is not a duration (use e.g. 30s, 10m, 2h, 7d or seconds)")
    return float(match.group(1)) * DURATION_UNITS.get(match.group(2) or "s", 1)


@dataclass
class CaptureRequest:
    interfaces: list[str]
    duration: Optional[float] = None  # seconds; None = until stopped
    count: Optional[int] = None  # frames; None = unlimited
    bpf: Optional[str] = None
    bpf_mode: str = "extend"  # "extend" (default OR bpf) or "replace"
    write: Optional[Path] = None
    write_max_mb: Optional[float] = None
    write_keep: int = 10
    flush_every: float = 300.0
    rules_files: Optional[list[Path]] = None
    db: Optional[Path] = None
    site: str = ""
    operator: str = ""
    zone: Optional[tzinfo] = None  # --tz
    argv: str = ""
    wait_for_lock: bool = True
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


# ---------------------------------------------------------------- signals


class StopSignals:
    """First SIGINT/SIGTERM asks for a clean stop; a second SIGINT aborts."""

    def __init__(self) -> None:
        self.reason = ""
        self.previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        if self.reason and signum == signal.SIGINT:
            raise CaptureAborted("second interrupt")
        self.reason = self.reason or signal.Signals(signum).name

    def __exit__(self, *exc_info: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


# ---------------------------------------------------------------- the run


@dataclass
class _Iface:
    name: str
    linktype: int
    record: InputRecord
    source: str = ""


@dataclass
class CaptureRun:
    """State of one capture; ``run_capture`` is the entry point."""

    request: CaptureRequest
    ruleset: RuleSet
    scan: Scan
    live: LiveSource
    store: Optional[Store] = None
    scan_id: Optional[int] = None
    frames: int = 0
    flushes: int = 0
    writer: Optional[RotatingPcapng] = None
    ifaces: list[_Iface] = field(default_factory=list)

    def __post_init__(self) -> None:
        for reader in self.live.readers:
            kind = f"live:{LINK_NAMES.get(reader.linktype, f'linktype-{reader.linktype}')}"
            record = InputRecord(f"live:{reader.iface}", "", 0, kind)
            self.ifaces.append(_Iface(reader.iface, reader.linktype, record, f"live:{reader.iface}"))
        self.scan.inputs.extend(i.record for i in self.ifaces)

    def handle(self, index: int, data: bytes, ts: float) -> None:
        iface = self.ifaces[index]
        dispatcher = self.scan.dispatcher
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

    def _update_records(self) -> None:
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

    def persist(self, findings: list[Finding], final: bool, complete: bool) -> None:
        """Write inputs, drop counters and the full current findings list."""
        self._update_records()
        if self.store is None or self.scan_id is None:
            return
        self.store.add_inputs(self.scan_id, [i.record for i in self.ifaces])
        for reader, iface in zip(self.live.readers, self.ifaces):
            self.store.record_drops(self.scan_id, iface.record.path,
                                    reader.stats.kernel_drops + reader.stats.queue_drops, reader.stats.if_drops)
        self.store.save_findings(self.scan_id, findings)
        if final:
            self.store.finish_scan(self.scan_id, time.time(), complete=complete)

    def persist_final(self, result: ScanResult) -> None:
        """The run's end goes through the same code as a file scan's (app.store_result)."""
        self._update_records()
        if self.store is None or self.scan_id is None:
            return
        store_result(self.store, result)
        for reader, iface in zip(self.live.readers, self.ifaces):
            self.store.record_drops(self.scan_id, iface.record.path,
                                    reader.stats.kernel_drops + reader.stats.queue_drops, reader.stats.if_drops)

    def snapshot_findings(self) -> list[Finding]:
        """Findings so far; the live state goes on untouched (no copy of the whole scan)."""
        return classify(self.scan.snapshot(), self.ruleset)

    def flush(self) -> None:
        self.flushes += 1
        self.persist(self.snapshot_findings(), final=False, complete=False)
        _status(self.request, f"flushed {self.frames} frame(s) to the database (flush {self.flushes})")


def _status(request: CaptureRequest, text: str) -> None:
    if request.status_stream is not None:
        request.status_stream.write(f"shadowit: {text}\n")
        request.status_stream.flush()


def run_capture(request: CaptureRequest, source_factory: Optional[Callable[[list[str], str], LiveSource]] = None
                ) -> ScanOutcome:
    """Capture until duration, count or a signal; store and return the result like ``run_scan``."""
    ruleset, catalog = load_policy(request.rules_files)
    config = ScanConfig(ruleset.settings, catalog, request.zone, None)
    scan = Scan(config)
    expression = effective_filter(default_filter(packet_decoders(ruleset.settings)), request.bpf, request.bpf_mode)
    check_filter(expression)  # a typo in --bpf fails now, before privileges or the database matter
    operator = request.operator or default_operator()
    started = time.time()
    with ExitStack() as stack:
        if request.db is not None:
            lock_run(stack, request.db, request.wait_for_lock)
        live = (source_factory or LiveSource)(request.interfaces, expression)
        stack.callback(live.close)
        run = CaptureRun(request, ruleset, scan, live)
        if request.write is not None:
            max_bytes = int(request.write_max_mb * 1024 * 1024) if request.write_max_mb else None
            try:
                run.writer = RotatingPcapng(request.write, [(i.name, i.linktype) for i in run.ifaces], max_bytes,
                                            request.write_keep)
            except OSError as exc:
                raise LiveCaptureError(f"cannot write {request.write}: {exc.strerror or exc}") from None
            stack.callback(run.writer.close)
        if request.db is not None:
            run.store, run.scan_id = begin_run(stack, request.db, started, ruleset, request.site, operator,
                                               request.argv)
            run.persist([], final=False, complete=False)
        with StopSignals() as signals:
            reason = _loop(run, signals)
            early = reason in ("SIGINT", "SIGTERM") and (request.duration is not None or request.count is not None)
            live.close()
            if run.writer is not None:
                run.writer.close()
            run._update_records()
            result = conclude(scan.finish(), scan.inputs, ruleset, started, request.site, operator, request.argv,
                              run.scan_id, early)
            result.devices = scan.devices(result.findings)
            run.persist_final(result)
    outcome = ScanOutcome(result, ruleset, interrupted=early, zone=request.zone,
                          signal=reason if early else "")
    if reason in ("SIGINT", "SIGTERM"):
        outcome.warnings.append(f"capture stopped by {reason} after {run.frames} frame(s)")
    return outcome


def _loop(run: CaptureRun, signals: StopSignals) -> str:
    """Pump frames until something says stop; returns why."""
    request = run.request
    run.live.start()
    names = ", ".join(i.name for i in run.ifaces)
    _status(request, f"capturing on {names} (filter: {'custom' if request.bpf else 'default'}); Ctrl-C stops")
    now = time.monotonic()
    deadline = now + request.duration if request.duration is not None else None
    next_flush = now + request.flush_every
    while True:
        if signals.reason:
            return signals.reason
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
