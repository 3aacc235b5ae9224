"""Scheduled scans of growing, rotating logs: each line read once, across runs, rotation, truncation, kills."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from zeek_writer import eve, zeek_tsv

from detector.logs.incremental import TimeWindow
from detector.session.scan import ScanRequest, run_scan
from detector.store import Store

T0 = 1795964400.0
ROOT = Path(__file__).resolve().parent.parent
SERVICES = ["dropbox.com", "mega.nz", "wetransfer.com", "pastebin.com", "anydesk.com", "drive.google.com",
            "box.com", "mediafire.com"]


def tls_line(n: int, name: str | None = None) -> str:
    sni = name or f"n{n}.{SERVICES[n % len(SERVICES)]}"
    return eve("tls", T0 + n, f"10.1.{n % 7}.{n % 200 + 1}", 40000 + n % 20000, "203.0.113.9", 443, flow_id=n,
               tls={"sni": sni})


def dns_row(n: int, name: str) -> dict:
    return {"ts": T0 + n, "uid": f"C{n}", "id.orig_h": "10.1.0.5", "id.orig_p": 40000 + n, "id.resp_h": "10.1.0.1",
            "id.resp_p": 53, "proto": "udp", "query": name, "qtype": 1, "qtype_name": "A"}


def incremental(paths: list[Path], db: Path, **extra) -> object:
    return run_scan(ScanRequest(paths=[str(p) for p in paths], rules_files=[], db=db, incremental=True, **extra))


def services(outcome) -> list[str]:
    return sorted(f.attributes.service for f in outcome.result.findings if f.detector == "filesharing.service")


def records(outcome, name: str) -> int:
    return sum(i.records for i in outcome.result.inputs if Path(i.path).name == name)


def test_growing_file_is_read_once_and_a_half_written_line_waits(tmp_path):
    log = tmp_path / "eve.json"
    db = tmp_path / "site.db"
    log.write_text(tls_line(0, "www.dropbox.com") + "\n")
    first = incremental([log], db)
    assert services(first) == ["Dropbox"] and records(first, "eve.json") == 1
    assert services(incremental([log], db)) == []  # nothing new
    half = tls_line(2, "mega.nz")
    with log.open("a") as handle:
        handle.write(tls_line(1, "wetransfer.com") + "\n" + half[:40])  # the sensor is mid-write
    second = incremental([log], db)
    assert services(second) == ["WeTransfer"] and records(second, "eve.json") == 1
    with log.open("a") as handle:
        handle.write(half[40:] + "\n")
    third = incremental([log], db)
    assert services(third) == ["MEGA"] and records(third, "eve.json") == 1
    assert not any(i.warnings for i in third.result.inputs)


def test_rotation_by_rename_then_compression_resumes_and_archives_are_read_once(tmp_path):
    """Zeek: dns.log grows, is renamed, compressed into the dated archive; a new dns.log starts."""
    current = tmp_path / "current"
    current.mkdir()
    db = tmp_path / "site.db"
    log = current / "dns.log"
    rows = [dns_row(0, "www.dropbox.com"), dns_row(1, "mega.nz"), dns_row(2, "wetransfer.com")]
    text = zeek_tsv("dns", rows)
    body_end = text.index("#close")
    log.write_text(text[:text.index(zeek_tsv("dns", rows[:2]).split("\n")[-3])])  # header + first row
    assert services(incremental([current], db)) == ["Dropbox"]
    log.write_text(text[:body_end])  # two more rows, same inode
    rotated = current / "dns.log.1"
    log.rename(rotated)  # rotation by rename keeps the inode and the head
    log.write_text(zeek_tsv("dns", [dns_row(10, "pastebin.com")], opened="2026-11-29-16-00-00"))
    second = incremental([current], db)
    assert services(second) == ["MEGA", "Pastebin", "WeTransfer"]
    assert records(second, "dns.log.1") == 2  # only the rows after the first, header replayed for the columns
    # the archiver compresses the rotated file into the dated directory and removes it
    archive = tmp_path / "logs" / "2026-11-29"
    archive.mkdir(parents=True)
    (archive / "dns.15:00:00-16:00:00.log.gz").write_bytes(gzip.compress(text.encode()))
    rotated.unlink()
    third = incremental([current, tmp_path / "logs"], db)
    assert services(third) == []  # the archive holds what dns.log.1 gave; only its #close line is new
    assert records(third, "dns.15:00:00-16:00:00.log.gz") == 1
    fourth = incremental([current, tmp_path / "logs"], db)
    (archived,) = [i for i in fourth.result.inputs if i.path.endswith(".gz")]
    assert archived.kind.endswith("(already read)") and archived.records == 0


def test_archive_first_seen_compressed_is_read_whole_once(tmp_path):
    db = tmp_path / "site.db"
    day = tmp_path / "2026-11-29"
    day.mkdir()
    (day / "dns.15:00:00-16:00:00.log.gz").write_bytes(
        gzip.compress(zeek_tsv("dns", [dns_row(0, "www.dropbox.com")]).encode()))
    assert services(incremental([day], db)) == ["Dropbox"]
    assert services(incremental([day], db)) == []


def test_truncated_file_is_read_from_the_start(tmp_path):
    log = tmp_path / "eve.json"
    db = tmp_path / "site.db"
    log.write_text("".join(tls_line(n, "www.dropbox.com") + "\n" for n in range(5)))
    assert services(incremental([log], db)) == ["Dropbox"]
    with log.open("r+") as handle:  # copytruncate, then the sensor writes on
        handle.truncate(0)
    with log.open("a") as handle:
        handle.write(tls_line(9, "mega.nz") + "\n")
    after = incremental([log], db)
    assert services(after) == ["MEGA"]
    assert any("truncated" in w for w in after.result.inputs[0].warnings)


def test_replaced_file_with_a_new_head_is_read_from_the_start(tmp_path):
    log = tmp_path / "eve.json"
    db = tmp_path / "site.db"
    log.write_text("".join(tls_line(n, "www.dropbox.com") + "\n" for n in range(3)))
    incremental([log], db)
    replacement = tmp_path / "eve.new"
    replacement.write_text("".join(tls_line(n, "mega.nz") + "\n" for n in range(100, 110)))
    os.replace(replacement, log)
    assert services(incremental([log], db)) == ["MEGA"]


def test_since_until_bound_the_window(tmp_path):
    log = tmp_path / "eve.json"
    log.write_text(tls_line(0, "www.dropbox.com") + "\n" + tls_line(3600, "mega.nz") + "\n"
                   + tls_line(7200, "wetransfer.com") + "\n")
    outcome = run_scan(ScanRequest(paths=[str(log)], rules_files=[], window=TimeWindow(T0 + 1800, T0 + 5400)))
    assert services(outcome) == ["MEGA"]


def test_cli_since_until_and_incremental_needs_a_database(tmp_path):
    log = tmp_path / "eve.json"
    log.write_text(tls_line(0, "www.dropbox.com") + "\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    base = [sys.executable, "-m", "detector.cli", "scan", str(log), "-q"]
    done = subprocess.run(base + ["--incremental"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 2 and "--db" in done.stderr
    done = subprocess.run(base + ["--since", "yesterday-ish"], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert done.returncode == 2 and "ISO time" in done.stderr
    out = tmp_path / "out.json"
    done = subprocess.run(base + ["--since", "2026-11-29T14:00Z", "--until", "2026-11-29T16:00:00+00:00",
                                  "--json", str(out)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Dropbox" in out.read_text()
    done = subprocess.run(base + ["--since", "1h", "--json", str(out)], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0 and "Dropbox" not in out.read_text()  # 2026-11-29 15:00 is not in the last hour


# ---------------------------------------------------------------- interrupted runs


def _big_log(path: Path, lines: int) -> None:
    with path.open("w") as handle:
        for n in range(lines):
            handle.write(tls_line(n) + "\n")


def _kill_mid_file(command: list[str], log: Path, sig: int, env: dict) -> int:
    """Start a scan, wait until it has read part of the file (its read offset), then signal it."""
    size = log.stat().st_size
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"scan finished before it could be interrupted: {process.stderr.read()[-500:]}")
            position = _read_offset(process.pid, log)
            if position is not None and 2 << 20 <= position <= size - (2 << 20):
                process.send_signal(sig)
                break
            time.sleep(0.002)
        return process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _read_offset(pid: int, log: Path) -> int | None:
    fds = Path(f"/proc/{pid}/fd")
    try:
        for fd in fds.iterdir():
            if os.readlink(fd) == str(log):
                for line in (Path(f"/proc/{pid}/fdinfo") / fd.name).read_text().splitlines():
                    if line.startswith("pos:"):
                        return int(line.split()[1])
    except OSError:
        return None
    return None


def _totals(db: Path) -> tuple[Counter, dict[str, set], int]:
    """Finding counts and hosts summed over every scan in the database, and lines read."""
    counts: Counter = Counter()
    hosts: dict[str, set] = {}
    lines = 0
    with Store(db) as store:
        for summary in store.history():
            result = store.load_scan(summary.id)
            for finding in result.findings:
                counts[finding.id] += finding.count
                hosts.setdefault(finding.id, set()).update(finding.hosts)
            lines += sum(i.records for i in result.inputs)
    return counts, hosts, lines


@pytest.mark.skipif(not Path("/proc/self/fdinfo").is_dir(), reason="needs /proc to see the read offset")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_interrupted_scan_resumes_without_loss_or_duplication(tmp_path, sig):
    log = tmp_path / "eve.json"
    _big_log(log, 40_000)  # about 9 MiB
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    one_shot_db, db = tmp_path / "once.db", tmp_path / "runs.db"
    command = [sys.executable, "-m", "detector.cli", "scan", str(log), "-q", "--incremental", "--db"]
    subprocess.run(command + [str(one_shot_db)], check=True, env=env, stdout=subprocess.DEVNULL)
    code = _kill_mid_file(command + [str(db)], log, sig, env)
    assert code == (143 if sig == signal.SIGTERM else -signal.SIGKILL)  # 128 + SIGTERM: stopped, what was read kept
    with Store(db) as store:
        killed = store.history()[0]
        stored_lines = sum(i.records for i in store.load_scan(killed.id).inputs)
    if sig == signal.SIGTERM:
        assert 0 < stored_lines < 40_000  # it kept what it read, and stopped at a line end
    subprocess.run(command + [str(db)], check=True, env=env, stdout=subprocess.DEVNULL)
    expected_counts, expected_hosts, expected_lines = _totals(one_shot_db)
    counts, hosts, lines = _totals(db)
    assert expected_lines == 40_000
    assert counts == expected_counts
    assert hosts == expected_hosts
    if sig == signal.SIGTERM:
        assert lines == 40_000


@pytest.mark.skipif(not Path("/proc/self/fdinfo").is_dir(), reason="needs /proc to see the read offset")
def test_sigint_during_an_incremental_scan_exits_130_and_keeps_what_was_read(tmp_path):
    log = tmp_path / "eve.json"
    _big_log(log, 40_000)
    db = tmp_path / "runs.db"
    command = [sys.executable, "-m", "detector.cli", "scan", str(log), "-q", "--incremental", "--db", str(db)]
    assert _kill_mid_file(command, log, signal.SIGINT, dict(os.environ, PYTHONPATH=str(ROOT))) == 130
    with Store(db) as store:
        (stopped,) = store.history()
        assert stopped.status == "incomplete"
        assert 0 < sum(i.records for i in store.load_scan(stopped.id).inputs) < 40_000


def test_an_empty_archive_read_once_does_not_swallow_later_archives(tmp_path):
    db = tmp_path / "site.db"
    day = tmp_path / "2026-11-29"
    day.mkdir()
    (day / "dns.14:00:00-15:00:00.log.gz").write_bytes(gzip.compress(b""))
    incremental([day], db)
    (day / "dns.15:00:00-16:00:00.log.gz").write_bytes(
        gzip.compress(zeek_tsv("dns", [dns_row(0, "www.dropbox.com")]).encode()))
    assert services(incremental([day], db)) == ["Dropbox"]


def test_a_short_archive_is_not_taken_for_a_longer_one_that_starts_alike(tmp_path):
    db = tmp_path / "site.db"
    day = tmp_path / "2026-11-29"
    day.mkdir()
    first = tls_line(0, "www.dropbox.com") + "\n"
    (day / "eve.json-1.gz").write_bytes(gzip.compress(first.encode()))
    incremental([day], db)
    (day / "eve.json-2.gz").write_bytes(gzip.compress((first + tls_line(1, "mega.nz") + "\n").encode()))
    assert services(incremental([day], db)) == ["Dropbox", "MEGA"]


def test_an_overlong_line_is_skipped_unread_and_the_position_still_moves_past_it(tmp_path):
    """Incremental reads handle lines as whole reads do: over 16 KiB is counted and skipped, never held whole."""
    log = tmp_path / "dns.log"
    text = zeek_tsv("dns", [dns_row(0, "www.example.org")])
    body_start = text.index("\n", text.index("#types")) + 1
    huge = "x" * (3 * 1024 * 1024) + "\n"  # more than one read chunk: the reader must not keep it whole
    log.write_text(text[:body_start] + huge + text[body_start:] + text[body_start:].replace(
        "www.example.org", "www.dropbox.com"))
    db = tmp_path / "site.db"
    first = incremental([log], db)
    [record] = first.result.inputs
    assert any("longer than 16 KiB skipped unread" in w for w in record.warnings)
    assert services(first) == ["Dropbox"]  # the lines after it were read
    again = incremental([log], db)
    assert records(again, "dns.log") == 0  # the position went past the long line as well
