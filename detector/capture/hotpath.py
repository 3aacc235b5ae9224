"""The frames a capture reader may skip without a call: shared by the readers and the dispatcher, owned by neither.

The dispatcher learns which port pairs it ignores; the record loops of the pcap
and pcapng readers read that in place. Keeping the structure here means the
dispatcher imports no reader. The skip test itself stays inline in the two record
loops and the dispatcher's fast path: a shared function would cost a call per
bulk packet, which is what the test exists to avoid (bench/RESULTS.md).
"""

from __future__ import annotations


class HotPath:
    """What the dispatcher already knows it will ignore, so the reader can skip such frames itself.

    Ethernet/IPv4/TCP segments without SYN/FIN/RST whose port pair is in
    ``quiet_pairs`` or that carry no payload (bare ACKs; the IP total length
    says so), and whose addresses are not in ``watched``, would be
    dropped by the dispatcher anyway; checking that inline in the record loop
    saves a call per bulk packet, which is most of a capture. The dispatcher
    owns and updates both collections.
    """

    def __init__(self) -> None:
        self.quiet_pairs: set[bytes] = set()
        self.watched: dict[bytes, str] = {}
        # frames numbered above this must reach the handler (--jobs: it has other processes' findings to merge
        # first, which may make an address watched); the handler may raise it, the reader re-reads it after each call
        self.skip_until = 1 << 62
