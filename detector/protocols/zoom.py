"""Zoom media by its encapsulation, on any UDP port: peer-to-peer calls and media servers outside Zoom's ranges.

Zoom wraps every media packet in its own header before the RTP packet
(Michel et al., "Enabling Passive Measurement of Zoom Performance in
Production Networks", IMC 2022; nDPI's zoom.c ``is_zme``): the first byte
is the media type and the RTP header sits at a fixed offset behind it —
audio (15) at 19, video (16) at 24, screen share (13, 30) at 27. Towards
Zoom's media servers (multimedia routers, UDP 8801-8810) an 8-byte SFU
header of type 5 comes first; between two peers the media header opens the
datagram. A flow is Zoom once two of its datagrams carry that layout with
a version-2 RTP header of a dynamic payload type and the same SSRC.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import Optional

from detector.observations import Emit, ServiceContact
from detector.protocols.base import Datagram, DatagramDecoder

SFU_TYPE, SFU_HEADER = 0x05, 8
RTP_OFFSETS = {0x0F: 19, 0x10: 24, 0x0D: 27, 0x1E: 27}  # media type -> where its RTP header starts
MEDIA_KINDS = {0x0F: "audio", 0x10: "video", 0x0D: "screen share", 0x1E: "screen share"}
DYNAMIC_PAYLOAD_TYPES = range(96, 128)
MAX_FLOWS = 8192


def zoom_media(payload: bytes) -> Optional[tuple[int, int, bool]]:
    """(media type, RTP SSRC, behind an SFU header) when the datagram has Zoom's media layout."""
    sfu = payload[:1] == bytes([SFU_TYPE])
    start = SFU_HEADER if sfu else 0
    if len(payload) <= start:
        return None
    kind = payload[start]
    offset = RTP_OFFSETS.get(kind)
    if offset is None:
        return None
    rtp = start + offset
    if len(payload) < rtp + 12 or payload[rtp] & 0xC0 != 0x80 or payload[rtp + 1] & 0x7F not in DYNAMIC_PAYLOAD_TYPES:
        return None
    return kind, struct.unpack_from("!I", payload, rtp + 8)[0], sfu


def is_public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


class ZoomMediaDecoder(DatagramDecoder):
    """One contact per flow, on its second datagram with the same media type and SSRC."""

    name = "zoom-media"
    prefixes = tuple(bytes([kind]) for kind in (SFU_TYPE, *RTP_OFFSETS))

    def __init__(self) -> None:
        self.first: dict[tuple[str, int, str, int], tuple[int, int]] = {}  # flow -> (type, SSRC) of its first
        self.done: dict[tuple[str, int, str, int], None] = {}

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        key = (dgram.src, dgram.sport, dgram.dst, dgram.dport)
        if key in self.done:
            return
        media = zoom_media(dgram.payload)
        if media is None:
            return
        kind, ssrc, sfu = media
        if self.first.get(key) != (kind, ssrc):
            if len(self.first) >= MAX_FLOWS:
                self.first.clear()
            self.first[key] = (kind, ssrc)
            return
        del self.first[key]
        if len(self.done) >= MAX_FLOWS:
            self.done.clear()
        self.done[key] = None
        # the device is the side that is not a public peer; between two private or two public ends, the sender
        local_receiver = is_public(dgram.src) and not is_public(dgram.dst)
        client, server, port = (dgram.dst, dgram.src, dgram.sport) if local_receiver else \
            (dgram.src, dgram.dst, dgram.dport)
        path = "through a media server (SFU header)" if sfu else "peer to peer"
        emit(ServiceContact(dgram.ts, dgram.where, client, service="Zoom", method="heuristic", server=server,
                            server_port=port, detail=f"Zoom {MEDIA_KINDS[kind]} media {path}, {dgram.src}:{dgram.sport}"
                                                     f" -> {dgram.dst}:{dgram.dport} (RTP SSRC {ssrc:#010x})"))
