"""The SQLite store: round trips, migrations, crashes, diff, export, prune, locking."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import socket
import sqlite3
from pathlib import Path

import pytest

from detector.findings.credentials import CleartextLoginAttributes
from detector.findings.filesharing import ServiceUseAttributes
from detector.findings.finding import Evidence, Finding
from detector.findings.result import InputRecord, ScanResult
from detector.outputs.export import write_export
from detector.secrets import protect
from detector.store import (
    SCHEMA_VERSION,
    CaptureDrops,
    DuplicateFinding,
    LockBusy,
    ScanLock,
    ScanNotFound,
    SchemaTooNew,
    Store,
    StoreError,
)
from detector.store.schema import connect

FORK = multiprocessing.get_context("fork")


def make_finding(fid: str, severity: str = "low", **overrides) -> Finding:
    values = dict(
        id=fid,
        title=f"Upload to service {fid}",
        first_seen=1_700_000_000.25,
        last_seen=1_700_000_600.5,
        count=3,
        hosts=["10.0.0.5", "10.0.0.6"],
        attributes=ServiceUseAttributes(service="wetransfer", bytes_up=123456,
                                        per_host=[{"host": "10.0.0.5", "bytes_up": 123456, "first_seen": None}]),
        evidence=[Evidence("2023-11-14T22:13:20Z", "cap.pcap:frame 12", "SNI wetransfer.com")],
        rule="fs-unsanctioned",
        severity=severity,
        sanctioned=False,
        compliance=["ISO27001 A.8.12"],
        remediation="Offer the sanctioned share.",
        tags=["saas"],
        risk=6.5,
    )
    values.update(overrides)
    return Finding(**values)


def make_input(path: str, records: int = 10) -> InputRecord:
    return InputRecord(
        path=path, sha256="ab" * 32, bytes=4096, kind="pcap", records=records,
        warnings=["truncated last packet"], first_ts=1_700_000_000.0, last_ts=1_700_000_900.0, skipped=1,
    )


def record_scan(store: Store, started: float, findings: list[Finding], site: str = "hq",
                complete: bool = True) -> int:
    scan_id = store.begin_scan(started, "0.1.0", "f" * 64, site=site, operator="alice",
                               rules_files=["rules/default.yaml"], argv="scan cap.pcap")
    store.add_inputs(scan_id, [make_input(f"/captures/{started:.0f}.pcap")])
    store.save_findings(scan_id, findings)
    store.finish_scan(scan_id, started + 60, complete=complete)
    return scan_id


def count_rows(db_path: Path, table: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.db"


@pytest.fixture
def store(db_path: Path):
    with Store(db_path) as opened:
        yield opened


# ---------------------------------------------------------------- round trip


def test_round_trip_rebuilds_the_same_scan_result(store: Store):
    findings = [
        make_finding("b-second", "high", sanctioned=True, first_seen=None, last_seen=None, evidence=[]),
        make_finding("a-first", "critical", title="Mot de passe envoyé en clair ✓"),
    ]
    inputs = [make_input("/captures/one.pcap"), make_input("/logs/hostapd.log", records=0)]
    original = ScanResult(
        started=1_700_000_000.0, finished=1_700_000_100.0, tool_version="0.1.0", rules_sha256="f" * 64,
        inputs=inputs, findings=findings, site="hq", operator="alice", hostname=socket.gethostname(),
        status="complete",
    )
    scan_id = store.begin_scan(original.started, original.tool_version, original.rules_sha256,
                               site="hq", operator="alice")
    store.add_inputs(scan_id, inputs)
    store.save_findings(scan_id, findings)
    store.finish_scan(scan_id, original.finished)

    loaded = store.load_scan(scan_id)

    assert loaded.findings == findings  # order kept, not sorted by id
    assert loaded.inputs == inputs
    assert (loaded.scan_id, loaded.complete, loaded.site, loaded.operator) == (scan_id, True, "hq", "alice")
    assert loaded.as_dict() == original.as_dict()
    assert store.load_scan().scan_id == scan_id


def test_save_findings_again_replaces_instead_of_duplicating(store: Store, db_path: Path):
    scan_id = store.begin_scan(1000.0, "0.1.0", "x")
    store.save_findings(scan_id, [make_finding("a"), make_finding("b")])
    store.save_findings(scan_id, [make_finding("a", "high"), make_finding("b"), make_finding("c")])

    assert count_rows(db_path, "findings") == 3
    assert [f.id for f in store.load_scan(scan_id).findings] == ["a", "b", "c"]
    assert store.load_scan(scan_id).findings[0].severity == "high"


def test_add_inputs_upserts_by_path_and_keeps_order(store: Store):
    scan_id = store.begin_scan(1000.0, "0.1.0", "x")
    store.add_inputs(scan_id, [make_input("/a.pcap", 1), make_input("/b.pcap", 1)])
    store.add_inputs(scan_id, [make_input("/a.pcap", 99), make_input("/c.pcap", 1)])

    inputs = store.load_scan(scan_id).inputs
    assert [(i.path, i.records) for i in inputs] == [("/a.pcap", 99), ("/b.pcap", 1), ("/c.pcap", 1)]


def test_capture_drops_are_kept_per_input(store: Store):
    scan_id = store.begin_scan(1000.0, "0.1.0", "x")
    store.add_inputs(scan_id, [make_input("live:eth0"), make_input("/a.pcap")])
    store.record_drops(scan_id, "live:eth0", 12, None)
    store.add_inputs(scan_id, [make_input("live:eth0", records=50)])  # a later flush keeps the counters

    assert store.input_drops(scan_id) == {"live:eth0": CaptureDrops(12, None)}
    with pytest.raises(ScanNotFound):
        store.record_drops(scan_id, "live:wlan0", 1, 1)


def test_duplicate_finding_ids_are_refused(store: Store):
    scan_id = store.begin_scan(1000.0, "0.1.0", "x")
    with pytest.raises(DuplicateFinding):
        store.save_findings(scan_id, [make_finding("same"), make_finding("same")])


def test_unknown_scan_raises_scan_not_found(store: Store):
    with pytest.raises(ScanNotFound):
        store.load_scan()
    with pytest.raises(ScanNotFound):
        store.load_scan(42)
    with pytest.raises(ScanNotFound):
        store.save_findings(42, [make_finding("a")])
    with pytest.raises(ScanNotFound):
        store.finish_scan(42, 1.0)


# ---------------------------------------------------------------- migrations

# Frozen copy of schema version 1 as released; old audit databases look like this.
V1_SCHEMA = [
    """CREATE TABLE scans (id INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL DEFAULT '',
       operator TEXT NOT NULL DEFAULT '', started REAL NOT NULL, finished REAL,
       status TEXT NOT NULL DEFAULT 'running', tool_version TEXT NOT NULL DEFAULT '',
       rules_sha256 TEXT NOT NULL DEFAULT '', rules_files TEXT NOT NULL DEFAULT '[]')""",
    "CREATE INDEX scans_site_started ON scans (site, started)",
    "CREATE INDEX scans_started ON scans (started)",
    """CREATE TABLE inputs (scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
       position INTEGER NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL DEFAULT '',
       bytes INTEGER NOT NULL DEFAULT 0, kind TEXT NOT NULL DEFAULT '', records INTEGER NOT NULL DEFAULT 0,
       skipped INTEGER NOT NULL DEFAULT 0, warnings TEXT NOT NULL DEFAULT '[]', first_ts REAL, last_ts REAL,
       PRIMARY KEY (scan_id, path))""",
    """CREATE TABLE findings (scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
       position INTEGER NOT NULL, id TEXT NOT NULL, rule TEXT NOT NULL DEFAULT '',
       category TEXT NOT NULL DEFAULT '', detector TEXT NOT NULL DEFAULT '',
       severity TEXT NOT NULL DEFAULT 'info', sanctioned INTEGER NOT NULL DEFAULT 0,
       title TEXT NOT NULL DEFAULT '', first_seen REAL, last_seen REAL, count INTEGER NOT NULL DEFAULT 0,
       hosts TEXT NOT NULL DEFAULT '[]', attributes TEXT NOT NULL DEFAULT '{}',
       evidence TEXT NOT NULL DEFAULT '[]', compliance TEXT NOT NULL DEFAULT '[]',
       remediation TEXT NOT NULL DEFAULT '', tags TEXT NOT NULL DEFAULT '[]', risk REAL NOT NULL DEFAULT 0,
       PRIMARY KEY (scan_id, id))""",
    "CREATE INDEX findings_id ON findings (id)",
    "PRAGMA user_version = 1",
]


def test_empty_file_is_migrated_to_the_current_schema(db_path: Path):
    db_path.touch()
    with Store(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert {"scans", "inputs", "findings"} <= set(store.db.table_names())
        assert store.db.journal_mode == "wal"
    with Store(db_path) as store:  # re-opening an up-to-date database is a no-op
        assert store.history() == []


def test_v1_database_is_upgraded_and_keeps_its_scans(db_path: Path):
    with sqlite3.connect(db_path) as conn:
        for statement in V1_SCHEMA:
            conn.execute(statement)
        conn.execute("INSERT INTO scans (site, operator, started, finished, status, tool_version) "
                     "VALUES ('hq', 'bob', 1000.0, 1060.0, 'complete', '0.0.9')")
        conn.execute("INSERT INTO findings (scan_id, position, id, detector, severity, hosts, attributes) "
                     "VALUES (1, 0, 'old-finding', 'filesharing.service', 'high', '[\"10.0.0.9\"]', "
                     "'{\"service\": \"mega\"}')")
    conn.close()

    with Store(db_path) as store:
        assert store.schema_version == SCHEMA_VERSION
        old = store.load_scan()
        assert (old.scan_id, old.tool_version, old.operator) == (1, "0.0.9", "bob")
        assert old.findings[0].id == "old-finding" and old.findings[0].hosts == ["10.0.0.9"]
        assert store.history()[0].hostname == ""
        new_id = record_scan(store, 2000.0, [make_finding("old-finding", "high")])
        assert store.diff().persisting[0].id == "old-finding"
        assert store.history()[0].id == new_id


def test_a_stored_finding_of_an_unknown_kind_is_refused(store: Store, db_path: Path):
    scan_id = record_scan(store, 1000.0, [make_finding("a")])
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE findings SET detector = 'filesharing.servise'")
    conn.close()
    with pytest.raises(StoreError, match="stored finding a: no finding kind has the detector 'filesharing.servise'"):
        store.load_scan(scan_id)


def test_database_from_a_newer_shadowit_is_refused(db_path: Path):
    with Store(db_path):
        pass
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNew):
        Store(db_path)


def test_foreign_files_are_refused_untouched(tmp_path: Path):
    other_app = tmp_path / "other.db"
    with sqlite3.connect(other_app) as conn:
        conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.close()
    garbage = tmp_path / "notes.txt"
    garbage.write_text("this is not a database at all, just some text long enough to matter\n" * 20)

    with pytest.raises(StoreError, match="not a shadowit database"):
        Store(other_app)
    with pytest.raises(StoreError):
        Store(garbage)
    assert count_rows(other_app, "contacts") == 0
    with sqlite3.connect(other_app) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'scans'").fetchone() is None
    conn.close()


def test_a_database_in_a_missing_directory_is_not_created(tmp_path: Path):
    with pytest.raises(StoreError, match="cannot open"):
        Store(tmp_path / "typo" / "audit.db")
    assert not (tmp_path / "typo").exists()


def test_new_database_file_is_private(tmp_path: Path):
    path = tmp_path / "sub" / "dir" / "audit.db"
    path.parent.mkdir(parents=True)  # the store creates no directories: a mistyped --db fails (issue 25)
    with Store(path):
        pass
    assert path.stat().st_mode & 0o077 == 0


# ---------------------------------------------------------------- crash / incomplete


def _crash_mid_scan(db_path: str) -> None:
    store = Store(db_path)
    scan_id = store.begin_scan(2000.0, "0.1.0", "x", site="hq")
    store.add_inputs(scan_id, [make_input("live:eth0")])
    store.save_findings(scan_id, [make_finding("half-done")])
    os._exit(3)  # no finish_scan, no close: like a kill -9 mid-capture


def test_crashed_scan_stays_visible_as_incomplete_and_earlier_scans_intact(db_path: Path):
    with Store(db_path) as store:
        first = record_scan(store, 1000.0, [make_finding("a")])
    child = FORK.Process(target=_crash_mid_scan, args=(str(db_path),))
    child.start()
    child.join(60)
    assert child.exitcode == 3

    with Store(db_path) as store:
        history = store.history()
        assert [(s.id, s.status) for s in history] == [(first + 1, "incomplete"), (first, "complete")]
        assert history[0].n_findings == 1 and history[0].finished is None
        assert store.load_scan().scan_id == first  # latest *complete* scan
        crashed = store.load_scan(first + 1)
        assert crashed.complete is False and [f.id for f in crashed.findings] == ["half-done"]
        assert store.load_scan(first).findings == [make_finding("a")]
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_finish_scan_incomplete_is_reported_incomplete(store: Store):
    record_scan(store, 1000.0, [make_finding("a")], complete=False)
    assert store.history()[0].status == "incomplete"
    with pytest.raises(ScanNotFound):
        store.load_scan()


# ---------------------------------------------------------------- diff


@pytest.fixture
def three_scans(store: Store) -> tuple[int, int, int]:
    a = record_scan(store, 1000.0, [make_finding("f1", "high"), make_finding("f2", "low"),
                                    make_finding("f3")])
    b = record_scan(store, 2000.0, [make_finding("f2", "medium"), make_finding("f3"), make_finding("f4")])
    c = record_scan(store, 3000.0, [make_finding("f3"), make_finding("f4"), make_finding("f5")])
    record_scan(store, 4000.0, [make_finding("f9")], complete=False)  # never a default diff side
    record_scan(store, 5000.0, [make_finding("f8")], site="branch")
    return a, b, c


def ids(findings: list[Finding]) -> list[str]:
    return [f.id for f in findings]


def test_diff_a_to_b(store: Store, three_scans):
    a, b, _ = three_scans
    diff = store.diff(a, b)
    assert (diff.base, diff.head) == (a, b)
    assert ids(diff.new) == ["f4"]
    assert ids(diff.resolved) == ["f1"]
    assert ids(diff.persisting) == ["f2", "f3"]
    assert diff.persisting[0].severity == "medium"  # head version
    assert [(c.id, c.before, c.after) for c in diff.severity_changes] == [("f2", "low", "medium")]


def test_diff_b_to_c(store: Store, three_scans):
    _, b, c = three_scans
    diff = store.diff(b, c)
    assert (ids(diff.new), ids(diff.resolved), ids(diff.persisting)) == (["f5"], ["f2"], ["f3", "f4"])
    assert diff.severity_changes == []


def test_diff_defaults_to_the_two_latest_complete_scans_of_the_site(store: Store, three_scans):
    a, b, c = three_scans
    assert (store.diff(site="hq").base, store.diff(site="hq").head) == (b, c)
    assert (store.diff(b=b).base, store.diff(b=b).head) == (a, b)
    assert (store.diff(a=a).base, store.diff(a=a).head) == (a, c)
    with pytest.raises(ScanNotFound):
        store.diff()  # the latest complete scan is branch's only one
    with pytest.raises(ScanNotFound):
        store.diff(b=a)  # nothing before the first scan


def test_diff_as_dict_is_json_ready(store: Store, three_scans):
    a, b, _ = three_scans
    data = json.loads(json.dumps(store.diff(a, b).as_dict()))
    assert data["schema"] == "shadowit.diff/1"
    assert data["base"]["scan_id"] == a and data["head"]["scan_id"] == b
    assert data["summary"] == {"new": 1, "resolved": 1, "persisting": 2, "severity_changes": 1, "not_rechecked": 0,
                               "newly_sanctioned": 0, "exception_expired": 0}
    assert data["severity_changes"] == [{"id": "f2", "from": "low", "to": "medium"}]
    assert data["new"][0]["id"] == "f4"


# ---------------------------------------------------------------- history / trend


def test_history_sites_and_trend(store: Store, three_scans):
    a, b, c = three_scans
    history = store.history(site="hq")
    assert [s.id for s in history] == [c + 1, c, b, a]
    assert history[-1].counts == {"info": 0, "low": 2, "medium": 0, "high": 1, "critical": 0}
    assert history[-1].n_findings == 3 and history[-1].rules_files == ["rules/default.yaml"]
    assert history[-1].as_dict()["started"] == "1970-01-01T00:16:40Z"
    assert len(store.history()) == 5
    assert store.sites() == ["branch", "hq"]

    trend = store.findings_over_time(site="hq")
    assert [(p.scan_id, p.started) for p in trend] == [(a, 1000.0), (b, 2000.0), (c, 3000.0)]
    assert trend[1].counts["medium"] == 1 and trend[1].counts["low"] == 2


# ---------------------------------------------------------------- export


def test_export_json_is_the_findings_contract(store: Store):
    scan_id = record_scan(store, 1000.0, [make_finding("a", "high")])
    out = io.StringIO()
    write_export(store.load_scan(scan_id), "json", out)
    assert json.loads(out.getvalue()) == store.load_scan(scan_id).as_dict()
    assert json.loads(out.getvalue())["schema"] == "shadowit.findings/1"


def test_export_csv_has_one_flat_row_per_finding(store: Store):
    hostile = make_finding("b", title="=HYPERLINK(\"http://evil\")", hosts=["+cmd"])
    record_scan(store, 1000.0, [make_finding("a", "high"), hostile])
    out = io.StringIO()
    write_export(store.load_scan(None), "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))

    assert [row["id"] for row in rows] == ["a", "b"]
    assert rows[0]["severity"] == "high" and rows[0]["count"] == "3" and rows[0]["evidence_count"] == "1"
    assert "attributes" not in rows[0]  # flattened: one attr_<name> column per declared attribute
    assert rows[0]["site"] == "hq" and rows[0]["scan_id"] == "1"
    assert rows[0]["hosts"] == "10.0.0.5; 10.0.0.6"
    assert rows[1]["title"].startswith("'=") and rows[1]["hosts"] == "'+cmd"


def test_export_unknown_format_is_a_store_error(store: Store):
    record_scan(store, 1000.0, [])
    with pytest.raises(StoreError, match="unknown export format"):
        write_export(store.load_scan(None), "xml", io.StringIO())


# ---------------------------------------------------------------- prune


def test_prune_keeps_referenced_scans_unless_forced(store: Store, db_path: Path):
    old1 = record_scan(store, 1000.0, [make_finding("a")])
    old2 = record_scan(store, 2000.0, [make_finding("a")])
    recent = record_scan(store, 9000.0, [make_finding("a")])
    crashed = store.begin_scan(1500.0, "0.1.0", "x")  # never finished: ages from its start

    assert store.prune(older_than_seconds=5000, now=10_000.0, keep_ids={old1}) == 2
    assert [s.id for s in store.history()] == [recent, old1]
    assert store.prune(older_than_seconds=5000, now=10_000.0, keep_ids={old1}, force=True) == 1
    assert [s.id for s in store.history()] == [recent]
    assert count_rows(db_path, "findings") == 1 and count_rows(db_path, "inputs") == 1
    with pytest.raises(ScanNotFound):
        store.load_scan(old2)
    assert crashed not in {s.id for s in store.history()}


# ---------------------------------------------------------------- concurrency


def _write_scans(db_path: str, worker: int, n_scans: int, start) -> None:
    start.wait(30)
    with Store(db_path) as store:
        for n in range(n_scans):
            scan_id = store.begin_scan(1000.0 + n, "0.1.0", "x", site=f"site-{worker}")
            store.add_inputs(scan_id, [make_input(f"/w{worker}/{n}.pcap")])
            for flush in range(1, 4):  # periodic flushes of a growing list
                store.save_findings(scan_id, [make_finding(f"w{worker}-{n}-{k}") for k in range(flush * 5)])
            store.finish_scan(scan_id, 2000.0 + n)


def test_concurrent_writers_into_a_fresh_database(db_path: Path):
    workers, n_scans = 3, 8
    start = FORK.Barrier(workers)
    procs = [FORK.Process(target=_write_scans, args=(str(db_path), w, n_scans, start))
             for w in range(workers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0] * workers

    with Store(db_path) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        history = store.history()
        assert len(history) == workers * n_scans
        assert all(s.status == "complete" and s.n_findings == 15 for s in history)
        assert store.sites() == [f"site-{w}" for w in range(workers)]
    assert count_rows(db_path, "findings") == workers * n_scans * 15
    assert count_rows(db_path, "inputs") == workers * n_scans


# ---------------------------------------------------------------- lock


def test_lock_busy_when_not_waiting(db_path: Path):
    with ScanLock(db_path, wait=False) as held:
        assert held.held
        with pytest.raises(LockBusy, match="another shadowit run"):
            ScanLock(db_path, wait=False).acquire()
        with pytest.raises(LockBusy, match="after waiting"):
            ScanLock(db_path, wait=True, timeout=0.1).acquire()
    with ScanLock(db_path, wait=False):  # released on exit
        pass


def _hold_lock(db_path: str, held, release) -> None:
    with ScanLock(db_path):
        held.set()
        release.wait(30)


def test_lock_wait_gets_it_once_the_other_run_ends(db_path: Path):
    held, release = FORK.Event(), FORK.Event()
    holder = FORK.Process(target=_hold_lock, args=(str(db_path), held, release))
    holder.start()
    try:
        assert held.wait(30)
        with pytest.raises(LockBusy, match="pid"):
            ScanLock(db_path).acquire()
        release.set()
        with ScanLock(db_path, wait=True, timeout=30) as lock:
            assert lock.held
    finally:
        release.set()
        holder.join(30)
    assert holder.exitcode == 0


# ---------------------------------------------------------------- secrets


def test_only_the_mask_and_fingerprint_of_a_password_reach_the_disk(db_path: Path, tmp_path, monkeypatch):
    monkeypatch.setenv("SHADOWIT_HOME", str(tmp_path / "home"))
    clear = "Zebra-Staple-4471!"
    secret = protect(clear)
    finding = make_finding(
        "cred-1", "critical",
        attributes=CleartextLoginAttributes(protocol="ftp", username="bob", secret_mask=secret.mask,
                                            secret_fingerprint=secret.fingerprint, weak=secret.weak),
    )
    with Store(db_path) as store:
        scan_id = record_scan(store, 1000.0, [finding])
        dump = "\n".join(store.db.iterdump())
        exported = io.StringIO()
        write_export(store.load_scan(scan_id), "json", exported)
        write_export(store.load_scan(scan_id), "csv", exported)
        assert store.load_scan(scan_id).findings[0].attributes.secret_mask == secret.mask
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("audit.db*"))

    assert secret.mask in dump and secret.fingerprint in dump
    for text in (dump, exported.getvalue(), raw.decode("utf-8", "replace")):
        assert clear not in text
        assert clear[1:] not in text


def test_a_secret_object_in_attributes_is_refused_not_stringified(store: Store, tmp_path, monkeypatch):
    monkeypatch.setenv("SHADOWIT_HOME", str(tmp_path / "home"))
    scan_id = store.begin_scan(1000.0, "0.1.0", "x")
    with pytest.raises(StoreError, match="not JSON-serialisable"):
        leaked = ServiceUseAttributes(service="x", per_host=[{"host": "10.0.0.5", "password": protect("hunter2-x")}])
        store.save_findings(scan_id, [make_finding("a", attributes=leaked)])
    assert store.load_scan(scan_id).findings == []


def test_connect_can_stop_at_an_older_version(tmp_path: Path):
    db = connect(tmp_path / "v1.db", target=1)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        assert "hostname" not in db["scans"].columns_dict
    finally:
        db.close()


def test_a_held_write_lock_surfaces_as_a_store_error(db_path: Path, monkeypatch):
    monkeypatch.setattr("detector.store.schema.BUSY_TIMEOUT_SECONDS", 0.05)
    with Store(db_path) as store:
        scan_id = store.begin_scan(1000.0, "0.1.0", "x")
        blocker = sqlite3.connect(db_path)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match="locked"):
                store.save_findings(scan_id, [make_finding("a")])
        finally:
            blocker.rollback()
            blocker.close()
        store.save_findings(scan_id, [make_finding("a")])  # the failed batch left no open transaction
        assert [f.id for f in store.load_scan(scan_id).findings] == ["a"]
