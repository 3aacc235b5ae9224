"""Byte-exact capture writers for tests: formats and options scapy's writers do not produce."""

from __future__ import annotations

import struct
from pathlib import Path


def _block(btype: int, body: bytes, order: str = "<") -> bytes:
    body += b"\x00" * (-len(body) % 4)
    length = len(body) + 12
    return struct.pack(order + "II", btype, length) + body + struct.pack(order + "I", length)


def write_pcapng(path: Path, linktypes: list[int], packets: list[tuple[int, float, bytes]],
                 order: str = "<", tsresol: int = 6) -> Path:
    """One section, one interface per link type, packets as (interface, time, bytes)."""
    out = [_block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)]
    for linktype in linktypes:
        options = struct.pack(order + "HH", 9, 1) + bytes([tsresol]) + b"\x00" * 3 + struct.pack(order + "HH", 0, 0)
        out.append(_block(1, struct.pack(order + "HHI", linktype, 0, 0) + options, order))
    for iface, ts, data in packets:
        units = int(round(ts * 10 ** tsresol))
        body = struct.pack(order + "IIIII", iface, units >> 32, units & 0xFFFFFFFF, len(data), len(data)) + data
        out.append(_block(6, body, order))
    path.write_bytes(b"".join(out))
    return path
