"""What changed between two scans, matched by the stable finding id.

Pure functions over ScanResult so reports can diff results that never touched
the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from detector.findings.finding import Finding
from detector.findings.result import ScanResult
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


def diff_results(base: ScanResult, head: ScanResult) -> ScanDiff:
    """New and persisting in head order, resolved in base order.

    Like is compared with like: a finding absent from ``head`` is resolved only
    when ``head`` read again an input behind it (same file name or same
    content); otherwise it was "not re-checked". A scan that read nothing is
    never a head (it is stored as failed).
    """
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
        if finding.sanctioned and not previous.sanctioned:
            result.newly_sanctioned.append(finding)
        elif previous.sanctioned and not finding.sanctioned and (finding.exception or {}).get("expired"):
            result.exception_expired.append(finding)
    rechecked = _scanned_again(base, head)
    for finding in base.findings:
        if finding.id in after_ids:
            continue
        sources = set(finding.inputs)
        if sources and not sources & rechecked:
            result.not_rechecked.append(finding)
        else:
            result.resolved.append(finding)
    return result


def _scanned_again(base: ScanResult, head: ScanResult) -> set[str]:
    """Base input names (as findings cite them) whose file, or whose content, the head scan read again."""
    head_names = {_name(i.path) for i in head.inputs if i.usable}
    head_digests = {i.sha256 for i in head.inputs if i.usable and i.sha256}
    again = set(head_names)
    for record in base.inputs:
        if record.sha256 and record.sha256 in head_digests:
            again.add(_name(record.path))
    return again


def _name(path: str) -> str:
    """Evidence cites inputs by file name (interfaces by their name)."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]
