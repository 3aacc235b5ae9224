"""Live capture without root: a scripted frame source drives the real capture loop, store and CLI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from scanning import scan_files

from detector.capture import live
from detector.capture.live import InterfaceStats, LiveCaptureError, check_filter, default_filter, effective_filter
from detector.cli import main
from detector.policy.settings import Settings
from detector.protocols import packet_decoders
from detector.samples import DEMO_PASSWORDS, office_packets, write_pcapng
from detector.session import live as capture_module
from detector.session.live import CaptureRequest, RotatingPcapng, parse_duration, run_capture
from detector.session.policy import classify
from detector.session.scan import ScanSession
from detector.store import ScanLock, Store

T0 = 1_793_610_000.0


class FakeReader:
    def __init__(self, iface: str, linktype: int = 1):
        self.iface = iface
        self.linktype = linktype
        self.stats = InterfaceStats()

    def kernel_drops(self) -> int:
        return self.stats.kernel_drops


class ScriptedSource:
    """Stands in for LiveSource: hands out prepared frames, then optionally raises a signal."""

    def __init__(self, frames, signal_after=None, kernel_drops=0):
        self.frames = list(frames)
        self.readers = [FakeReader("eth9")]
        self.readers[0].stats.kernel_drops = kernel_drops
        self.open_readers = 1
        self.signal_after = signal_after
        self.handed = 0
        self.closed = False

    def start(self) -> None:
        pass

    def next_frame(self, timeout: float):
        if self.signal_after is not None and self.handed == self.signal_after:
            os.kill(os.getpid(), signal.SIGTERM)
            self.signal_after = None
        if not self.frames:
            self.open_readers = 0
            return None
        self.handed += 1
        data, ts = self.frames.pop(0)
        return 0, data, ts

    def close(self) -> None:
        self.closed = True


_FRAMES: list = []


def office_frames():
    """The demo office capture as raw frames (built once: scapy is slow to build packets)."""
    if not _FRAMES:
        _FRAMES.extend((bytes(p), float(p.time)) for p in office_packets(T0))
    return list(_FRAMES)


@pytest.fixture(scope="module")
def expected_titles(tmp_path_factory):
    """Finding titles of the same frames scanned as a file (ids of credentials depend on the per-test key)."""
    path = tmp_path_factory.mktemp("office") / "office.pcapng"
    write_pcapng(path, office_packets(T0))
    return sorted(f.title for f in scan_files(path)[0])


def factory(source):
    return lambda interfaces, expression: source


def test_durations():
    assert parse_duration("30s") == 30 and parse_duration("10m") == 600 and parse_duration("2h") == 7200
    assert parse_duration("45") == 45 and parse_duration("180d") == 180 * 86400
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_default_filter_passes_what_decoders_need_and_compiles():
    expression = default_filter(packet_decoders(Settings()))
    for needed in ("udp port (53", "tcp port (21", " 80 ", "tcp[13] & 0x07 != 0", "0x16030100", "67 or 68"):
        assert needed in expression
    clear_text_ports = expression.split(")) or (")[0]
    assert "tcp port (21" in clear_text_ports and " 443 " not in clear_text_ports  # HTTPS bulk stays in the kernel
    assert "udp port (443 or 4433 or 8443) and udp[8:1] & 0xc0 = 0xc0" in expression  # QUIC long headers only
    for linktype in (1, 101, 127):
        check_filter(live.for_linktype(expression, linktype), linktype)
    assert live.for_linktype("udp", 127) == "(type mgt) or (udp)"
    assert effective_filter("A", "port 9", "extend") == "(A) or (port 9)"
    assert effective_filter("A", "port 9", "replace") == "port 9"
    with pytest.raises(LiveCaptureError):
        check_filter("tcp port banana")


def test_capture_feeds_the_same_detectors_as_a_file_scan(tmp_path, expected_titles):
    frames = office_frames()
    source = ScriptedSource(frames, kernel_drops=3)
    request = CaptureRequest(interfaces=["eth9"], db=tmp_path / "c.db", site="hq", write=tmp_path / "c.pcapng")
    outcome = run_capture(request, factory(source))
    assert source.closed and not outcome.interrupted
    assert sorted(f.title for f in outcome.result.findings) == expected_titles
    record = outcome.result.inputs[0]
    assert (record.path, record.kind, record.records) == ("live:eth9", "live:ethernet", len(frames))
    assert "capture lost 3 frame(s)" in record.warnings[0]
    with Store(tmp_path / "c.db") as store:
        stored = store.load_scan(site="hq")
        assert len(stored.findings) == len(expected_titles)
        assert store.input_drops(stored.scan_id)["live:eth9"].dropped == 3
    rescanned, _, _ = scan_files(tmp_path / "c.pcapng")  # the --write file is a valid pcapng of the same frames
    assert sorted(f.title for f in rescanned) == expected_titles
    assert (tmp_path / "c.pcapng").stat().st_mode & 0o077 == 0


def test_flush_snapshot_leaves_the_running_scan_untouched(tmp_path, expected_titles):
    frames = office_frames()
    half = len(frames) // 2
    source = ScriptedSource(frames)
    request = CaptureRequest(interfaces=["eth9"], db=tmp_path / "f.db")
    with ScanSession(request) as session, Store(tmp_path / "f.db") as store:
        session.begin()
        run = capture_module.CaptureRun(request, session, source)
        for _ in range(half):
            run.handle(*source.next_frame(0))
        run.flush()
        run.flush()  # repeated flushes replace, never duplicate
        early = store.load_scan(session.scan_id).findings
        while source.frames:
            run.handle(*source.next_frame(0))
        final = classify(session.scan.finish(), session.policy.ruleset)
    assert 0 < len(early) <= len(final)
    assert sorted(f.title for f in final) == expected_titles
    dropbox = [f for f in final if f.attributes.as_dict().get("service") == "Dropbox"][0]
    assert dropbox.attributes.bytes_up > 2_600_000  # volumes survive the snapshots


def test_sigterm_stops_cleanly_and_marks_an_early_stop_incomplete(tmp_path):
    source = ScriptedSource(office_frames(), signal_after=40)
    request = CaptureRequest(interfaces=["eth9"], duration=3600, db=tmp_path / "s.db")
    previous = signal.getsignal(signal.SIGTERM)
    outcome = run_capture(request, factory(source))
    assert signal.getsignal(signal.SIGTERM) is previous
    assert outcome.interrupted and outcome.result.inputs[0].records == 41  # the frame in hand is kept
    assert "stopped by SIGTERM" in outcome.warnings[0]
    with Store(tmp_path / "s.db") as store:
        assert store.history()[0].status == "incomplete"


def test_rotating_writer_keeps_newest_files(tmp_path):
    writer = RotatingPcapng(tmp_path / "cap.pcapng", [("eth9", 1)], max_bytes=4096, keep=2)
    for data, ts in office_frames()[:200]:
        writer.write(0, data, ts)
    writer.close()
    names = sorted(p.name for p in tmp_path.glob("cap-*.pcapng"))
    assert len(names) == 2
    assert int(names[0][4:9]) + 1 == int(names[1][4:9]) > 2  # older files were deleted
    for name in names:
        assert scan_files(tmp_path / name)[1][0].warnings == []


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_capture_writes_outputs_and_no_secret(tmp_path, monkeypatch):
    source = ScriptedSource(office_frames())
    monkeypatch.setattr(capture_module, "LiveSource", lambda interfaces, expression: source)
    out = tmp_path / "c.json"
    result = run("capture", "-i", "eth9", "--duration", "1m", "--db", str(tmp_path / "c.db"), "--json", str(out),
                 "--report", str(tmp_path / "c.html"), "--site", "hq", "-q")
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert {f["category"] for f in document["findings"]} >= {"file-sharing", "plaintext-credentials"}
    with Store(tmp_path / "c.db") as store:
        assert store.reported_scans() == {1}  # kept in the database, no sidecar file
    dump = "\n".join(sqlite3.connect(tmp_path / "c.db").iterdump())
    for text in (out.read_text(), (tmp_path / "c.html").read_text(), dump, result.output):
        assert DEMO_PASSWORDS["ftp"] not in text and DEMO_PASSWORDS["http"] not in text


def test_cli_capture_errors_are_one_line_exit_2(tmp_path, monkeypatch):
    class Denied:
        def __init__(self, *args, **kwargs):
            raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr("scapy.arch.linux.L2ListenSocket", Denied)
    result = run("capture", "-i", "eth9", "--duration", "1")
    assert result.exit_code == 2
    assert result.output.startswith("shadowit: error: capturing on eth9 needs CAP_NET_RAW")
    assert "setcap cap_net_raw,cap_net_admin=eip" in result.output and len(result.output.splitlines()) == 1
    result = run("capture", "-i", "eth9", "--duration", "soon")
    assert result.exit_code == 2 and "not a duration" in result.output
    result = run("capture", "-i", "eth9", "--bpf", "tcp port banana", "--bpf-mode", "replace")
    assert result.exit_code == 2 and "shadowit: error: cannot use capture filter" in result.output


def test_second_run_on_a_locked_database_waits_or_exits_2(tmp_path, monkeypatch):
    monkeypatch.setattr(capture_module, "LiveSource", lambda interfaces, expression: ScriptedSource([]))
    db = tmp_path / "l.db"
    with ScanLock(db):
        for command in (["capture", "-i", "eth9"], ["scan", str(tmp_path)]):
            result = run(*command, "--db", str(db), "--no-wait", "-q")
            assert result.exit_code == 2, result.output
            assert result.output.startswith("shadowit: error: another shadowit run is using this database")
    empty = run("capture", "-i", "eth9", "--db", str(db), "--no-wait", "-q")
    assert empty.exit_code == 2 and "nothing usable was read" in empty.output  # no frames: failed, not a clean bill


def test_prune_keeps_reported_scans_unless_forced(tmp_path, monkeypatch):
    monkeypatch.setattr(capture_module, "LiveSource", lambda interfaces, expression: ScriptedSource(office_frames()))
    db = tmp_path / "p.db"
    assert run("capture", "-i", "eth9", "--db", str(db), "-q", "--report", str(tmp_path / "r.html")).exit_code == 0
    assert run("capture", "-i", "eth9", "--db", str(db), "-q").exit_code == 0
    assert run("capture", "-i", "eth9", "--db", str(db), "-q").exit_code == 0
    result = run("prune", "--db", str(db), "--older-than", "0s", "--keep", "3")
    assert result.exit_code == 0 and "pruned 1 scan(s)" in result.output
    with Store(db) as store:
        assert [s.id for s in store.history()] == [3, 1]
    assert run("prune", "--db", str(db), "--older-than", "0s", "--force").output.startswith("pruned 2")
    assert run("prune", "--db", str(tmp_path / "none.db"), "--older-than", "1d").exit_code == 2


def test_interface_errors_are_typed(monkeypatch):
    with pytest.raises(LiveCaptureError, match="cannot capture on"):
        live.LiveSource(["shadowit-no-such-if0"], "")


def test_unwritable_write_path_is_exit_2(tmp_path, monkeypatch):
    monkeypatch.setattr(capture_module, "LiveSource", lambda interfaces, expression: ScriptedSource([]))
    result = run("capture", "-i", "eth9", "--write", str(Path(tmp_path / "missing" / "x.pcapng")), "-q")
    assert result.exit_code == 2 and result.output.startswith("shadowit: error: cannot write")
