"""The pcapng reader (IETF draft-ietf-opsawg-pcapng): sections, interfaces with their link types and time
resolutions, enhanced and simple packet blocks; both byte orders, several sections per file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO, Callable, Optional

from detector.capture.records import (
    CHUNK,
    MAX_RECORD,
    TS_LIMIT,
    Chunked,
    FrameHandler,
    ReadStats,
    bad_time,
    note_times,
    truncated,
)
from detector.inputs import PCAPNG_MAGIC

MAX_INTERFACES = 4096  # per pcapng section; more is a hostile file, not a capture


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


def read_pcapng(stream: BinaryIO, magic: bytes, handler: FrameHandler, stats: ReadStats,
                 progress: Optional[Callable[[int], None]]) -> None:
    win = Chunked(stream, 4)
    win.buf = magic
    win.base = 0
    order = "<"
    epb_unpack = struct.Struct(order + "IIIIIII").unpack_from
    interfaces: list[_Interface] = []
    frame_no = 0
    first_ts = None
    ts = None
    last_report = 0
    max_block = MAX_RECORD + 64
    while True:
        buf, pos = win.buf, win.pos
        if len(buf) - pos >= 28:  # fast path: an enhanced packet block wholly in the buffer
            btype, blen, if_id, ts_high, ts_low, caplen, _orig = epb_unpack(buf, pos)
            if btype == 6 and 28 + caplen <= blen <= max_block and pos + blen <= len(buf) \
                    and if_id < len(interfaces) and not blen & 3:
                frame_no += 1
                win.pos = pos + blen
                iface = interfaces[if_id]
                stamp = ((ts_high << 32) | ts_low) * iface.resolution + iface.offset
                if not 0.0 <= stamp < TS_LIMIT:
                    bad_time(stats, frame_no)
                    continue
                ts = stamp
                if first_ts is None:
                    first_ts = ts
                handler(buf, pos + 28, caplen, ts, iface.linktype, frame_no)
                continue
        if not win.ensure(12):
            if len(win.buf) - win.pos:
                truncated(stats, win.offset(), frame_no)
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
        blen = struct.unpack_from(order + "I", buf, pos + 4)[0]
        if blen < 12 or blen % 4 or blen > MAX_RECORD + 64:
            stats.warnings.append(
                f"corrupt pcapng block at byte {win.offset()} (length {blen}) after {frame_no} frames; stopped"
            )
            break
        if not win.ensure(blen):
            truncated(stats, win.offset(), frame_no)
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
    note_times(stats, first_ts, ts)


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
        bad_time(stats, frame_no)
        return None
    handler(buf, pos + 28, caplen, ts, iface.linktype, frame_no)
    return ts
