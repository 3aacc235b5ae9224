"""``scan --jobs N``: the flows of each capture spread over N decoding processes, merged back exactly.

Every worker walks every record of the capture and decodes only its share:
the frames whose port pair hashes to it. The hash is symmetric and uses the
port pair only, so both directions of a flow, and every flow the
dispatcher's port-pair shortcuts (``quiet_pairs``) relate, meet in one
process; frames without ports (802.11, ARP, other link types) all go to share
0. The N forked workers send their observations in batches, tagged with a
merge key:

    (capture, frame, phase) prefix, flow rank, order of emission

phase 0 being the idle-flow sweep before a frame, 1 the frame itself, 2 the
end of the scan; a sweep and the end close flows in least-recently-used order,
which is the frame that last moved each flow (``Flow.moved``). This process
decodes nothing: it meters every flow (the one flow meter, ``capture/meter.py``,
as with one process), and before it meters a frame it merges in everything
the workers found before that frame. The detectors so see the one stream a
single process produces and stay untouched; findings, counts and evidence are
the same at every ``--jobs`` (tests/test_jobs.py).

Cost, measured (bench/RESULTS.md): every process walks every record, so the
CPU time grows with N, and this process still walks, meters, merges and runs
the detectors: about 79 % of a one-process scan's instructions on the
reference mix. The wall time can only fall with N + 1 free cores on a capture
whose decoding dominates; on two cores it does not, which is why the default
is one process.

Known limit: a decoding flow table that overflows its limit (65,536 flows)
evicts per process rather than globally.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from pathlib import Path
from typing import Any, Callable, Optional

from detector.capture.dispatch import PacketDispatcher
from detector.capture.pcap import read_capture
from detector.capture.records import ReadStats
from detector.inputs import GZIP_MAGIC
from detector.observations import Observation
from detector.policy.settings import Settings
from detector.protocols import packet_decoders

BATCH = 512  # observations per message
WATERMARK_EVERY = 2048  # handled frames between progress messages
QUEUE_MESSAGES = 64  # messages a worker may have in flight
CAPTURE_SHIFT = 42  # merge-key prefix: capture << 42 | frame << 2 | phase (0 sweep, 1 frame, 2 end of scan)
END = 1 << 20  # the "capture" the end of the scan is
NEVER = 1 << 80


def prefix(capture: int, frame: int, phase: int) -> int:
    return (capture << CAPTURE_SHIFT) | (frame << 2) | phase
VLAN_TAGS = (0x8100, 0x88A8, 0x9100)
IPV6_EXTENSIONS = (0, 43, 60, 44, 51)

Key = tuple


def share_of(buf: bytes, off: int, caplen: int, linktype: int, jobs: int) -> int:
    """Worker index of a frame: a symmetric hash of its TCP/UDP port pair, 0 for anything else."""
    end = off + caplen
    if linktype == 1:
        if caplen < 14:
            return 0
        ethertype = buf[off + 12] << 8 | buf[off + 13]
        off += 14
        while ethertype in VLAN_TAGS and off + 4 <= end:
            ethertype = buf[off + 2] << 8 | buf[off + 3]
            off += 4
    elif linktype in (101, 12, 14, 228, 229):
        ethertype = 0x0800 if off < end and buf[off] >> 4 == 4 else 0x86DD
    elif linktype == 113 and caplen >= 16:
        ethertype = buf[off + 14] << 8 | buf[off + 15]
        off += 16
    elif linktype == 276 and caplen >= 20:
        ethertype = buf[off] << 8 | buf[off + 1]
        off += 20
    else:
        return 0
    if ethertype == 0x0800:
        if end - off < 20:
            return 0
        proto = buf[off + 9]
        l4 = off + (buf[off] & 15) * 4
    elif ethertype == 0x86DD:
        if end - off < 40:
            return 0
        proto = buf[off + 6]
        l4 = off + 40
        while proto in IPV6_EXTENSIONS and l4 + 8 <= end:
            if proto == 44:
                proto, l4 = buf[l4], l4 + 8
            elif proto == 51:
                proto, l4 = buf[l4], l4 + (buf[l4 + 1] + 2) * 4
            else:
                proto, l4 = buf[l4], l4 + (buf[l4 + 1] + 1) * 8
    else:
        return 0
    if (proto != 6 and proto != 17) or l4 + 4 > end:
        return 0
    mixed = ((buf[l4] << 8 | buf[l4 + 1]) ^ (buf[l4 + 2] << 8 | buf[l4 + 3])) * 0x9E3779B1
    return (mixed >> 16 & 0xFFFF) % jobs


def _plain_stream(path: Path):
    """The capture's bytes, gunzipped when needed (workers need no hash: the parent computes it)."""
    from detector.inputs import GunzipReader

    raw = open(path, "rb")  # noqa: SIM115 - closed by the worker loop
    if raw.peek(2)[:2] == GZIP_MAGIC:
        return raw, GunzipReader(raw)  # type: ignore[arg-type]
    return raw, raw


class _Worker:
    """One decoding process: its own dispatcher and decoders, state kept across the captures of a scan."""

    def __init__(self, index: int, jobs: int, settings: Settings, out: Any) -> None:
        self.index = index
        self.jobs = jobs
        self.out = out
        self.batch: list[tuple[Key, Observation]] = []
        self.prefix = 0  # merge-key prefix of what is being emitted now
        self.seq = 0
        self.error_keys: list[tuple[Key, str]] = []
        self.dispatcher = PacketDispatcher(packet_decoders(settings), self._emit, settings.max_flows,
                                           settings.max_stream_bytes)
        self.dispatcher.meter.emit = _discard  # the parent meters every flow; a worker's records would count twice
        failed = self.dispatcher._decoder_failed

        def decoder_failed(name: str, exc: Exception) -> None:
            before = len(self.dispatcher.stats.errors)
            failed(name, exc)
            self.seq += 1
            if len(self.dispatcher.stats.errors) > before:
                self.error_keys.append(((self.prefix, 0, self.seq), self.dispatcher.stats.errors[-1]))

        self.dispatcher._decoder_failed = decoder_failed  # type: ignore[method-assign]

    def _emit(self, obs: Observation) -> None:
        closing = self.dispatcher.flows.closing
        rank = closing.moved if closing is not None and self.prefix & 3 != 1 else 0
        self.seq += 1
        self.batch.append(((self.prefix, rank, self.seq), obs))
        if len(self.batch) >= BATCH:
            self._send(self.prefix & ~3)

    def _send(self, watermark: int) -> None:
        """Observations so far; every one with a smaller key prefix than ``watermark`` has now been sent."""
        self.out.put(("obs", self.batch, watermark))
        self.batch = []

    def scan_file(self, path: Path, source: str, capture: int, frame_base: int) -> None:
        dispatcher = self.dispatcher
        dispatcher.source = source
        dispatcher.frame_base = frame_base
        errors_before = dispatcher.stats.decoder_errors
        self.error_keys = []
        handle, expire, index, jobs = dispatcher.handle, dispatcher._expire, self.index, self.jobs
        base = capture << CAPTURE_SHIFT
        counter = 0

        def handler(buf: bytes, off: int, caplen: int, ts: float, linktype: int, frame_no: int) -> None:
            nonlocal counter
            if not frame_no & 0xFFFF:  # the sweep every process makes, whoever owns the frame
                self.prefix = base | frame_no << 2
                expire(ts, frame_no)
            if share_of(buf, off, caplen, linktype, jobs) == index:
                self.prefix = base | frame_no << 2 | 1
                handle(buf, off, caplen, ts, linktype, frame_no)
            counter += 1
            if counter >= WATERMARK_EVERY:
                counter = 0
                self._send(base | frame_no << 2)

        raw, stream = _plain_stream(path)
        try:
            read_capture(stream, handler, ReadStats(), None)
        except Exception:  # noqa: BLE001, S110 - the parent reads the same bytes and reports the damage
            pass
        finally:
            raw.close()
        self._send(prefix(capture + 1, 0, 0))
        self.out.put(("done", dispatcher.stats.decoder_errors - errors_before, self.error_keys))

    def finish(self) -> None:
        self.prefix = prefix(END, 0, 2)
        self.error_keys = []
        errors_before = self.dispatcher.stats.decoder_errors
        self.dispatcher.finish()
        self._send(NEVER)
        self.out.put(("done", self.dispatcher.stats.decoder_errors - errors_before, self.error_keys))


def _discard(obs: Observation) -> None:
    """Where a worker's flow records go: nowhere (see _Worker)."""


def _work(index: int, jobs: int, settings: Settings, commands: Any, out: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's "stop like Ctrl-C": just end
    worker = _Worker(index, jobs, settings, out)
    while True:
        command = commands.get()
        if command is None:
            return
        if command[0] == "file":
            worker.scan_file(*command[1:])
        else:
            worker.finish()
            return


class _Merger:
    """Feeds ``emit`` the observations of the workers in merge-key order."""

    def __init__(self, queues: list, emit: Callable[[Observation], None]) -> None:
        self.queues = queues
        self.emit = emit
        self.buffers: list[deque] = [deque() for _ in queues]
        self.marks: list[int] = [-1] * len(queues)
        self.done: list[Optional[tuple]] = [None] * len(queues)
        self.horizon = -1  # nothing is pending below this key prefix: release() has nothing to do

    def start(self) -> None:
        self.done = [None] * len(self.queues)
        self.horizon = -1

    def _pull(self, i: int) -> None:
        message = self.queues[i].get()
        if message[0] == "obs":
            self.buffers[i].extend(message[1])
            self.marks[i] = message[2]
        else:
            self.done[i] = message[1:]

    def release(self, limit: int) -> None:
        """Emit, in key order, everything whose key prefix is below ``limit`` (waiting for workers as needed)."""
        buffers, marks, done = self.buffers, self.marks, self.done
        while True:
            best = -1
            best_key: Key = (limit,)
            for i, buffer in enumerate(buffers):
                while not buffer and done[i] is None and marks[i] < limit:
                    self._pull(i)
                if buffer and buffer[0][0] < best_key:
                    best, best_key = i, buffer[0][0]
            if best < 0:
                break
            self.emit(buffers[best].popleft()[1])
        horizon = NEVER
        for i, buffer in enumerate(buffers):
            if buffer:
                horizon = min(horizon, buffer[0][0][0])
            elif done[i] is None:
                horizon = min(horizon, marks[i])
        self.horizon = horizon

    def drain(self) -> list[tuple]:
        """Everything up to the workers' "done"; returns their reports."""
        for i in range(len(self.queues)):
            while self.done[i] is None:
                self._pull(i)
        self.release(NEVER)
        return [d for d in self.done if d is not None]


class ParallelCaptures:
    """N forked workers decode the shares; this process meters and merges.

    A dispatcher without decoders shares the scan dispatcher's flow meter and
    meters every frame (the scan dispatcher's own flow table stays empty); the
    workers' observations of earlier frames are merged in before a frame is
    metered, so a flow's record follows them as with one process.
    """

    def __init__(self, jobs: int, settings: Settings, dispatcher: PacketDispatcher,
                 emit: Callable[[Observation], None]) -> None:
        self.jobs = jobs
        self.dispatcher = dispatcher
        self.emit = emit
        self.meter_only = PacketDispatcher([], emit, settings.max_flows, settings.max_stream_bytes)
        self.meter_only.meter = dispatcher.meter
        # frames of a link type nothing decodes are reported on the input: this process sees every such frame
        self.meter_only.stats.unknown_linktypes = dispatcher.stats.unknown_linktypes
        context = multiprocessing.get_context("fork")
        self.commands = [context.Queue() for _ in range(jobs)]
        # bounded: a worker far ahead of this process waits instead of piling observations up in memory
        outs = [context.Queue(maxsize=QUEUE_MESSAGES) for _ in range(jobs)]
        self.processes = [context.Process(target=_work, args=(i, jobs, settings, self.commands[i], outs[i]),
                                          name=f"shadowit-decode-{i}", daemon=True) for i in range(jobs)]
        for process in self.processes:
            process.start()
        self.merger = _Merger(outs, emit)
        self.closed = False

    def read(self, stream: Any, path: Path, stats: ReadStats, progress: Optional[Callable[[int], None]],
             capture: int, frame_base: int) -> str:
        """Scan one capture; the workers' decoder errors are added to the dispatcher's stats in frame order."""
        dispatcher, meter_only, merger = self.dispatcher, self.meter_only, self.merger
        dispatcher.source = meter_only.source = path.name
        merger.start()
        for commands in self.commands:
            commands.put(("file", path, path.name, capture, frame_base))
        release, meter, horizon_of = merger.release, meter_only.handle, merger
        base = capture << CAPTURE_SHIFT

        def handler(buf: bytes, off: int, caplen: int, ts: float, linktype: int, frame_no: int) -> None:
            frame_key = base | frame_no << 2 | 1
            if frame_key > horizon_of.horizon:
                release(frame_key)  # what the workers found before this frame (their sweep included) comes first
            meter(buf, off, caplen, ts, linktype, frame_no)

        try:
            return read_capture(stream, handler, stats, progress)
        except KeyboardInterrupt:
            self.close(terminate=True)  # the scan stops here: what the workers still hold is moot
            raise
        finally:
            if not self.closed:  # the workers read the same bytes: merge all they found, even after damage
                self._merge_errors(merger.drain())

    def finish(self, carry: bool = False) -> list[tuple]:
        """The end of the scan: the workers close their flows (LRU order across all), then the meter's flows end
        (or, ``carry``, the active ones are returned for the next incremental run)."""
        dispatcher = self.dispatcher
        if not self.closed:  # else interrupted: the workers are gone with whatever they held
            for commands in self.commands:
                commands.put(("finish",))
            self.merger.start()
            self._merge_errors(self.merger.drain())
            self.close()
        if carry:
            return dispatcher.meter.carry()
        dispatcher.meter.flush()
        return []

    def _merge_errors(self, reports: list[tuple]) -> None:
        """The workers' decoder errors, counted, the first ones kept in frame order."""
        stats = self.dispatcher.stats
        stats.decoder_errors += sum(r[0] for r in reports)
        keyed = sorted(item for r in reports for item in r[1])
        stats.errors.extend(m for _, m in keyed[:max(0, 10 - len(stats.errors))])

    def close(self, terminate: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        for process in self.processes:
            if terminate:
                process.terminate()
            process.join(timeout=10)
