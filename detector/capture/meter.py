"""Flow volumes for the addresses a detector asked to watch: bytes and packets each way, first to last.

Each metered flow becomes one ``FlowVolume`` observation when it ends (FIN or
RST seen, idle too long, evicted from the bounded table, or the capture ends).
"""

from __future__ import annotations

import socket
from typing import Optional

from detector.capture.flows import HALF, MOD, TCP_FIN, TCP_RST, TCP_SYN
from detector.observations import Emit, FlowVolume


class MeterEntry:
    """Byte counts of one metered flow, by payload seen and by TCP sequence span.

    The sequence span still measures a flow when only its SYN and FIN were
    captured (a kernel filter that keeps the handshake and teardown only).
    """

    __slots__ = ("up", "down", "packets", "first", "last", "spans", "origin")

    def __init__(self, ts: float, origin: str = ""):
        self.up = self.down = self.packets = 0
        self.first = self.last = ts
        self.origin = origin  # "file:frame N" of the flow's first packet: its evidence cites that
        self.spans: list[Optional[list[int]]] = [None, None]  # [start, end] sequence per direction

    def sequence(self, upward: bool, seq: int, size: int, syn: bool) -> None:
        index = 0 if upward else 1
        span = self.spans[index]
        start = (seq + 1) % MOD if syn else seq
        end = (start + size) % MOD
        if span is None:
            self.spans[index] = [start, end]
        elif (end - span[0]) % MOD > (span[1] - span[0]) % MOD and (end - span[0]) % MOD < HALF:
            span[1] = end

    def total(self, upward: bool) -> int:
        counted = self.up if upward else self.down
        span = self.spans[0 if upward else 1]
        return max(counted, (span[1] - span[0]) % MOD) if span else counted


class VolumeMeter:
    """Bytes per flow for addresses a detector asked to watch (e.g. file-sharing servers)."""

    def __init__(self, max_entries: int, idle_seconds: float = 300.0):
        self.watched: dict[bytes, str] = {}
        self.entries: dict[tuple, MeterEntry] = {}
        self.max_entries = max_entries
        self.idle_seconds = idle_seconds

    def watch(self, address: str) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        try:
            raw = socket.inet_pton(family, address)
        except OSError:
            return
        if len(self.watched) < self.max_entries:
            self.watched[raw] = address

    def count(self, src: bytes, dst: bytes, sport: int, dport: int, proto: str, size: int, ts: float,
              emit: Emit, where: str, seq: Optional[int] = None, flags: int = 0, frame_no: int = 0) -> None:
        upward = dst in self.watched
        key = (src, dst, sport, dport, proto) if upward else (dst, src, dport, sport, proto)
        entry = self.entries.get(key)
        if entry is None:
            if len(self.entries) >= self.max_entries:
                oldest = next(iter(self.entries))
                self._emit(oldest, self.entries.pop(oldest), emit, where)
            entry = self.entries[key] = MeterEntry(ts, f"{where}:frame {frame_no}" if frame_no else where)
        if upward:
            entry.up += size
        else:
            entry.down += size
        entry.packets += 1
        entry.last = ts
        if seq is not None and (size or flags & (TCP_SYN | TCP_FIN)):  # a bare ACK after FIN is one past the data
            entry.sequence(upward, seq, size, bool(flags & TCP_SYN))
        if flags & TCP_RST:
            self._emit(key, self.entries.pop(key), emit, where)

    def _emit(self, key: tuple, entry: MeterEntry, emit: Emit, where: str) -> None:
        client, server, _cport, sport, proto = key
        if not entry.total(True) and not entry.total(False):
            return  # a bare handshake or a stray ACK moved nothing
        emit(FlowVolume(entry.first, entry.origin or where, ntop(client), ntop(server), sport, proto,
                        entry.total(True), entry.total(False), entry.packets, entry.last))

    def expire_idle(self, now: float, emit: Emit, where: str) -> None:
        for key in [k for k, e in self.entries.items() if now - e.last > self.idle_seconds]:
            self._emit(key, self.entries.pop(key), emit, where)

    def flush(self, emit: Emit, where: str) -> None:
        for key in list(self.entries):
            self._emit(key, self.entries.pop(key), emit, where)


def ntop(raw: bytes) -> str:
    """The text form of a raw IPv4 or IPv6 address."""
    return socket.inet_ntop(socket.AF_INET6 if len(raw) == 16 else socket.AF_INET, raw)
