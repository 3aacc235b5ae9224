"""The raw-bytes prefilter only skips what no detector would use: same findings with and without it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from detector.inputs import discover
from detector.logs.base import LogContext
from detector.policy import load_ruleset
from detector.policy.catalog import load_catalog
from detector.session.pipeline import Scan, ScanConfig

BENCH = Path(__file__).resolve().parent.parent / "bench" / "logs.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_logs", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _findings(folder: Path, prefilter: bool, monkeypatch) -> list[tuple]:
    if not prefilter:
        monkeypatch.setattr(Scan, "_log_context", lambda self, opened: LogContext(opened.path.name))
    ruleset = load_ruleset([])
    scan = Scan(ScanConfig(ruleset.settings, load_catalog(), None))
    for path in discover([str(folder)]):
        scan.add_file(path)
    monkeypatch.undo()
    return sorted((f.id, f.count, tuple(f.hosts), repr(sorted(f.attributes.as_dict().items()))) for f in scan.finish())


@pytest.mark.parametrize("fmt", ["zeek", "zeek-json", "zeek-json-streaming", "eve"])
def test_prefilter_changes_no_finding(tmp_path, monkeypatch, fmt):
    bench = _bench()
    if fmt == "zeek":
        bench.write_zeek(tmp_path, 6000, seed=3)
    elif fmt == "zeek-json":
        bench.write_zeek(tmp_path, 6000, seed=3, encoding="json")
    elif fmt == "zeek-json-streaming":  # every path in one file, each record led by its _path
        bench.write_zeek(tmp_path / "logs", 6000, seed=3, encoding="json")
        records = [line[:1] + f'"_path":"{log.stem}",' + line[1:]
                   for log in sorted((tmp_path / "logs").iterdir()) for line in log.read_text().splitlines()]
        (tmp_path / "zeek-stream.log").write_text("\n".join(records) + "\n")
        for log in (tmp_path / "logs").iterdir():
            log.unlink()
    else:
        bench.write_eve(tmp_path / "eve.json", 6000, seed=3)
    fast = _findings(tmp_path, True, monkeypatch)
    slow = _findings(tmp_path, False, monkeypatch)
    assert len(fast) >= 5
    assert fast == slow
