"""Feeds the scan's identity Directory (detector/detectors/directory.py); produces no findings of its own.

Registered like a detector so HostIdentity and ARP observations reach it through
the same router as everything else; findings then borrow its names and MACs
(``directory_of(pipeline.detectors).describe(address)``). The same observations
are the LAN evidence the site's inferred networks come from: a host that took a
DHCP lease, announced itself by gratuitous ARP or named itself by NetBIOS,
LLMNR or mDNS sits on the audited LAN.
"""

from __future__ import annotations

from typing import Iterable

from detector.detectors.base import Detector, DetectorContext
from detector.detectors.directory import Directory, canonical_source, clean
from detector.findings.finding import Finding
from detector.observations import GratuitousArp, HostIdentity, Observation
from detector.site.names import HOST_PREFIX, IDENTITY_VALIDITY, USER_PREFIX

# identity sources that only a host on the LAN gives about itself -> the evidence named in the inferred networks
LAN_IDENTITY_SOURCES = {"dhcp": "dhcp-lease", "netbios": "netbios", "llmnr": "llmnr", "mdns": "mdns"}


class IdentityDetector(Detector):
    name = "identity"
    consumes = (HostIdentity, GratuitousArp)

    def __init__(self, ctx: DetectorContext):
        super().__init__(ctx)
        self.directory = Directory()

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, HostIdentity):
            self.directory.add(obs)
            evidence = LAN_IDENTITY_SOURCES.get(canonical_source(obs.source))
            if evidence and obs.address:
                self.ctx.networks.note_lan_host(obs.address, evidence)
            self._remember(obs)
        elif isinstance(obs, GratuitousArp):
            self.directory.see_mac(obs.address, obs.client, obs.where)
            self.ctx.networks.note_lan_host(obs.address, "arp")

    def _remember(self, obs: HostIdentity) -> None:
        """The site's directory of names keeps a device's host and user names with their time, so a later run
        (an incremental one reading only new lines) still names who was behind the address then."""
        if not obs.address or not obs.ts or not self.ctx.networks.is_local(obs.address):
            return
        source = canonical_source(clean(obs.source)) or "unknown"
        if obs.hostname:
            self.ctx.names.learn(obs.address, HOST_PREFIX + clean(obs.hostname), obs.ts, source, obs.where,
                                 IDENTITY_VALIDITY)
        if obs.username:
            user = clean(obs.username) + (f"@{clean(obs.domain).upper()}" if obs.domain else "")
            self.ctx.names.learn(obs.address, USER_PREFIX + user, obs.ts, source, obs.where, IDENTITY_VALIDITY)

    def finish(self) -> list[Finding]:
        return []


def directory_of(detectors: Iterable[object]) -> Directory:
    """The Directory of a scan's detectors (an empty one when identity is not registered)."""
    for detector in detectors:
        if isinstance(detector, IdentityDetector):
            return detector.directory
    return Directory()
