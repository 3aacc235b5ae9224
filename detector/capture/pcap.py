"""Captures in, frames out: ``read_capture`` takes classic pcap (both byte orders, micro- and nanosecond
times) here, and pcapng by way of ``capture/pcapng.py``.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Callable, Optional

from detector.capture.hotpath import HotPath
from detector.capture.pcapng import read_pcapng
from detector.capture.records import (
    ETHER_IPV4,
    MAX_RECORD,
    SKIP_FIELDS,
    SWEEP_MASK,
    CaptureFormatError,
    Chunked,
    FrameHandler,
    ReadStats,
    note_times,
    truncated,
)
from detector.inputs import PCAP_MAGICS, PCAPNG_MAGIC


def read_capture(stream: BinaryIO, handler: FrameHandler, stats: ReadStats,
                 progress: Optional[Callable[[int], None]] = None, hot: Optional[HotPath] = None) -> str:
    """Feed every frame of a pcap or pcapng stream to ``handler``; returns the format name."""
    head = stream.read(4)
    if head in PCAP_MAGICS:
        _read_pcap(stream, head, handler, stats, progress, hot)
        return "pcap"
    if head == PCAPNG_MAGIC:
        read_pcapng(stream, head, handler, stats, progress, hot)
        return "pcapng"
    raise CaptureFormatError("not a pcap or pcapng file")


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
    win = Chunked(stream, 24)
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
                    truncated(stats, win.offset(), frame_no)
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
                truncated(stats, win.offset(), frame_no)
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
    note_times(stats, first_ts, ts)
