"""What a detector is: it subscribes to observation types and returns findings at the end.

Detectors hold aggregates, never raw packets, and every table they keep has a
bound. They set a default severity; rules may change it later.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable, Optional

from ..catalog import Catalog
from ..model import Evidence, Finding, Observation, iso
from ..settings import Settings


def finding_id(detector: str, *key: object) -> str:
    """Stable across scans: the same thing seen again gets the same id."""
    text = "|".join([detector, *(str(k).lower() for k in key)])
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


@dataclass
class DetectorContext:
    settings: Settings
    catalog: Catalog
    watch_address: Callable[[str], None] = lambda address: None  # ask the fast path to meter an address
    tz_offset_seconds: int = 0  # local time for time-of-day patterns (--tz)


class Detector:
    name = ""
    consumes: tuple[type, ...] = ()

    def __init__(self, ctx: DetectorContext):
        self.ctx = ctx

    def observe(self, obs: Observation) -> None:
        raise AssertionError("subclass must override observe")

    def finish(self) -> list[Finding]:
        raise AssertionError("subclass must override finish")


@dataclass
class Tally:
    """Count, time span and a bounded sample of evidence for one aggregate."""

    count: int = 0
    first: Optional[float] = None
    last: Optional[float] = None
    evidence: list[Evidence] = field(default_factory=list)

    def add(self, ts: float, where: str, detail: str, limit: int) -> None:
        self.count += 1
        if ts and (self.first is None or ts < self.first):
            self.first = ts
        if ts and (self.last is None or ts > self.last):
            self.last = ts
        if len(self.evidence) < limit:
            self.evidence.append(Evidence(iso(ts) if ts else None, where, detail[:300]))
