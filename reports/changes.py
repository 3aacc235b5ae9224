"""What changed since the previous scan, matched by finding id.

Finding ids are stable across scans (detectors derive them from what was
seen, not from when), so a set comparison is enough and stays testable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from detector.findings.finding import Finding
from detector.findings.result import ScanResult


@dataclass
class ScanChanges:
    new: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    persisting: list[Finding] = field(default_factory=list)
    has_previous: bool = False


def compare_scans(current: ScanResult, previous: Optional[ScanResult]) -> ScanChanges:
    """New = only now, resolved = only before, persisting = both (current copy kept)."""
    if previous is None:
        return ScanChanges(new=[], resolved=[], persisting=[], has_previous=False)
    before = {f.id: f for f in previous.findings}
    now = {f.id: f for f in current.findings}
    return ScanChanges(
        new=[f for f in current.findings if f.id not in before],
        resolved=[f for f in previous.findings if f.id not in now],
        persisting=[f for f in current.findings if f.id in before],
        has_previous=True,
    )
