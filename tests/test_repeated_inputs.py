"""The same bytes twice in one scan are read once: a copied capture must not double volumes or counts."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner
from fs_packets import T0, save
from test_fs_volume import upload

from detector.cli import main


def scan_json(*paths) -> dict:
    result = CliRunner().invoke(main, ["scan", *map(str, paths), "--json", "-", "-q"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output[result.output.index("{"):])


def uploaded(document: dict) -> int:
    return sum(f["attributes"]["bytes_up"] or 0 for f in document["findings"] if f["detector"] == "filesharing.service")


def test_a_capture_copied_into_two_folders_counts_once(tmp_path):
    capture = save(tmp_path, upload("10.0.0.23", "52.10.0.1", 40000, 150_000, T0))
    for folder in ("monday", "monday-copy"):
        (tmp_path / folder).mkdir()
        shutil.copy(capture, tmp_path / folder / "office.pcap")
    once = scan_json(capture)
    twice = scan_json(tmp_path / "monday", tmp_path / "monday-copy")
    assert uploaded(twice) == uploaded(once) >= 150_000
    kinds = [(i["path"].split("/")[-2], i["kind"]) for i in twice["scan"]["inputs"]]
    assert kinds == [("monday", "pcap"), ("monday-copy", "duplicate")]
    repeat = twice["scan"]["inputs"][1]
    assert repeat["records"] == 0 and repeat["sha256"] == twice["scan"]["inputs"][0]["sha256"]
    assert "same content as " + str(tmp_path / "monday" / "office.pcap") in repeat["warnings"][0]


def test_the_same_path_named_twice_is_read_once(tmp_path):
    capture = save(tmp_path, upload("10.0.0.23", "52.10.0.1", 40000, 80_000, T0))
    document = scan_json(capture, capture)
    assert [i["kind"] for i in document["scan"]["inputs"]] == ["pcap", "duplicate"]
    assert uploaded(document) == uploaded(scan_json(capture))


def test_distinct_files_of_equal_size_are_both_read(tmp_path):
    first = save(tmp_path, upload("10.0.0.23", "52.10.0.1", 40000, 60_000, T0), name="a.pcap")
    second = save(tmp_path, upload("10.0.0.24", "52.10.0.1", 40000, 60_000, T0), name="b.pcap")
    assert first.stat().st_size == second.stat().st_size and first.read_bytes() != second.read_bytes()
    document = scan_json(first, second)
    assert [i["kind"] for i in document["scan"]["inputs"]] == ["pcap", "pcap"]
    service = next(f for f in document["findings"] if f["detector"] == "filesharing.service")
    assert sorted(service["hosts"]) == ["10.0.0.23", "10.0.0.24"]


def test_incremental_scans_read_a_capture_once_across_runs(tmp_path):
    from detector.session.scan import ScanRequest, run_scan

    capture = save(tmp_path, upload("10.0.0.23", "52.10.0.1", 40000, 90_000, T0))
    db = tmp_path / "site.db"

    def run():
        return run_scan(ScanRequest(paths=[str(capture)], db=db, site="office", incremental=True, operator="t"))

    first, second = run().result, run().result
    assert [i.kind for i in first.inputs] == ["pcap"] and uploaded(first.as_dict()) >= 90_000
    (again,) = second.inputs
    assert again.kind == "duplicate" and again.records == 0 and again.sha256 == first.inputs[0].sha256
    assert f"already read by scan {first.scan_id}" in again.warnings[0]
    assert second.status == "complete" and uploaded(second.as_dict()) == 0  # nothing counted twice
    plain = run_scan(ScanRequest(paths=[str(capture)], db=db, site="office", operator="t")).result
    assert [i.kind for i in plain.inputs] == ["pcap"]  # a whole (not incremental) re-scan re-checks everything
