"""What changed since the previous scan, as the site state says it (detector/store/state.py).

The report shows the comparison ``shadowit diff`` prints: a finding absent from this scan is "resolved"
only when its input was read again; otherwise it is "not re-checked" and stays in the grade.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detector.findings.finding import Finding
from detector.store.state import NEW, NOT_RECHECKED, RESOLVED, SiteState


@dataclass
class ScanChanges:
    new: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    persisting: list[Finding] = field(default_factory=list)  # still present, sanctioning changes included
    not_rechecked: list[Finding] = field(default_factory=list)
    has_previous: bool = False


def changes_of(state: SiteState) -> ScanChanges:
    """The state's comparison of this scan with the state before it (nothing to compare on a first scan)."""
    if not state.has_before:
        return ScanChanges()
    stated = {NEW, NOT_RECHECKED, RESOLVED}
    return ScanChanges(
        new=state.with_state(NEW),
        resolved=state.with_state(RESOLVED),
        persisting=[f for f in state.current if state.of(f.id) not in stated],
        not_rechecked=state.with_state(NOT_RECHECKED),
        has_previous=True,
    )
