"""Bounded TCP reassembly: in-order bytes per direction for the flows that matter.

Tolerates retransmissions and overlaps (already-delivered bytes are trimmed),
out-of-order segments (held up to a per-direction limit), captures that start
mid-session (the first segment seen sets the sequence origin) and sequence
wrap-around. Memory is bounded by a flow limit with LRU eviction, an idle
timeout, and a per-direction cap after which a flow stops being followed.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Optional, Sequence

from detector.protocols.base import StreamSession

MOD = 1 << 32  # TCP sequence numbers wrap at 2**32
HALF = 1 << 31
TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK = 0x01, 0x02, 0x04, 0x10
MAX_PENDING_SEGMENTS = 64


def seq_diff(a: int, b: int) -> int:
    """a - b in sequence space (negative when a is before b)."""
    d = (a - b) % MOD
    return d - MOD if d >= HALF else d


class Direction:
    __slots__ = ("next_seq", "pending", "pending_bytes", "delivered", "fin")

    def __init__(self) -> None:
        self.next_seq: Optional[int] = None
        self.pending: dict[int, bytes] = {}
        self.pending_bytes = 0
        self.delivered = 0
        self.fin = False

    def accept(self, seq: int, data: bytes, limit: int) -> list[bytes]:
        """Return the chunks that became contiguous with this segment."""
        if self.next_seq is None:
            self.next_seq = seq
        ahead = seq_diff(seq, self.next_seq)
        if ahead < 0:
            if -ahead >= len(data):
                return []  # pure retransmission
            data = data[-ahead:]
            ahead = 0
        if ahead > 0:
            self._hold(seq, data, limit)
            return self._drain_after_gap(limit)
        out = [data]
        self.next_seq = (self.next_seq + len(data)) % MOD
        out.extend(self._drain())
        return out

    def _hold(self, seq: int, data: bytes, limit: int) -> None:
        if len(self.pending) < MAX_PENDING_SEGMENTS and self.pending_bytes + len(data) <= limit:
            old = self.pending.get(seq)
            if old is None or len(old) < len(data):
                self.pending_bytes += len(data) - (len(old) if old else 0)
                self.pending[seq] = data

    def _drain(self) -> list[bytes]:
        out: list[bytes] = []
        while self.pending:
            progressed = False
            for seq in list(self.pending):
                ahead = seq_diff(seq, self.next_seq)
                if ahead > 0:
                    continue
                data = self.pending.pop(seq)
                self.pending_bytes -= len(data)
                if -ahead < len(data):
                    chunk = data[-ahead:] if ahead else data
                    out.append(chunk)
                    self.next_seq = (self.next_seq + len(chunk)) % MOD
                progressed = True
            if not progressed:
                break
        return out

    def _drain_after_gap(self, limit: int) -> list[bytes]:
        """When holding is no longer possible, accept the loss and skip to the data we have."""
        if len(self.pending) < MAX_PENDING_SEGMENTS and self.pending_bytes < limit:
            return []
        return self.skip_gap()

    def skip_gap(self) -> list[bytes]:
        """Give up on missing bytes: continue from the earliest segment held."""
        if not self.pending or self.next_seq is None:
            return []
        self.next_seq = min(self.pending, key=lambda s: seq_diff(s, self.next_seq))
        return self._drain()

    def acknowledged(self, ack: int) -> list[bytes]:
        """The peer acknowledged bytes the capture never showed us: they are lost, skip them."""
        if not self.pending or self.next_seq is None or seq_diff(ack, self.next_seq) <= 0:
            return []
        first = min(self.pending, key=lambda s: seq_diff(s, self.next_seq))
        if seq_diff(first, ack) > 0:
            return []  # the held data starts beyond what was acknowledged: a retransmission may still come
        return self.skip_gap()


class Flow:
    __slots__ = ("session", "client_key", "dirs", "last_ts", "done", "keys", "origin")

    def __init__(self, session: Optional[StreamSession], client_key: bytes):
        self.session = session
        self.client_key = client_key  # src+dst key as seen in client->server packets
        self.dirs = (Direction(), Direction())  # client->server, server->client
        self.last_ts = 0.0
        self.done = session is None
        self.keys: tuple[bytes, ...] = ()
        self.origin = ""  # "file:frame N" of its first packet: what a session closed at the end of input cites


class FlowTable:
    """Flows keyed both ways by raw address/port bytes, LRU-bounded."""

    def __init__(self, max_flows: int, max_stream_bytes: int, idle_seconds: float = 600.0):
        self.flows: OrderedDict[bytes, Flow] = OrderedDict()
        self.max_flows = max_flows
        self.max_stream_bytes = max_stream_bytes
        self.idle_seconds = idle_seconds
        self.closing: Optional[Flow] = None  # the flow being dropped, while its session flushes

    def get(self, key: bytes) -> Optional[Flow]:
        return self.flows.get(key)

    def add(self, key: bytes, reverse_key: bytes, flow: Flow, ts: float, where: str) -> None:
        flow.keys = (key, reverse_key)
        flow.origin = where
        flow.last_ts = ts
        self.flows[key] = flow
        self.flows[reverse_key] = flow
        while len(self.flows) > 2 * self.max_flows:
            _, oldest = self.flows.popitem(last=False)
            self._drop(oldest, ts, where)

    def segment(self, flow: Flow, key: bytes, seq: int, data: bytes, ts: float, where: str) -> None:
        """Deliver a segment's payload to the flow's session in order."""
        self.segment_from(flow, key == flow.client_key, seq, data, ts, where)

    def segment_from(self, flow: Flow, from_client: bool, seq: int, data: bytes, ts: float, where: str) -> None:
        """``segment`` for a caller that already knows the direction (the dispatcher's hot path)."""
        direction = flow.dirs[0 if from_client else 1]
        if direction.delivered >= self.max_stream_bytes:
            return
        expected = direction.next_seq
        if (expected == seq or expected is None) and not direction.pending:
            # in order with nothing held (nearly every segment): what Direction.accept would return, directly
            direction.next_seq = (seq + len(data)) % MOD
            chunks: Sequence[bytes] = (data,)
        else:
            chunks = direction.accept(seq, data, self.max_stream_bytes)
        self._deliver(flow, from_client, chunks, ts, where)

    def acknowledge(self, flow: Flow, key: bytes, ack: int, ts: float, where: str) -> None:
        """An ACK from one side may prove that the other side's missing bytes are lost for good."""
        from_client = key == flow.client_key
        other = flow.dirs[1 if from_client else 0]
        if other.pending:
            self._deliver(flow, not from_client, other.acknowledged(ack), ts, where)

    def _deliver(self, flow: Flow, from_client: bool, chunks: Sequence[bytes], ts: float, where: str) -> None:
        direction = flow.dirs[0 if from_client else 1]
        limit = self.max_stream_bytes
        for chunk in chunks:
            room = limit - direction.delivered
            if len(chunk) > room:
                chunk = chunk[:room]
            direction.delivered += len(chunk)
            session = flow.session
            if session is not None and chunk and not session.feed(from_client, chunk, ts, where):
                flow.done = True
                return

    def close(self, flow: Flow, ts: float, where: str) -> None:
        for key in flow.keys:
            self.flows.pop(key, None)
        self._drop(flow, ts, where)

    def _drop(self, flow: Flow, ts: float, where: str) -> None:
        for key in flow.keys:
            self.flows.pop(key, None)
        self.closing = flow
        try:
            self._flush(flow, ts, where)
        finally:
            self.closing = None

    def _flush(self, flow: Flow, ts: float, where: str) -> None:
        if flow.session is not None and not flow.done:
            for index, direction in enumerate(flow.dirs):  # what was held behind a gap that never filled
                while direction.pending and not flow.done:
                    self._deliver(flow, index == 0, direction.skip_gap(), ts, where)
        if flow.session is not None:
            session, flow.session = flow.session, None
            session.close(ts, where)

    def expire_idle(self, now: float, where: str) -> None:
        while self.flows:
            key, flow = next(iter(self.flows.items()))
            if now - flow.last_ts < self.idle_seconds:
                break
            self._drop(flow, now, where)
            self.flows.pop(key, None)

    def close_all(self, where: str) -> None:
        """End of input: each session flushes citing its own flow's first frame, not the last file read."""
        for flow in list(self.flows.values()):
            self._drop(flow, flow.last_ts, flow.origin or where)
        self.flows.clear()
