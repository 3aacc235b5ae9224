"""What the commands do, as library functions: the CLI only parses options and maps errors to exit codes.

One ScanResult feeds JSON, SQLite and HTML alike (as capa's one result
document feeds every renderer).
"""

from __future__ import annotations

import copy
import getpass
import hashlib
import os
import signal
import socket
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, TextIO

from detector import __version__
from detector.findings.finding import SEVERITY_RANK, Finding
from detector.findings.result import InputRecord, ScanResult
from detector.inputs import discover
from detector.policy import RuleSet, load_ruleset
from detector.policy.catalog import Catalog, load_catalog
from detector.policy.risk import SiteRisk, score_findings
from detector.session.pipeline import Scan, ScanConfig

if TYPE_CHECKING:  # sqlite3 and the store load only with --db, log positions with --incremental (start-up)
    from detector.logs.incremental import TimeWindow
    from detector.store import Store


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class ScanRequest:
    """What `shadowit scan` was asked to do, as options parsed by the CLI."""

    paths: list[str]
    rules_files: Optional[list[Path]] = None
    db: Optional[Path] = None
    site: str = ""
    operator: str = ""
    zone: Optional[tzinfo] = None  # --tz
    progress_stream: Optional[TextIO] = None
    argv: str = ""
    wait_for_lock: bool = True
    window: Optional[TimeWindow] = None  # --since/--until
    incremental: bool = False  # logs: only lines earlier scans of this database did not read
    jobs: Optional[int] = None  # decoding processes for captures (detector/capture/parallel.py); None: one


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class ScanOutcome:
    """A finished run: the result and the rules that classified it, for the outputs."""

    result: ScanResult
    ruleset: RuleSet
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)
    zone: Optional[tzinfo] = None  # --tz: the report shows times in the site's local time
    signal: str = ""  # SIGINT or SIGTERM when a signal ended the run early

    @property
    def failed(self) -> bool:
        """Nothing usable was read: no grade, no comparison, exit 2."""
        return self.result.status == "failed"


def default_operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "")


def classify(findings: list[Finding], ruleset: RuleSet) -> list[Finding]:
    """Apply rules, then score once (the stored risk every output shows), most severe first."""
    return classify_and_score(findings, ruleset)[0]


def classify_and_score(findings: list[Finding], ruleset: RuleSet) -> tuple[list[Finding], SiteRisk]:
    for finding in findings:
        ruleset.classify(finding)
    risk = score_findings(findings)
    ordered = sorted(findings, key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), f.sanctioned, -f.risk, f.title))
    return ordered, risk


def conclude(findings: list[Finding], inputs: list[InputRecord], ruleset: RuleSet, started: float, site: str,
             operator: str, argv: str, scan_id: Optional[int], interrupted: bool,
             nothing_new_is_fine: bool = False) -> ScanResult:
    """The end of every run, file scan or live capture alike: classify, score once, judge coverage.

    A run that read nothing usable fails; an incremental run over logs it already read has simply found
    no new lines (``nothing_new_is_fine``), which is not a failure as long as there were inputs.
    """
    ordered, risk = classify_and_score(findings, ruleset)
    usable = any(record.usable for record in inputs) or (nothing_new_is_fine and bool(inputs))
    failed = not interrupted and not usable
    status = "failed" if failed else "incomplete" if interrupted else "complete"
    return ScanResult(started, time.time(), __version__, ruleset.sha256, inputs, ordered, site=site,
                      operator=operator, scan_id=scan_id, complete=status == "complete", hostname=scan_host(),
                      argv=argv, status=status, risk=None if failed else risk)


def store_result(store: Store, result: ScanResult, positions: Optional[list] = None) -> None:
    """Inputs, findings and the one score of a finished run; a failed run is stored as failed, ungraded.

    Log reading positions (incremental scans) are committed with the findings of those lines.
    """
    assert result.scan_id is not None
    store.add_inputs(result.scan_id, result.inputs)
    store.save_findings(result.scan_id, result.findings, positions=positions or ())
    store.finish_scan(result.scan_id, result.finished or time.time(), complete=result.status == "complete",
                      risk=result.risk, failed=result.status == "failed", devices=result.devices)


def scan_host() -> str:
    try:
        return socket.gethostname()
    except OSError:
        return ""


def policy_sha256(ruleset: RuleSet, catalog_path: Optional[str]) -> str:
    """SHA-256 over every rule file loaded, in load order, then the service catalog: what decided the results."""
    digest = hashlib.sha256()
    for path in [*ruleset.files, *([Path(catalog_path)] if catalog_path else [])]:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C but remembered, so the exit code can say which (143, not 130)."""


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler stopping us) ends a scan like Ctrl-C: what was read so far is still stored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_scan(request: ScanRequest) -> ScanOutcome:
    """Scan every input, classify, and store as we go (an interrupted scan keeps what it has)."""
    with terminate_as_interrupt():
        return _run_scan(request)


def _run_scan(request: ScanRequest) -> ScanOutcome:
    ruleset, catalog = load_policy(request.rules_files)
    files = list(discover(request.paths))
    scan = Scan(ScanConfig(ruleset.settings, catalog, request.zone, request.progress_stream,
                           window=request.window, jobs=request.jobs))
    started = time.time()
    operator = request.operator or default_operator()
    interrupted = ""
    with ExitStack() as stack:
        store, scan_id = _open_store(stack, request, started, ruleset, operator)
        if store is not None and request.incremental:
            scan.resume(store.log_positions())
        try:
            for path in files:
                record = scan.add_file(path)
                if store is not None:
                    store.add_inputs(scan_id, [record])
        except Terminated:
            interrupted = "SIGTERM"
        except KeyboardInterrupt:
            interrupted = "SIGINT"
        result = conclude(scan.finish(), scan.inputs, ruleset, started, request.site, operator, request.argv,
                          scan_id, bool(interrupted), nothing_new_is_fine=request.incremental)
        result.devices = scan.devices(result.findings)
        if store is not None:
            store_result(store, result, positions=scan.positions())
    return ScanOutcome(result, ruleset, bool(interrupted), zone=request.zone,
                       signal=interrupted)


def _open_store(stack: ExitStack, request: ScanRequest, started: float, ruleset: RuleSet,
                operator: str) -> tuple[Optional[Store], Optional[int]]:
    if request.db is None:
        return None, None
    lock_run(stack, request.db, request.wait_for_lock)
    return begin_run(stack, request.db, started, ruleset, request.site, operator, request.argv)


# ---------------------------------------------------------------- the run lifecycle, shared by scan and capture
# load_policy -> lock_run -> begin_run -> (read inputs) -> conclude -> store_result


LOCK_TIMEOUT = 3600.0  # a second run on the same database waits this long (--wait) before giving up


def load_policy(rules_files: Optional[list[Path]]) -> tuple[RuleSet, Catalog]:
    """Rules and service catalog for one run, with the hash of everything that decides its results."""
    ruleset = load_ruleset(rules_files)
    catalog = load_catalog()
    ruleset.sha256 = policy_sha256(ruleset, catalog.path)
    return ruleset, catalog


def lock_run(stack: ExitStack, db: Path, wait: bool) -> None:
    """One run per database at a time (<db>.lock), released when ``stack`` closes."""
    from detector.store import ScanLock

    stack.enter_context(ScanLock(db, wait=wait, timeout=LOCK_TIMEOUT))


def begin_run(stack: ExitStack, db: Path, started: float, ruleset: RuleSet, site: str, operator: str,
              argv: str) -> tuple[Store, int]:
    """Open the database and record the run as started, so an interrupted run still leaves a trace."""
    from detector.store import Store

    store = stack.enter_context(Store(db))
    scan_id = store.begin_scan(started, __version__, ruleset.sha256, site=site, operator=operator,
                               rules_files=[str(p) for p in ruleset.files], argv=argv)
    return store, scan_id


class OutputError(Exception):
    """An output file could not be written; one line for the user."""


def reclassify(store: Store, result: ScanResult, ruleset: RuleSet, argv: str) -> ScanResult:
    """Re-classify a stored scan's findings under other rules, without the captures, as a new stored scan.

    The new scan keeps the inputs and evidence, takes the new rules' hash and
    score, and records which scan it derives from, so ``history`` and ``diff``
    show what the rule change did (newly sanctioned, exception expired).
    """
    catalog = load_catalog()
    ruleset.sha256 = policy_sha256(ruleset, catalog.path)
    findings = [copy.deepcopy(f) for f in result.findings]
    for finding in findings:  # severity stays unless a rule sets it: the detector's verdict is not stored apart
        finding.rule, finding.sanctioned, finding.exception, finding.tags = "", False, None, []
    started = time.time()
    scan_id = store.begin_scan(started, __version__, ruleset.sha256, site=result.site, operator=result.operator,
                               rules_files=[str(p) for p in ruleset.files], argv=argv)
    derived = conclude(findings, result.inputs, ruleset, started, result.site, result.operator, argv, scan_id,
                       interrupted=not result.complete)
    derived.devices = list(result.devices)
    store_result(store, derived)
    if result.scan_id is not None:
        store.mark_derived(scan_id, result.scan_id)
    return derived


def write_json(result: ScanResult, target: str, stdout: TextIO) -> None:
    from detector.jsontext import dumps_indented

    text = dumps_indented(result.as_dict())
    if target == "-":
        stdout.write(text + "\n")
        return
    try:
        Path(target).write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None


def site_report(result: ScanResult, ruleset: RuleSet, store: Optional[Store] = None,
                zone: Optional[tzinfo] = None):
    """Gather what the report shows beside the scan itself: previous scan, trend, compliance."""
    from reports.render import SiteReport

    previous = None
    history: list[tuple[float, dict[str, int]]] = []
    if store is not None and result.scan_id is not None:
        earlier = [s for s in store.history(result.site or None) if s.id < result.scan_id and s.status == "complete"]
        if earlier:
            previous = store.load_scan(max(s.id for s in earlier))
        history = [(p.started, dict(p.counts)) for p in store.findings_over_time(result.site or None)
                   if p.scan_id <= result.scan_id]
    expired = [(r.id, r.expires, r.reason) for r in ruleset.expired_allows]
    return SiteReport(result=result, previous=previous, history=history, compliance=ruleset.compliance,
                      expired_allows=expired, operator=result.operator, generated=time.time(),
                      zone=zone)


def write_report(reports: list, out: Path) -> Path:
    from reports.render import render_report

    render_report(reports, out)
    return out


def inputs_summary(inputs: list[InputRecord]) -> list[str]:
    return [f"{i.path}: {w}" for i in inputs for w in i.warnings]
