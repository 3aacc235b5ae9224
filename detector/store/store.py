"""Scan history in SQLite: save, reload, list, diff, export and prune scans.

Every write is one ``BEGIN IMMEDIATE`` transaction and the database runs in
WAL mode with a busy timeout, so several scans can write into one file at once.
A scan row is committed as ``running`` before any work starts: a crash leaves
it visible (as ``incomplete``) instead of silently missing.
"""

from __future__ import annotations

import heapq
import json
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Optional, Union

from detector.findings.finding import SEVERITIES, Finding
from detector.findings.result import InputRecord, ScanResult
from detector.policy.risk import FORMULA, SiteRisk
from detector.site.names import NameSighting
from detector.store import codec
from detector.store.diff import ScanDiff
from detector.store.errors import DuplicateFinding, ScanNotFound, StoreError
from detector.store.pseudonyms import Pseudonymizer
from detector.store.schema import connect, remember_intact, schema_version, write_transaction
from detector.store.state import (
    EXCEPTION_EXPIRED,
    NOT_RECHECKED,
    SiteState,
    StoredScan,
    diff_results,
    site_state,
    site_states,
)
from detector.times import iso

POSITION_COLUMNS = ("path", "dev", "ino", "head_sha256", "head_len", "compressed", "offset", "lines", "size",
                    "complete")
MAX_SITE_NAMES = 200_000  # address -> name pairs kept per site: the most recently seen
# the columns of a flow an incremental run left open, in FlowMeter.carry()'s order
OPEN_FLOW_COLUMNS = ("transport", "orig_key", "bytes_orig", "bytes_resp", "packets_orig", "packets_resp",
                     "first_seen", "last_seen", "evidence", "seq_start_orig", "seq_start_resp", "seq_end_orig",
                     "seq_end_resp", "fins")
STATUS_RUNNING = "running"
STATUS_COMPLETE = "complete"
STATUS_INCOMPLETE = "incomplete"
STATUS_FAILED = "failed"  # nothing usable was read: no grade, never compared with


@dataclass
class ScanSummary:
    """One line of ``history``; a scan that never finished shows as incomplete."""

    id: int
    site: str
    started: float
    finished: Optional[float]
    status: str
    operator: str
    n_findings: int
    counts: dict[str, int]
    tool_version: str
    rules_sha256: str = ""
    rules_files: list[str] = field(default_factory=list)
    hostname: str = ""
    argv: str = ""
    score: Optional[int] = None
    grade: Optional[str] = None
    risk_points: Optional[float] = None
    derived_from: Optional[int] = None
    state: Optional[StateGrade] = None  # the site's state as of this scan (detector/store/state.py)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site": self.site,
            "started": iso(self.started),
            "finished": iso(self.finished),
            "status": self.status,
            "operator": self.operator,
            "n_findings": self.n_findings,
            "counts": dict(self.counts),
            "tool_version": self.tool_version,
            "rules_sha256": self.rules_sha256,
            "rules_files": list(self.rules_files),
            "hostname": self.hostname,
            "argv": self.argv,
            "score": self.score,
            "grade": self.grade,
            "risk_points": self.risk_points,
            "derived_from": self.derived_from,
            "state": self.state.as_dict() if self.state is not None else None,
        }


class StateGrade(NamedTuple):
    """The site state's grade as of one scan: what the report of that scan shows."""

    score: int
    grade: str
    not_rechecked: int
    exception_expired: int = 0  # exceptions seen expired in this scan and not in the one before

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "grade": self.grade, "not_rechecked": self.not_rechecked,
                "exception_expired": self.exception_expired}


class TrendPoint(NamedTuple):
    scan_id: int
    started: float
    counts: dict[str, int]


class CaptureDrops(NamedTuple):
    """Packets a live capture lost: in the kernel buffer / at the interface."""

    dropped: Optional[int]
    if_dropped: Optional[int]


def _zero_counts() -> dict[str, int]:
    return {severity: 0 for severity in SEVERITIES}


def _shown_status(stored: str) -> str:
    return STATUS_INCOMPLETE if stored == STATUS_RUNNING else stored


class Revealed(NamedTuple):
    """What a pseudonym stands for (``shadowit reveal``)."""

    site: str
    kind: str  # user, host or mac
    real: str


class Store:
    """The scan database at ``path``, checked, created and migrated on open (``read_only``: checked only).

    ``pseudonymize``: scans are read back with user names, host names and MAC addresses replaced by the site's
    pseudonyms (True), as they are (False), or as each site's scans asked for (None: a site any of whose scans
    was stored pseudonymised is shown pseudonymised). The pseudonyms issued are stored on ``close``.
    """

    def __init__(self, path: Union[Path, str], read_only: bool = False, pseudonymize: Optional[bool] = None):
        self.path = Path(path)
        self.read_only = read_only
        self.pseudonymize = pseudonymize
        self.db = connect(self.path, read_only=read_only)
        self._pseudonymizers: dict[str, Optional[Pseudonymizer]] = {}
        if pseudonymize is not False:
            self.prepare_pseudonyms()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._save_pseudonyms()
        finally:
            self.db.close()
            remember_intact(self.path)  # checked on open; what changed since is this store's own writing

    @property
    def schema_version(self) -> int:
        return schema_version(self.db)

    @contextmanager
    def _read(self) -> Iterator[None]:
        """One snapshot for multi-query reads, so a concurrent flush is never half-seen."""
        try:
            self.db.conn.execute("BEGIN")
            try:
                yield
            finally:
                self.db.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read {self.path}: {exc}") from exc

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return list(self.db.query(sql, list(params)))

    def _scan_row(self, scan_id: int) -> dict[str, Any]:
        rows = self._rows("SELECT * FROM scans WHERE id = ?", [scan_id])
        if not rows:
            raise ScanNotFound(f"no scan with id {scan_id} in {self.path}")
        return rows[0]

    # ------------------------------------------------------------ writing

    def begin_scan(
        self,
        started: float,
        tool_version: str,
        rules_sha256: str,
        site: str = "",
        operator: str = "",
        rules_files: Sequence[str] = (),
        argv: str = "",
        hostname: Optional[str] = None,
    ) -> int:
        """Insert and commit a ``running`` scan row; returns its id."""
        row = {
            "site": site,
            "operator": operator,
            "started": started,
            "status": STATUS_RUNNING,
            "tool_version": tool_version,
            "rules_sha256": rules_sha256,
            "rules_files": codec.to_json([str(p) for p in rules_files], "rules_files"),
            "hostname": socket.gethostname() if hostname is None else hostname,
            "argv": argv,
        }
        with write_transaction(self.db):
            cursor = self.db.conn.execute(
                f"INSERT INTO scans ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )
        return int(cursor.lastrowid)

    def add_inputs(self, scan_id: int, inputs: Iterable[InputRecord]) -> None:
        """Insert or update inputs by (scan_id, path), keeping first-seen order."""
        rows = [codec.input_row(record) for record in inputs]
        columns = codec.INPUT_COLUMNS
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "path")
        sql = (
            f"INSERT INTO inputs (scan_id, position, {', '.join(columns)}) "
            f"VALUES ({', '.join('?' * (len(columns) + 2))}) "
            f"ON CONFLICT (scan_id, path) DO UPDATE SET {updates}"
        )
        with write_transaction(self.db):
            self._scan_row(scan_id)
            position = self.db.conn.execute(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM inputs WHERE scan_id = ?", [scan_id]
            ).fetchone()[0]
            for offset, row in enumerate(rows):
                self.db.conn.execute(sql, [scan_id, position + offset, *(row[c] for c in columns)])

    def record_drops(
        self, scan_id: int, path: str, dropped: Optional[int], if_dropped: Optional[int]
    ) -> None:
        """Packet loss reported by a live capture for one of the scan's inputs."""
        with write_transaction(self.db):
            cursor = self.db.conn.execute(
                "UPDATE inputs SET dropped = ?, if_dropped = ? WHERE scan_id = ? AND path = ?",
                [dropped, if_dropped, scan_id, path],
            )
            if cursor.rowcount == 0:
                raise ScanNotFound(f"scan {scan_id} has no input {path!r}; add_inputs first")

    def save_findings(self, scan_id: int, findings: Sequence[Finding],
                      positions: Sequence[dict[str, Any]] = ()) -> None:
        """Replace the scan's findings with ``findings`` in one transaction.

        Called repeatedly during a long capture with the full current list, so
        the database always holds the latest flush and never duplicates.
        ``positions`` (how far each log was read, see detector/logs/incremental.py) are
        committed in the same transaction: findings and the lines they came
        from are stored together or not at all.
        """
        _reject_duplicates(findings)
        rows = [codec.finding_row(finding) for finding in findings]
        columns = codec.FINDING_COLUMNS
        sql = (
            f"INSERT INTO findings (scan_id, position, {', '.join(columns)}) "
            f"VALUES ({', '.join('?' * (len(columns) + 2))})"
        )
        with write_transaction(self.db):
            self._scan_row(scan_id)
            self.db.conn.execute("DELETE FROM findings WHERE scan_id = ?", [scan_id])
            self.db.conn.executemany(
                sql, ([scan_id, position, *(row[c] for c in columns)] for position, row in enumerate(rows))
            )
            self._save_positions(scan_id, positions)

    def _save_positions(self, scan_id: int, positions: Sequence[dict[str, Any]]) -> None:
        if not positions:
            return
        columns = POSITION_COLUMNS
        self.db.conn.executemany(
            f"INSERT OR REPLACE INTO log_positions (scan_id, {', '.join(columns)}) "
            f"VALUES ({', '.join('?' * (len(columns) + 1))})",
            ([scan_id, *(row[c] for c in columns)] for row in positions),
        )

    def inputs_read_before(self, site: str, sha256s: Sequence[str], scan_id: int) -> dict[str, dict[str, Any]]:
        """Inputs other than logs with these SHA-256s that earlier scans of the site read with records:
        sha256 -> {scan_id, path, kind} of the first such scan (logs are left to their reading positions)."""
        wanted = [digest for digest in sha256s if digest][:10_000]
        found: dict[str, dict[str, Any]] = {}
        with self._read():
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                rows = self._rows(
                    "SELECT inputs.sha256, inputs.scan_id, inputs.path, inputs.kind FROM inputs JOIN scans "
                    "ON scans.id = inputs.scan_id WHERE scans.site = ? AND scans.id < ? AND scans.status != ? "
                    f"AND inputs.records > 0 AND inputs.kind NOT LIKE 'log:%' "
                    f"AND inputs.sha256 IN ({', '.join('?' * len(chunk))}) ORDER BY inputs.scan_id",
                    [site, scan_id, STATUS_FAILED, *chunk])
                for row in rows:
                    found.setdefault(row["sha256"], row)
        return found

    def log_positions(self) -> list[dict[str, Any]]:
        """Every committed log position, oldest scan first (a later row supersedes an earlier one)."""
        with self._read():
            return self._rows(f"SELECT {', '.join(POSITION_COLUMNS)} FROM log_positions ORDER BY scan_id")

    def site_names(self, site: str) -> list[NameSighting]:
        """The directory of names earlier runs of ``site`` stored, least recently seen first (the order to merge)."""
        with self._read():
            rows = self._rows("SELECT * FROM site_names WHERE site = ? ORDER BY last_seen DESC LIMIT ?",
                              [site, MAX_SITE_NAMES])
        return [NameSighting(row["address"], row["name"], row["source"], row["first_seen"], row["last_seen"],
                             row["validity"], row["evidence"]) for row in reversed(rows)]

    def save_site_names(self, site: str, changed: Iterable[NameSighting]) -> None:
        """Bring the site's stored directory up to date with the pairs a run learned or widened (each already
        merged with its stored history), then keep the most recently seen pairs only."""
        kept = heapq.nlargest(MAX_SITE_NAMES, changed, key=lambda s: s.last_seen)
        with write_transaction(self.db):
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO site_names (site, address, name, source, first_seen, last_seen, validity, "
                "evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ([site, s.address, s.name, s.source, s.first_seen, s.last_seen, s.validity, s.where[:500]]
                 for s in kept))
            self.db.conn.execute(
                "DELETE FROM site_names WHERE site = ? AND rowid IN (SELECT rowid FROM site_names WHERE site = ? "
                "ORDER BY last_seen DESC LIMIT -1 OFFSET ?)", [site, site, MAX_SITE_NAMES])

    def open_flows(self, site: str) -> list[tuple]:
        """Flows the last incremental run of ``site`` left open, as ``FlowMeter.resume`` takes them."""
        with self._read():
            rows = self.db.conn.execute(
                f"SELECT {', '.join(OPEN_FLOW_COLUMNS)} FROM open_flows WHERE site = ?", [site]).fetchall()
        return [tuple(row) for row in rows]

    def save_open_flows(self, site: str, flows: Iterable[tuple]) -> None:
        """Replace the site's open flows with ``flows`` (``FlowMeter.carry``)."""
        with write_transaction(self.db):
            self.db.conn.execute("DELETE FROM open_flows WHERE site = ?", [site])
            self.db.conn.executemany(
                f"INSERT OR REPLACE INTO open_flows (site, {', '.join(OPEN_FLOW_COLUMNS)}) "
                f"VALUES (?{', ?' * len(OPEN_FLOW_COLUMNS)})",
                ([site, *flow] for flow in flows))

    def finish_scan(self, scan_id: int, finished: float, complete: bool = True, risk: Optional[SiteRisk] = None,
                    failed: bool = False, devices: Optional[list] = None,
                    networks: Optional[dict[str, Any]] = None) -> None:
        """Close the scan with its status and the site score computed once for it (none for a failed scan)."""
        status = STATUS_FAILED if failed else STATUS_COMPLETE if complete else STATUS_INCOMPLETE
        scored = risk is not None and not failed
        with write_transaction(self.db):
            cursor = self.db.conn.execute(
                "UPDATE scans SET finished = ?, status = ?, score = ?, grade = ?, risk_points = ?, "
                "category_scores = ?, devices = ?, networks = ? WHERE id = ?",
                [finished, status, risk.score if scored else None, risk.grade if scored else None,
                 risk.total_points if scored else None,
                 json.dumps(risk.categories if scored else {}), json.dumps(devices or []),
                 json.dumps(networks) if networks is not None else None, scan_id],
            )
            if cursor.rowcount == 0:
                raise ScanNotFound(f"no scan with id {scan_id} in {self.path}")

    def mark_derived(self, scan_id: int, source_id: int) -> None:
        """Record that ``scan_id`` re-classifies the findings of ``source_id`` (report --rules)."""
        with write_transaction(self.db):
            self.db.conn.execute("UPDATE scans SET derived_from = ? WHERE id = ?", [source_id, scan_id])

    def mark_reported(self, scan_ids: Iterable[int]) -> None:
        """Scans a written report showed: ``prune`` keeps them (the evidence behind a delivered report)."""
        now = time.time()
        with write_transaction(self.db):
            self.db.conn.executemany("INSERT OR REPLACE INTO reported (scan_id, reported) VALUES (?, ?)",
                                     [(i, now) for i in scan_ids if i is not None])

    def save_report_settings(self, scan_id: int, settings: dict[str, Any]) -> None:
        """How the scan's report looks (client, logo, classification, language, pseudonymize): ``report`` reuses it."""
        with write_transaction(self.db):
            cursor = self.db.conn.execute("UPDATE scans SET report_settings = ? WHERE id = ?",
                                          [codec.to_json(settings, "report settings"), scan_id])
            if cursor.rowcount == 0:
                raise ScanNotFound(f"no scan with id {scan_id} in {self.path}")
        self._save_pseudonyms()
        self._pseudonymizers.clear()  # the site's choice may have changed

    def report_settings(self, scan_id: int) -> dict[str, Any]:
        """The settings stored with the scan ({} for a scan stored before they were kept)."""
        return dict(json.loads(self._scan_row(scan_id).get("report_settings") or "{}"))

    # ------------------------------------------------------------ pseudonyms

    def site_pseudonymized(self, site: str) -> bool:
        """Whether the site's scans are read pseudonymised: as asked, else whether any of them was stored so."""
        if self.pseudonymize is not None:
            return self.pseudonymize
        rows = self._rows("SELECT 1 FROM scans WHERE site = ? AND json_extract(report_settings, '$.pseudonymize') "
                          "LIMIT 1", [site])
        return bool(rows)

    def pseudonymizer(self, site: str) -> Optional[Pseudonymizer]:
        """The site's pseudonymizer when its scans are read pseudonymised; its key is created on first use."""
        if site not in self._pseudonymizers:
            self._pseudonymizers[site] = Pseudonymizer(self._site_key(site)) if self.site_pseudonymized(site) \
                else None
        return self._pseudonymizers[site]

    def _site_key(self, site: str) -> bytes:
        rows = self._rows("SELECT key FROM site_keys WHERE site = ?", [site])
        if rows:
            return bytes(rows[0]["key"])
        if self.read_only:
            raise StoreError(f"{self.path} is read-only and holds no pseudonym key for site {site!r}: pseudonymise "
                             "from a writable copy")
        import secrets

        insert = ("INSERT OR IGNORE INTO site_keys (site, key, created) VALUES (?, ?, ?)",
                  [site, secrets.token_bytes(32), time.time()])
        if self.db.conn.in_transaction:  # a read of a site first seen now: the snapshot takes the write lock
            self.db.conn.execute(*insert)
        else:
            with write_transaction(self.db):
                self.db.conn.execute(*insert)
        return bytes(self._rows("SELECT key FROM site_keys WHERE site = ?", [site])[0]["key"])

    def prepare_pseudonyms(self, sites: Iterable[str] = ()) -> None:
        """Create the keys of ``sites`` (default: every site) outside any read, where a write could not wait."""
        names = list(sites) or [row["site"] for row in self._rows("SELECT DISTINCT site FROM scans")]
        for site in names:
            self.pseudonymizer(site)

    def pseudonymized(self, result: ScanResult) -> ScanResult:
        """``result`` as this store shows its site: pseudonymised or not."""
        pseudonyms = self.pseudonymizer(result.site)
        return pseudonyms.result(result) if pseudonyms is not None else result

    def _save_pseudonyms(self) -> None:
        """The pseudonyms issued while reading, kept so that ``reveal`` finds them (a read-only file keeps none)."""
        issued = [(site, name, kind, real) for site, pseudonyms in self._pseudonymizers.items() if pseudonyms
                  for name, (kind, real) in pseudonyms.issued.items()]
        if not issued or self.read_only:
            return
        now = time.time()
        with write_transaction(self.db):
            self.db.conn.executemany("INSERT OR IGNORE INTO pseudonyms (site, pseudonym, kind, real, issued) "
                                     "VALUES (?, ?, ?, ?, ?)", [(*row, now) for row in issued])
        for pseudonyms in self._pseudonymizers.values():
            if pseudonyms is not None:
                pseudonyms.issued.clear()

    def reveal(self, pseudonym: str) -> list[Revealed]:
        """What ``pseudonym`` stands for, in every site that issued it (it is the database that holds the key)."""
        name = pseudonym.strip().lower()
        rows = self._rows("SELECT site, kind, real FROM pseudonyms WHERE pseudonym = ? ORDER BY site", [name])
        return [Revealed(row["site"], row["kind"], row["real"]) for row in rows] or self._recompute(name)

    def _recompute(self, name: str) -> list[Revealed]:
        """A pseudonym never stored (shown from a read-only copy): derived again from the site keys and scans."""
        found = []
        with self._read():
            for key_row in self._rows("SELECT site, key FROM site_keys ORDER BY site"):
                pseudonyms = Pseudonymizer(bytes(key_row["key"]))
                for scan in self._scans(key_row["site"], None, newest_first=True):
                    pseudonyms.result(self._load_as_stored(scan))
                    if name in pseudonyms.issued:
                        found.append(Revealed(key_row["site"], *pseudonyms.issued[name]))
                        break
        return found

    def reported_scans(self) -> set[int]:
        return {row["scan_id"] for row in self._rows("SELECT scan_id FROM reported")}

    # ------------------------------------------------------------ reading

    def _latest_complete(self, site: Optional[str], before: Optional[dict[str, Any]] = None) -> Optional[int]:
        sql = "SELECT id FROM scans WHERE status = ?"
        params: list[Any] = [STATUS_COMPLETE]
        if site is not None:
            sql += " AND site = ?"
            params.append(site)
        if before is not None:
            sql += " AND (started < ? OR (started = ? AND id < ?))"
            params += [before["started"], before["started"], before["id"]]
        rows = self._rows(sql + " ORDER BY started DESC, id DESC LIMIT 1", params)
        return rows[0]["id"] if rows else None

    def _resolve(self, scan_id: Optional[int], site: Optional[str]) -> int:
        if scan_id is not None:
            row = self._scan_row(scan_id)
            if site is not None and row["site"] != site:
                raise ScanNotFound(f"scan {scan_id} belongs to site {row['site']!r}, not {site!r}")
            return scan_id
        latest = self._latest_complete(site)
        if latest is None:
            where = f" for site {site!r}" if site is not None else ""
            raise ScanNotFound(f"no complete scan{where} in {self.path}")
        return latest

    def _load(self, scan_id: int) -> ScanResult:
        """The stored scan, pseudonymised when its site is shown so (``pseudonymize``)."""
        scan = self._scan_row(scan_id)
        pseudonyms = self.pseudonymizer(scan["site"])
        result = self._load_as_stored(scan)
        return pseudonyms.result(result) if pseudonyms is not None else result

    def _load_as_stored(self, scan: dict[str, Any]) -> ScanResult:
        scan_id = scan["id"]
        inputs = self._rows("SELECT * FROM inputs WHERE scan_id = ? ORDER BY position", [scan_id])
        findings = self._rows("SELECT * FROM findings WHERE scan_id = ? ORDER BY position", [scan_id])
        return ScanResult(
            started=scan["started"],
            finished=scan["finished"],
            tool_version=scan["tool_version"],
            rules_sha256=scan["rules_sha256"],
            inputs=[codec.input_from_row(row) for row in inputs],
            findings=[codec.finding_from_row(row) for row in findings],
            site=scan["site"],
            operator=scan["operator"],
            scan_id=scan["id"],
            complete=scan["status"] == STATUS_COMPLETE,
            hostname=scan["hostname"],
            argv=scan["argv"],
            status=_shown_status(scan["status"]),
            risk=_stored_risk(scan),
            devices=json.loads(scan.get("devices") or "[]"),
            networks=json.loads(scan["networks"]) if scan.get("networks") else None,
        )

    def load_scan(self, scan_id: Optional[int] = None, site: Optional[str] = None,
                  as_stored: bool = False) -> ScanResult:
        """A stored scan as the pipeline produced it; None = latest complete (of ``site``). Pseudonymised when its
        site is shown so, unless ``as_stored`` (the real names: re-classifying stores a new scan from it)."""
        with self._read():
            scan_id = self._resolve(scan_id, site)
            return self._load_as_stored(self._scan_row(scan_id)) if as_stored else self._load(scan_id)

    def input_drops(self, scan_id: int) -> dict[str, CaptureDrops]:
        """Packet loss per input path, only for inputs that reported any counter."""
        rows = self._rows(
            "SELECT path, dropped, if_dropped FROM inputs WHERE scan_id = ? "
            "AND (dropped IS NOT NULL OR if_dropped IS NOT NULL) ORDER BY position",
            [scan_id],
        )
        return {row["path"]: CaptureDrops(row["dropped"], row["if_dropped"]) for row in rows}

    def _severity_counts(self, scan_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        counts: dict[int, dict[str, int]] = {scan_id: _zero_counts() for scan_id in scan_ids}
        rows = self._rows(
            "SELECT scan_id, severity, COUNT(*) AS n FROM findings GROUP BY scan_id, severity"
        )
        for row in rows:
            if row["scan_id"] in counts:
                counts[row["scan_id"]][row["severity"]] = row["n"]
        return counts

    def _scans(self, site: Optional[str], status: Optional[str], newest_first: bool) -> list[dict[str, Any]]:
        clauses, params = [], []
        if site is not None:
            clauses.append("site = ?")
            params.append(site)
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        order = "DESC" if newest_first else "ASC"
        return self._rows(f"SELECT * FROM scans{where} ORDER BY started {order}, id {order}", params)

    def history(self, site: Optional[str] = None) -> list[ScanSummary]:
        """All scans, newest first; ``site=None`` means every site."""
        with self._read():
            scans = self._scans(site, None, newest_first=True)
            counts = self._severity_counts([scan["id"] for scan in scans])
            grades = self._state_grades(scans)
        return [_summary(scan, counts[scan["id"]], grades.get(scan["id"])) for scan in scans]

    def sites(self) -> list[str]:
        """Sites that have at least one scan, sorted; scans without a site are left out."""
        rows = self._rows("SELECT DISTINCT site FROM scans WHERE site != '' ORDER BY site")
        return [row["site"] for row in rows]

    def findings_over_time(self, site: Optional[str] = None) -> list[TrendPoint]:
        """Severity counts per complete scan, oldest first, for a trend chart."""
        with self._read():
            scans = self._scans(site, STATUS_COMPLETE, newest_first=False)
            counts = self._severity_counts([scan["id"] for scan in scans])
        return [TrendPoint(scan["id"], scan["started"], counts[scan["id"]]) for scan in scans]

    # ------------------------------------------------------------ diff / export

    def _diff_ids(self, a: Optional[int], b: Optional[int], site: Optional[str]) -> tuple[int, int]:
        """Base and head: head defaults to the latest complete scan, base to the one before it."""
        if site is None and (a is not None or b is not None):
            site = self._scan_row(b if b is not None else a)["site"]
        head = b if b is not None else self._latest_complete(site)
        if head is None:
            raise ScanNotFound("no complete scan to diff")
        head_row = self._scan_row(head)
        base = a if a is not None else self._latest_complete(head_row["site"], before=head_row)
        if base is None:
            raise ScanNotFound(f"no complete scan before scan {head} to diff against")
        self._scan_row(base)
        if base == head:
            raise ScanNotFound(f"nothing to diff: base and head are both scan {head}")
        return base, head

    def diff(self, a: Optional[int] = None, b: Optional[int] = None, site: Optional[str] = None) -> ScanDiff:
        """Two given scans compared; without ``a``, the site state at ``b`` (default: the latest complete scan)
        against the state before it, the comparison the report and the grade read."""
        with self._read():
            if a is None:
                state = self._site_state(self._diff_ids(a, b, site)[1], None)
                return state.diff()
            base, head = self._diff_ids(a, b, site)
            return diff_results(self._load(base), self._load(head))

    # ------------------------------------------------------------ site state

    def site_state(self, scan_id: Optional[int] = None, site: Optional[str] = None,
                   window: Optional[float] = None) -> SiteState:
        """The site's state as of ``scan_id`` (default: its latest complete scan) over the ``window`` seconds
        before it (default: since the site's first scan)."""
        with self._read():
            return self._site_state(self._resolve(scan_id, site), window)

    def _site_state(self, head_id: int, window: Optional[float]) -> SiteState:
        head = self._scan_row(head_id)
        start = head["started"] - window if window is not None else None
        earlier = [row for row in self._scans(head["site"], None, newest_first=False)
                   if row["status"] in (STATUS_COMPLETE, STATUS_INCOMPLETE) and _before(row, head)
                   and (start is None or row["started"] >= start)]
        return site_state([self._stored(row["id"]) for row in [*earlier, head]], start)

    def _stored(self, scan_id: int) -> StoredScan:
        rows = self._rows("SELECT path FROM log_positions WHERE scan_id = ?", [scan_id])
        return StoredScan(self._load(scan_id), frozenset(row["path"] for row in rows))

    def record_state(self, state: SiteState) -> None:
        """Store the grade of the site's state as of its head scan, computed once (``history`` shows it)."""
        grade = _state_grade(state)
        if grade is None or state.head.scan_id is None:
            return
        with write_transaction(self.db):
            self.db.conn.execute("UPDATE scans SET state_score = ?, state_grade = ?, state_not_rechecked = ?, "
                                 "state_exception_expired = ? WHERE id = ?",
                                 [grade.score, grade.grade, grade.not_rechecked, grade.exception_expired,
                                  state.head.scan_id])

    def _state_grades(self, scans: list[dict[str, Any]]) -> dict[int, StateGrade]:
        """The site state's grade as of every complete or incomplete scan, by scan id (``history``): the stored
        one; only a site with scans stored before it was kept (schema 6 and older) has its states walked."""
        graded = [row for row in scans if row["status"] in (STATUS_COMPLETE, STATUS_INCOMPLETE)]
        grades = {row["id"]: StateGrade(row["state_score"], row["state_grade"], row["state_not_rechecked"] or 0,
                                        row["state_exception_expired"] or 0)
                  for row in graded if row.get("state_grade") is not None}
        by_site: dict[str, list[int]] = {}
        for row in sorted(graded, key=lambda r: (r["started"], r["id"])):
            by_site.setdefault(row["site"], []).append(row["id"])
        for ids in by_site.values():
            if all(scan_id in grades for scan_id in ids):
                continue
            for state in site_states([self._stored(scan_id) for scan_id in ids]):
                grade = _state_grade(state)
                if grade is not None and state.head.scan_id not in grades:
                    grades[state.head.scan_id] = grade
        return grades

    # ------------------------------------------------------------ retention

    def prune(
        self,
        older_than_seconds: float,
        now: Optional[float] = None,
        keep_ids: Iterable[int] = frozenset(),
        force: bool = False,
    ) -> int:
        """Delete scans that ended before ``now - older_than_seconds``; returns how many.

        Scans in ``keep_ids`` (e.g. referenced by a published report) survive
        unless ``force``. A scan that never finished ages from its start.
        """
        cutoff = (time.time() if now is None else now) - older_than_seconds
        keep = set() if force else set(keep_ids)
        with write_transaction(self.db):
            rows = self.db.conn.execute(
                "SELECT id FROM scans WHERE COALESCE(finished, started) < ?", [cutoff]
            ).fetchall()
            doomed = [(scan_id,) for (scan_id,) in rows if scan_id not in keep]
            for table, column in (("findings", "scan_id"), ("inputs", "scan_id"), ("scans", "id")):
                self.db.conn.executemany(f"DELETE FROM {table} WHERE {column} = ?", doomed)
        return len(doomed)


def _before(row: dict[str, Any], head: dict[str, Any]) -> bool:
    return (row["started"], row["id"]) < (head["started"], head["id"])


def _stored_risk(scan: dict[str, Any]) -> Optional[SiteRisk]:
    """The score stored when the scan ended (None for failed or pre-v3 scans: the report sums stored risks)."""
    if scan.get("score") is None:
        return None
    return SiteRisk(score=scan["score"], grade=scan["grade"], formula=FORMULA, total_points=scan["risk_points"] or 0.0,
                    categories=json.loads(scan.get("category_scores") or "{}"))


def _reject_duplicates(findings: Sequence[Finding]) -> None:
    seen: set[str] = set()
    for finding in findings:
        if finding.id in seen:
            raise DuplicateFinding(f"two findings share the id {finding.id!r}; finding ids must be unique")
        seen.add(finding.id)


def _state_grade(state: SiteState) -> Optional[StateGrade]:
    if state.risk is None:
        return None
    return StateGrade(state.risk.score, state.risk.grade, len(state.with_state(NOT_RECHECKED)),
                      len(state.with_state(EXCEPTION_EXPIRED)))


def _summary(scan: dict[str, Any], counts: dict[str, int], state: Optional[StateGrade]) -> ScanSummary:
    return ScanSummary(
        id=scan["id"],
        site=scan["site"],
        started=scan["started"],
        finished=scan["finished"],
        status=_shown_status(scan["status"]),
        operator=scan["operator"],
        n_findings=sum(counts.values()),
        counts=counts,
        tool_version=scan["tool_version"],
        rules_sha256=scan["rules_sha256"],
        rules_files=json.loads(scan["rules_files"]),
        hostname=scan["hostname"],
        argv=scan["argv"],
        score=scan.get("score"),
        grade=scan.get("grade"),
        risk_points=scan.get("risk_points"),
        derived_from=scan.get("derived_from"),
        state=state,
    )
