"""The events a finding puts on the "why staff work around IT" timeline, per device and minute.

Each finding kind's presentation (``reports/kinds``) says which events it
contributes; ``reports/timeline`` lines them up and finds the workarounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional

from detector.findings.finding import Finding
from reports.fmt import clip, clock, day_of, to_timestamp
from reports.i18n import _

OUTAGE = "outage"
UPLOAD = "upload"
CREDENTIAL = "credential"
MAX_HOSTS_PER_EVENT = 20


@dataclass
class TimelineEvent:
    ts: float
    host: str
    kind: str
    label: str
    finding: int  # index into the scan's findings, for links
    clock: str = ""  # filled at construction, in the report's display zone
    day: str = ""

    def __post_init__(self) -> None:
        self.clock = self.clock or clock(self.ts)
        self.day = self.day or day_of(self.ts)


def simple_events(
    finding: Finding, index: int, kind: str, label: str, hosts: Optional[list[str]] = None
) -> list[TimelineEvent]:
    """One event per evidence time (else first and last seen) and host."""
    times = [to_timestamp(e.time) for e in finding.evidence]
    stamps = sorted({t for t in times if t is not None})
    if not stamps:
        stamps = sorted({t for t in (finding.first_seen, finding.last_seen) if t is not None})
    hosts = hosts or bounded(finding.hosts) or [_("(unknown host)")]
    return [TimelineEvent(ts, clip(host, 80), kind, label, index) for ts in stamps for host in hosts]


def actors(finding: Finding, clients: Optional[list[str]] = None, client: str = "") -> list[str]:
    """The hosts that did it (the client of a login or transfer), not the servers they reached."""
    if clients:
        return bounded(clients)
    return bounded([client]) if client else bounded(finding.hosts)


def bounded(hosts: Iterable[Any]) -> list[str]:
    return [str(h) for h in list(hosts)[:MAX_HOSTS_PER_EVENT] if h not in (None, "")]
