"""The site's own networks, declared or inferred: what makes an address one of the audited office's devices.

Like Zeek's ``Site::local_nets``, a site may declare its networks
(``site: {networks: [...]}`` in a rules file, or ``--local-nets``). Without a
declaration they are inferred the way an auditor would: private and unique
local ranges, link-local addresses, and the network of any public address that
shows LAN-side behaviour (took a DHCP lease, answered ARP for itself, announced
its own name by NetBIOS, LLMNR or mDNS). Everything else is remote: a peer, a
provider's server or a relay is never a device.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Iterable, Optional, Union

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# RFC 1918, RFC 4193 (unique local), RFC 3927 / RFC 4291 (link-local): never routed on the internet
PRIVATE_RANGES: tuple[Network, ...] = tuple(ipaddress.ip_network(text) for text in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7", "fe80::/10"))
INFERRED_PREFIX = {4: 24, 6: 64}  # a public host seen on the LAN stands for its /24 (IPv4) or /64 (IPv6)
LAN_EVIDENCE = ("dhcp-lease", "arp", "netbios", "llmnr", "mdns")
MAX_OBSERVED = 64  # prefixes listed as holding devices
MAX_INFERRED = 256  # inferred public networks kept; more is a hostile capture, not an office
MAX_DECLARED = 1024


class NetworkSpecError(ValueError):
    """A declared network that is not an address or CIDR prefix."""


def parse_networks(texts: Iterable[str]) -> tuple[Network, ...]:
    """CIDR prefixes (host bits allowed, as Zeek accepts them) or single addresses; one clear error per bad entry."""
    parsed = []
    for text in texts:
        value = str(text).strip()
        try:
            parsed.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise NetworkSpecError(f"{value!r} is not a network (expected a CIDR prefix such as 10.1.0.0/16 or "
                                   "2001:db8::/48)") from None
        if len(parsed) > MAX_DECLARED:
            raise NetworkSpecError(f"more than {MAX_DECLARED} networks declared")
    return tuple(parsed)


def _address(text: str) -> Optional[Union[ipaddress.IPv4Address, ipaddress.IPv6Address]]:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


@dataclass(eq=False, repr=False)  # internal state: never compared or printed
class LocalNetworks:
    """Which addresses belong to the site: declared networks if any, else private ranges plus LAN evidence."""

    declared: tuple[Network, ...] = ()
    inferred: dict[Network, str] = field(default_factory=dict)  # public network -> the evidence that made it local
    _cache: dict[str, bool] = field(default_factory=dict)

    @property
    def is_declared(self) -> bool:
        return bool(self.declared)

    def note_lan_host(self, address: str, evidence: str) -> None:
        """A host showed LAN-side behaviour; a public one makes its network local (only without a declaration)."""
        ip = _address(address)
        if self.declared or ip is None or ip.is_unspecified or ip.is_multicast or ip.is_loopback:
            return
        if any(ip in network for network in PRIVATE_RANGES):
            return
        network = ipaddress.ip_network(f"{ip}/{INFERRED_PREFIX[ip.version]}", strict=False)
        if network not in self.inferred and len(self.inferred) < MAX_INFERRED:
            self.inferred[network] = evidence
            self._cache.clear()

    def is_local(self, address: str) -> bool:
        """The address lies in the site's networks (a remote peer, relay or provider server does not)."""
        known = self._cache.get(address)
        if known is not None:
            return known
        ip = _address(address)
        local = ip is not None and self._contains(ip)
        if len(self._cache) >= 65536:
            self._cache.clear()
        self._cache[address] = local
        return local

    def _contains(self, ip: Union[ipaddress.IPv4Address, ipaddress.IPv6Address]) -> bool:
        if self.declared:
            return any(ip in network for network in self.declared)
        return any(ip in network for network in PRIVATE_RANGES) or any(ip in network for network in self.inferred)

    def describe(self, devices: Iterable[str] = ()) -> dict[str, object]:
        """What the report's "what was read" and the JSON say: the networks, whether they were declared, and
        the /24s (IPv6: /64s) that held the scan's devices, with how many (largest first)."""
        if self.declared:
            described: dict[str, object] = {"source": "declared", "networks": [str(n) for n in self.declared]}
        else:
            seen = [str(n) for n in PRIVATE_RANGES] + [f"{n} ({why})" for n, why in self.inferred.items()]
            described = {"source": "inferred", "networks": seen}
        described["observed"] = observed_prefixes(devices, self)
        return described


def observed_prefixes(addresses: Iterable[str], networks: LocalNetworks) -> list[dict[str, object]]:
    """The prefixes the site's devices were seen in: what an auditor calls "the office's networks"."""
    counts: dict[str, set[str]] = {}
    for address in addresses:
        ip = _address(address)
        if ip is None or not networks.is_local(address):
            continue
        prefix = str(ipaddress.ip_network(f"{ip}/{INFERRED_PREFIX[ip.version]}", strict=False))
        if prefix in counts or len(counts) < MAX_OBSERVED:
            counts.setdefault(prefix, set()).add(str(ip))
    ranked = sorted(counts.items(), key=lambda item: (-len(item[1]), item[0]))
    return [{"network": prefix, "devices": len(members)} for prefix, members in ranked]
