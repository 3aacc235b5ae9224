"""``scan --jobs N``: the flows of each capture spread over N decoding processes, merged back exactly.

Every worker walks every record of the capture (the record loop is cheap) and
decodes only its share: the frames whose port pair hashes to it. The hash is
symmetric and uses the port pair only, so both directions of a flow, and every
flow the dispatcher's port-pair shortcuts (``quiet_pairs``) relate, meet in one
worker; frames without ports (802.11, ARP, other link types) all go to worker 0.

Workers emit observations tagged with a merge key and send them in batches;
the parent walks the capture too, meters the addresses the detectors asked to
watch (that decision needs every observation, so it cannot live in a worker),
and feeds the detectors one stream ordered by

    (capture, frame, phase, flow rank, order of emission)

phase 0 being the idle-flow sweep before a frame, 1 the frame itself; a sweep
and the end of the scan close flows in least-recently-used order, which is the
frame that last moved each flow (``Flow.moved``). This is the order a single
process produces, so detectors stay untouched and findings, counts and evidence
are the same at every ``--jobs`` (tests/test_jobs.py). Known limits: a flow
table that overflows its limit (65,536 flows) evicts per worker, not globally.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from pathlib import Path
from typing import Any, Callable, Optional

from .decoders import packet_decoders
from .decoders.dispatch import PacketDispatcher
from .model import Observation
from .settings import Settings
from .sources import GZIP_MAGIC
from .sources.pcap import ReadStats, read_capture

END = 1 << 40  # "capture index" of what the end of the scan flushes
BATCH = 512  # observations per message
WATERMARK_EVERY = 2048  # handled frames between progress messages
VLAN_TAGS = (0x8100, 0x88A8, 0x9100)
IPV6_EXTENSIONS = (0, 43, 60, 44, 51)

Key = tuple


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


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
    from .sources import GunzipReader

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
        self.capture = 0
        self.frame = 0
        self.phase = 1
        self.seq = 0
        self.error_keys: list[tuple[Key, str]] = []
        self.dispatcher = PacketDispatcher(packet_decoders(settings), self._emit, settings.max_flows,
                                           settings.max_stream_bytes)
        failed = self.dispatcher._decoder_failed

        def decoder_failed(name: str, exc: Exception) -> None:
            before = len(self.dispatcher.stats.errors)
            failed(name, exc)
            if len(self.dispatcher.stats.errors) > before:
                self.error_keys.append(((self.capture, self.frame, self.phase, 0, self.seq),
                                        self.dispatcher.stats.errors[-1]))
            self.seq += 1

        self.dispatcher._decoder_failed = decoder_failed  # type: ignore[method-assign]

    def _emit(self, obs: Observation) -> None:
        closing = self.dispatcher.flows.closing
        rank = closing.moved if closing is not None and self.phase != 1 else 0
        self.seq += 1
        self.batch.append(((self.capture, self.frame, self.phase, rank, self.seq), obs))
        if len(self.batch) >= BATCH:
            self._send((self.capture, self.frame, 0))

    def _send(self, watermark: Key) -> None:
        self.out.put(("obs", self.batch, watermark))
        self.batch = []

    def scan_file(self, path: Path, source: str, capture: int, frame_base: int) -> None:
        dispatcher = self.dispatcher
        dispatcher.source = source
        dispatcher.frame_base = frame_base
        self.capture = capture
        errors_before = dispatcher.stats.decoder_errors
        self.error_keys = []
        handle, expire, index, jobs = dispatcher.handle, dispatcher._expire, self.index, self.jobs
        quiet = dispatcher.quiet_pairs
        counter = 0

        def handler(buf: bytes, off: int, caplen: int, ts: float, linktype: int, frame_no: int) -> None:
            nonlocal counter
            if not frame_no & 0xFFFF:  # the sweep every process makes, whoever owns the frame
                self.frame, self.phase = frame_no, 0
                expire(ts, frame_no)
            if share_of(buf, off, caplen, linktype, jobs) == index:
                self.frame, self.phase = frame_no, 1
                handle(buf, off, caplen, ts, linktype, frame_no)
            elif linktype == 1 and caplen >= 54 and buf[off + 14] == 0x45 and buf[off + 23] == 6 \
                    and buf[off + 12] == 8 and buf[off + 13] == 0:
                # another worker's flow: let the reader's inline test skip its next segments (a pair is wholly
                # one worker's or another's, so this never hides a segment of our own flows)
                pair = buf[off + 34:off + 38]
                quiet.add(pair)
                quiet.add(pair[2:] + pair[:2])
            counter += 1
            if counter >= WATERMARK_EVERY:
                counter = 0
                self._send((capture, frame_no, 0))

        raw, stream = _plain_stream(path)
        try:
            read_capture(stream, handler, ReadStats(), None, dispatcher.hot)
        except Exception:  # noqa: BLE001 - the parent reads the same bytes and reports the damage
            pass
        finally:
            raw.close()
        self._send((capture, END, 0))
        self.out.put(("done", dispatcher.stats.decoder_errors - errors_before, self.error_keys))

    def finish(self) -> None:
        self.capture, self.frame, self.phase = END, 0, 2
        self.error_keys = []
        errors_before = self.dispatcher.stats.decoder_errors
        self.dispatcher.finish()
        self._send((END, END, 0))
        self.out.put(("done", self.dispatcher.stats.decoder_errors - errors_before, self.error_keys))


def _work(index: int, jobs: int, settings: Settings, commands: Any, out: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means
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
    """Feeds ``emit`` the workers' observations in merge-key order, up to a bound the parent has reached."""

    def __init__(self, queues: list, emit: Callable[[Observation], None]) -> None:
        self.queues = queues
        self.emit = emit
        self.buffers: list[deque] = [deque() for _ in queues]
        self.marks: list[Key] = [(-1,)] * len(queues)
        self.done: list[Optional[tuple]] = [None] * len(queues)

    def start(self) -> None:
        self.done = [None] * len(self.queues)

    def _pull(self, i: int) -> None:
        message = self.queues[i].get()
        if message[0] == "obs":
            self.buffers[i].extend(message[1])
            self.marks[i] = message[2]
        else:
            self.done[i] = message[1:]

    def release_before(self, limit: Key) -> None:
        buffers, marks, done = self.buffers, self.marks, self.done
        while True:
            best = -1
            best_key = limit
            for i, buffer in enumerate(buffers):
                while not buffer and done[i] is None and marks[i] < limit:
                    self._pull(i)
                if buffer and buffer[0][0] < best_key:
                    best, best_key = i, buffer[0][0]
            if best < 0:
                return
            self.emit(buffers[best].popleft()[1])

    def drain(self) -> list[tuple]:
        """Everything up to the workers' "done"; returns their reports."""
        for i in range(len(self.queues)):
            while self.done[i] is None:
                self._pull(i)
        self.release_before((END + 1,))
        return [d for d in self.done if d is not None]


class WorkerPool:
    """N decoding processes for the captures of one scan (forked: they share the loaded code)."""

    def __init__(self, jobs: int, settings: Settings, emit: Callable[[Observation], None]) -> None:
        context = multiprocessing.get_context("fork")
        self.commands = [context.Queue() for _ in range(jobs)]
        outs = [context.Queue() for _ in range(jobs)]
        self.processes = [context.Process(target=_work, args=(i, jobs, settings, self.commands[i], outs[i]),
                                          name=f"shadowit-decode-{i}", daemon=True) for i in range(jobs)]
        for process in self.processes:
            process.start()
        self.merger = _Merger(outs, emit)
        self.closed = False

    def begin(self, path: Path, source: str, capture: int, frame_base: int) -> None:
        self.merger.start()
        for commands in self.commands:
            commands.put(("file", path, source, capture, frame_base))

    def end_capture(self) -> tuple[int, list[str]]:
        """Merge what is left of this capture; (decoder errors, their first messages in frame order)."""
        return self._reports(self.merger.drain())

    def finish(self) -> tuple[int, list[str]]:
        """Close every worker's flows (the end of the scan) and merge what that emits."""
        if self.closed:
            return 0, []
        self.merger.start()
        for commands in self.commands:
            commands.put(("finish",))
        reports = self._reports(self.merger.drain())
        self.close()
        return reports

    @staticmethod
    def _reports(reports: list[tuple]) -> tuple[int, list[str]]:
        errors = sum(r[0] for r in reports)
        keyed = sorted((k, m) for r in reports for k, m in r[1])
        return errors, [m for _, m in keyed]

    def close(self, terminate: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        for process in self.processes:
            if terminate:
                process.terminate()
            process.join(timeout=10)
