"""The per-packet fast path: decide from raw bytes which packets matter.

Every frame of a capture passes through ``PacketDispatcher.handle``. It reads a
few header bytes in place (no copy, no scapy) and hands on only the packets a
decoder registered for: by UDP/TCP port, by payload prefix, by 802.11 frame
type. Before that, every TCP and UDP packet is counted by the flow meter
(``capture/meter.py``), whether a decoder wants it or not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from struct import Struct
from typing import Callable, Optional

from detector.capture.flows import MOD, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, Flow, FlowTable
from detector.capture.meter import FlowMeter, ntop
from detector.observations import Emit
from detector.protocols.base import Datagram, DatagramDecoder, Endpoints, EtherDecoder, FrameDecoder, StreamDecoder
from detector.protocols.dot11 import CAPTURE_HEADER_LINKTYPES, capture_header_length

U16 = Struct("!H")
U32 = Struct("!I")
PORTS = Struct("!HH")

LINK_ETHERNET = 1
LINK_NULL = 0
LINK_LOOP = 108
LINK_RAW = (101, 12, 14)
LINK_IPV4 = 228
LINK_IPV6 = 229
LINK_SLL = 113
LINK_SLL2 = 276
LINK_80211 = 105
LINK_PPI = 192
LINK_RADIOTAP = 127

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
VLAN_TAGS = (0x8100, 0x88A8, 0x9100)
IPV6_EXTENSIONS = {0, 43, 60, 44, 51}
NULL_IPV6_FAMILIES = {24, 28, 30}

EXPIRE_MASK = 0xFFFF  # sweep idle flows every 65536 frames


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class DispatchStats:
    """Frame counts and contained decoder errors, reported on the input."""

    frames: int = 0
    decoder_errors: int = 0
    unknown_linktypes: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


class PacketDispatcher:
    """Routes raw frames to the decoders that registered for them."""

    def __init__(self, decoders: list, emit: Emit, max_flows: int = 65536,
                 max_stream_bytes: int = 256 * 1024, is_local: Callable[[str], bool] = lambda address: False):
        self.emit = emit
        self.stats = DispatchStats()
        self.meter = FlowMeter(emit, is_local, max_flows)
        self.udp_ports: dict[int, list[DatagramDecoder]] = {}
        self.udp_prefixed: list[DatagramDecoder] = []
        self.tcp_ports: dict[int, list[StreamDecoder]] = {}
        self.tcp_prefixed: list[StreamDecoder] = []
        self.frame_decoders: list[FrameDecoder] = []
        self.ether_decoders: dict[int, list[EtherDecoder]] = {}
        for decoder in decoders:
            self._register(decoder)
        self.udp_prefixes = tuple(p for d in self.udp_prefixed for p in d.prefixes)
        self.tcp_prefixes = tuple(
            p for d in self.tcp_prefixed for p in d.client_prefixes + d.server_prefixes
        )
        self.flows = FlowTable(max_flows, max_stream_bytes)
        self.rejected: dict[bytes, None] = {}  # flows whose first bytes matched no decoder
        # port pairs (both directions) of rejected or finished flows: the hot path decodes none of their segments
        self.quiet_pairs: set[bytes] = set()
        self.flow_map = self.flows.flows

    @property
    def source(self) -> str:
        """The capture being read (its file name): what "file:frame N" evidence names."""
        return self.meter.source

    @source.setter
    def source(self, name: str) -> None:
        self.meter.source = name

    def _register(self, decoder: object) -> None:
        if isinstance(decoder, DatagramDecoder):
            for port in decoder.udp_ports:
                self.udp_ports.setdefault(port, []).append(decoder)
            if decoder.prefixes:
                self.udp_prefixed.append(decoder)
        elif isinstance(decoder, StreamDecoder):
            for port in decoder.tcp_ports:
                self.tcp_ports.setdefault(port, []).append(decoder)
            if decoder.client_prefixes or decoder.server_prefixes:
                self.tcp_prefixed.append(decoder)
        elif isinstance(decoder, FrameDecoder):
            self.frame_decoders.append(decoder)
        elif isinstance(decoder, EtherDecoder):
            for ethertype in decoder.ethertypes:
                self.ether_decoders.setdefault(ethertype, []).append(decoder)

    # ------------------------------------------------------------ link layer

    def handle(self, buf: bytes, off: int, caplen: int, ts: float, linktype: int, frame_no: int) -> None:
        """FrameHandler for the capture readers: one call per frame.

        Plain Ethernet/IPv4 (most of any office capture) is parsed inline and
        goes straight to the transport handler: no call per layer. Segments of
        flows no decoder wants and bare ACKs are metered and dropped after a few byte reads.
        Everything else (VLAN, IPv6, other link types, ARP) takes the general path.
        """
        if frame_no & EXPIRE_MASK == 0:
            self._expire(ts, frame_no)
        if linktype != 1 or caplen < 34 or buf[off + 12] != 8 or buf[off + 13]:
            self._general(buf, off, caplen, ts, linktype, frame_no)
            return
        ip = off + 14  # the same arithmetic as _ipv4, inlined
        end = off + caplen
        first = buf[ip]
        ihl = (first & 15) * 4
        total = buf[ip + 2] << 8 | buf[ip + 3]
        if total >= ihl and ip + total < end:
            end = ip + total  # drop Ethernet padding
        if buf[ip + 6] & 0x1F or buf[ip + 7]:
            return  # a non-first fragment carries no transport header
        proto = buf[ip + 9]
        l4 = ip + ihl
        if proto == 6:
            if end - l4 < 20:
                return
            flags = buf[l4 + 13]
            size = end - l4 - (buf[l4 + 12] >> 4) * 4
            self.meter.tcp(buf[ip + 12:ip + 20] + buf[l4:l4 + 4], size if size > 0 else 0,
                           buf[l4 + 4] << 24 | buf[l4 + 5] << 16 | buf[l4 + 6] << 8 | buf[l4 + 7], flags, ts, frame_no)
            if not flags & 7:  # no SYN, FIN or RST
                if size <= 0:
                    return  # a bare ACK moves nothing a decoder reads
                if first == 0x45 and caplen >= 54 and buf[l4:l4 + 4] in self.quiet_pairs:
                    return
            self._tcp(buf, l4, end, buf[ip + 12:ip + 16], buf[ip + 16:ip + 20], ts, frame_no)
        elif proto == 17:
            if end - l4 >= 8:
                self._udp(buf, l4, end, buf[ip + 12:ip + 16], buf[ip + 16:ip + 20], ts, frame_no)

    def _general(self, buf: bytes, off: int, caplen: int, ts: float, linktype: int, frame_no: int) -> None:
        end = off + caplen
        if linktype == LINK_ETHERNET:
            if caplen < 14:
                return
            ethertype = buf[off + 12] << 8 | buf[off + 13]
            off += 14
            while ethertype in VLAN_TAGS and off + 4 <= end:
                ethertype = buf[off + 2] << 8 | buf[off + 3]
                off += 4
        else:
            ethertype, off = self._link(buf, off, end, ts, linktype, frame_no)
        if ethertype == ETH_IPV4:
            self._ipv4(buf, off, end, ts, frame_no)
        elif ethertype == ETH_IPV6:
            self._ipv6(buf, off, end, ts, frame_no)
        elif ethertype in self.ether_decoders:
            payload, where = bytes(buf[off:end]), f"{self.source}:frame {frame_no}"
            for decoder in self.ether_decoders[ethertype]:
                self._guard(decoder.decode, payload, ts, where, self.emit)

    def _link(self, buf: bytes, off: int, end: int, ts: float, linktype: int, frame_no: int) -> tuple[int, int]:
        if linktype in LINK_RAW or linktype == LINK_IPV4 or linktype == LINK_IPV6:
            if off >= end:
                return 0, off
            version = buf[off] >> 4
            return (ETH_IPV4 if version == 4 else ETH_IPV6 if version == 6 else 0), off
        if linktype == LINK_SLL:
            return (U16.unpack_from(buf, off + 14)[0] if end - off >= 16 else 0), off + 16
        if linktype == LINK_SLL2:
            return (U16.unpack_from(buf, off)[0] if end - off >= 20 else 0), off + 20
        if linktype == LINK_NULL or linktype == LINK_LOOP:
            if end - off < 4:
                return 0, off
            raw = buf[off:off + 4]
            family = int.from_bytes(raw, "big" if linktype == LINK_LOOP else "little")
            if family > 0xFFFF:  # written on a host of the other byte order
                family = int.from_bytes(raw, "little" if linktype == LINK_LOOP else "big")
            kind = ETH_IPV4 if family == 2 else ETH_IPV6 if family in NULL_IPV6_FAMILIES else 0
            return kind, off + 4
        if linktype in (LINK_80211, LINK_RADIOTAP, LINK_PPI):
            return self._dot11(buf, off, end, ts, linktype, frame_no)
        if linktype in CAPTURE_HEADER_LINKTYPES:  # Prism, AVS: strip their header like radiotap's
            skip = capture_header_length(buf, off, end, linktype)
            return self._dot11(buf, off + skip, end, ts, LINK_80211, frame_no) if skip >= 0 else (0, off)
        self.stats.unknown_linktypes.add(linktype)
        return 0, off

    def _dot11(self, buf: bytes, off: int, end: int, ts: float, linktype: int, frame_no: int) -> tuple[int, int]:
        if linktype == LINK_RADIOTAP or linktype == LINK_PPI:
            if end - off < 8:
                return 0, off
            off += buf[off + 2] | buf[off + 3] << 8
        if end - off < 24:
            return 0, off
        fc0, fc1 = buf[off], buf[off + 1]
        ftype = (fc0 >> 2) & 3
        if ftype == 0:
            frame = bytes(buf[off:end])
            where = f"{self.source}:frame {frame_no}"
            for decoder in self.frame_decoders:
                self._guard(decoder.decode, frame, ts, where, self.emit)
            return 0, off
        if ftype != 2 or fc1 & 0x40:  # only unprotected data frames carry readable IP
            return 0, off
        header = 30 if fc1 & 3 == 3 else 24
        if (fc0 >> 4) & 8:
            header += 2
        llc = off + header
        if end - llc < 8 or buf[llc:llc + 6] != b"\xaa\xaa\x03\x00\x00\x00":
            return 0, off
        return buf[llc + 6] << 8 | buf[llc + 7], llc + 8

    # ------------------------------------------------------------ network layer

    def _ipv4(self, buf: bytes, off: int, end: int, ts: float, frame_no: int) -> None:
        if end - off < 20:
            return
        ihl = (buf[off] & 15) * 4
        total = buf[off + 2] << 8 | buf[off + 3]
        if total >= ihl and off + total < end:
            end = off + total  # drop Ethernet padding
        if (buf[off + 6] & 0x1F) | buf[off + 7]:
            return  # a non-first fragment carries no transport header
        proto = buf[off + 9]
        self._transport(buf, off + ihl, end, proto, buf[off + 12:off + 16], buf[off + 16:off + 20],
                        ts, frame_no)

    def _ipv6(self, buf: bytes, off: int, end: int, ts: float, frame_no: int) -> None:
        if end - off < 40:
            return
        plen = buf[off + 4] << 8 | buf[off + 5]
        if off + 40 + plen < end:
            end = off + 40 + plen
        proto = buf[off + 6]
        src, dst = buf[off + 8:off + 24], buf[off + 24:off + 40]
        pos = off + 40
        while proto in IPV6_EXTENSIONS and pos + 8 <= end:
            if proto == 44:
                if (buf[pos + 2] << 8 | buf[pos + 3]) & 0xFFF8:
                    return
                proto, pos = buf[pos], pos + 8
            elif proto == 51:
                proto, pos = buf[pos], pos + (buf[pos + 1] + 2) * 4
            else:
                proto, pos = buf[pos], pos + (buf[pos + 1] + 1) * 8
        self._transport(buf, pos, end, proto, src, dst, ts, frame_no)

    def _transport(self, buf: bytes, l4: int, end: int, proto: int, src: bytes, dst: bytes,
                   ts: float, frame_no: int) -> None:
        if proto == 6:
            if end - l4 >= 20:
                size = end - l4 - (buf[l4 + 12] >> 4) * 4
                self.meter.tcp(src + dst + buf[l4:l4 + 4], size if size > 0 else 0, U32.unpack_from(buf, l4 + 4)[0],
                               buf[l4 + 13], ts, frame_no)
                self._tcp(buf, l4, end, src, dst, ts, frame_no)
        elif proto == 17:
            if end - l4 >= 8:
                self._udp(buf, l4, end, src, dst, ts, frame_no)

    # ------------------------------------------------------------ transport

    def _udp(self, buf: bytes, l4: int, end: int, src: bytes, dst: bytes, ts: float, frame_no: int) -> None:
        self.meter.udp(src + dst + buf[l4:l4 + 4], end - l4 - 8, ts, frame_no)
        sport, dport = PORTS.unpack_from(buf, l4)
        decoders = self.udp_ports.get(dport) or self.udp_ports.get(sport)
        payload = None
        if decoders is None and self.udp_prefixes:
            payload = bytes(buf[l4 + 8:end])
            if not payload.startswith(self.udp_prefixes):
                return
            decoders = [d for d in self.udp_prefixed if payload.startswith(d.prefixes)]
        if not decoders:
            return
        if payload is None:
            payload = bytes(buf[l4 + 8:end])
        dgram = Datagram(ts, f"{self.source}:frame {frame_no}", ntop(src), ntop(dst), sport, dport, payload)
        for decoder in decoders:
            self._guard(decoder.decode, dgram, self.emit)

    def _tcp(self, buf: bytes, l4: int, end: int, src: bytes, dst: bytes, ts: float, frame_no: int) -> None:
        flags = buf[l4 + 13]
        data_off = l4 + (buf[l4 + 12] >> 4) * 4
        size = end - data_off
        if size <= 0 and not flags & 7:  # no SYN, FIN or RST
            return
        key = src + dst + buf[l4:l4 + 4]
        flow = self.flow_map.get(key)
        if flow is None:
            if flags & TCP_SYN:  # a new connection: whatever was decided for an old one no longer holds
                self.rejected.pop(key, None)
                self._set_quiet(buf, l4, False)
            if size <= 0 or key in self.rejected:
                if flags & TCP_SYN and not flags & TCP_ACK:
                    self._maybe_open_on_syn(buf, l4, src, dst, key, ts, frame_no)
                return
            flow = self._open(buf, l4, data_off, end, src, dst, key, ts, frame_no)
            if flow is None:
                return
        flows = self.flows
        if flow.done:
            if flags & 5:  # FIN or RST
                flows.close(flow, ts, f"{self.source}:frame {frame_no}")
            return
        where = f"{self.source}:frame {frame_no}"
        flow.last_ts = ts  # the flow was active: it moves to the recent end of the eviction order
        move = self.flow_map.move_to_end
        first_key, second_key = flow.keys
        move(first_key)
        move(second_key)
        seq = U32.unpack_from(buf, l4 + 4)[0]
        from_client = key == flow.client_key
        if flags & TCP_SYN:
            flow.dirs[0 if from_client else 1].next_seq = (seq + 1) % MOD
            seq += 1
        if size > 0:
            flows.segment_from(flow, from_client, seq % MOD, buf[data_off:end], ts, where)
        if flags & TCP_ACK and not flow.done and flow.dirs[1 if from_client else 0].pending:
            flows.acknowledge(flow, key, U32.unpack_from(buf, l4 + 8)[0], ts, where)
        if flow.done:
            self._set_quiet(buf, l4, True)
        if flags & TCP_RST:
            flows.close(flow, ts, where)
        elif flags & TCP_FIN:
            dirs = flow.dirs
            dirs[0 if from_client else 1].fin = True
            if dirs[0].fin and dirs[1].fin:
                flows.close(flow, ts, where)

    def _set_quiet(self, buf: bytes, l4: int, quiet: bool) -> None:
        """Let the hot path drop (or stop dropping) this port pair's segments in both directions."""
        pair, reverse = buf[l4:l4 + 4], buf[l4 + 2:l4 + 4] + buf[l4:l4 + 2]
        if quiet:
            if len(self.quiet_pairs) > 4 * self.flows.max_flows:
                self.quiet_pairs.clear()
            self.quiet_pairs.add(pair)
            self.quiet_pairs.add(reverse)
        else:
            self.quiet_pairs.discard(pair)
            self.quiet_pairs.discard(reverse)

    def _maybe_open_on_syn(self, buf: bytes, l4: int, src: bytes, dst: bytes, key: bytes,
                           ts: float, frame_no: int) -> None:
        """A SYN to a registered port opens the flow now so sequence numbers are exact."""
        sport, dport = PORTS.unpack_from(buf, l4)
        decoders = self.tcp_ports.get(dport)
        if not decoders:
            return
        ends = Endpoints(ntop(src), ntop(dst), sport, dport, "tcp")
        flow = self._start(decoders[0], ends, key, dst + src + buf[l4 + 2:l4 + 4] + buf[l4:l4 + 2], key, ts,
                           frame_no)
        if flow is not None:
            flow.dirs[0].next_seq = (U32.unpack_from(buf, l4 + 4)[0] + 1) % MOD

    def _open(self, buf: bytes, l4: int, data_off: int, end: int, src: bytes, dst: bytes, key: bytes,
              ts: float, frame_no: int) -> Optional[Flow]:
        sport, dport = PORTS.unpack_from(buf, l4)
        reverse = dst + src + buf[l4 + 2:l4 + 4] + buf[l4:l4 + 2]
        head = bytes(buf[data_off:min(end, data_off + 64)])
        choice = self._choose(head, sport, dport)
        if choice is None:
            if len(self.rejected) > 2 * self.flows.max_flows:
                self.rejected.clear()
            self.rejected[key] = None
            self.rejected[reverse] = None
            self._set_quiet(buf, l4, True)
            return None
        decoder, sender_is_client = choice
        if sender_is_client:
            ends = Endpoints(ntop(src), ntop(dst), sport, dport, "tcp")
            client_key = key
        else:
            ends = Endpoints(ntop(dst), ntop(src), dport, sport, "tcp")
            client_key = reverse
        return self._start(decoder, ends, key, reverse, client_key, ts, frame_no)

    def _choose(self, head: bytes, sport: int, dport: int) -> Optional[tuple[StreamDecoder, bool]]:
        """Pick a decoder by well-known port first, then by payload signature on any port."""
        for port, sender_is_client in ((dport, True), (sport, False)):
            for decoder in self.tcp_ports.get(port, ()):
                first_client, first_server = (head, b"") if sender_is_client else (b"", head)
                if decoder.accepts(first_client, first_server):
                    return decoder, sender_is_client
        if self.tcp_prefixes and head.startswith(self.tcp_prefixes):
            for decoder in self.tcp_prefixed:
                if decoder.client_prefixes and head.startswith(decoder.client_prefixes) \
                        and decoder.accepts(head, b""):
                    return decoder, True
                if decoder.server_prefixes and head.startswith(decoder.server_prefixes) \
                        and decoder.accepts(b"", head):
                    return decoder, False
        return None

    def _start(self, decoder: StreamDecoder, ends: Endpoints, key: bytes, reverse: bytes, client_key: bytes,
               ts: float, frame_no: int) -> Optional[Flow]:
        try:
            session = decoder.session(ends, self.emit)
        except Exception as exc:  # a decoder bug must not end the scan
            self._decoder_failed(decoder.name, exc)
            return None
        flow = Flow(_GuardedSession(session, self, decoder.name), client_key)
        self.flows.add(key, reverse, flow, ts, f"{self.source}:frame {frame_no}")
        return flow

    # ------------------------------------------------------------ housekeeping

    def _guard(self, func, *args) -> None:
        try:
            func(*args)
        except Exception as exc:  # one bad packet is counted and skipped
            self._decoder_failed(getattr(func, "__qualname__", "decoder"), exc)

    def _decoder_failed(self, name: str, exc: Exception) -> None:
        self.stats.decoder_errors += 1
        if len(self.stats.errors) < 10:
            self.stats.errors.append(f"{name}: {type(exc).__name__}: {exc}"[:200])

    def _expire(self, ts: float, frame_no: int) -> None:
        where = f"{self.source}:frame {frame_no}"
        self.flows.expire_idle(ts, where)
        self.meter.expire_idle(ts)

    def finish(self, carry: bool = False) -> list[tuple]:
        """End of all input: close every open flow so sessions flush; returns the metered flows carried over."""
        self.flows.close_all(f"{self.source}:end")
        if carry:
            return self.meter.carry()
        self.meter.flush()
        return []


class _GuardedSession:
    """Wraps a session so that a decoder exception stops following that flow only."""

    __slots__ = ("inner", "dispatcher", "name")

    def __init__(self, inner, dispatcher: PacketDispatcher, name: str):
        self.inner = inner
        self.dispatcher = dispatcher
        self.name = name

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        try:
            return self.inner.feed(from_client, data, ts, where)
        except Exception as exc:
            self.dispatcher._decoder_failed(self.name, exc)
            return False

    def close(self, ts: float, where: str) -> None:
        try:
            self.inner.close(ts, where)
        except Exception as exc:
            self.dispatcher._decoder_failed(self.name, exc)
