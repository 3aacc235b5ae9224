"""The envelope every finding shares: what, where, when, how sure, and how it was classified."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Optional, TypeVar

from detector.findings.attributes import Attributes
from detector.times import iso

A = TypeVar("A", bound=Attributes)

SEVERITIES = ("info", "low", "medium", "high", "critical")


SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}

CATEGORY_FILE_SHARING = "file-sharing"
CATEGORY_CREDENTIALS = "plaintext-credentials"
CATEGORY_WIFI = "wifi-drops"
CATEGORY_WIFI_ATTACK = "wifi-attack"


@dataclass
class Evidence:
    """One line of proof behind a finding, shown in every output."""

    time: Optional[str]
    source: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"time": self.time, "source": self.source, "detail": self.detail}


@dataclass(kw_only=True)
class Finding(Generic[A]):
    """What a detector concluded, its kind's attributes included; rules fill the classification fields.

    The detector name and the category are the kind's (``attributes``), never given twice.
    """

    id: str
    title: str
    first_seen: Optional[float]
    last_seen: Optional[float]
    count: int
    hosts: list[str]
    attributes: A
    evidence: list[Evidence] = field(default_factory=list)
    # classification, set by rules
    rule: str = ""
    severity: str = "info"
    sanctioned: bool = False
    compliance: list[str] = field(default_factory=list)
    remediation: str = ""
    tags: list[str] = field(default_factory=list)
    risk: float = 0.0  # computed once at the end of the scan (detector.policy.risk) and stored
    exception: Optional[dict[str, Any]] = None  # the allow rule that sanctions it: {rule, reason, owner, expires}
    inputs: list[str] = field(default_factory=list)  # input files (or interfaces) that hold its evidence
    host_names: dict[str, str] = field(default_factory=dict)  # address -> "LAPTOP-ANNA (anna@CORP)" when known

    @property
    def evidence_omitted(self) -> int:
        """Occurrences counted without an evidence line: a finding keeps a bounded sample (max_evidence)."""
        return max(0, int(self.count or 0) - len(self.evidence))

    @property
    def detector(self) -> str:
        return self.attributes.detector

    @property
    def category(self) -> str:
        return self.attributes.category

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "category": self.category,
            "severity": self.severity,
            "sanctioned": self.sanctioned,
            "title": self.title,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "count": self.count,
            "hosts": list(self.hosts),
            "attributes": self.attributes.as_dict(),
            "evidence": [e.as_dict() for e in self.evidence],
            "evidence_omitted": self.evidence_omitted,
            "compliance": list(self.compliance),
            "remediation": self.remediation,
            "detector": self.detector,
            "risk": self.risk,
            "exception": dict(self.exception) if self.exception else None,
            "inputs": list(self.inputs),
            "host_names": dict(self.host_names),
        }
