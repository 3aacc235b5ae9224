"""--jobs N gives the findings, counts and evidence of --jobs 1 (issue 15)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from detector.capture.parallel import share_of
from detector.policy import load_ruleset
from detector.policy.catalog import load_catalog
from detector.session.pipeline import Scan, ScanConfig

GEN_PCAP = Path(__file__).resolve().parents[2] / "shared" / "bench" / "gen_pcap.py"


def scan_files(paths: list[Path], jobs: int) -> tuple[list[str], dict[str, int], list[tuple]]:
    """Findings (as the JSON contract writes them), observation counts and per-input records."""
    ruleset = load_ruleset(None)
    scan = Scan(ScanConfig(ruleset.settings, load_catalog(), None, None, jobs=jobs))
    for path in paths:
        scan.add_file(path)
    findings = [json.dumps(f.as_dict(), sort_keys=True) for f in scan.finish()]
    inputs = [(i.path, i.kind, i.records, i.skipped, tuple(i.warnings), i.first_ts, i.last_ts) for i in scan.inputs]
    return findings, dict(scan.router.counts), inputs


def assert_same_at_every_jobs(paths: list[Path], jobs_values: tuple[int, ...] = (2, 3)) -> None:
    one = scan_files(paths, 1)
    assert one[0] or one[1], "the input must produce something for the comparison to mean anything"
    for jobs in jobs_values:
        assert scan_files(paths, jobs) == one, f"--jobs {jobs} differs from --jobs 1"


def test_share_is_symmetric_and_spreads_flows() -> None:
    def frame(sport: int, dport: int) -> bytes:
        ip = bytes([0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
        return b"\x00" * 12 + b"\x08\x00" + ip + sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + b"\x00" * 16

    shares = set()
    for port in range(40000, 40064):
        forward, backward = frame(port, 443), frame(443, port)
        assert share_of(forward, 0, len(forward), 1, 2) == share_of(backward, 0, len(backward), 1, 2)
        shares.add(share_of(forward, 0, len(forward), 1, 2))
    assert shares == {0, 1}
    arp = b"\xff" * 12 + b"\x08\x06" + b"\x00" * 28
    assert share_of(arp, 0, len(arp), 1, 2) == 0  # non-flow frames: one worker


@pytest.mark.corpus
def test_corpus_captures_same_findings_at_every_jobs(corpus: Path) -> None:
    captures = sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix in (".pcap", ".pcapng", ".gz", ".cap"))
    assert captures
    assert_same_at_every_jobs(captures, (2,))  # one scan of all: flows and state carry across files as with --jobs 1


@pytest.mark.skipif(not GEN_PCAP.exists(), reason="reference mix generator (../shared/bench) absent")
def test_reference_mix_same_findings_at_every_jobs(tmp_path: Path) -> None:
    capture = tmp_path / "mix.pcap"
    subprocess.run([sys.executable, str(GEN_PCAP), "-n", "30000", "-o", str(capture), "--seed", "7"], check=True,
                   capture_output=True, timeout=300)
    assert_same_at_every_jobs([capture])
    findings, counts, _ = scan_files([capture], 1)
    assert counts.get("Credential") and counts.get("DnsQuery") and findings


@pytest.mark.skipif(not GEN_PCAP.exists(), reason="reference mix generator (../shared/bench) absent")
def test_cli_jobs_json_identical(tmp_path: Path) -> None:
    """The command line: --jobs 1 and --jobs 2 write the same findings document."""
    capture = tmp_path / "mix.pcap"
    subprocess.run([sys.executable, str(GEN_PCAP), "-n", "5000", "-o", str(capture), "--seed", "3"], check=True,
                   capture_output=True, timeout=300)
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}.json"
        subprocess.run([sys.executable, "-m", "detector.cli", "scan", str(capture), "-q", "--json", str(out),
                        "--jobs", jobs], check=True, capture_output=True, timeout=120,
                       env={**os.environ, "SHADOWIT_HOME": str(tmp_path)})
        document = json.loads(out.read_text())
        document["scan"].pop("started")
        document["scan"].pop("finished")
        document["scan"].pop("command_line")  # differs by the --jobs value itself
        outputs.append(document)
    assert outputs[0] == outputs[1]
    assert outputs[0]["findings"]


def test_default_is_one_process_and_an_explicit_jobs_is_honoured() -> None:
    """More processes cost CPU without shortening a scan on two cores (bench/RESULTS.md): opt-in only."""
    settings = load_ruleset(None).settings
    assert Scan(ScanConfig(settings, load_catalog())).jobs == 1
    assert Scan(ScanConfig(settings, load_catalog(), jobs=3)).jobs == 3


def test_this_process_decodes_nothing_with_jobs(tmp_path: Path) -> None:
    """With --jobs N the N workers decode every share; the scan's own flow table stays empty."""
    from detector.samples import write_demo

    paths = write_demo(tmp_path)
    ruleset = load_ruleset(None)
    scan = Scan(ScanConfig(ruleset.settings, load_catalog(), None, None, jobs=2))
    for path in paths:
        scan.add_file(path)
    findings = scan.finish()
    assert findings
    assert scan.dispatcher is not None and not scan.dispatcher.flows.flows
    assert scan.parallel is not None and len(scan.parallel.processes) == 2
