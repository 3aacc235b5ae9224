"""Published address ranges of catalog services (rules/ipranges/*.yaml): who owns an address with no name.

nDPI and cloud-discovery products fall back on the provider's published
prefixes when a flow carries no host name (no DNS, no SNI, an encrypted
hello). Each range set records its source URL and the date it was written,
and ``tools/refresh_ipranges.py`` rewrites them from those sources when run
online.

A set is either *owned* (every address belongs to one service: Telegram's
91.108.0.0/16 blocks, Zoom's 134.224.0.0/16) or *shared* (``shared: true``:
Meta's, Microsoft's, Google's and Apple's networks carry many services at
once). An owned range identifies the service on its own, with low
confidence; a shared range only corroborates a protocol signature (a STUN
binding to Meta's network is a WhatsApp call, not a Facebook page view).

Lookup is a longest-prefix match over one hash table per prefix length, most
specific first: at most 33 (IPv4) or 129 (IPv6) dictionary probes per
address, never a scan of the ranges, and the answer per address is cached.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional

from detector.data import rules_file
from detector.policy.model import Mark
from detector.policy.yamlsrc import YamlFileError, YList, YMap, load_file

MAX_CACHE = 65536


class RangeError(Exception):
    pass


@dataclass(frozen=True)
class RangeSet:
    """One provider's published prefixes, as a file under rules/ipranges/ declares them."""

    name: str  # the catalog service (owned) or the network's owner (shared)
    services: tuple[str, ...]  # catalog services this network carries
    shared: bool
    source: str
    date: str
    path: str = ""


@dataclass(frozen=True)
class RangeMatch:
    """The published range that owns an address, and whose it is."""

    network: str  # the published prefix that contains the address
    range_set: RangeSet

    @property
    def service(self) -> Optional[str]:
        """The one service an owned range identifies; None for shared infrastructure."""
        return None if self.range_set.shared else self.range_set.services[0]


def address_value(address: str) -> Optional[tuple[int, int]]:
    """(IP version, address as an integer), or None for anything but an address.

    The C parser takes the common case; what it refuses (a scope id, say) gets
    the ipaddress module's answer, so both give the same result.
    """
    try:
        return (6, int.from_bytes(socket.inet_pton(socket.AF_INET6, address), "big")) if ":" in address \
            else (4, int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big"))
    except (OSError, ValueError, TypeError):
        pass
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return ip.version, int(ip)


class PrefixTable:
    """Longest-prefix match: per family, {prefix length: {network int: value}}, probed longest first."""

    def __init__(self) -> None:
        self.tables: dict[int, dict[int, dict[int, tuple[str, RangeSet]]]] = {4: {}, 6: {}}
        self.lengths: dict[int, list[int]] = {4: [], 6: []}
        self.count = 0

    def add(self, network: ipaddress._BaseNetwork, value: RangeSet) -> None:
        by_length = self.tables[network.version].setdefault(network.prefixlen, {})
        by_length.setdefault(int(network.network_address), (str(network), value))
        self.lengths[network.version] = sorted(self.tables[network.version], reverse=True)
        self.count += 1

    def lookup(self, address: str) -> Optional[RangeMatch]:
        parsed = address_value(address)
        if parsed is None:
            return None
        version, value = parsed
        bits = 32 if version == 4 else 128
        tables = self.tables[version]
        for length in self.lengths[version]:
            hit = tables[length].get(value >> (bits - length) << (bits - length))
            if hit is not None:
                return RangeMatch(hit[0], hit[1])
        return None


class IpRanges:
    """All range sets, with a per-address cache (addresses repeat, ranges do not change during a scan)."""

    def __init__(self, sets: Iterable[tuple[RangeSet, list[str]]] = ()):
        self.table = PrefixTable()
        self.sets: list[RangeSet] = []
        for range_set, networks in sets:
            self.add(range_set, networks)
        self.lookup = lru_cache(maxsize=MAX_CACHE)(self._lookup)

    def add(self, range_set: RangeSet, networks: Iterable[str]) -> None:
        self.sets.append(range_set)
        for text in networks:
            try:
                network = ipaddress.ip_network(str(text).strip(), strict=False)
            except ValueError as exc:
                raise RangeError(f"{range_set.path}: bad network {text!r}: {exc}") from exc
            self.table.add(network, range_set)

    def _lookup(self, address: str) -> Optional[RangeMatch]:
        return self.table.lookup(address)

    def service_of(self, address: str) -> Optional[RangeMatch]:
        """The range an address falls in, if any (owned or shared)."""
        return self.lookup(address)

    def owned_networks(self) -> list[str]:
        """Every prefix of an owned range set (the ones that identify a service alone)."""
        found = []
        for by_length in self.table.tables.values():
            for entries in by_length.values():
                found.extend(text for text, range_set in entries.values() if not range_set.shared)
        return sorted(found)

    def bpf_filter(self) -> str:
        """A libpcap expression passing UDP to or from owned ranges (for ``capture --bpf``): the default
        live filter keeps ports and payload prefixes only, so range-only identification needs it."""
        networks = self.owned_networks()
        return f"udp and ({' or '.join(f'net {n}' for n in networks)})" if networks else ""


def default_ranges_dir() -> Path:
    return rules_file("ipranges")


def read_range_file(path: Path) -> tuple[RangeSet, list[str]]:
    """One YAML range file; errors name ``file:line:col`` and the field."""
    try:
        data = load_file(path)
    except YamlFileError as exc:
        raise RangeError(str(exc)) from exc
    if not isinstance(data, YMap):
        mark = getattr(data, "mark", Mark(str(path), 1, 1))
        raise RangeError(str(mark.error("expected a mapping with name, services, source, date, ranges")))
    for key in ("name", "source", "date"):
        if not data.get(key):
            raise RangeError(str(data.value_mark(key).error(f"missing {key!r}")))
    if not str(data["source"]).startswith("https://"):
        raise RangeError(str(data.value_mark("source").error("source must be an https:// URL")))
    services = data.get("services") or [data["name"]]
    ranges = data.get("ranges") or []
    if not isinstance(services, list) or not isinstance(ranges, list):
        mark = data.value_mark("services" if not isinstance(services, list) else "ranges")
        raise RangeError(str(mark.error("services and ranges must be lists")))
    if isinstance(ranges, YList):
        _check_networks(ranges)
    range_set = RangeSet(name=str(data["name"]), services=tuple(str(s) for s in services),
                         shared=bool(data.get("shared", False)), source=str(data["source"]),
                         date=str(data["date"]), path=str(path))
    return range_set, [str(r) for r in ranges]


def _check_networks(ranges: YList) -> None:
    """Each prefix parses, or the error names where it is written (IpRanges.add parses them for the table)."""
    for index, text in enumerate(ranges):
        try:
            ipaddress.ip_network(str(text).strip(), strict=False)
        except ValueError as exc:
            raise RangeError(str(ranges.item_mark(index).error(f"bad network {text!r}: {exc}"))) from exc


def load_ranges(directory: Optional[Path] = None) -> IpRanges:
    directory = directory or default_ranges_dir()
    ranges = IpRanges()
    if directory.is_dir():
        for path in sorted(directory.glob("*.yaml")):
            ranges.add(*read_range_file(path))
    return ranges


_DEFAULT: Optional[IpRanges] = None


def default_ranges() -> IpRanges:
    """The shipped ranges, loaded once per process (decoders and detectors share them)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_ranges()
    return _DEFAULT
