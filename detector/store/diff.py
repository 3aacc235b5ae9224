"""What changed between two scans, matched by the stable finding id: the document ``shadowit diff`` prints.

detector/store/state.py computes it (the one comparison every output reads).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from detector.findings.finding import Finding
from detector.times import iso

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
    not_rechecked: list[Finding] = field(default_factory=list)  # absent, but its inputs were not scanned again
    newly_sanctioned: list[Finding] = field(default_factory=list)
    exception_expired: list[Finding] = field(default_factory=list)
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
                "not_rechecked": len(self.not_rechecked),
                "newly_sanctioned": len(self.newly_sanctioned),
                "exception_expired": len(self.exception_expired),
            },
            "new": [f.as_dict() for f in self.new],
            "resolved": [f.as_dict() for f in self.resolved],
            "persisting": [f.as_dict() for f in self.persisting],
            "severity_changes": [c.as_dict() for c in self.severity_changes],
            "not_rechecked": [f.as_dict() for f in self.not_rechecked],
            "newly_sanctioned": [f.as_dict() for f in self.newly_sanctioned],
            "exception_expired": [f.as_dict() for f in self.exception_expired],
        }
