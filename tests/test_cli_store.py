"""The stored-scan commands: history, diff, export, report re-rendering, interrupted scans."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from detector.cli import main
from detector.samples import dns_exchange, office_packets, write_pcap, write_pcapng
from detector.session.pipeline import Scan
from detector.store import Store

T0 = datetime(2026, 11, 2, 9, tzinfo=timezone.utc).timestamp()


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def three_scans(tmp_path):
    """Scan 1: office; scan 2: office + MEGA-only lookup gone, Box added; scan 3: only Box."""
    office = write_pcapng(tmp_path / "office.pcapng", office_packets(T0))
    box = write_pcap(tmp_path / "box.pcap", dns_exchange("10.0.0.7", "10.0.0.1", "app.box.com", ["1.2.3.4"], T0))
    db = tmp_path / "h.db"
    for inputs in ([office], [office, box], [box]):
        assert run("scan", *inputs, "--db", db, "--site", "hq", "-q").exit_code == 0
    return db


def test_history_lists_every_scan(three_scans):
    result = run("history", "--db", three_scans, "--json")
    scans = json.loads(result.output)
    assert [s["status"] for s in scans] == ["complete"] * 3
    assert {s["site"] for s in scans} == {"hq"}


def test_diff_defaults_to_the_two_latest(three_scans):
    data = json.loads(run("diff", "--db", three_scans, "--json").output)
    assert (data["base"]["scan_id"], data["head"]["scan_id"]) == (2, 3)
    assert [f["title"] for f in data["persisting"]] and all("Box" in f["title"] for f in data["persisting"])
    assert not data["new"]
    assert any("Dropbox" in f["title"] for f in data["not_rechecked"])  # office.pcapng was not scanned again
    assert not data["resolved"]
    first = json.loads(run("diff", "1", "2", "--db", three_scans, "--json").output)
    assert [f["title"] for f in first["new"]] == [t for t in (f["title"] for f in first["new"]) if "Box" in t]
    assert len(first["new"]) == 1 and not first["resolved"]


def test_export_json_is_the_contract_and_csv_is_flat(three_scans):
    document = json.loads(run("export", "--db", three_scans, "--scan", 1, "--format", "json").output)
    assert document["schema"] == "shadowit.findings/1" and document["findings"]
    rows = list(csv.DictReader(io.StringIO(run("export", "--db", three_scans, "--format", "csv").output)))
    assert rows and {"id", "severity", "title"} <= set(rows[0])


def test_report_of_unknown_scan_is_a_clean_error(three_scans, tmp_path):
    result = run("report", "--db", three_scans, "--scan", 99, "-o", tmp_path / "r.html")
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_interrupted_scan_keeps_earlier_scans_and_is_marked_incomplete(tmp_path, monkeypatch):
    office = write_pcapng(tmp_path / "office.pcapng", office_packets(T0))
    db = tmp_path / "i.db"
    assert run("scan", office, "--db", db, "-q").exit_code == 0
    calls = {"n": 0}
    real_add = Scan.add_file

    def interrupt_second(self, path):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_add(self, path)

    monkeypatch.setattr(Scan, "add_file", interrupt_second)
    later = write_pcapng(tmp_path / "later.pcapng", office_packets(T0 + 3600))  # the same file twice is read once
    result = run("scan", office, later, "--db", db, "-q")
    assert result.exit_code == 130  # 128 + SIGINT: interrupted, though what was read is stored
    with Store(db) as store:
        statuses = [s.status for s in sorted(store.history(), key=lambda s: s.id)]
        assert statuses == ["complete", "incomplete"]
        kept = store.load_scan(1)
        assert kept.findings


def test_consolidated_report_over_two_databases_and_sites(tmp_path):
    office = write_pcapng(tmp_path / "office.pcapng", office_packets(T0))
    box = write_pcap(tmp_path / "box.pcap", dns_exchange("10.0.0.7", "10.0.0.1", "app.box.com", ["1.2.3.4"], T0))
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    assert run("scan", office, "--db", first, "--site", "dentist-north", "-q").exit_code == 0
    assert run("scan", box, "--db", second, "--site", "bakery", "-q").exit_code == 0
    assert run("scan", office, "--db", second, "--site", "law-firm", "-q").exit_code == 0
    out = tmp_path / "msp.html"
    result = run("report", "--db", first, "--db", second, "-o", out)
    assert result.exit_code == 0, result.output
    assert "3 site(s)" in result.output
    html = out.read_text()
    for site in ("dentist-north", "bakery", "law-firm"):
        assert site in html


def _first_input_stored(db) -> bool:
    if not db.exists():
        return False
    with Store(db) as store:
        scans = store.history()
        return bool(scans) and bool(store.load_scan(scans[0].id).inputs)


def test_sigterm_during_a_scan_stores_an_incomplete_scan(tmp_path):
    """A scheduler stopping a long scan: the process exits cleanly and the database keeps what was read."""
    import os
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / "drop"
    folder.mkdir()
    write_pcapng(folder / "a-office.pcapng", office_packets(T0))
    huge = folder / "b-huge.bin"
    huge.touch()
    os.truncate(huge, 1 << 40)  # a sparse terabyte: the scan is still hashing it (a FIFO is no longer read)
    db = tmp_path / "t.db"
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "detector.cli", "scan", str(folder), "--db", str(db), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _first_input_stored(db):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err.decode()  # 128 + SIGTERM
    assert b"Traceback" not in err
    with Store(db) as store:
        (summary,) = store.history()
        assert summary.status == "incomplete"
        assert store.load_scan(summary.id).findings
