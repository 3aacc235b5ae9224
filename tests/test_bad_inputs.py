"""What a user or an attacker can get wrong around a scan, each answered in one line (issue 25).

Special files, the lock file, damaged and read-only databases, mistyped output paths, empty inputs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from detector.samples import office_packets, write_pcapng

ROOT = Path(__file__).resolve().parent.parent
T0 = 1793606400.0  # 2026-11-02 09:00 UTC


def shadowit(*args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    """The command as a user runs it, from this tree; a hang fails the test instead of the suite."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="120")
    return subprocess.run([sys.executable, "-m", "detector.cli", *map(str, args)], capture_output=True,
                          timeout=timeout, env=env, text=True)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The process failed with exit 2 and exactly one line on stderr, no traceback: that line."""
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def capture(tmp_path) -> Path:
    return write_pcapng(tmp_path / "office.pcapng", office_packets(T0))


# ---------------------------------------------------------------- special files


def test_fifo_and_device_symlink_in_a_scanned_directory_are_skipped_with_a_warning(tmp_path, capture):
    drop = tmp_path / "drop"
    drop.mkdir()
    capture.rename(drop / "a-office.pcapng")
    os.mkfifo(drop / "b-stream.pcap")
    (drop / "c-zero.log").symlink_to("/dev/zero")
    (drop / "d-random.pcap").symlink_to("/dev/urandom")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(drop / "e.sock"))
    try:
        proc = shadowit("scan", drop, "--json", tmp_path / "f.json", timeout=60)
    finally:
        listener.close()
    assert proc.returncode == 0, proc.stderr
    document = json.loads((tmp_path / "f.json").read_text())
    warnings = {Path(i["path"]).name: i["warnings"] for i in document["scan"]["inputs"]}
    assert "FIFO" in warnings["b-stream.pcap"][0] and "not a regular file" in warnings["b-stream.pcap"][0]
    assert "character device" in warnings["c-zero.log"][0]
    assert "character device" in warnings["d-random.pcap"][0]
    assert "socket" in warnings["e.sock"][0]
    assert "b-stream.pcap: a FIFO" in proc.stdout


def test_a_fifo_named_directly_is_not_waited_for(tmp_path):
    fifo = tmp_path / "stream.pcap"
    os.mkfifo(fifo)
    line = one_line_error(shadowit("scan", fifo, timeout=60))
    assert "FIFO" in line and "nothing usable" in line


def test_an_empty_file_says_empty(tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    line = one_line_error(shadowit("scan", empty))
    assert "empty file" in line and "not recognised" not in line


def test_a_scan_that_reads_nothing_usable_still_writes_its_json_as_failed(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01" * 4096)
    out = tmp_path / "f.json"
    line = one_line_error(shadowit("scan", junk, "--json", out))
    assert "nothing usable" in line
    document = json.loads(out.read_text())
    assert document["scan"]["status"] == "failed" and document["scan"]["risk"] is None


# ---------------------------------------------------------------- the lock file


def test_a_symlinked_lock_is_refused_and_its_target_left_whole(tmp_path, capture):
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n")
    (tmp_path / "s.db.lock").symlink_to(victim)
    line = one_line_error(shadowit("scan", capture, "--db", tmp_path / "s.db"))
    assert "symbolic link" in line
    assert victim.read_text() == "keep me\n"
    assert not (tmp_path / "s.db").exists()


def test_a_hard_linked_lock_is_refused(tmp_path, capture):
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n")
    os.link(victim, tmp_path / "s.db.lock")
    assert "hard link" in one_line_error(shadowit("scan", capture, "--db", tmp_path / "s.db"))
    assert victim.read_text() == "keep me\n"


@pytest.mark.parametrize("where", ["/proc/x.db", "under-a-file"])
def test_a_lock_that_cannot_be_created_is_one_line(tmp_path, capture, where):
    db = tmp_path / "plain.txt" / "x.db" if where == "under-a-file" else Path(where)
    (tmp_path / "plain.txt").write_text("")
    line = one_line_error(shadowit("scan", capture, "--db", db))
    assert str(db) in line


# ---------------------------------------------------------------- output paths


@pytest.mark.parametrize("option", ["--report", "--json", "--db"])
def test_an_output_in_a_missing_directory_fails_before_scanning(tmp_path, capture, option):
    target = tmp_path / "nonexistent" / "dir" / "out.file"
    line = one_line_error(shadowit("scan", capture, option, target))
    assert option in line and "does not exist" in line
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.parametrize("command", ["report", "export"])
def test_a_stored_output_in_a_missing_directory_fails_at_once(tmp_path, capture, command):
    db = tmp_path / "s.db"
    assert shadowit("scan", capture, "--db", db, "-q").returncode == 0
    line = one_line_error(shadowit(command, "--db", db, "-o", tmp_path / "nonexistent" / "r.out"))
    assert "-o" in line or "--output" in line
    assert not (tmp_path / "nonexistent").exists()


def test_json_unwritable_after_the_scan_was_stored_says_how_to_write_it_again(tmp_path, capture):
    db = tmp_path / "s.db"
    line = one_line_error(shadowit("scan", capture, "--db", db, "--json", "/proc/x.json"))
    assert "stored as scan #1" in line and f"shadowit export --db {db} --scan 1" in line
    assert shadowit("export", "--db", db, "--scan", "1", "-o", tmp_path / "again.json").returncode == 0


# ---------------------------------------------------------------- damaged and read-only databases


def damage_one_page(db: Path) -> None:
    """Overwrite the header of a b-tree page in the middle of the file: what a bad sector or a torn copy does."""
    page_size = int.from_bytes(db.read_bytes()[16:18], "big")
    middle = (db.stat().st_size // page_size) // 2
    with open(db, "r+b") as stream:
        stream.seek(middle * page_size)
        stream.write(b"\x0d\x00\x00\xff\xff\x00" + b"\xa5" * 1000)


@pytest.fixture
def damaged_db(tmp_path, capture) -> Path:
    db = tmp_path / "s.db"
    for _ in range(2):
        assert shadowit("scan", capture, "--db", db, "-q").returncode == 0
    damage_one_page(db)
    return db


def test_a_scan_checks_its_database_once_and_a_change_by_anyone_else_again(tmp_path, capture, monkeypatch):
    """quick_check reads the whole file: once per process, not again for the JSON, the report and the state;
    a file damaged after this process closed it is checked (and refused) on the next open."""
    from click.testing import CliRunner

    from detector.cli import main
    from detector.store import schema

    checked: list[Path] = []
    real_check = schema._check
    monkeypatch.setattr(schema, "_check", lambda conn, path: (checked.append(path), real_check(conn, path)))
    db = tmp_path / "once.db"
    args = ["scan", str(capture), "--db", str(db), "--json", str(tmp_path / "s.json"),
            "--report", str(tmp_path / "r.html"), "-q"]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert checked == [db]
    damage_one_page(db)
    result = CliRunner().invoke(main, ["history", "--db", str(db)])
    assert result.exit_code == 2 and "is damaged" in result.output and checked == [db, db]


@pytest.mark.parametrize("command", [("history",), ("report", "-o", "{tmp}/r.html"), ("export", "-o", "{tmp}/e.json"),
                                     ("diff",), ("scan", "{capture}")])
def test_a_damaged_database_is_refused_in_one_line_and_never_written(tmp_path, capture, damaged_db, command):
    before = damaged_db.read_bytes()
    args = [part.format(tmp=tmp_path, capture=capture) for part in command]
    line = one_line_error(shadowit(*args, "--db", damaged_db))
    assert "is damaged" in line and ".recover" in line and "last good" in line
    assert damaged_db.read_bytes() == before
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "e.json").exists()


def test_a_read_only_archive_is_read_without_writing_a_byte(tmp_path, capture, monkeypatch):
    """As root every file is writable: the archive is made read-only for this user by os.access."""
    from click.testing import CliRunner

    from detector.cli import main
    from detector.outputs import stored

    db = tmp_path / "archive" / "s.db"
    db.parent.mkdir()
    for _ in range(2):
        assert shadowit("scan", capture, "--db", db, "-q").returncode == 0
    (db.parent / "s.db.lock").unlink()
    before = db.read_bytes()
    db.chmod(0o444)
    db.parent.chmod(0o555)
    readable_only = os.access
    monkeypatch.setattr(stored.os, "access", lambda path, mode, **kw: not mode & os.W_OK and readable_only(path, mode))
    try:
        runner = CliRunner()
        for args in (["history"], ["diff"], ["export", "-o", tmp_path / "e.json"],
                     ["report", "-o", tmp_path / "r.html"]):
            result = runner.invoke(main, [*map(str, args), "--db", str(db)])
            assert result.exit_code == 0, (args, result.output)
        refused = runner.invoke(main, ["report", "-o", str(tmp_path / "r2.html"), "--db", str(db), "--rules",
                                       str(ROOT / "rules" / "examples" / "site-policy.yaml")])
        assert refused.exit_code == 2 and "read-only" in refused.output
    finally:
        db.parent.chmod(0o755)
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["s.db"]
