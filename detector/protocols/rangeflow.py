"""UDP flows to a published service range, whatever their payload (calls, relays, proprietary protocols).

Telegram's voice relays, Zoom's media routers and Dropbox's servers answer
UDP with payloads no decoder reads; their published prefixes still say whose
they are (see detector/policy/ipranges.py). Each (client, server) pair is reported
once, and only for *owned* ranges: a shared network (Meta, Microsoft, Google,
Apple) names no single service on its own.

Registered with the empty payload prefix, so the dispatcher offers it every
UDP datagram on a port no other decoder claims; the per-flow memo keeps the
cost at one dictionary probe per datagram after the first.
"""

from __future__ import annotations

from detector.observations import Emit, ServiceContact
from detector.policy.ipranges import default_ranges
from detector.protocols.base import Datagram, DatagramDecoder

MAX_FLOWS = 16384


class RangeFlowDecoder(DatagramDecoder):
    name = "ip-range"
    prefixes = (b"",)

    def __init__(self) -> None:
        self.seen: dict[tuple[str, int, str, int], None] = {}
        self.ranges = default_ranges()

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        key = (dgram.src, dgram.sport, dgram.dst, dgram.dport)  # one contact per flow: --jobs gives the same
        if key in self.seen:
            return
        if len(self.seen) >= MAX_FLOWS:
            self.seen.clear()
        self.seen[key] = None
        self.seen[(dgram.dst, dgram.dport, dgram.src, dgram.sport)] = None
        for client, server, port in ((dgram.src, dgram.dst, dgram.dport), (dgram.dst, dgram.src, dgram.sport)):
            match = self.ranges.service_of(server)
            if match is not None and match.service is not None and self.ranges.service_of(client) is None:
                emit(ServiceContact(dgram.ts, dgram.where, client, service=match.service, method="ip-range",
                                    server=server, server_port=port,
                                    detail=f"UDP {client} -> {server}:{port}: address in {match.range_set.name}'s "
                                           f"published range {match.network} ({match.range_set.source})"))
                return
