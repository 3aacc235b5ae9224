"""Every flow metered whole, like a Zeek ``conn.log`` record: bytes and packets each way, first to last packet.

Each TCP and UDP flow is counted from its first packet, whatever a decoder or
detector thinks of it yet; which service a flow belongs to is decided later, by
joining its record with the directory of names (``detector/site/names.py``), so
volumes do not depend on whether a DNS answer came before or after the flow's
first packets. A flow becomes one ``FlowVolume`` observation when it ends
(both FINs or an RST, idle too long, evicted from the bounded table, or the
input ends). The table is bounded; evictions
are counted. Flows still open when an incremental run ends are handed over
(``carry``) and continued by the next run (``resume``).
"""

from __future__ import annotations

import socket
from typing import Callable, Iterable, Optional

from detector.capture.flows import HALF, MOD, TCP_FIN, TCP_RST, TCP_SYN
from detector.observations import Emit, FlowVolume

TCP_SYN_ACK = 0x12


class FlowRecord:
    """One flow: who spoke first (``orig``), bytes and packets of each side, first and last packet.

    Bytes are the larger of the payload seen and the TCP sequence span (first
    sequence to FIN): the span still measures a flow when a kernel filter kept
    only its handshake and teardown.
    """

    __slots__ = ("orig_key", "keys", "octets", "packets", "first", "last", "origin", "starts", "ends", "fins")

    def __init__(self, orig_key: bytes, keys: tuple[bytes, bytes], ts: float, origin: str):
        self.orig_key = orig_key  # src + dst + ports as the originator sends them
        self.keys = keys
        self.octets = [0, 0]  # originator, responder
        self.packets = [0, 0]
        self.first = self.last = ts
        self.origin = origin  # "file:frame N" of the first packet: the flow's evidence cites it
        self.starts: list[Optional[int]] = [None, None]  # first sequence number of each side
        self.ends = [0, 0]  # sequence number after the last byte each side is known to have sent
        self.fins = 0  # bit 0: originator sent FIN, bit 1: responder

    def sequence(self, side: int, seq: int, size: int, flags: int) -> None:
        """A side's first packet opens its span; data and FIN move its end forward (as Zeek counts bytes, a
        segment the capture missed still counts); a repeated SYN (another ISN) never does."""
        start = self.starts[side]
        if start is None:
            start = self.starts[side] = (seq + 1) % MOD if flags & TCP_SYN else seq
            self.ends[side] = (start + size) % MOD
        elif not flags & TCP_SYN and (size or flags & TCP_FIN):
            end = (seq + size) % MOD
            if (self.ends[side] - start) % MOD < (end - start) % MOD < HALF:
                self.ends[side] = end
        if flags & TCP_FIN:
            self.fins |= 1 << side

    def total(self, side: int) -> int:
        start = self.starts[side]
        counted = self.octets[side]
        return max(counted, (self.ends[side] - start) % MOD) if start is not None else counted


class FlowMeter:
    """The bounded table of every TCP and UDP flow of the scan; one path for files and live capture."""

    def __init__(self, emit: Emit, is_local: Callable[[str], bool], max_flows: int,
                 idle_seconds: float = 300.0):
        self.emit = emit
        self.is_local = is_local  # the site's networks (declared or inferred so far): who is the device
        self.tcp_flows: dict[bytes, FlowRecord] = {}  # both directions' keys -> one record
        self.udp_flows: dict[bytes, FlowRecord] = {}
        self.max_flows = max_flows  # per transport
        self.idle_seconds = idle_seconds
        self.evicted = 0  # flows cut short by a full table: reported on the input
        self.source = ""

    def tcp(self, key: bytes, size: int, seq: int, flags: int, ts: float, frame_no: int) -> None:
        """One TCP segment; ``key`` is src + dst + the raw port pair."""
        flows = self.tcp_flows
        record = flows.get(key)
        if record is None:
            record = self._open(flows, key, ts, frame_no, flags & TCP_SYN_ACK == TCP_SYN_ACK)
        side = 0 if key == record.orig_key else 1
        record.octets[side] += size
        record.packets[side] += 1
        record.last = ts
        if size or flags & 7 or record.starts[side] is None:
            record.sequence(side, seq, size, flags)
            if flags & TCP_RST or record.fins == 3:
                self._end(flows, record, "tcp")

    def udp(self, key: bytes, size: int, ts: float, frame_no: int) -> None:
        """One UDP datagram."""
        flows = self.udp_flows
        record = flows.get(key)
        if record is None:
            record = self._open(flows, key, ts, frame_no, False)
        side = 0 if key == record.orig_key else 1
        record.octets[side] += size
        record.packets[side] += 1
        record.last = ts

    def _open(self, flows: dict[bytes, FlowRecord], key: bytes, ts: float, frame_no: int,
              reply_first: bool) -> FlowRecord:
        if len(flows) >= 2 * self.max_flows:  # the oldest flow is cut here: its record so far is emitted
            self.evicted += 1
            self._end(flows, flows[next(iter(flows))], "tcp" if flows is self.tcp_flows else "udp")
        reverse = reverse_key(key)
        record = FlowRecord(reverse if reply_first else key, (key, reverse), ts, f"{self.source}:frame {frame_no}")
        flows[key] = flows[reverse] = record
        return record

    def _end(self, flows: dict[bytes, FlowRecord], record: FlowRecord, transport: str) -> None:
        for key in record.keys:
            flows.pop(key, None)
        self._emit(record, transport)

    def _emit(self, record: FlowRecord, transport: str) -> None:
        """The flow's record, if it moved bytes: the site's device is the client when one side is remote."""
        up, down = record.total(0), record.total(1)
        if not up and not down:
            return  # a bare handshake or a stray ACK moved nothing
        key = record.orig_key
        half = (len(key) - 4) // 2
        orig, resp = key[:half], key[half:2 * half]
        if special(orig) or special(resp):
            return  # loopback, multicast, broadcast: never a flow that leaves the site
        orig_text, resp_text = ntop(orig), ntop(resp)
        orig_local, resp_local = self.is_local(orig_text), self.is_local(resp_text)
        server_port = key[-2] << 8 | key[-1]
        if resp_local and not orig_local:  # a remote host opened it: the device is still the client
            orig_text, resp_text, up, down, server_port = resp_text, orig_text, down, up, key[-4] << 8 | key[-3]
        self.emit(FlowVolume(record.first, record.origin, orig_text, resp_text, server_port, transport, up, down,
                             record.packets[0] + record.packets[1], record.last, whole=True))

    def expire_idle(self, now: float) -> None:
        for flows, transport in ((self.tcp_flows, "tcp"), (self.udp_flows, "udp")):
            idle = [r for k, r in flows.items() if k is r.keys[0] and now - r.last > self.idle_seconds]
            for record in idle:
                self._end(flows, record, transport)

    def flush(self) -> None:
        """End of input: every open flow's record."""
        for flows, transport in ((self.tcp_flows, "tcp"), (self.udp_flows, "udp")):
            for record in [r for k, r in flows.items() if k is r.keys[0]]:
                self._end(flows, record, transport)

    def carry(self) -> list[tuple]:
        """End of an incremental run: flows active in the input's last ``idle_seconds`` are handed to the next
        run (``resume``); the others are finished now."""
        carried: list[tuple] = []
        now = max((r.last for flows in (self.tcp_flows, self.udp_flows) for r in flows.values()), default=0.0)
        for flows, transport in ((self.tcp_flows, "tcp"), (self.udp_flows, "udp")):
            for record in [r for k, r in flows.items() if k is r.keys[0]]:
                if now - record.last > self.idle_seconds:
                    self._end(flows, record, transport)
                    continue
                for key in record.keys:
                    flows.pop(key, None)
                carried.append((transport, record.orig_key, record.octets[0], record.octets[1], record.packets[0],
                                record.packets[1], record.first, record.last, record.origin, record.starts[0],
                                record.starts[1], record.ends[0], record.ends[1], record.fins))
        return carried

    def resume(self, rows: Iterable[tuple]) -> None:
        """Flows an earlier incremental run left open: their next packets continue the same records."""
        for (transport, orig_key, up, down, packets_up, packets_down, first, last, origin, start_up, start_down,
             end_up, end_down, fins) in rows:
            flows = self.tcp_flows if transport == "tcp" else self.udp_flows
            if len(flows) >= 2 * self.max_flows or orig_key in flows or len(orig_key) not in (12, 36):
                continue
            reverse = reverse_key(orig_key)
            record = FlowRecord(orig_key, (orig_key, reverse), first, origin)
            record.octets, record.packets, record.last = [up, down], [packets_up, packets_down], last
            record.starts, record.ends, record.fins = [start_up, start_down], [end_up, end_down], fins
            flows[orig_key] = flows[reverse] = record


def reverse_key(key: bytes) -> bytes:
    """The key of the other direction: dst + src + swapped ports."""
    half = (len(key) - 4) // 2
    ports = key[2 * half:]
    return key[half:2 * half] + key[:half] + ports[2:] + ports[:2]


def special(raw: bytes) -> bool:
    """Loopback, unspecified, multicast or broadcast: an address no flow leaves the site to."""
    if len(raw) == 4:
        return raw[0] >= 224 or raw[0] == 127 or raw[0] == 0
    return raw[0] == 0xFF or raw == b"\0" * 15 + b"\1" or raw == b"\0" * 16


def ntop(raw: bytes) -> str:
    """The text form of a raw IPv4 or IPv6 address."""
    return socket.inet_ntop(socket.AF_INET6 if len(raw) == 16 else socket.AF_INET, raw)
