"""What changed between two scans, matched by the stable finding id.

Pure functions over ScanResult so reports can diff results that never touched
the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ..model import Finding, ScanResult, iso

DIFF_SCHEMA = "shadowit.diff/1"


@dataclass
class SeverityChange:
    id: str
    before: str
    after: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "from": self.before, "to": self.after}


@dataclass
class ScanDiff:
    """``persisting`` holds the head version; ``severity_changes`` what moved."""

    base: Optional[int]
    head: Optional[int]
    new: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    persisting: list[Finding] = field(default_factory=list)
    severity_changes: list[SeverityChange] = field(default_factory=list)
    base_started: Optional[float] = None
    head_started: Optional[float] = None
    site: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": DIFF_SCHEMA,
            "site": self.site,
            "base": {"scan_id": self.base, "started": iso(self.base_started)},
            "head": {"scan_id": self.head, "started": iso(self.head_started)},
            "summary": {
                "new": len(self.new),
                "resolved": len(self.resolved),
                "persisting": len(self.persisting),
                "severity_changes": len(self.severity_changes),
            },
            "new": [f.as_dict() for f in self.new],
            "resolved": [f.as_dict() for f in self.resolved],
            "persisting": [f.as_dict() for f in self.persisting],
            "severity_changes": [c.as_dict() for c in self.severity_changes],
        }


def diff_results(base: ScanResult, head: ScanResult) -> ScanDiff:
    """New and persisting in head order, resolved in base order."""
    before = {f.id: f for f in base.findings}
    after_ids = {f.id for f in head.findings}
    result = ScanDiff(
        base=base.scan_id,
        head=head.scan_id,
        base_started=base.started,
        head_started=head.started,
        site=head.site,
    )
    for finding in head.findings:
        previous = before.get(finding.id)
        if previous is None:
            result.new.append(finding)
            continue
        result.persisting.append(finding)
        if previous.severity != finding.severity:
            result.severity_changes.append(SeverityChange(finding.id, previous.severity, finding.severity))
    result.resolved = [f for f in base.findings if f.id not in after_ids]
    return result
