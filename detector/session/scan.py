"""One run, from policy and lock to a stored, finished ScanResult: file scans, live capture, re-classification.

    session = ScanSession(request)      # the policy loaded and hashed once
    with session:                       # SIGINT/SIGTERM caught, <db>.lock held
        session.begin()                 # the run recorded as started: an interrupted run still leaves a trace
        session.read(paths)             # each input stored once read; a stop signal ends the reading
        result = session.finish()       # classified, scored once, stored (with the log positions)

One ScanResult feeds JSON, SQLite and HTML alike (as capa's one result
document feeds every renderer): the outputs (detector/outputs/) read the
finished result, and the session never imports them.
"""

from __future__ import annotations

import copy
import getpass
import os
import socket
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import tzinfo
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, TextIO

from detector import __version__
from detector.findings.finding import Finding
from detector.findings.result import InputRecord, ScanResult
from detector.inputs import InputDigests, discover, is_capture_file, repeated_inputs
from detector.interrupts import StopSignals, stop_reason
from detector.session.pipeline import Scan, ScanConfig
from detector.session.policy import Policy, classify_and_score
from detector.site.names import NameDirectory
from detector.site.networks import LocalNetworks, parse_networks

if TYPE_CHECKING:  # sqlite3 and the store load only with --db, log positions with --incremental (start-up)
    from detector.logs.incremental import TimeWindow
    from detector.store import SiteState, Store

LOCK_TIMEOUT = 3600.0  # a second run on the same database waits this long (--wait) before giving up


@dataclass(kw_only=True, frozen=True, eq=False, repr=False)  # never compared or printed (start-up)
class RunRequest:
    """What every run is told, file scan or live capture: its policy, its database, who ran it where."""

    rules_files: Optional[Sequence[Path]] = None  # site policy files; None: ./rules.yaml
    db: Optional[Path] = None
    site: str = ""
    operator: Optional[str] = None  # None: the login name
    zone: Optional[tzinfo] = None  # --tz
    argv: str = ""  # the command line, recorded with the scan
    wait_for_lock: bool = True
    local_nets: Sequence[str] = ()  # --local-nets: the site's networks, in place of the rules' site: networks:

    def scan_config(self, policy: Policy, stop: StopSignals, site: SiteMemory) -> ScanConfig:
        """What the run's Scan shares with every stage."""
        return ScanConfig(policy.ruleset.settings, policy.catalog, self.zone, stop=stop, networks=site.networks,
                          names=site.names)

    def site_networks(self, policy: Policy) -> LocalNetworks:
        """The networks the run judges devices by: --local-nets, else the rules' site: networks:, else inferred."""
        return LocalNetworks(parse_networks(self.local_nets or policy.ruleset.settings.site_networks))


@dataclass(kw_only=True, frozen=True, eq=False, repr=False)
class ScanRequest(RunRequest):
    """``shadowit scan``: captures, logs and directories to read."""

    paths: Sequence[str]
    progress_stream: Optional[TextIO] = None
    window: Optional[TimeWindow] = None  # --since/--until
    incremental: bool = False  # logs: only lines earlier scans of this database did not read

    def scan_config(self, policy: Policy, stop: StopSignals, site: SiteMemory) -> ScanConfig:
        return ScanConfig(policy.ruleset.settings, policy.catalog, self.zone, self.progress_stream,
                          window=self.window, stop=stop, networks=site.networks, names=site.names)


@dataclass(kw_only=True, frozen=True, eq=False, repr=False)
class ScanOutcome:
    """A finished run: its result and the policy that classified it, for the outputs."""

    result: ScanResult
    policy: Policy
    stopped_by: str = ""  # SIGINT or SIGTERM when a signal cut the run short (its result is incomplete)
    warnings: tuple[str, ...] = ()
    zone: Optional[tzinfo] = None  # --tz: the report shows times in the site's local time
    state: Optional[SiteState] = None  # the site's state as of this run (with a database; none for a failed run)

    @property
    def interrupted(self) -> bool:
        return bool(self.stopped_by)

    @property
    def failed(self) -> bool:
        """Nothing usable was read: no grade, no comparison, exit 2."""
        return self.result.status == "failed"


@dataclass(eq=False, repr=False)
class SiteMemory:
    """What a run carries over from the scans of its database before it, read when it begins.

    The reading positions of ``--incremental`` logs (the Scan moves them and the findings store them), the
    site's networks (declared, or inferred while the inputs are read) and its directory of names (loaded from
    the database when the run begins, stored with what this run learned when it ends).
    """

    networks: LocalNetworks = field(default_factory=LocalNetworks)
    log_positions: list[dict[str, Any]] = field(default_factory=list)
    names: NameDirectory = field(default_factory=NameDirectory)


class ScanSession:
    """One run: its policy, lock, stored scan record, the Scan that reads its inputs, and its result.

    ``store``: a database already open (re-classifying from ``report``); the session then neither
    opens nor locks one.
    """

    def __init__(self, request: RunRequest, *, policy: Optional[Policy] = None, store: Optional[Store] = None):
        self.request = request
        self.policy = policy or Policy.load(request.rules_files)
        self.operator = default_operator() if request.operator is None else request.operator
        self.store = store
        self.scan_id: Optional[int] = None
        self.started = time.time()  # before waiting for the lock, as the scan record says
        self.stop = StopSignals()
        self.stopped_by = ""  # SIGINT or SIGTERM once a stop signal ended the reading
        self.state: Optional[SiteState] = None  # the site's state as of this run, computed once when stored
        self.memory = SiteMemory(request.site_networks(self.policy))
        self.incremental = False
        self._closing = ExitStack()

    @cached_property
    def scan(self) -> Scan:
        """Decoders and detectors, built when the first input or frame comes."""
        return Scan(self.request.scan_config(self.policy, self.stop, self.memory))

    def __enter__(self) -> ScanSession:
        with ExitStack() as stack:
            stack.enter_context(self.stop)
            if self.request.db is not None and self.store is None:
                from detector.store import ScanLock

                stack.enter_context(ScanLock(self.request.db, wait=self.request.wait_for_lock, timeout=LOCK_TIMEOUT))
            self._closing = stack.pop_all()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.close()

    def on_exit(self, close: Callable[[], object]) -> None:
        """Close a resource of the run (a live source, a --write file) when the session ends, before the lock."""
        self._closing.callback(close)

    def begin(self, *, resume_logs: bool = False) -> None:
        """Record the run as started; ``resume_logs``: read logs from where earlier scans of the database stopped."""
        self.incremental = resume_logs
        if self.request.db is not None and self.store is None:
            from detector.store import Store

            self.store = self._closing.enter_context(Store(self.request.db))
        if self.store is None:
            return
        self.scan_id = self.store.begin_scan(self.started, __version__, self.policy.sha256, site=self.request.site,
                                             operator=self.operator,
                                             rules_files=[str(p) for p in self.policy.ruleset.files],
                                             argv=self.request.argv)
        if self.request.db is not None:  # a run that reads inputs (re-classifying reads none)
            self.memory.names.merge(self.store.site_names(self.request.site))
            self.scan.recall()
        if resume_logs:
            self.memory.log_positions = self.store.log_positions()
            self.scan.resume(self.memory.log_positions)
            self.scan.resume_flows(self.store.open_flows(self.request.site))

    # ------------------------------------------------------------ reading

    def add(self, path: Path) -> InputRecord:
        """Scan one file and store its record at once."""
        record = self.scan.add_file(path)
        self.store_inputs([record])
        return record

    def read(self, paths: Sequence[Path]) -> None:
        """Scan every input in turn, each content once; a stop signal ends the reading, and what was read stays."""
        try:
            digests = InputDigests(paths)
            repeats = repeated_inputs(paths, digests)
            earlier = self.read_by_earlier_scans(paths, digests) if self.incremental else {}
            for index, path in enumerate(paths):
                if index in repeats:
                    first, sha256 = repeats[index]
                    self.skip_duplicate(path, sha256, f"same content as {first} (SHA-256 {sha256[:16]}...): read once")
                elif index in earlier:
                    seen = earlier[index]
                    self.skip_duplicate(path, seen["sha256"], f"already read by scan {seen['scan_id']} "
                                        f"({seen['path']}, same SHA-256); --incremental reads each capture once")
                else:
                    self.add(path)
        except KeyboardInterrupt as exc:
            self.stopped_by = stop_reason(exc)

    def skip_duplicate(self, path: Path, sha256: str, warning: str) -> None:
        """An input whose bytes were read already (in this scan, or by an earlier one): recorded, not read."""
        record = InputRecord(str(path), sha256, path.stat().st_size, "duplicate", warnings=[warning])
        self.scan.inputs.append(record)
        self.store_inputs([record])

    def read_by_earlier_scans(self, paths: Sequence[Path], digest: InputDigests) -> dict[int, dict[str, Any]]:
        """``--incremental``: captures an earlier scan of this site already read (same SHA-256).

        Logs are read on from their stored positions instead (and never hashed here); a capture read again
        would count twice.
        """
        if self.store is None or self.scan_id is None:
            return {}
        digests = {index: digest(index) for index, path in enumerate(paths) if is_capture_file(path)}
        known = self.store.inputs_read_before(self.request.site, [d for d in digests.values() if d], self.scan_id)
        return {index: {**known[sha256], "sha256": sha256} for index, sha256 in digests.items() if sha256 in known}

    def store_inputs(self, records: list[InputRecord]) -> None:
        if self.store is not None and self.scan_id is not None:
            self.store.add_inputs(self.scan_id, records)

    def store_progress(self, records: list[InputRecord], findings: list[Finding]) -> None:
        """A checkpoint of a long run (live capture): its inputs and its full findings so far, replacing the last."""
        if self.store is not None and self.scan_id is not None:
            self.store.add_inputs(self.scan_id, records)
            self.store.save_findings(self.scan_id, findings)

    def record_drops(self, drops: list[tuple[str, Optional[int], Optional[int]]]) -> None:
        """Packet loss of live inputs: (input path, frames lost by the kernel and shadowit, by the interface)."""
        if self.store is not None and self.scan_id is not None:
            for path, dropped, if_dropped in drops:
                self.store.record_drops(self.scan_id, path, dropped, if_dropped)

    # ------------------------------------------------------------ the end

    def finish(self, *, cut_short: Optional[bool] = None) -> ScanResult:
        """Close the flows, classify, score once, judge coverage and store; ``cut_short`` default: a stop came."""
        with self.stop.polled():  # a signal now no longer stops anything: the end is stored whole
            carry = self.incremental and self.store is not None and self.scan_id is not None
            findings = self.scan.finish(carry=carry)
            devices = {host for finding in findings for host in finding.hosts}
            result = self.conclude(findings, self.scan.inputs, devices=self.scan.devices(findings),
                                   cut_short=bool(self.stopped_by) if cut_short is None else cut_short,
                                   positions=self.scan.positions(),
                                   networks=self.memory.networks.describe(devices))
            if self.store is not None and self.scan_id is not None:
                self.store.save_site_names(self.request.site, self.memory.names.changed())
                if carry:
                    self.store.save_open_flows(self.request.site, self.scan.carried)
            return result

    def conclude(self, findings: list[Finding], inputs: list[InputRecord], *, devices: list[dict[str, Any]],
                 cut_short: bool, positions: Sequence[dict[str, Any]] = (),
                 reference: Optional[float] = None, networks: Optional[dict[str, Any]] = None) -> ScanResult:
        """The end of every run: classify, score once, judge coverage, store.

        A run that read nothing usable fails; an incremental run over logs it already read has simply found
        no new lines, which is not a failure as long as there were inputs. Log reading positions are
        committed with the findings of those lines; a failed run is stored as failed, ungraded. Recency is
        measured from ``reference`` (default: the run's own start).
        """
        ordered, risk = classify_and_score(findings, self.policy.ruleset,
                                           self.started if reference is None else reference)
        usable = any(record.usable for record in inputs) or (self.incremental and bool(inputs))
        failed = not cut_short and not usable
        status = "failed" if failed else "incomplete" if cut_short else "complete"
        result = ScanResult(self.started, time.time(), __version__, self.policy.sha256, inputs, ordered,
                            site=self.request.site, operator=self.operator, scan_id=self.scan_id,
                            complete=status == "complete", hostname=scan_host(), argv=self.request.argv,
                            status=status, risk=None if failed else risk, devices=devices, networks=networks)
        if self.store is not None and self.scan_id is not None:
            self.store.add_inputs(self.scan_id, result.inputs)
            self.store.save_findings(self.scan_id, result.findings, positions=positions)
            self.store.finish_scan(self.scan_id, result.finished or time.time(), complete=result.complete,
                                   risk=result.risk, failed=failed, devices=result.devices,
                                   networks=result.networks)
            if not failed:  # the grade every output of this run shows, and history later reads
                self.state = self.store.site_state(self.scan_id)
                self.store.record_state(self.state)
        return result

    def outcome(self, result: ScanResult, cut_short: bool, warnings: tuple[str, ...] = ()) -> ScanOutcome:
        return ScanOutcome(result=result, policy=self.policy, stopped_by=self.stopped_by if cut_short else "",
                           warnings=warnings, zone=self.request.zone, state=self.state)


def run_scan(request: ScanRequest) -> ScanOutcome:
    """Scan every input, classify, and store as we go (an interrupted scan keeps what it has)."""
    session = ScanSession(request)
    files = list(discover(list(request.paths)))
    with session:
        session.begin(resume_logs=request.incremental)
        session.read(files)
        result = session.finish()
    return session.outcome(result, cut_short=bool(session.stopped_by))


def reclassify(store: Store, stored: ScanResult, policy: Policy, argv: str) -> ScanResult:
    """Re-classify a stored scan's findings under other rules, without the captures, as a new stored scan.

    The new scan keeps the inputs and evidence, takes the new policy's hash and
    score, and records which scan it derives from, so ``history`` and ``diff``
    show what the rule change did (newly sanctioned, exception expired).
    """
    findings = [copy.deepcopy(f) for f in stored.findings]
    for finding in findings:  # severity stays unless a rule sets it: the detector's verdict is not stored apart
        finding.rule, finding.sanctioned, finding.exception, finding.tags = "", False, None, []
    request = RunRequest(site=stored.site, operator=stored.operator, argv=argv)
    with ScanSession(request, policy=policy, store=store) as session:
        session.begin()
        derived = session.conclude(findings, stored.inputs, devices=list(stored.devices), cut_short=not stored.complete,
                                   reference=stored.started, networks=stored.networks)
    if stored.scan_id is not None and derived.scan_id is not None:
        store.mark_derived(derived.scan_id, stored.scan_id)
    return derived


def default_operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "")


def scan_host() -> str:
    try:
        return socket.gethostname()
    except OSError:
        return ""
