"""A time-aware directory of names (passive DNS): which name an address stood for, when, and who said so.

Every address -> name pair learned from DNS answers, TLS SNI and certificates,
HTTP Host, DHCP, sensor logs or published ranges is kept with its first and
last sighting. A flow is attributed by looking its server up at the end of the
run (so a name learned later in the same input, or by an earlier run of the
same site, still counts), but only inside the pair's window of validity: a
name long expired, or an address that has since answered for another name of
a different owner, is not applied outside its time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

DEFAULT_VALIDITY = 3600.0  # seconds a sighting stays valid on either side when the source gives no TTL
MAX_VALIDITY = 7 * 86400.0  # a huge TTL (hostile or misconfigured) never stretches a name further than this
MAX_NAMES_PER_ADDRESS = 32  # a CDN address answers for many names; beyond this the least recent go
MAX_ADDRESSES = 200_000  # the directory is bounded: the least recently seen addresses are evicted first
MAX_NAME = 253  # DNS names are at most 253 characters
SERVICE_PREFIX = "service:"  # an address -> service pair no DNS name gave (a BitTorrent peer, an owned range)
# a local device's own names, so a later run of the site still knows who was behind an address, and when:
HOST_PREFIX = "host:"  # a host name the device gave (DHCP, NetBIOS, LLMNR, mDNS, Kerberos, NTLM workstation)
USER_PREFIX = "user:"  # a user who logged in from it ("anna@CORP")
IDENTITY_PREFIXES = (HOST_PREFIX, USER_PREFIX)
IDENTITY_VALIDITY = 12 * 3600.0  # a lease or a logon names a device for hours, not for the hour a DNS answer holds
LOOKUP_SOURCES = frozenset({"dns", "dns-cname"})  # answers to a lookup: a connection that used the name says more


@dataclass
class NameSighting:
    """One address -> name pair: when it was first and last seen, from which source, and for how long it holds."""

    address: str
    name: str
    source: str  # "dns", "tls-sni", "tls-cert", "http-host", "dhcp", "zeek", "eve", "ip-range", ...
    first_seen: float
    last_seen: float
    validity: float = DEFAULT_VALIDITY  # seconds before the first and after the last sighting
    where: str = ""  # evidence: "file:frame N" of the first sighting



class NameDirectory:
    """Bounded, time-aware address -> names map of one site, across inputs and runs."""

    def __init__(self, max_addresses: int = MAX_ADDRESSES) -> None:
        self.max_addresses = max_addresses
        self._by_address: dict[str, dict[str, NameSighting]] = {}
        self._changed: set[tuple[str, str]] = set()  # pairs learned or widened since the directory was loaded

    def __len__(self) -> int:
        return sum(len(names) for names in self._by_address.values())

    def learn(self, address: str, name: str, ts: float, source: str, where: str = "",
              ttl: Optional[float] = None) -> None:
        """Record that ``address`` stood for ``name`` at ``ts`` (a DNS TTL widens the window, bounded).
        DNS names compare caseless; a device's own names keep their case (LAPTOP-ANNA, anna@CORP)."""
        name = _normal(name)
        if not address or not name:
            return
        self._record(address, name, ts, source, where, ttl)
        if len(self._changed) < self.max_addresses * MAX_NAMES_PER_ADDRESS:
            self._changed.add((address, name))

    def _record(self, address: str, name: str, ts: float, source: str, where: str, ttl: Optional[float]) -> None:
        validity = min(max(float(ttl), DEFAULT_VALIDITY), MAX_VALIDITY) if ttl else DEFAULT_VALIDITY
        names = self._by_address.pop(address, None)  # re-inserted last: dict order is recency order
        if names is None:
            names = {}
            if len(self._by_address) >= self.max_addresses:
                self._by_address.pop(next(iter(self._by_address)))
        self._by_address[address] = names
        known = names.get(name)
        if known is None:
            if len(names) >= MAX_NAMES_PER_ADDRESS:
                names.pop(min(names, key=lambda key: names[key].last_seen))
            names[name] = NameSighting(address, name, source, ts, ts, validity, where)
            return
        known.first_seen = min(known.first_seen, ts)
        known.last_seen = max(known.last_seen, ts)
        known.validity = max(known.validity, validity)
        if known.source in LOOKUP_SOURCES and source not in LOOKUP_SOURCES:
            known.source = source  # a client connected with the name: no longer a lookup answer only

    def names_at(self, address: str, ts: float) -> list[NameSighting]:
        """Names valid for ``address`` at ``ts``, the most recently confirmed first."""
        return self.names_during(address, ts, ts)

    def names_during(self, address: str, start: float, end: float) -> list[NameSighting]:
        """Names valid at any moment of a flow that ran from ``start`` to ``end``, most recently confirmed first.

        A sighting's window reaches ``validity`` beyond its first and last
        sighting, but never across a sighting of another name that came
        wholly before or after it: the address was re-used by then.
        """
        names = self._by_address.get(address)
        if not names:
            return []
        valid = []
        for sighting in names.values():
            opens, closes = window(sighting, names.values())
            if opens <= end and start <= closes:
                valid.append(sighting)
        return sorted(valid, key=lambda s: (-s.last_seen, s.name))

    def sightings(self) -> Iterator[NameSighting]:
        """Every pair, for storing with the site's state."""
        for names in self._by_address.values():
            yield from names.values()

    def changed(self) -> Iterator[NameSighting]:
        """Pairs this run learned or widened (still held): all a stored directory needs to be brought up to date."""
        for address, name in self._changed:
            sighting = self._by_address.get(address, {}).get(name)
            if sighting is not None:
                yield sighting

    def merge(self, sightings: Iterable[NameSighting]) -> None:
        """Pairs learned by earlier runs of the site (loaded from its database) join this run's, unchanged."""
        for s in sightings:
            self._record(s.address, s.name, s.first_seen, s.source, s.where, s.validity)
            if s.last_seen != s.first_seen:
                self._record(s.address, s.name, s.last_seen, s.source, s.where, s.validity)


def _normal(name: str) -> str:
    name = name.strip()
    if name.startswith(IDENTITY_PREFIXES):
        return name[:MAX_NAME]
    return name.rstrip(".").lower()[:MAX_NAME]


def family(name: str) -> str:
    """What a name says of its address: a service (DNS names and ``service:``), a host name or a user."""
    for prefix in IDENTITY_PREFIXES:
        if name.startswith(prefix):
            return prefix
    return ""


def window(sighting: NameSighting, others: Iterable[NameSighting]) -> tuple[float, float]:
    """When a sighting holds: ``validity`` around it, cut where another name of its family took the address
    over (a new host name ends the old one's lease; a user logging on does not)."""
    opens, closes = sighting.first_seen - sighting.validity, sighting.last_seen + sighting.validity
    kind = family(sighting.name)
    for other in others:
        if other.name == sighting.name or family(other.name) != kind:
            continue
        if other.first_seen > sighting.last_seen:
            closes = min(closes, other.first_seen)
        if other.last_seen < sighting.first_seen:
            opens = max(opens, other.last_seen)
    return opens, closes
