"""ARP (RFC 826) announcements: a gratuitous ARP is a host saying "I am back on the network".

Many laptops send one right after they re-associate, so a burst of them from
different hosts is the wired-side footprint of a Wi-Fi outage (RFC 5227
probes and announcements).
"""

from __future__ import annotations

import socket
import struct

from detector.observations import Emit, GratuitousArp
from detector.protocols.base import EtherDecoder

ETHERTYPE_ARP = 0x0806


class ArpDecoder(EtherDecoder):
    name = "arp"
    ethertypes = frozenset({ETHERTYPE_ARP})

    def decode(self, payload: bytes, ts: float, where: str, emit: Emit) -> None:
        if len(payload) < 28:
            return
        htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", payload)
        if htype != 1 or ptype != 0x0800 or hlen != 6 or plen != 4 or op not in (1, 2):
            return
        sender_mac, sender_ip = payload[8:14], payload[14:18]
        target_ip = payload[24:28]
        if sender_ip != target_ip or sender_ip == b"\x00\x00\x00\x00":
            return  # an ordinary question, or an RFC 5227 probe that has no address yet
        emit(GratuitousArp(ts, where, ":".join(f"{b:02x}" for b in sender_mac), socket.inet_ntoa(sender_ip)))
