"""Captures in, frames out: ``read_capture`` takes classic pcap (both byte orders, micro- and nanosecond
times) here, and pcapng by way of ``capture/pcapng.py``.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Callable, Optional

from detector.capture.pcapng import read_pcapng
from detector.capture.records import (
    MAX_RECORD,
    CaptureFormatError,
    Chunked,
    FrameHandler,
    ReadStats,
    note_times,
    truncated,
)
from detector.inputs import PCAP_MAGICS, PCAPNG_MAGIC


def read_capture(stream: BinaryIO, handler: FrameHandler, stats: ReadStats,
                 progress: Optional[Callable[[int], None]] = None) -> str:
    """Feed every frame of a pcap or pcapng stream to ``handler``; returns the format name."""
    head = stream.read(4)
    if head in PCAP_MAGICS:
        _read_pcap(stream, head, handler, stats, progress)
        return "pcap"
    if head == PCAPNG_MAGIC:
        read_pcapng(stream, head, handler, stats, progress)
        return "pcapng"
    raise CaptureFormatError("not a pcap or pcapng file")


def _read_pcap(stream: BinaryIO, magic: bytes, handler: FrameHandler, stats: ReadStats,
               progress: Optional[Callable[[int], None]]) -> None:
    order, resolution = PCAP_MAGICS[magic]
    rest = stream.read(20)
    if len(rest) < 20:
        raise CaptureFormatError("pcap global header is truncated")
    _major, _minor, _zone, _sigfigs, snaplen, linktype = struct.unpack(order + "HHiIII", rest)
    linktype &= 0x0FFFFFFF
    stats.linktypes.add(linktype)
    limit = max(snaplen, 65535) if snaplen <= MAX_RECORD else MAX_RECORD
    unpack_from = struct.Struct(order + "IIII").unpack_from
    win = Chunked(stream, 24)
    frame_no = 0
    first_ts = ts = None
    buf, pos, size = win.buf, win.pos, len(win.buf)
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
        sec, frac, caplen, _wire = unpack_from(buf, pos)
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
            if progress is not None:
                progress(win.offset())
        frame_no += 1
        ts = sec + frac * resolution
        handler(buf, pos + 16, caplen, ts, linktype, frame_no)
        if frame_no == 1:
            first_ts = ts
        pos = end
    win.pos = min(pos, len(win.buf))
    stats.frames += frame_no
    note_times(stats, first_ts, ts)
