"""One state per site: what the site's scans in an assessment window say now, computed in one place.

The report, ``diff``, ``history``, the JSON and the terminal summary all read this comparison. A finding
leaves the state only when an input behind it was read again and the finding was gone ("resolved"); a
finding whose inputs were not read again stays, marked "not re-checked", and keeps counting toward the
grade, so reading less never gives a better grade. Pure functions over stored scans (``StoredScan``), so
tests and re-rendered reports need no database.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Iterator, NamedTuple, Optional

from detector.findings.finding import (
    CATEGORY_CREDENTIALS,
    CATEGORY_FILE_SHARING,
    CATEGORY_WIFI,
    CATEGORY_WIFI_ATTACK,
    SEVERITY_RANK,
    Finding,
)
from detector.findings.result import InputRecord, ScanResult
from detector.policy.risk import SiteRisk, finding_risk, summarize
from detector.store.diff import ScanDiff, SeverityChange
from detector.times import iso, trusted_ts

STATE_SCHEMA = "shadowit.state/1"
NEW = "new"
PERSISTING = "persisting"
RESOLVED = "resolved"
NOT_RECHECKED = "not-rechecked"
NEWLY_SANCTIONED = "newly-sanctioned"
EXCEPTION_EXPIRED = "exception-expired"
STATES = (NEW, PERSISTING, NOT_RECHECKED, NEWLY_SANCTIONED, EXCEPTION_EXPIRED, RESOLVED)

ASSESSED = "assessed"
NOT_ASSESSED = "not assessed"
CAPTURE_KINDS = ("pcap", "pcapng", "live:", "capture")
# The input kinds (log:NAME, doc:NAME) that can show each area; a capture can show every area.
AREA_SOURCES: dict[str, frozenset[str]] = {
    CATEGORY_FILE_SHARING: frozenset({"zeek", "zeek-json", "suricata-eve", "firewall-kv", "squid", "proxifier",
                                      "dns-log", "m365-message-trace", "postfix", "mailbox", "slack-export",
                                      "teams-export", "chat-log"}),
    CATEGORY_CREDENTIALS: frozenset({"zeek", "zeek-json", "suricata-eve", "server-logins", "postfix", "mailbox",
                                     "slack-export", "teams-export", "chat-log"}),
    CATEGORY_WIFI: frozenset({"hostapd", "wpa_supplicant", "networkmanager", "unifi", "mikrotik", "macos",
                              "windows-evtx", "wlan-autoconfig-xml", "wlan-autoconfig-csv"}),
}
AREA_SOURCES[CATEGORY_WIFI_ATTACK] = AREA_SOURCES[CATEGORY_WIFI]


class StoredScan(NamedTuple):
    """One scan of the window, with the logs it read from a resumed position (``--incremental``): those
    lines re-check nothing read before them."""

    result: ScanResult
    resumed: frozenset[str] = frozenset()


@dataclass
class Tracked:
    """A finding in the state, with the inputs (names and SHA-256s) its evidence came from."""

    finding: Finding
    names: frozenset[str]
    digests: frozenset[str]


@dataclass
class SiteState:
    """The site's current state over the window ending with ``head``, compared with the state before it."""

    site: str
    head: ScanResult
    base: Optional[ScanResult]  # the scan before head in the window (what the comparison started from)
    window_start: Optional[float]  # None: since the first scan of the site
    window_end: float  # the head scan's time: recency is measured from here
    scans: int  # scans the window holds
    first_started: Optional[float] = None  # the first scan of the window
    period: tuple[Optional[float], Optional[float]] = (None, None)  # what the inputs cover, trusted clocks only
    states: dict[str, str] = field(default_factory=dict)  # finding id -> one of STATES
    current: list[Finding] = field(default_factory=list)  # head's findings, then those not re-checked
    resolved: list[Finding] = field(default_factory=list)
    before: list[Finding] = field(default_factory=list)  # the state before head
    severity_changes: list[SeverityChange] = field(default_factory=list)
    areas: dict[str, bool] = field(default_factory=dict)  # category -> assessed in the window
    risk: Optional[SiteRisk] = None  # the grade of the current state
    risk_before: Optional[SiteRisk] = None

    def of(self, finding_id: str) -> str:
        return self.states.get(finding_id, "")

    def with_state(self, state: str) -> list[Finding]:
        pool = self.resolved if state == RESOLVED else self.current
        return [f for f in pool if self.states.get(f.id) == state]

    @property
    def not_rechecked(self) -> list[Finding]:
        return self.with_state(NOT_RECHECKED)

    @property
    def has_before(self) -> bool:
        return self.base is not None

    def counts(self) -> dict[str, int]:
        return {state: len(self.with_state(state)) for state in STATES}

    def diff(self) -> ScanDiff:
        """The same comparison as ``shadowit diff`` prints: persisting includes the sanctioning changes."""
        persisting = [f for f in self.head.findings if self.states.get(f.id) in
                      (PERSISTING, NEWLY_SANCTIONED, EXCEPTION_EXPIRED)]
        return ScanDiff(
            base=self.base.scan_id if self.base else None, head=self.head.scan_id,
            new=self.with_state(NEW), resolved=list(self.resolved), persisting=persisting,
            severity_changes=list(self.severity_changes), not_rechecked=self.with_state(NOT_RECHECKED),
            newly_sanctioned=self.with_state(NEWLY_SANCTIONED), exception_expired=self.with_state(EXCEPTION_EXPIRED),
            base_started=self.base.started if self.base else None, head_started=self.head.started, site=self.site,
        )

    def as_dict(self) -> dict[str, Any]:
        """The ``site_state`` block of the JSON document (see the contract in the README)."""
        return {
            "schema": STATE_SCHEMA,
            "window": {"from": iso(self.window_start if self.window_start is not None else self.first_started),
                       "to": iso(self.window_end), "scans": self.scans},
            "compared_with": self.base.scan_id if self.base else None,
            "risk": self.risk.as_dict() if self.risk is not None else None,
            "areas": {area: ASSESSED if assessed else NOT_ASSESSED for area, assessed in self.areas.items()},
            "counts": self.counts(),
            "not_rechecked": [_stated(f, NOT_RECHECKED) for f in self.with_state(NOT_RECHECKED)],
            "resolved": [_stated(f, RESOLVED) for f in self.resolved],
        }


def _stated(finding: Finding, state: str) -> dict[str, Any]:
    return {**finding.as_dict(), "state": state}


def site_state(scans: list[StoredScan], window_start: Optional[float] = None) -> SiteState:
    """Walk the window's scans oldest first (the last is the head) and carry each finding until it is
    re-checked and gone; then classify the head against the state before it."""
    if not scans:
        raise ValueError("a site state needs at least its head scan")
    carried: dict[str, Tracked] = {}
    for scan in scans[:-1]:
        carried = _advance(carried, scan)
    return _state_at(carried, scans, window_start)


def site_states(scans: list[StoredScan]) -> Iterator[SiteState]:
    """The state as of each scan in turn, over every scan before it (``history``)."""
    carried: dict[str, Tracked] = {}
    for index in range(len(scans)):
        yield _state_at(carried, scans[:index + 1], None)
        carried = _advance(carried, scans[index])


def _state_at(carried: dict[str, Tracked], scans: list[StoredScan], window_start: Optional[float]) -> SiteState:
    head = scans[-1]
    base = scans[-2].result if len(scans) > 1 else None
    state = SiteState(site=head.result.site, head=head.result, base=base, window_start=window_start,
                      window_end=head.result.started, scans=len(scans), first_started=scans[0].result.started,
                      before=[copy.copy(t.finding) for t in carried.values()])
    _classify(state, carried, head)
    for finding in state.with_state(NOT_RECHECKED):  # aged from the end of the window, like the head's own
        finding.risk = finding_risk(finding, state.window_end)
    inputs = [(record, scan.result.started) for scan in scans for record in scan.result.inputs]
    state.areas = areas_assessed([record for record, _started in inputs], state.current)
    state.period = trusted_period(inputs)
    state.risk = summarize(state.current)
    state.risk_before = summarize(state.before) if base is not None else None
    return state


def _advance(carried: dict[str, Tracked], scan: StoredScan) -> dict[str, Tracked]:
    """The state after one more scan: its findings, and what it did not re-check."""
    after = {f.id: _track(f, scan.result) for f in scan.result.findings}
    rechecks = _rechecks(scan)
    for finding_id, tracked in carried.items():
        if finding_id not in after and not _rechecked(tracked, rechecks):
            after[finding_id] = tracked
    return after


def _classify(state: SiteState, carried: dict[str, Tracked], head: StoredScan) -> None:
    ordered: list[Finding] = []
    for finding in head.result.findings:
        previous = carried.get(finding.id)
        state.states[finding.id] = _head_state(finding, previous.finding if previous else None, state.has_before)
        if previous is not None and previous.finding.severity != finding.severity:
            state.severity_changes.append(SeverityChange(finding.id, previous.finding.severity, finding.severity))
        ordered.append(copy.copy(finding))
    rechecks = _rechecks(head)
    stale = []
    for finding_id, tracked in carried.items():
        if finding_id in state.states:
            continue
        if _rechecked(tracked, rechecks):
            state.states[finding_id] = RESOLVED
            state.resolved.append(copy.copy(tracked.finding))
        else:
            state.states[finding_id] = NOT_RECHECKED
            stale.append(copy.copy(tracked.finding))
    stale.sort(key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), f.sanctioned, f.title))
    state.current = ordered + stale


def _head_state(finding: Finding, previous: Optional[Finding], compared: bool) -> str:
    """New, persisting, newly sanctioned, or exception expired: an exception seen expired now and not in the scan
    compared with (it lapsed, or it was written and ran out between the two scans) counts as expired, not as new;
    a site's first scan compares with nothing, so all of it is new."""
    if previous is not None and finding.sanctioned and not previous.sanctioned:
        return NEWLY_SANCTIONED
    if compared and not finding.sanctioned and _expired_exception(finding) and (
            previous is None or _expired_exception(previous) != _expired_exception(finding)):
        return EXCEPTION_EXPIRED
    return NEW if previous is None else PERSISTING


def _expired_exception(finding: Finding) -> str:
    """The allow rule whose expiry no longer covers the finding ("" when none)."""
    exception = finding.exception or {}
    return str(exception.get("rule") or "?") if exception.get("expired") and not finding.sanctioned else ""


class _Rechecks(NamedTuple):
    names: frozenset[str]
    digests: frozenset[str]


def _rechecks(scan: StoredScan) -> _Rechecks:
    """The inputs a scan read whole: an interrupted scan, and logs resumed from a position, re-check nothing."""
    if not scan.result.complete:
        return _Rechecks(frozenset(), frozenset())
    whole = [i for i in scan.result.inputs if i.usable and i.path not in scan.resumed]
    return _Rechecks(frozenset(input_name(i.path) for i in whole), frozenset(i.sha256 for i in whole if i.sha256))


def _rechecked(tracked: Tracked, rechecks: _Rechecks) -> bool:
    """A finding without recorded inputs is judged by its scan as a whole (older databases)."""
    if not tracked.names:
        return bool(rechecks.names)
    return bool(tracked.names & rechecks.names or tracked.digests & rechecks.digests)


def _track(finding: Finding, scan: ScanResult) -> Tracked:
    names = frozenset(finding.inputs)
    digests = frozenset(i.sha256 for i in scan.inputs if i.sha256 and input_name(i.path) in names)
    return Tracked(finding, names, digests)


def input_name(path: str) -> str:
    """Evidence cites inputs by file name (interfaces by their name)."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def areas_assessed(inputs: list[InputRecord], findings: list[Finding]) -> dict[str, bool]:
    """Whether a usable input that can show each area was read (or the area has findings): an area without
    one is "not assessed", never a perfect score."""
    kinds = {record.kind for record in inputs if record.usable}
    capture = any(kind.startswith(CAPTURE_KINDS) for kind in kinds)
    names = {kind.split(":", 1)[1] for kind in kinds if kind.startswith(("log:", "doc:"))}
    found = {finding.category for finding in findings}
    return {area: capture or bool(names & sources) or area in found for area, sources in AREA_SOURCES.items()}


def trusted_period(inputs: list[tuple[InputRecord, float]]) -> tuple[Optional[float], Optional[float]]:
    """The first and last record time of the inputs (each with its scan's time), clocks never set or ahead of
    the scan left out."""
    starts = [r.first_ts for r, started in inputs if r.first_ts is not None and trusted_ts(r.first_ts, started)]
    ends = [r.last_ts for r, started in inputs if r.last_ts is not None and trusted_ts(r.last_ts, started)]
    return (min(starts) if starts else None, max(ends) if ends else None)


def diff_results(base: ScanResult, head: ScanResult) -> ScanDiff:
    """Two scans compared as the site state compares them (``shadowit diff A B``)."""
    return site_state([StoredScan(base), StoredScan(head)]).diff()
