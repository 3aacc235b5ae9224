"""Live capture: raw frames from network interfaces, filtered in the kernel.

Read-only AF_PACKET sockets (scapy's L2ListenSocket, which refuses to send).
A BPF filter built from the registered decoders keeps bulk traffic in the
kernel, so a busy mirror port does not drown the process; one reader thread
per interface feeds a bounded queue the scan thread drains.
"""

from __future__ import annotations

import logging
import queue
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_RCVBUFFORCE = 33
RECEIVE_BUFFER = 32 * 1024 * 1024
QUEUE_FRAMES = 200_000
POLL_SECONDS = 0.2
ARPHRD_LOOPBACK = 772

LINK_ETHERNET, LINK_RAW, LINK_80211, LINK_RADIOTAP, LINK_PPI = 1, 101, 105, 127, 192
DOT11_LINKTYPES = (LINK_80211, LINK_RADIOTAP, LINK_PPI)
ENCRYPTED_DECODERS = ("tls", "quic", "port-443", "bittorrent-mse", "openvpn-tcp")  # bulk ciphertext: handshakes only
MIN_PREFIX = 3  # shorter payload signatures would pass too much bulk traffic on any port
ALWAYS_UDP_PORTS = (67, 68, 546, 547)  # DHCP: which device had which address
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
    and any TCP SYN/FIN/RST (the dispatcher's meter
    computes volumes from their sequence numbers); payload
    signatures pass on any port; DNS, DHCP and QUIC Initials pass.
    """
    tcp_ports: set[int] = set()
    udp_ports: set[int] = set(ALWAYS_UDP_PORTS)
    quic_ports: set[int] = set()
    tcp_prefixes: set[bytes] = set()
    udp_prefixes: set[bytes] = set()
    for decoder in decoders:
        encrypted = getattr(decoder, "name", "") in ENCRYPTED_DECODERS
        if not encrypted:
            tcp_ports.update(getattr(decoder, "tcp_ports", ()) or ())
        (quic_ports if encrypted else udp_ports).update(getattr(decoder, "udp_ports", ()) or ())
        for attribute, target in (("client_prefixes", tcp_prefixes), ("server_prefixes", tcp_prefixes),
                                  ("prefixes", udp_prefixes)):
            target.update(p[:4] for p in (getattr(decoder, attribute, None) or ()) if len(p) >= MIN_PREFIX)
    clauses = [_ports("tcp", tcp_ports), _ports("udp", udp_ports),
               "tcp[13] & 0x07 != 0", "ip6[6] = 6 and ip6[53] & 0x07 != 0"]
    for version, guard in ((4, "ip and udp"), (6, "ip6[6] = 17")):
        if quic_ports:  # QUIC long-header packets only (Initial carries the SNI)
            long_header = f"{_payload(version, 'udp', 0, 1)} & 0xc0 = 0xc0"
            clauses.append(f"{guard} and {_ports('udp', quic_ports)} and {long_header}")
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
        self.hatype = self.sock.ins.getsockname()[3]
        self.linktype = linktype_of(self.hatype)
        self.expression = for_linktype(expression, self.linktype)
        if self.expression:
            try:
                attach_filter(self.sock.ins, self.expression, self.linktype)
            except LiveCaptureError:
                self.sock.close()
                raise
        self._rx_dropped_start = _rx_dropped(iface)
        self._drain()
        self.stats.kernel_drops = 0
        self.thread = threading.Thread(target=self._run, name=f"capture-{iface}", daemon=True)

    def _open(self):
        from scapy.arch.linux import L2ListenSocket
        from scapy.error import Scapy_Exception

        quiet = logging.getLogger("scapy.runtime")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # "Unable to guess type" for loopback: we map link types ourselves
        try:
            sock = L2ListenSocket(iface=self.iface, promisc=True)
        except PermissionError:
            raise CapturePrivilegeError(f"capturing on {self.iface} needs CAP_NET_RAW: {SETCAP_HINT}") from None
        except (OSError, Scapy_Exception, ValueError) as exc:
            raise LiveCaptureError(f"cannot capture on {self.iface}: {getattr(exc, 'strerror', None) or exc}") \
                from None
        finally:
            quiet.setLevel(level)
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
        loopback = self.hatype == ARPHRD_LOOPBACK
        try:
            while not self.stop_event.is_set():
                if not select.select([fd], [], [], POLL_SECONDS)[0]:
                    continue
                data, address, ts = self.sock._recv_raw(fd, 65535)
                if not data or (loopback and address[2] == socket.PACKET_OUTGOING):
                    continue  # loopback shows every packet twice, as libpcap knows
                if ts is None:
                    ts = time.time()
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
