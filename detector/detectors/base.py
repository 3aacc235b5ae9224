"""What a detector is: it subscribes to observation types and returns findings at the end.

Detectors hold aggregates, never raw packets, and every table they keep has a
bound. They set a default severity; rules may change it later.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Callable, Optional

from detector.findings.finding import Evidence, Finding
from detector.observations import Observation
from detector.policy.catalog import Catalog
from detector.policy.ipranges import address_value
from detector.policy.settings import Settings
from detector.site.names import NameDirectory
from detector.site.networks import LocalNetworks
from detector.times import iso


def finding_id(detector: str, *key: object) -> str:
    """Stable across scans and machines: the same thing seen again gets the same id.

    Keys are non-secret identifying fields only (never a keyed fingerprint), so
    two installations, or one reinstalled, give the same finding the same id.
    """
    text = "|".join([detector, *(str(k).lower() for k in key)])
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class DetectorContext:
    """What every detector is built with: settings, catalog, zone, the site's networks and directory of names."""

    settings: Settings
    catalog: Catalog
    watch_address: Callable[[str], None] = lambda address: None  # ask the fast path to meter an address
    zone: Optional[tzinfo] = None  # --tz: local time for time-of-day patterns (None = UTC)
    networks: LocalNetworks = field(default_factory=LocalNetworks)  # declared, or inferred while the scan reads
    names: NameDirectory = field(default_factory=NameDirectory)  # address -> names, this run's and earlier runs'

    def is_local(self, address: str) -> bool:
        """One of the site's devices (local address, MAC or ``log:`` host), not a peer, provider server or relay."""
        return is_site_device(address, self.networks)


class Detector:
    name = ""
    consumes: tuple[type, ...] = ()

    def __init__(self, ctx: DetectorContext):
        self.ctx = ctx

    def observe(self, obs: Observation) -> None:
        raise AssertionError("subclass must override observe")

    def recall(self) -> None:
        """Earlier runs of the site filled ``ctx.names``: a detector that meters named servers asks for them now."""

    def finish(self) -> list[Finding]:
        raise AssertionError("subclass must override finish")


MAX_INPUTS_PER_TALLY = 64
BROADCAST_MACS = frozenset({"ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00"})


def source_of(where: str) -> str:
    """The input file (or interface) an evidence location names: "a.pcap:frame 3" -> "a.pcap"."""
    head, sep, tail = where.rpartition(":")
    if sep and tail.split(" ", 1)[0] in ("frame", "line", "record"):
        return head
    return where


@functools.lru_cache(maxsize=65536)
def is_device(address: str) -> bool:
    """A client device: not broadcast, multicast or unspecified (IP or MAC), not a name or program."""
    text = address.strip().lower()
    if not text or text in BROADCAST_MACS:
        return False
    if text.startswith("log:"):
        return True  # the computer that wrote a client-side log (named by the log file)
    if len(text) == 17 and text.count(":") == 5:
        try:
            return not int(text[:2], 16) & 1  # group bit: multicast/broadcast MAC
        except ValueError:
            return False
    parsed = address_value(text.split("%", 1)[0])
    if parsed is None:
        return False
    version, value = parsed
    if version == 4:  # not multicast (224/4), unspecified, or a broadcast (x.x.x.255, 255.255.255.255)
        return value >> 28 != 0xE and value != 0 and value & 0xFF != 0xFF
    return value >> 120 != 0xFF and value != 0  # not multicast (ff00::/8) or unspecified


def devices(addresses) -> list[str]:
    """Sorted distinct client devices among ``addresses``."""
    return sorted({a for a in addresses if a and is_device(a)})


def is_site_device(address: str, networks: LocalNetworks) -> bool:
    """A device of the audited site: a unicast address in its networks, a MAC, or a ``log:`` host."""
    if not is_device(address):
        return False
    return address_value(address.strip().split("%", 1)[0]) is None or networks.is_local(address.strip())


def site_devices(addresses, networks: LocalNetworks) -> list[str]:
    """Sorted distinct devices of the site among ``addresses``: a remote peer, relay or server never is one."""
    return sorted({a for a in addresses if a and is_site_device(a, networks)})


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class Tally:
    """Count, time span, inputs and a bounded sample of evidence for one aggregate."""

    count: int = 0
    first: Optional[float] = None
    last: Optional[float] = None
    evidence: list[Evidence] = field(default_factory=list)
    inputs: set[str] = field(default_factory=set)

    def add(self, ts: float, where: str, detail: str, limit: int) -> None:
        self.count += 1
        if len(self.inputs) < MAX_INPUTS_PER_TALLY:
            self.inputs.add(source_of(where))
        if ts and (self.first is None or ts < self.first):
            self.first = ts
        if ts and (self.last is None or ts > self.last):
            self.last = ts
        if len(self.evidence) < limit:
            self.evidence.append(Evidence(iso(ts) if ts else None, where, detail[:300]))


def merged(tallies: list[Tally], limit: int) -> Tally:
    """One tally for several: counts add up, the span covers all, evidence keeps the earliest rows."""
    total = Tally()
    for tally in tallies:
        total.count += tally.count
        total.inputs |= tally.inputs
        for ts in (tally.first, tally.last):
            if ts is not None:
                total.first = ts if total.first is None else min(total.first, ts)
                total.last = ts if total.last is None else max(total.last, ts)
        total.evidence.extend(tally.evidence)
    total.evidence.sort(key=lambda e: (e.time or "", e.source))
    del total.evidence[limit:]
    return total
