"""Start-up: the plain scan path must not import the heavy optional modules (issue 15).

`python -X importtime` lists every module a process imports; a scan of a small
capture to JSON must not load scapy (live capture, demo), cryptography (QUIC
Initial, clear certificates), jinja2 (HTML report) or sqlite_utils (--db).
Once the parse cache is warm it must not load PyYAML either, nor the modules
made lazy for start-up time (LAZY).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("scapy", "cryptography", "jinja2", "sqlite_utils", "numpy")
# imported on first use only: live capture, the database, notification delivery, the regex engine
# (rules with regex:), the XML parser (SVG logos), the email package (mail in the traffic), log decoders
LAZY = ("detector.session.live", "detector.capture.live", "detector.store.store", "detector.store.diff",
        "detector.store.lock", "sqlite3", "regex", "xml.etree", "email", "smtplib", "urllib.request",
        "detector.documents.mime", "detector.logs.authlog", "detector.logs.sensors.zeek",
        "detector.logs.sensors.eve", "detector.documents.evtx", "detector.logs.incremental")


def _small_pcap(path: Path) -> None:
    """One Ethernet/IPv4/UDP DNS query, written by hand (no scapy in this test either)."""
    dns = bytes.fromhex("123401000001000000000000076578616d706c6503636f6d0000010001")
    udp = struct.pack("!HHHH", 40000, 53, 8 + len(dns), 0) + dns
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1])) + udp
    frame = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00" + ip
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    path.write_bytes(header + struct.pack("<IIII", 1_790_000_000, 0, len(frame), len(frame)) + frame)


def imported_modules(args: list[str], cwd: Path) -> set[str]:
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))
    env = dict(os.environ, SHADOWIT_HOME=str(cwd), PYTHONPATH=path)  # this checkout, not another installed one
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "detector.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    assert "detector.session.pipeline" in names  # the probe works: the scan path was imported and listed
    return names


def test_plain_scan_imports_no_heavy_module(tmp_path: Path) -> None:
    capture = tmp_path / "small.pcap"
    _small_pcap(capture)
    names = imported_modules(["scan", str(capture), "--json", "-"], tmp_path)
    eager = sorted(n for n in names if n.split(".")[0] in HEAVY)
    assert not eager, f"imported on the plain scan path: {eager[:10]}"


def test_probe_sees_heavy_imports_when_they_happen(tmp_path: Path) -> None:
    """The same probe does see sqlite_utils once --db asks for it, so the test above can fail."""
    capture = tmp_path / "small.pcap"
    _small_pcap(capture)
    names = imported_modules(["scan", str(capture), "--json", "-", "--db", str(tmp_path / "s.db")], tmp_path)
    assert "sqlite_utils" in names


def test_warm_scan_imports_no_yaml_and_no_lazy_module(tmp_path: Path) -> None:
    """The second start reads rule packs, catalog and ranges from the parse cache: no YAML parser at all."""
    capture = tmp_path / "small.pcap"
    _small_pcap(capture)
    args = ["scan", str(capture), "--json", "-"]
    cold = imported_modules(args, tmp_path)
    assert "yaml" in cold  # the first start parses (and fills the cache under SHADOWIT_HOME)
    warm = imported_modules(args, tmp_path)
    loaded = sorted(n for n in warm if n.split(".")[0] in ("yaml", "_yaml")
                    or any(n == lazy or n.startswith(lazy + ".") for lazy in LAZY))
    assert not loaded, f"imported on the warm scan path: {loaded[:10]}"
