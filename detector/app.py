"""What the commands do, as library functions: the CLI only parses options and maps errors to exit codes.

One ScanResult feeds JSON, SQLite and HTML alike (as capa's one result
document feeds every renderer).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import signal
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional, TextIO

from . import __version__
from .catalog import load_catalog
from .model import SEVERITY_RANK, Finding, InputRecord, ScanResult
from .pipeline import Scan, ScanConfig
from .risk import score_findings
from .rules import RuleSet, load_ruleset
from .sources import discover
from .sources.incremental import TimeWindow
from .store import ScanLock, Store


@dataclass
class ScanRequest:
    paths: list[str]
    rules_files: Optional[list[Path]] = None
    db: Optional[Path] = None
    site: str = ""
    operator: str = ""
    tz_offset_seconds: Optional[int] = None
    progress_stream: Optional[TextIO] = None
    argv: str = ""
    wait_for_lock: bool = True
    window: Optional[TimeWindow] = None  # --since/--until
    incremental: bool = False  # logs: only lines earlier scans of this database did not read


@dataclass
class ScanOutcome:
    result: ScanResult
    ruleset: RuleSet
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)
    tz_offset_seconds: int = 0  # --tz: the report shows times in the site's local time


def default_operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "")


def classify(findings: list[Finding], ruleset: RuleSet) -> list[Finding]:
    """Apply rules and risk, then order most severe first."""
    for finding in findings:
        ruleset.classify(finding)
    score_findings(findings)
    return sorted(findings, key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), f.sanctioned, -f.risk, f.title))


def policy_sha256(ruleset: RuleSet, catalog_path: Optional[str]) -> str:
    """SHA-256 over every rule file loaded, in load order, then the service catalog: what decided the results."""
    digest = hashlib.sha256()
    for path in [*ruleset.files, *([Path(catalog_path)] if catalog_path else [])]:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler stopping us) ends a scan like Ctrl-C: what was read so far is still stored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

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
    ruleset = load_ruleset(request.rules_files)
    catalog = load_catalog()
    ruleset.sha256 = policy_sha256(ruleset, catalog.path)
    files = list(discover(request.paths))
    scan = Scan(ScanConfig(ruleset.settings, catalog, request.tz_offset_seconds, request.progress_stream,
                           window=request.window))
    started = time.time()
    operator = request.operator or default_operator()
    interrupted = False
    with ExitStack() as stack:
        store, scan_id = _open_store(stack, request, started, ruleset, operator)
        if store is not None and request.incremental:
            scan.resume(store.log_positions())
        try:
            for path in files:
                record = scan.add_file(path)
                if store is not None:
                    store.add_inputs(scan_id, [record])
        except KeyboardInterrupt:
            interrupted = True
        findings = classify(scan.finish(), ruleset)
        result = ScanResult(started, time.time(), __version__, ruleset.sha256, scan.inputs, findings,
                            site=request.site, operator=operator, scan_id=scan_id, complete=not interrupted)
        if store is not None:
            store.add_inputs(scan_id, scan.inputs)
            store.save_findings(scan_id, findings, positions=scan.positions())
            store.finish_scan(scan_id, result.finished or time.time(), complete=not interrupted)
    return ScanOutcome(result, ruleset, interrupted, tz_offset_seconds=request.tz_offset_seconds or 0)


def _open_store(stack: ExitStack, request: ScanRequest, started: float, ruleset: RuleSet,
                operator: str) -> tuple[Optional[Store], Optional[int]]:
    if request.db is None:
        return None, None
    stack.enter_context(ScanLock(request.db, wait=request.wait_for_lock, timeout=3600))
    store = stack.enter_context(Store(request.db))
    scan_id = store.begin_scan(started, __version__, ruleset.sha256, site=request.site, operator=operator,
                               rules_files=[str(p) for p in ruleset.files], argv=request.argv)
    return store, scan_id


def write_json(result: ScanResult, target: str, stdout: TextIO) -> None:
    text = json.dumps(result.as_dict(), indent=2, sort_keys=False)
    if target == "-":
        stdout.write(text + "\n")
    else:
        Path(target).write_text(text + "\n", encoding="utf-8")


def site_report(result: ScanResult, ruleset: RuleSet, store: Optional[Store] = None, tz_offset_seconds: int = 0):
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
                      tz_offset_seconds=tz_offset_seconds)


def write_report(reports: list, out: Path) -> Path:
    from reports.render import render_report

    render_report(reports, out)
    return out


def inputs_summary(inputs: list[InputRecord]) -> list[str]:
    return [f"{i.path}: {w}" for i in inputs for w in i.warnings]
