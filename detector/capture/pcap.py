"""Streaming readers for classic pcap and pcapng.

Records are parsed straight out of a reused chunk buffer and handed on as
(buffer, offset, length) so that the fast path can look at a few bytes of a
packet without copying it. A damaged file stops the reader with a warning;
everything read before the damage has already been delivered.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Optional

from detector.capture.hotpath import HotPath
from detector.inputs import PCAP_MAGICS, PCAPNG_MAGIC

CHUNK = 1 << 20
MAX_RECORD = 1 << 18  # no link type carries frames over 256 KiB
# every 65536th frame reaches the handler even when the hot path would skip it: the dispatcher sweeps idle
# flows on it, and a sweep that does not depend on which flows are ignored is the same with --jobs N
SWEEP_MASK = 0xFFFF
MAX_INTERFACES = 4096  # per pcapng section; more is a hostile file, not a capture
TS_LIMIT = 4102444800.0  # 2100-01-01: frames stamped outside 1970..2100 are skipped with a warning
# After a record (or block) header: Ethernet type, IPv4 version/IHL, total length, fragment fields, protocol,
# addresses, TCP ports, data offset and flags of an untagged Ethernet/IPv4/TCP frame, all single bytes or raw
# byte strings, so the same layout serves either byte order; 48 bytes
SKIP_FIELDS = "12x2sBxBBxxBBxB2x4s4s4s8xBB"
ETHER_IPV4 = b"\x08\x00"

# handler(buf, offset, caplen, ts, linktype, frame_no); buf is only valid during the call
FrameHandler = Callable[[bytes, int, int, float, int, int], None]


class CaptureFormatError(Exception):
    """The file is not a capture this reader understands."""


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class ReadStats:
    """What reading one capture gave: frames, time span, warnings."""

    frames: int = 0
    warnings: list[str] = field(default_factory=list)
    first_ts: Optional[float] = None
    last_ts: Optional[float] = None
    linktypes: set[int] = field(default_factory=set)
    bad_times: int = 0  # frames skipped for a timestamp outside 1970..2100


class _Chunked:
    """A sliding window over a stream: records may straddle chunk borders."""

    def __init__(self, stream: BinaryIO, consumed: int = 0):
        self.stream = stream
        self.buf = b""
        self.pos = 0
        self.base = consumed  # file offset of buf[0]
        self.eof = False

    def ensure(self, need: int) -> bool:
        """Make ``need`` bytes available at self.pos; False at end of data.

        A record cut by the chunk border is completed with a small read of
        just its missing bytes; the next chunk then starts fresh, so whole
        chunks are never copied to join them.
        """
        if len(self.buf) - self.pos >= need:
            return True
        rest = self.buf[self.pos:]
        self.base += self.pos
        self.pos = 0
        if not rest:
            self.buf = self._read(max(CHUNK, need))
        else:
            self.buf = rest + self._read(need - len(rest))
        return len(self.buf) >= need

    def _read(self, size: int) -> bytes:
        parts = []
        while size > 0 and not self.eof:
            data = self.stream.read(size)
            if not data:
                self.eof = True
                break
            parts.append(data)
            size -= len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def offset(self) -> int:
        return self.base + self.pos


def read_capture(stream: BinaryIO, handler: FrameHandler, stats: ReadStats,
                 progress: Optional[Callable[[int], None]] = None, hot: Optional[HotPath] = None) -> str:
    """Feed every frame of a pcap or pcapng stream to ``handler``; returns the format name."""
    head = stream.read(4)
    if head in PCAP_MAGICS:
        _read_pcap(stream, head, handler, stats, progress, hot)
        return "pcap"
    if head == PCAPNG_MAGIC:
        _read_pcapng(stream, head, handler, stats, progress, hot)
        return "pcapng"
    raise CaptureFormatError("not a pcap or pcapng file")


def _truncated(stats: ReadStats, where: int, frames: int) -> None:
    stats.warnings.append(
        f"capture truncated at byte {where} after {frames} frames; findings cover the frames before the cut"
    )


def _read_pcap(stream: BinaryIO, magic: bytes, handler: FrameHandler, stats: ReadStats,
               progress: Optional[Callable[[int], None]], hot: Optional[HotPath]) -> None:
    order, resolution = PCAP_MAGICS[magic]
    rest = stream.read(20)
    if len(rest) < 20:
        raise CaptureFormatError("pcap global header is truncated")
    _major, _minor, _zone, _sigfigs, snaplen, linktype = struct.unpack(order + "HHiIII", rest)
    linktype &= 0x0FFFFFFF
    stats.linktypes.add(linktype)
    limit = max(snaplen, 65535) if snaplen <= MAX_RECORD else MAX_RECORD
    unpack_from = struct.Struct(order + "IIII").unpack_from
    # the record header and the fields of an Ethernet/IPv4/TCP header the skip test reads, in one C call
    unpack_tcp = struct.Struct(order + "IIII" + SKIP_FIELDS).unpack_from
    win = _Chunked(stream, 24)
    frame_no = 0
    first_ts = ts = None
    buf, pos, size = win.buf, win.pos, len(win.buf)
    quiet = hot.quiet_pairs if hot is not None and linktype == 1 else None
    watched = hot.watched if hot is not None else {}
    skip_until = hot.skip_until if hot is not None else 0
    skipped_last = None
    while True:
        if size - pos < 16:
            win.pos = pos
            if not win.ensure(16):
                if len(win.buf) - win.pos:
                    _truncated(stats, win.offset(), frame_no)
                break
            buf, pos, size = win.buf, win.pos, len(win.buf)
            if progress is not None:
                progress(win.offset())
        if quiet is not None and size - pos >= 64:  # other link types or no hot path: the skip never applies
            sec, frac, caplen, _wire, ether, ver_ihl, len_hi, len_lo, frag_hi, frag_lo, proto, src, dst, ports, \
                data_off, flags = unpack_tcp(buf, pos)
        else:
            sec, frac, caplen, _wire = unpack_from(buf, pos)
            proto = 0
        end = pos + 16 + caplen
        if end > size or caplen > limit:
            if caplen > limit:
                win.pos = pos
                stats.warnings.append(
                    f"corrupt record header at byte {win.offset()} (length {caplen}) after {frame_no} frames; "
                    "stopped reading this file"
                )
                break
            win.pos = pos
            if not win.ensure(16 + caplen):
                _truncated(stats, win.offset(), frame_no)
                break
            buf, pos, size = win.buf, win.pos, len(win.buf)
            end = pos + 16 + caplen
            if quiet is not None and size - pos >= 64:  # the record straddled two chunks: read its fields again
                sec, frac, caplen, _wire, ether, ver_ihl, len_hi, len_lo, frag_hi, frag_lo, proto, src, dst, ports, \
                    data_off, flags = unpack_tcp(buf, pos)
            if progress is not None:
                progress(win.offset())
        frame_no += 1
        p = pos + 16
        if proto == 6 and ver_ihl == 0x45 and ether == ETHER_IPV4 and caplen >= 54 \
                and frame_no & SWEEP_MASK and frame_no <= skip_until \
                and not (flags & 7 or frag_hi & 0x1F or frag_lo) \
                and (ports in quiet or 20 <= (len_hi << 8 | len_lo) <= 20 + (data_off >> 4) * 4) \
                and not (watched and (src in watched or dst in watched)):
            pos = end
            skipped_last = (sec, frac)
            if first_ts is None:  # a capture may start with a frame the hot path skips (a bare ACK)
                first_ts = sec + frac * resolution
            continue
        skipped_last = None
        ts = sec + frac * resolution
        handler(buf, p, caplen, ts, linktype, frame_no)
        if quiet is not None:
            skip_until = hot.skip_until  # type: ignore[union-attr]
        if frame_no == 1:
            first_ts = ts
        pos = end
    if skipped_last is not None:
        ts = skipped_last[0] + skipped_last[1] * resolution
    win.pos = min(pos, len(win.buf))
    stats.frames += frame_no
    _note_times(stats, first_ts, ts)


def _note_times(stats: ReadStats, first: Optional[float], last: Optional[float]) -> None:
    if first is not None and (stats.first_ts is None or first < stats.first_ts):
        stats.first_ts = first
    if last is not None and (stats.last_ts is None or last > stats.last_ts):
        stats.last_ts = last


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class _Interface:
    """A pcapng interface: link type and time-stamp resolution."""

    linktype: int
    resolution: float = 1e-6
    offset: int = 0  # if_tsoffset seconds


def _parse_idb_options(body: bytes, order: str, iface: _Interface) -> None:
    pos = 8
    while pos + 4 <= len(body):
        code, length = struct.unpack_from(order + "HH", body, pos)
        value = body[pos + 4:pos + 4 + length]
        if code == 0:
            break
        if code == 9 and value:  # if_tsresol
            raw = value[0]
            iface.resolution = 2.0 ** -(raw & 0x7F) if raw & 0x80 else 10.0 ** -raw
        elif code == 14 and len(value) == 8:  # if_tsoffset; +-2**62 makes every frame's time out of range
            iface.offset = struct.unpack(order + "q", value)[0]
        pos += 4 + length + (-length % 4)


def _read_pcapng(stream: BinaryIO, magic: bytes, handler: FrameHandler, stats: ReadStats,
                 progress: Optional[Callable[[int], None]], hot: Optional[HotPath]) -> None:
    win = _Chunked(stream, 4)
    win.buf = magic
    win.base = 0
    order = "<"
    epb_unpack = struct.Struct(order + "IIIIIII").unpack_from
    epb_unpack_tcp = struct.Struct(order + "IIIIIII" + SKIP_FIELDS).unpack_from
    interfaces: list[_Interface] = []
    frame_no = 0
    first_ts = None
    ts = None
    last_report = 0
    quiet = hot.quiet_pairs if hot is not None else None
    watched = hot.watched if hot is not None else {}
    skip_until = hot.skip_until if hot is not None else 0
    max_block = MAX_RECORD + 64
    while True:
        buf, pos = win.buf, win.pos
        if len(buf) - pos >= 28:  # fast path: an enhanced packet block wholly in the buffer
            if quiet is not None and len(buf) - pos >= 76:
                btype, blen, if_id, ts_high, ts_low, caplen, _orig, ether, ver_ihl, len_hi, len_lo, frag_hi, \
                    frag_lo, proto, src, dst, ports, data_off, flags = epb_unpack_tcp(buf, pos)
            else:
                btype, blen, if_id, ts_high, ts_low, caplen, _orig = epb_unpack(buf, pos)
                proto = 0
            if btype == 6 and 28 + caplen <= blen <= max_block and pos + blen <= len(buf) \
                    and if_id < len(interfaces) and not blen & 3:
                frame_no += 1
                win.pos = pos + blen
                iface = interfaces[if_id]
                p = pos + 28
                if proto == 6 and ver_ihl == 0x45 and ether == ETHER_IPV4 and caplen >= 54 \
                        and iface.linktype == 1 and frame_no & SWEEP_MASK and frame_no <= skip_until \
                        and not (flags & 7 or frag_hi & 0x1F or frag_lo) \
                        and (ports in quiet or 20 <= (len_hi << 8 | len_lo) <= 20 + (data_off >> 4) * 4) \
                        and not (watched and (src in watched or dst in watched)):
                    stamp = ((ts_high << 32) | ts_low) * iface.resolution + iface.offset
                    if 0.0 <= stamp < TS_LIMIT:
                        ts = stamp
                        if first_ts is None:
                            first_ts = ts
                    continue
                stamp = ((ts_high << 32) | ts_low) * iface.resolution + iface.offset
                if not 0.0 <= stamp < TS_LIMIT:
                    _bad_time(stats, frame_no)
                    continue
                ts = stamp
                if first_ts is None:
                    first_ts = ts
                handler(buf, p, caplen, ts, iface.linktype, frame_no)
                if quiet is not None:
                    skip_until = hot.skip_until  # type: ignore[union-attr]
                continue
        if not win.ensure(12):
            if len(win.buf) - win.pos:
                _truncated(stats, win.offset(), frame_no)
            break
        buf, pos = win.buf, win.pos
        btype = struct.unpack_from(order + "I", buf, pos)[0]
        if buf[pos:pos + 4] == PCAPNG_MAGIC:
            bom = buf[pos + 8:pos + 12]
            order = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            if bom not in (b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d"):
                stats.warnings.append(f"bad pcapng byte-order mark at byte {win.offset()}; stopped")
                break
            interfaces = []  # interface ids restart in each section
            btype = 0x0A0D0D0A
            epb_unpack = struct.Struct(order + "IIIIIII").unpack_from
            epb_unpack_tcp = struct.Struct(order + "IIIIIII" + SKIP_FIELDS).unpack_from
        blen = struct.unpack_from(order + "I", buf, pos + 4)[0]
        if blen < 12 or blen % 4 or blen > MAX_RECORD + 64:
            stats.warnings.append(
                f"corrupt pcapng block at byte {win.offset()} (length {blen}) after {frame_no} frames; stopped"
            )
            break
        if not win.ensure(blen):
            _truncated(stats, win.offset(), frame_no)
            break
        buf, pos = win.buf, win.pos
        if btype == 6 or btype == 3 or btype == 2:
            frame_no += 1
            stamp = _pcapng_packet(buf, pos, blen, btype, order, interfaces, handler, frame_no, stats)
            if stamp is not None:
                ts = stamp
                if first_ts is None:
                    first_ts = ts
        elif btype == 1:
            linktype = struct.unpack_from(order + "H", buf, pos + 8)[0]
            iface = _Interface(linktype)
            _parse_idb_options(bytes(buf[pos + 8:pos + blen - 4]), order, iface)
            if len(interfaces) < MAX_INTERFACES:
                interfaces.append(iface)
                stats.linktypes.add(linktype)
            elif not any(w.startswith("more than") for w in stats.warnings):
                stats.warnings.append(f"more than {MAX_INTERFACES} interfaces in one pcapng section; "
                                      "packets on the others are skipped")
        win.pos = pos + blen
        if progress is not None and win.base + win.pos - last_report > CHUNK:
            last_report = win.base + win.pos
            progress(last_report)
    stats.frames += frame_no
    _note_times(stats, first_ts, ts)


def _pcapng_packet(buf: bytes, pos: int, blen: int, btype: int, order: str, interfaces: list[_Interface],
                   handler: FrameHandler, frame_no: int, stats: ReadStats) -> Optional[float]:
    if btype == 3:  # simple packet block: interface 0, no timestamp
        if not interfaces:
            return None
        iface = interfaces[0]
        caplen = min(struct.unpack_from(order + "I", buf, pos + 8)[0], blen - 16)
        handler(buf, pos + 12, caplen, 0.0, iface.linktype, frame_no)
        return None
    if btype == 6:
        if_id, ts_high, ts_low, caplen, _orig = struct.unpack_from(order + "IIIII", buf, pos + 8)
    else:  # obsolete packet block
        if_id, _drops, ts_high, ts_low, caplen, _orig = struct.unpack_from(order + "HHIIII", buf, pos + 8)
    if if_id >= len(interfaces) or 28 + caplen > blen:
        if len(stats.warnings) < 20:
            stats.warnings.append(f"frame {frame_no}: bad interface id or length; skipped")
        return None
    iface = interfaces[if_id]
    ts = ((ts_high << 32) | ts_low) * iface.resolution + iface.offset
    if not 0.0 <= ts < TS_LIMIT:
        _bad_time(stats, frame_no)
        return None
    handler(buf, pos + 28, caplen, ts, iface.linktype, frame_no)
    return ts


def _bad_time(stats: ReadStats, frame_no: int) -> None:
    """A frame stamped outside 1970..2100 (hostile ts high word, offset or resolution) is skipped, once warned."""
    stats.bad_times += 1
    if stats.bad_times == 1:
        stats.warnings.append(f"frame {frame_no}: timestamp outside 1970..2100; such frames are skipped")
