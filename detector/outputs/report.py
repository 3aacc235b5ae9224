"""The HTML report: of the run just finished, or re-rendered from stored scans (one site, or the MSP view)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from detector.findings.result import ScanResult
from detector.outputs import OutputError
from detector.outputs.stored import open_store
from detector.policy import RuleSet, load_ruleset
from detector.session.policy import Policy
from detector.session.scan import ScanOutcome, reclassify
from detector.store import ScanNotFound
from reports.options import ReportOptions

if TYPE_CHECKING:  # jinja2 and the store load only when a report is written (start-up)
    from detector.store import SiteState, Store
    from reports.render import SiteReport


@dataclass(kw_only=True, frozen=True, eq=False, repr=False)  # never compared or printed
class ReportRequest:
    """``shadowit report``: which stored scans, under which rules, and how the report looks."""

    dbs: Sequence[Path]
    out: Path
    scan_id: Optional[int] = None  # None: the latest complete scan (of each site)
    site: Optional[str] = None  # None: every site in the database(s)
    rules_files: Optional[Sequence[Path]] = None  # re-classify under these rules first, stored as new scans
    zone: Optional[tzinfo] = None
    window: Optional[float] = None  # --window: seconds of assessment before each scan (None: since the first)
    presentation: dict[str, str] = field(default_factory=dict)  # given on the command line: over the stored ones
    pseudonymize: Optional[bool] = None  # None: each site as its stored scans were


def site_report(result: ScanResult, ruleset: RuleSet, store: Optional[Store] = None,
                zone: Optional[tzinfo] = None, window: Optional[float] = None,
                state: Optional[SiteState] = None) -> SiteReport:
    """Gather what the report shows beside the scan itself: the site state (``state``, or read from ``store``
    over ``window`` seconds), trend, compliance, exceptions."""
    from reports.render import SiteReport, exceptions_of

    history: list[tuple[float, dict[str, int]]] = []
    if store is not None and result.scan_id is not None:
        state = state or store.site_state(result.scan_id, window=window)
        history = [(p.started, dict(p.counts)) for p in store.findings_over_time(result.site or None)
                   if p.scan_id <= result.scan_id]
    expired = {r.id: (r.id, r.expires, r.reason, r.owner, r.location) for r in ruleset.expired_allows}
    for finding in result.findings:  # the exceptions the scan recorded, whichever rules the report is made under
        record = finding.exception or {}
        if record.get("expired") and record.get("rule") not in expired:
            expired[record["rule"]] = tuple(record.get(key) for key in ("rule", "expires", "reason", "owner",
                                                                         "location"))
    return SiteReport(result=result, state=state, history=history, compliance=ruleset.compliance,
                      expired_allows=list(expired.values()), operator=result.operator, generated=time.time(),
                      zone=zone, exceptions=exceptions_of(ruleset.rules))


def render(site_reports: list[SiteReport], out: Path, presentation: ReportOptions) -> None:
    from reports.render import render_report  # jinja2 only when a report is asked for

    try:
        render_report(site_reports, out, presentation)
    except OSError as exc:
        raise OutputError(f"cannot write report {out}: {exc.strerror}") from None


def write_run_report(outcome: ScanOutcome, out: Path, db: Optional[Path], presentation: ReportOptions,
                     state: Optional[SiteState] = None) -> None:
    """The report of the run just finished: the site's state as of it, beside the scans of its database."""
    from detector.store import Store

    store = Store(db) if db else None
    try:
        render([site_report(outcome.result, outcome.policy.ruleset, store, outcome.zone, state=state)], out,
               presentation)
        if store is not None:
            store.mark_reported([outcome.result.scan_id])
    finally:
        if store is not None:
            store.close()


def write_stored_report(request: ReportRequest, reclassified: Callable[[ScanResult], None]) -> int:
    """Render stored scans into one report; returns how many sites it shows.

    With ``rules_files`` each scan is re-classified first (no captures needed) and stored as a new scan
    that records which scan it derives from; ``reclassified`` hears of each.
    """
    policy = Policy.load(request.rules_files) if request.rules_files else None
    ruleset = policy.ruleset if policy is not None else load_ruleset(None)
    site_reports = []
    stores = [open_store(db, request.pseudonymize) for db in request.dbs]
    try:
        if policy is not None and any(store.read_only for store in stores):
            archive = next(store.path for store in stores if store.read_only)
            raise OutputError(f"{archive} is read-only: --rules stores the re-classified scans in it; "
                              "re-classify a writable copy")
        stored_settings: dict[str, object] = {}
        for store in stores:
            for result in _chosen_scans(store, request):
                if not stored_settings and result.scan_id is not None:
                    stored_settings = store.report_settings(result.scan_id)
                if policy is not None:
                    note = f"report --rules (re-classifies scan #{result.scan_id})"
                    source = result.scan_id
                    result = reclassify(store, store.load_scan(source, as_stored=True), policy, note)
                    if source is not None and result.scan_id is not None:
                        store.save_report_settings(result.scan_id, store.report_settings(source))
                    reclassified(result)
                    result = store.pseudonymized(result)
                site_reports.append(site_report(result, ruleset, store, request.zone, request.window))
        if not site_reports:
            raise OutputError("no complete scan found")
        render(site_reports, request.out, ReportOptions.from_settings({**stored_settings, **request.presentation}))
        for store in (store for store in stores if not store.read_only):  # an archive keeps its record as it is
            store.mark_reported([r.result.scan_id for r in site_reports if r.result.scan_id is not None
                                 and _belongs(store, r.result.scan_id, r.result.started)])
    finally:
        for store in stores:
            store.close()
    return len(site_reports)


def _chosen_scans(store: Store, request: ReportRequest) -> list[ScanResult]:
    """The asked-for scan, or the latest complete scan of each site (a site without one is left out)."""
    asked = request.scan_id is not None or request.site is not None
    sites = [request.site] if asked else (store.sites() or [None])
    chosen = []
    for name in sites:
        try:
            chosen.append(store.load_scan(request.scan_id, site=name))
        except ScanNotFound as exc:
            if asked:
                raise OutputError(str(exc)) from None
    return chosen


def _belongs(store: Store, scan_id: int, started: float) -> bool:
    """Several databases number scans independently: match id and start time."""
    try:
        return store.load_scan(scan_id).started == started
    except ScanNotFound:
        return False
