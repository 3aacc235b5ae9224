"""Feeds the scan's identity Directory (detector/detectors/directory.py); produces no findings of its own.

Registered like a detector so HostIdentity and ARP observations reach it through
the same router as everything else; findings then borrow its names and MACs
(``directory_of(pipeline.detectors).describe(address)``).
"""

from __future__ import annotations

from typing import Iterable

from detector.detectors.base import Detector, DetectorContext
from detector.detectors.directory import Directory
from detector.findings.finding import Finding
from detector.observations import GratuitousArp, HostIdentity, Observation


class IdentityDetector(Detector):
    name = "identity"
    consumes = (HostIdentity, GratuitousArp)

    def __init__(self, ctx: DetectorContext):
        super().__init__(ctx)
        self.directory = Directory()

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, HostIdentity):
            self.directory.add(obs)
        elif isinstance(obs, GratuitousArp):
            self.directory.see_mac(obs.address, obs.client, obs.where)

    def finish(self) -> list[Finding]:
        return []


def directory_of(detectors: Iterable[object]) -> Directory:
    """The Directory of a scan's detectors (an empty one when identity is not registered)."""
    for detector in detectors:
        if isinstance(detector, IdentityDetector):
            return detector.directory
    return Directory()
