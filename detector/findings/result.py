"""What one run produced: the inputs it read and the findings it made (JSON, SQLite and HTML read this)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from detector.findings.finding import Finding
from detector.times import iso


@dataclass
class InputRecord:
    """What one input was and what reading it gave: recorded with every scan."""

    path: str
    sha256: str
    bytes: int
    kind: str  # "pcap", "pcapng", "log:hostapd", ...
    records: int = 0
    warnings: list[str] = field(default_factory=list)
    first_ts: Optional[float] = None
    last_ts: Optional[float] = None
    skipped: int = 0  # malformed lines/records counted and skipped

    @property
    def usable(self) -> bool:
        """Something was read from it: a skipped, empty or unreadable input does not count."""
        return self.records > 0 and self.kind not in ("unsupported", "unknown", "log:unknown")

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "kind": self.kind,
            "records": self.records,
            "warnings": list(self.warnings),
            "skipped": self.skipped,
            "first_seen": iso(self.first_ts),
            "last_seen": iso(self.last_ts),
        }


@dataclass(frozen=True)
class ScanResult:
    """Everything one run produced; JSON, SQLite and HTML are all written from it (frozen: every output shows the
    same stored values)."""

    started: float
    finished: Optional[float]
    tool_version: str
    rules_sha256: str
    inputs: list[InputRecord]
    findings: list[Finding]
    site: str = ""
    operator: str = ""
    scan_id: Optional[int] = None
    complete: bool = True
    hostname: str = ""  # the machine that scanned
    argv: str = ""  # the command line (shadowit takes no secrets as options)
    status: str = ""  # complete, incomplete or failed (nothing usable was read)
    risk: Any = None  # detector.policy.risk.SiteRisk, computed once when the scan ends
    devices: list[dict[str, Any]] = field(default_factory=list)  # who is behind the findings' addresses
    networks: Optional[dict[str, Any]] = None  # the site's networks: {"source": declared|inferred, "networks"}
    pseudonymized: bool = False  # user names, host names and MACs replaced by the site's pseudonyms (--pseudonymize)

    def as_dict(self) -> dict[str, Any]:
        risk = self.risk.as_dict() if self.risk is not None and self.status != "failed" else None
        return {
            "schema": "shadowit.findings/1",
            "scan": {
                "started": iso(self.started),
                "finished": iso(self.finished),
                "tool_version": self.tool_version,
                "rules_sha256": self.rules_sha256,
                "site": self.site,
                "inputs": [i.as_dict() for i in self.inputs],
                "operator": self.operator,
                "hostname": self.hostname,
                "command_line": self.argv,
                "status": self.status or ("complete" if self.complete else "incomplete"),
                "risk": risk,
                "networks": dict(self.networks) if self.networks is not None else None,
                "pseudonymized": self.pseudonymized,
            },
            "findings": [f.as_dict() for f in self.findings],
            "devices": [dict(d) for d in self.devices],
        }
