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
