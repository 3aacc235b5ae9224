"""Live capture: raw frames from network interfaces, filtered in the kernel.

Read-only AF_PACKET sockets (scapy's L2ListenSocket, which refuses to send).
A BPF filter built from the registered decoders keeps bulk traffic in the
kernel, so a busy mirror port does not drown the process; one reader thread
per interface feeds a bounded queue the scan thread drains.
"""

from __future__ import annotations

import queue
import select
import socket
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

from ..decoders.dispatch import TCP_FIN, TCP_RST, TCP_SYN, VolumeMeter, _ntop
from ..model import FlowVolume

SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_RCVBUFFORCE = 33
RECEIVE_BUFFER = 32 * 1024 * 1024
QUEUE_FRAMES = 200_000
POLL_SECONDS = 0.2

LINK_ETHERNET, LINK_RAW, LINK_80211, LINK_RADIOTAP, LINK_PPI = 1, 101, 105, 127, 192
DOT11_LINKTYPES = (LINK_80211, LINK_RADIOTAP, LINK_PPI)
ENCRYPTED_DECODERS = ("tls",)  # their ports carry bulk ciphertext: only handshake records pass
ALWAYS_UDP_PORTS = (67, 68, 546, 547)  # DHCP: which device had which address
QUIC_PORTS = (443,)
SETCAP_HINT = ("run as root, or grant the capability once with "
               "`sudo setcap cap_net_raw,cap_net_admin=eip $(readlink -f $(which python3))`")


class LiveCaptureError(Exception):
    """An interface cannot be captured (missing, down, bad filter)."""


class CapturePrivilegeError(LiveCaptureError):
    """The process lacks CAP_NET_RAW."""


# ---------------------------------------------------------------- the kernel filter


def _payload(version: int, proto: str, offset: int, size: int) -> str:
    """A BPF load of transport payload bytes (IPv6 without extension headers)."""
    if version == 4:
        if proto == "tcp":
            return f"tcp[((tcp[12:1] & 0xf0) >> 2) + {offset}:{size}]"
        return f"udp[{8 + offset}:{size}]"
    if proto == "tcp":
        return f"ip6[40 + ((ip6[52:1] & 0xf0) >> 2) + {offset}:{size}]"
    return f"ip6[{48 + offset}:{size}]"


def _prefix_test(version: int, proto: str, prefix: bytes) -> str:
    head = prefix[:4]
    size = 4 if len(head) >= 3 else len(head)
    value = int.from_bytes(head.ljust(size, b"\0"), "big")
    mask = int.from_bytes(b"\xff" * len(head) + b"\0" * (size - len(head)), "big")
    load = _payload(version, proto, 0, size)
    return f"{load} & 0x{mask:x} = 0x{value:x}" if len(head) < size else f"{load} = 0x{value:x}"


def _ports(proto: str, ports: Iterable[int]) -> str:
    listed = sorted(set(ports))
    return f"{proto} port ({' or '.join(map(str, listed))})" if listed else ""


def default_filter(decoders: list) -> str:
    """What the decoders need, and no more: the default kernel filter.

    Clear-text ports pass whole; encrypted ports only their handshake records
    and any TCP SYN/FIN/RST (volumes come from sequence numbers); payload
    signatures pass on any port; DNS, DHCP and QUIC Initials pass.
    """
    tcp_ports: set[int] = set()
    udp_ports: set[int] = set(ALWAYS_UDP_PORTS)
    tcp_prefixes: set[bytes] = set()
    udp_prefixes: set[bytes] = set()
    for decoder in decoders:
        if getattr(decoder, "name", "") not in ENCRYPTED_DECODERS:
            tcp_ports.update(getattr(decoder, "tcp_ports", ()) or ())
        udp_ports.update(getattr(decoder, "udp_ports", ()) or ())
        tcp_prefixes.update(p[:4] for p in (getattr(decoder, "client_prefixes", None) or ()))
        tcp_prefixes.update(p[:4] for p in (getattr(decoder, "server_prefixes", None) or ()))
        udp_prefixes.update(p[:4] for p in (getattr(decoder, "prefixes", None) or ()))
    clauses = [_ports("tcp", tcp_ports), _ports("udp", udp_ports),
               "tcp[13] & 0x07 != 0", "ip6[6] = 6 and ip6[53] & 0x07 != 0"]
    for version, guard in ((4, "ip and udp"), (6, "ip6[6] = 17")):
        clauses.append(f"{guard} and {_ports('udp', QUIC_PORTS)} and {_payload(version, 'udp', 0, 1)} & 0xc0 = 0xc0")
    for version, guard in ((4, "ip and tcp"), (6, "ip6[6] = 6")):
        tests = [_prefix_test(version, "tcp", p) for p in sorted(tcp_prefixes)]
        if tests:
            clauses.append(f"{guard} and ({' or '.join(tests)})")
    for version, guard in ((4, "ip and udp"), (6, "ip6[6] = 17")):
        tests = [_prefix_test(version, "udp", p) for p in sorted(udp_prefixes)]
        if tests:
            clauses.append(f"{guard} and ({' or '.join(tests)})")
    return " or ".join(f"({c})" for c in clauses if c)


def effective_filter(default: str, extra: Optional[str], mode: str) -> str:
    """``--bpf`` extends the default (default OR extra) or replaces it; '' = everything."""
    if not extra:
        return default
    if mode == "replace":
        return extra
    return f"({default}) or ({extra})"


def for_linktype(expression: str, linktype: int) -> str:
    """802.11 captures also need management frames (deauth, association)."""
    if linktype in DOT11_LINKTYPES and expression:
        return f"(type mgt) or ({expression})"
    return expression


def _compile(expression: str, linktype: int):
    from scapy.arch.common import compile_filter
    from scapy.error import Scapy_Exception

    try:
        return compile_filter(expression, linktype=linktype)
    except (Scapy_Exception, ImportError, OSError) as exc:
        raise LiveCaptureError(f"cannot use capture filter: {exc}") from None


def attach_filter(sock: socket.socket, expression: str, linktype: int) -> None:
    """Compile with libpcap for this link type and attach to the socket (SO_ATTACH_FILTER)."""
    from scapy.arch.common import free_filter
    from scapy.arch.linux import SO_ATTACH_FILTER
    from scapy.libs.structures import sock_fprog

    program = _compile(expression, linktype)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, sock_fprog(program.bf_len, program.bf_insns))
    finally:
        free_filter(program)


def check_filter(expression: str, linktype: int = LINK_ETHERNET) -> None:
    """Raise LiveCaptureError now for a filter libpcap rejects (before any socket is opened)."""
    if expression:
        from scapy.arch.common import free_filter

        free_filter(_compile(expression, linktype))


# ---------------------------------------------------------------- interfaces


def linktype_of(hatype: int) -> int:
    """Kernel ARPHRD_* -> pcap link type (loopback frames carry an Ethernet header)."""
    from scapy.data import ARPHRD_TO_DLT

    special = {1: LINK_ETHERNET, 772: LINK_ETHERNET, 65534: LINK_RAW, 801: LINK_80211, 803: LINK_RADIOTAP}
    if hatype in special:
        return special[hatype]
    linktype = ARPHRD_TO_DLT.get(hatype, LINK_ETHERNET)
    return linktype if linktype >= 0 else LINK_ETHERNET


@dataclass
class InterfaceStats:
    frames: int = 0
    bytes: int = 0
    kernel_drops: int = 0  # kernel socket buffer full (PACKET_STATISTICS)
    queue_drops: int = 0  # shadowit's queue full: the scan thread fell behind
    if_drops: Optional[int] = None  # the NIC/driver (rx_dropped delta)
    errors: list[str] = field(default_factory=list)


def _rx_dropped(iface: str) -> Optional[int]:
    try:
        return int(Path(f"/sys/class/net/{iface}/statistics/rx_dropped").read_text())
    except (OSError, ValueError):
        return None


class InterfaceReader:
    """One interface: a read-only socket and the thread that drains it."""

    def __init__(self, index: int, iface: str, expression: str, frames: queue.Queue):
        self.index = index
        self.iface = iface
        self.frames = frames
        self.stats = InterfaceStats()
        self.stop_event = threading.Event()
        self.sock = self._open()
        self.linktype = linktype_of(self.sock.ins.getsockname()[3])
        self.expression = for_linktype(expression, self.linktype)
        if self.expression:
            try:
                attach_filter(self.sock.ins, self.expression, self.linktype)
            except LiveCaptureError:
                self.sock.close()
                raise
        self._rx_dropped_start = _rx_dropped(iface)
        self._drain()
        self.kernel_drops_before = self.stats.kernel_drops
        self.stats.kernel_drops = 0
        self.thread = threading.Thread(target=self._run, name=f"capture-{iface}", daemon=True)

    def _open(self):
        from scapy.arch.linux import L2ListenSocket
        from scapy.error import Scapy_Exception

        try:
            sock = L2ListenSocket(iface=self.iface, promisc=True)
        except PermissionError:
            raise CapturePrivilegeError(f"capturing on {self.iface} needs CAP_NET_RAW: {SETCAP_HINT}") from None
        except (OSError, Scapy_Exception, ValueError) as exc:
            raise LiveCaptureError(f"cannot capture on {self.iface}: {getattr(exc, 'strerror', None) or exc}") \
                from None
        for option in (SO_RCVBUFFORCE, socket.SO_RCVBUF):
            try:
                sock.ins.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)
                break
            except OSError:
                continue
        return sock

    def _drain(self) -> None:
        """Frames queued before the filter was attached are dropped, not scanned."""
        fd = self.sock.ins
        while select.select([fd], [], [], 0)[0]:
            fd.recv(65535)
        self.kernel_drops()

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        fd = self.sock.ins
        try:
            while not self.stop_event.is_set():
                if not select.select([fd], [], [], POLL_SECONDS)[0]:
                    continue
                _, data, ts = self.sock.recv_raw(65535)
                if data is None:
                    continue
                self.stats.frames += 1
                self.stats.bytes += len(data)
                try:
                    self.frames.put_nowait((self.index, data, ts))
                except queue.Full:
                    self.stats.queue_drops += 1
        except (OSError, ValueError) as exc:
            if not self.stop_event.is_set():
                self.stats.errors.append(f"{self.iface}: read error: {exc}")
        finally:
            self.frames.put((self.index, None, None))

    def kernel_drops(self) -> int:
        """Accumulate PACKET_STATISTICS (the kernel resets it on every read)."""
        try:
            raw = self.sock.ins.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        except OSError:
            return self.stats.kernel_drops
        _, drops = struct.unpack("II", raw)
        self.stats.kernel_drops += drops
        now = _rx_dropped(self.iface)
        if now is not None and self._rx_dropped_start is not None:
            self.stats.if_drops = max(now - self._rx_dropped_start, 0)
        return self.stats.kernel_drops

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        self.stop()
        if self.thread.is_alive():
            self.thread.join(timeout=2 * POLL_SECONDS + 1)
        self.kernel_drops()
        self.sock.close()


class LiveSource:
    """Several interfaces, one queue: ``frames()`` yields (index, data, ts) in arrival order."""

    def __init__(self, interfaces: list[str], expression: str, max_queue: int = QUEUE_FRAMES):
        self.queue: queue.Queue = queue.Queue(max_queue)
        self.readers: list[InterfaceReader] = []
        try:
            for index, iface in enumerate(interfaces):
                self.readers.append(InterfaceReader(index, iface, expression, self.queue))
        except LiveCaptureError:
            self.close()
            raise
        self.open_readers = len(self.readers)

    def start(self) -> None:
        for reader in self.readers:
            reader.start()

    def next_frame(self, timeout: float) -> Optional[tuple[int, bytes, float]]:
        """The next frame, or None after ``timeout`` seconds (or when every reader ended)."""
        while self.open_readers:
            try:
                index, data, ts = self.queue.get(timeout=timeout)
            except queue.Empty:
                return None
            if data is None:
                self.open_readers -= 1
                continue
            return index, data, ts
        return None

    def close(self) -> None:
        for reader in self.readers:
            reader.close()


# ---------------------------------------------------------------- volumes from sequence numbers


class SequenceMeter(VolumeMeter):
    """Bytes per TCP flow from SYN/FIN/RST sequence numbers, so a kernel filter may drop the payload.

    The dispatcher's meter sums payload sizes, which a filtered capture never
    sees. ``observe_tcp`` is fed from the raw frame before dispatch; TCP counts
    from the dispatcher are ignored, UDP ones kept.
    """

    def __init__(self, max_entries: int, idle_seconds: float = 300.0):
        super().__init__(max_entries, idle_seconds)
        self.tcp: dict[tuple, list] = {}

    def count(self, src: bytes, dst: bytes, sport: int, dport: int, proto: str, size: int, ts: float,
              closing: bool, emit, where: str) -> None:
        if proto != "tcp":
            super().count(src, dst, sport, dport, proto, size, ts, closing, emit, where)

    def observe_tcp(self, src: bytes, dst: bytes, sport: int, dport: int, seq: int, flags: int, payload: int,
                    ts: float, emit, where: str) -> None:
        up = dst in self.watched
        if not up and src not in self.watched:
            return
        key = (src, dst, sport, dport) if up else (dst, src, dport, sport)
        entry = self.tcp.get(key)
        if entry is None:
            if len(self.tcp) >= self.max_entries:
                oldest = min(self.tcp, key=lambda k: self.tcp[k][3])
                self._emit_tcp(oldest, self.tcp.pop(oldest), emit, where)
            # [start up, end up, start down, end down, first ts, last ts, packets, fins]
            entry = self.tcp[key] = [None, None, None, None, ts, ts, 0, 0]
        side = 0 if up else 2
        start = (seq + 1) % (1 << 32) if flags & TCP_SYN else seq
        if entry[side] is None:
            entry[side] = start
        end = (seq + payload + (1 if flags & TCP_SYN else 0)) % (1 << 32)
        if entry[side + 1] is None or 0 < (end - entry[side + 1]) % (1 << 32) < (1 << 31):
            entry[side + 1] = end
        entry[5] = ts
        entry[6] += 1
        if flags & TCP_FIN:
            entry[7] |= 1 if up else 2
        if flags & TCP_RST or entry[7] == 3:
            self._emit_tcp(key, self.tcp.pop(key), emit, where)

    def _emit_tcp(self, key: tuple, entry: list, emit, where: str) -> None:
        client, server, _, sport = key
        up = (entry[1] - entry[0]) % (1 << 32) if entry[0] is not None else 0
        down = (entry[3] - entry[2]) % (1 << 32) if entry[2] is not None else 0
        emit(FlowVolume(entry[4], where, _ntop(client), _ntop(server), sport, "tcp", up, down, entry[6], entry[5]))

    def expire_idle(self, now: float, emit, where: str) -> None:
        super().expire_idle(now, emit, where)
        for key in [k for k, e in self.tcp.items() if now - e[5] > self.idle_seconds]:
            self._emit_tcp(key, self.tcp.pop(key), emit, where)

    def flush(self, emit, where: str) -> None:
        super().flush(emit, where)
        for key in list(self.tcp):
            self._emit_tcp(key, self.tcp.pop(key), emit, where)


def tcp_header(buf: bytes, linktype: int) -> Optional[tuple[bytes, bytes, int, int, int, int, int]]:
    """(src, dst, sport, dport, seq, flags, payload bytes) of a TCP frame on Ethernet or raw IP, else None."""
    off = 0
    if linktype == LINK_ETHERNET:
        if len(buf) < 14:
            return None
        ethertype = buf[12] << 8 | buf[13]
        off = 14
        while ethertype in (0x8100, 0x88A8) and off + 4 <= len(buf):
            ethertype, off = buf[off + 2] << 8 | buf[off + 3], off + 4
        version = 4 if ethertype == 0x0800 else 6 if ethertype == 0x86DD else 0
    elif linktype == LINK_RAW:
        version = buf[0] >> 4 if buf else 0
    else:
        return None
    if version == 4 and len(buf) >= off + 20 and buf[off + 9] == 6 and not (buf[off + 6] & 0x1F | buf[off + 7]):
        header = (buf[off] & 15) * 4
        total = buf[off + 2] << 8 | buf[off + 3]
        src, dst, l4 = buf[off + 12:off + 16], buf[off + 16:off + 20], off + header
        size = total - header
    elif version == 6 and len(buf) >= off + 40 and buf[off + 6] == 6:
        src, dst, l4 = buf[off + 8:off + 24], buf[off + 24:off + 40], off + 40
        size = buf[off + 4] << 8 | buf[off + 5]
    else:
        return None
    if len(buf) < l4 + 20:
        return None
    sport, dport, seq = struct.unpack_from("!HHI", buf, l4)
    payload = size - (buf[l4 + 12] >> 4) * 4
    return src, dst, sport, dport, seq, buf[l4 + 13] & (TCP_FIN | TCP_SYN | TCP_RST), max(payload, 0)
