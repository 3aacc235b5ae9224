"""Dropbox LAN sync discovery (UDP 17500): broadcast JSON beacons naming the host and shared folders.

Only the discovery JSON counts (``host_int`` and ``namespaces`` present):
other traffic on port 17500 is not proof of Dropbox.
"""

from __future__ import annotations

import json

from detector.observations import Emit, ServiceContact
from detector.protocols.base import Datagram, DatagramDecoder

LAN_SYNC_PORT = 17500
MAX_BEACON = 8192


def parse_beacon(payload: bytes) -> dict | None:
    """The beacon as a dict, or None when the datagram is not a discovery beacon."""
    if len(payload) > MAX_BEACON or not payload.lstrip().startswith(b"{"):
        return None
    try:
        beacon = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(beacon, dict) or "host_int" not in beacon or "namespaces" not in beacon:
        return None
    return beacon


class LanSyncDecoder(DatagramDecoder):
    name = "lan-sync"
    udp_ports = frozenset({LAN_SYNC_PORT})

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        if dgram.dport != LAN_SYNC_PORT:
            return
        beacon = parse_beacon(dgram.payload)
        if beacon is None:
            return
        namespaces = beacon.get("namespaces")
        count = len(namespaces) if isinstance(namespaces, list) else 0
        detail = (f"Dropbox LAN sync beacon from {dgram.src} to {dgram.dst}: host_int "
                  f"{str(beacon.get('host_int'))[:24]}, {count} shared folder(s)")
        emit(ServiceContact(dgram.ts, dgram.where, dgram.src, service="Dropbox", method="lan-sync",
                            server=dgram.dst, server_port=LAN_SYNC_PORT, detail=detail))
