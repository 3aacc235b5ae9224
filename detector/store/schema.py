"""Opening the scan database and bringing its schema up to date.

The schema version lives in ``PRAGMA user_version``; ``MIGRATIONS[n]`` takes a
database from version n to n+1. Released migrations are never edited, only
appended to, so audit databases written by older versions keep opening.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional
from urllib.parse import quote

from detector.store.errors import DatabaseDamaged, SchemaTooNew, StoreError

BUSY_TIMEOUT_SECONDS = 30.0


if TYPE_CHECKING:  # sqlite_utils (and the numpy it pulls in) load only when a database is opened
    from sqlite_utils import Database

Migration = Callable[["Database"], None]


def _run(db: Database, statements: list[str]) -> None:
    # one statement at a time: executescript() would commit the open transaction
    for statement in statements:
        db.execute(statement)


def _v1_tables(db: Database) -> None:
    """Scans, their inputs and their findings."""
    _run(
        db,
        [
            """CREATE TABLE scans (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                site TEXT NOT NULL DEFAULT '',
                operator TEXT NOT NULL DEFAULT '',
                started REAL NOT NULL,
                finished REAL,
                status TEXT NOT NULL DEFAULT 'running',
                tool_version TEXT NOT NULL DEFAULT '',
                rules_sha256 TEXT NOT NULL DEFAULT '',
                rules_files TEXT NOT NULL DEFAULT '[]'
            )""",
            "CREATE INDEX scans_site_started ON scans (site, started)",
            "CREATE INDEX scans_started ON scans (started)",
            """CREATE TABLE inputs (
                scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                path TEXT NOT NULL,
                sha256 TEXT NOT NULL DEFAULT '',
                bytes INTEGER NOT NULL DEFAULT 0,
                kind TEXT NOT NULL DEFAULT '',
                records INTEGER NOT NULL DEFAULT 0,
                skipped INTEGER NOT NULL DEFAULT 0,
                warnings TEXT NOT NULL DEFAULT '[]',
                first_ts REAL,
                last_ts REAL,
                PRIMARY KEY (scan_id, path)
            )""",
            """CREATE TABLE findings (
                scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                id TEXT NOT NULL,
                rule TEXT NOT NULL DEFAULT '',
                category TEXT NOT NULL DEFAULT '',
                detector TEXT NOT NULL DEFAULT '',
                severity TEXT NOT NULL DEFAULT 'info',
                sanctioned INTEGER NOT NULL DEFAULT 0,
                title TEXT NOT NULL DEFAULT '',
                first_seen REAL,
                last_seen REAL,
                count INTEGER NOT NULL DEFAULT 0,
                hosts TEXT NOT NULL DEFAULT '[]',
                attributes TEXT NOT NULL DEFAULT '{}',
                evidence TEXT NOT NULL DEFAULT '[]',
                compliance TEXT NOT NULL DEFAULT '[]',
                remediation TEXT NOT NULL DEFAULT '',
                tags TEXT NOT NULL DEFAULT '[]',
                risk REAL NOT NULL DEFAULT 0,
                PRIMARY KEY (scan_id, id)
            )""",
            "CREATE INDEX findings_id ON findings (id)",
        ],
    )


def _v2_provenance(db: Database) -> None:
    """Who ran a scan from where, and packets a live capture lost."""
    _run(
        db,
        [
            "ALTER TABLE scans ADD COLUMN hostname TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE scans ADD COLUMN argv TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE inputs ADD COLUMN dropped INTEGER",
            "ALTER TABLE inputs ADD COLUMN if_dropped INTEGER",
        ],
    )


def _v3_trust(db: Database) -> None:
    """Scores stored once per scan, the exception behind a sanctioned finding, inputs behind each finding,
    re-classified scans, and the scans a written report showed (formerly a <db>.reported.json sidecar)."""
    _run(
        db,
        [
            "ALTER TABLE scans ADD COLUMN score INTEGER",
            "ALTER TABLE scans ADD COLUMN grade TEXT",
            "ALTER TABLE scans ADD COLUMN risk_points REAL",
            "ALTER TABLE scans ADD COLUMN category_scores TEXT NOT NULL DEFAULT '{}'",
            "ALTER TABLE scans ADD COLUMN derived_from INTEGER",
            "ALTER TABLE findings ADD COLUMN exception TEXT",
            "ALTER TABLE findings ADD COLUMN inputs TEXT NOT NULL DEFAULT '[]'",
            "ALTER TABLE findings ADD COLUMN host_names TEXT NOT NULL DEFAULT '{}'",
            "ALTER TABLE scans ADD COLUMN devices TEXT NOT NULL DEFAULT '[]'",
            """CREATE TABLE reported (
                scan_id INTEGER PRIMARY KEY,
                reported REAL NOT NULL
            )""",
        ],
    )


def _v4_log_positions(db: Database) -> None:
    """How far each log file was read, committed with the findings of those lines (incremental scans)."""
    _run(
        db,
        [
            """CREATE TABLE log_positions (
                scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
                path TEXT NOT NULL,
                dev INTEGER NOT NULL,
                ino INTEGER NOT NULL,
                head_sha256 TEXT NOT NULL,
                head_len INTEGER NOT NULL,
                compressed INTEGER NOT NULL DEFAULT 0,
                offset INTEGER NOT NULL DEFAULT 0,
                lines INTEGER NOT NULL DEFAULT 0,
                size INTEGER NOT NULL DEFAULT 0,
                complete INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (scan_id, path)
            )""",
            "CREATE INDEX log_positions_identity ON log_positions (dev, ino)",
        ],
    )


def _v5_site_networks(db: Database) -> None:
    """The site's networks a scan judged devices by (declared or inferred), as its JSON shows them."""
    _run(db, ["ALTER TABLE scans ADD COLUMN networks TEXT"])


def _v6_site_names(db: Database) -> None:
    """The site's directory of names (passive DNS): which address stood for which name, when, and who said so."""
    _run(
        db,
        [
            """CREATE TABLE site_names (
                site TEXT NOT NULL,
                address TEXT NOT NULL,
                name TEXT NOT NULL,
                source TEXT NOT NULL DEFAULT '',
                first_seen REAL NOT NULL,
                last_seen REAL NOT NULL,
                validity REAL NOT NULL,
                evidence TEXT NOT NULL DEFAULT '',
                PRIMARY KEY (site, address, name)
            )""",
            "CREATE INDEX site_names_recent ON site_names (site, last_seen)",
        ],
    )


def _v7_state_grade(db: Database) -> None:
    """The site state's grade as of each scan, computed once when the scan is stored (``history`` reads it)."""
    _run(db, ["ALTER TABLE scans ADD COLUMN state_score INTEGER", "ALTER TABLE scans ADD COLUMN state_grade TEXT",
              "ALTER TABLE scans ADD COLUMN state_not_rechecked INTEGER",
              "ALTER TABLE scans ADD COLUMN state_exception_expired INTEGER"])


def _v8_open_flows(db: Database) -> None:
    """Flows an incremental run left open (a capture cut mid-flow): the next run of the site finishes them."""
    _run(
        db,
        [
            """CREATE TABLE open_flows (
                site TEXT NOT NULL,
                transport TEXT NOT NULL,
                orig_key BLOB NOT NULL,
                bytes_orig INTEGER NOT NULL,
                bytes_resp INTEGER NOT NULL,
                packets_orig INTEGER NOT NULL,
                packets_resp INTEGER NOT NULL,
                first_seen REAL NOT NULL,
                last_seen REAL NOT NULL,
                evidence TEXT NOT NULL DEFAULT '',
                seq_start_orig INTEGER,
                seq_start_resp INTEGER,
                seq_end_orig INTEGER NOT NULL,
                seq_end_resp INTEGER NOT NULL,
                fins INTEGER NOT NULL,
                PRIMARY KEY (site, transport, orig_key)
            )""",
        ],
    )


def _v9_report_settings_and_pseudonyms(db: Database) -> None:
    """How a scan's report looks (client, logo, marking, language, pseudonyms), each site's pseudonym key and
    the pseudonyms issued under it (``shadowit reveal`` reads them; nothing else holds the mapping)."""
    _run(
        db,
        [
            "ALTER TABLE scans ADD COLUMN report_settings TEXT NOT NULL DEFAULT '{}'",
            """CREATE TABLE site_keys (
                site TEXT PRIMARY KEY,
                key BLOB NOT NULL,
                created REAL NOT NULL
            )""",
            """CREATE TABLE pseudonyms (
                site TEXT NOT NULL,
                pseudonym TEXT NOT NULL,
                kind TEXT NOT NULL,
                real TEXT NOT NULL,
                issued REAL NOT NULL,
                PRIMARY KEY (site, pseudonym)
            )""",
            "CREATE INDEX pseudonyms_pseudonym ON pseudonyms (pseudonym)",
        ],
    )


MIGRATIONS: list[Migration] = [_v1_tables, _v2_provenance, _v3_trust, _v4_log_positions, _v5_site_networks,
                               _v6_site_names, _v7_state_grade, _v8_open_flows, _v9_report_settings_and_pseudonyms]
SCHEMA_VERSION = len(MIGRATIONS)


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """BEGIN IMMEDIATE ... COMMIT: take the write lock up front.

    A deferred transaction that reads first and writes later can fail at once
    with SQLITE_BUSY under WAL when another writer got in between; IMMEDIATE
    waits for the busy timeout instead.
    """
    try:
        db.conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot write the scan database: {exc}") from exc
    try:
        yield db
        db.conn.execute("COMMIT")
    except BaseException as exc:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"cannot write the scan database: {exc}") from exc
        raise


def schema_version(db: Database) -> int:
    return int(db.conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: Database, target: Optional[int] = None) -> int:
    """Apply the missing migrations up to ``target`` (default: all) in one transaction.

    Safe when several processes open a new database at once: the version is
    read again after the write lock is held. Returns the resulting version.
    """
    target = SCHEMA_VERSION if target is None else target
    with write_transaction(db):
        version = schema_version(db)
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"database schema version {version} is newer than this shadowit "
                f"understands ({SCHEMA_VERSION}); upgrade shadowit"
            )
        if version == 0 and db.table_names():
            raise StoreError("not a shadowit database (it already holds other tables)")
        for step in range(version, target):
            MIGRATIONS[step](db)
        if target > version:
            db.conn.execute(f"PRAGMA user_version = {int(target)}")
    return max(version, target)


def _require_current(db: Database, path: Path) -> None:
    """A read-only database cannot be migrated: it must already be at this shadowit's schema."""
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(f"database schema version {version} is newer than this shadowit understands "
                           f"({SCHEMA_VERSION}); upgrade shadowit")
    if version < SCHEMA_VERSION:
        raise StoreError(f"{path} is read-only and at schema version {version} (this shadowit needs "
                         f"{SCHEMA_VERSION}): read it from a writable copy, which is upgraded on opening")


def _create_private(path: Path) -> None:
    """Create the file readable by its owner only: it is audit data (its directory must exist: a typo is no tree)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


# Files this process found intact, by identity and last change: a scan opens its database for the scan,
# then for the JSON, the report and a notification, and quick_check reads the whole file, so it runs once
# per file and process. A store closed after writing records the file's new stamp (its own change); any
# other change (another process, a damaged disk, a new file on a re-used inode) is checked again.
_INTACT: set[tuple[int, ...]] = set()
MAX_INTACT = 64


def _stamp(path: Path) -> Optional[tuple[int, ...]]:
    """Identity and last change of the file and of its write-ahead log (another writer may touch only that)."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    try:
        wal = os.stat(f"{path}-wal")
        log = (wal.st_size, wal.st_mtime_ns)
    except OSError:
        log = (-1, -1)
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, *log


def remember_intact(path: Path) -> None:
    """The file as this process leaves it (checked on open, then written by this process only)."""
    stamp = _stamp(path)
    if stamp is not None:
        if len(_INTACT) >= MAX_INTACT:
            _INTACT.clear()
        _INTACT.add(stamp)


def check_intact(conn: sqlite3.Connection, path: Path) -> None:
    """``PRAGMA quick_check`` before anything is read or written: a damaged file is refused, never written to."""
    if _stamp(path) in _INTACT:
        return
    _check(conn, path)
    remember_intact(path)


def _check(conn: sqlite3.Connection, path: Path) -> None:
    try:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)").fetchall() if row[0] != "ok"]
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            raise StoreError(f"cannot open {path}: not a shadowit database ({exc})") from exc
        problems = [str(exc)]
    if problems:
        detail = " ".join(" ".join(problems).split())[:200]
        raise DatabaseDamaged(
            f"{path} is damaged ({detail}); it was neither read nor written. Recover: restore the last good copy, "
            f"or salvage the readable scans with `sqlite3 {path} .recover | sqlite3 recovered.db` and use "
            "--db recovered.db")


def _open_read_only(path: Path) -> sqlite3.Connection:
    """Read-only, creating nothing beside the file.

    Without a ``-wal`` file no writer has the database open: it is opened ``immutable`` (``mode=ro`` would
    create ``-wal`` and ``-shm`` files in a writable directory, and fail in a read-only one). With one, a
    writer may be at work: ``mode=ro`` reads through its journal.
    """
    uri = f"file:{quote(str(path.absolute()))}"
    if Path(f"{path}-wal").exists():
        return sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
    return sqlite3.connect(f"{uri}?immutable=1", uri=True)


def _enable_wal(db: Database) -> None:
    """Switch to WAL, waiting out other processes that open the same new database at the same moment.

    Changing the journal mode needs the database to itself, and SQLite may answer "database is locked" at
    once, without its busy handler, while another connection reads (an integrity check) or migrates; so the
    switch is retried for as long as the busy timeout would have waited.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            db.enable_wal()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def connect(path: Path, target: Optional[int] = None, read_only: bool = False) -> Database:
    """Open (creating if needed), check and migrate; WAL + busy timeout for concurrent scans.

    ``read_only``: an existing database at the current schema, opened for reading only (an evidence archive);
    nothing is created, migrated or written.
    """
    try:
        if read_only:
            conn = _open_read_only(path)
        else:
            _create_private(path)
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_SECONDS)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open {path}: {exc}") from exc
    try:
        from sqlite_utils import Database

        check_intact(conn, path)
        db = Database(conn)
        db.execute("PRAGMA foreign_keys = ON")
        if read_only:
            _require_current(db, path)
            return db
        _enable_wal(db)
        migrate(db, target)
    except StoreError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"cannot open {path}: {exc}") from exc
    return db
