"""Open a report full of hostile strings in headless Chromium.

The static tests check the HTML text; this checks what a real browser makes
of it: the page paints, injected markup stays text, our own filter script
runs under the Content-Security-Policy, nothing is logged to the console and
no request leaves for anything but the report itself.
"""

from __future__ import annotations

import http.server
import re
import shutil
import struct
import subprocess
import threading
import zlib
from pathlib import Path
from typing import Optional

import pytest

from detector.findings.credentials import CleartextLoginAttributes
from detector.findings.filesharing import ServiceUseAttributes
from detector.findings.finding import CATEGORY_CREDENTIALS, CATEGORY_FILE_SHARING, CATEGORY_WIFI, Evidence, Finding
from detector.findings.result import InputRecord, ScanResult
from detector.findings.wifi import RecurringDropAttributes
from reports.render import SiteReport, render_report

pytestmark = pytest.mark.browser

SENTINEL = "XSS-FIRED"
HOSTILE = (
    "<script>alert(1)</script>"
    '"><img src=x onerror=alert(1)>'
    f"<script>document.title='{SENTINEL}'</script>"
    f"\"><img src=y onerror=\"document.title='{SENTINEL}'\">"
)
T0 = 1_709_280_000.0
CHROMIUM_TIMEOUT_S = 120


def chromium_binary() -> Optional[str]:
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM = chromium_binary()
if CHROMIUM is None:
    pytestmark = [
        pytest.mark.browser,
        pytest.mark.skip(reason="no chromium or chromium-browser on PATH (Debian: apt-get install chromium)"),
    ]


def hostile_report() -> SiteReport:
    def finding(fid: str, category: str, **extra) -> Finding:
        values = dict(id=fid, title=f"{category} {HOSTILE}",
                      first_seen=T0, last_seen=T0 + 60, count=2, hosts=[f"host{HOSTILE}"],
                      evidence=[Evidence("2024-03-01T08:00:00Z", f"cap{HOSTILE}.pcap:frame 1", HOSTILE)],
                      rule=f"rule-{category}", severity="high", remediation=f"Fix it {HOSTILE}")
        values.update(extra)
        return Finding(**values)

    findings = [
        finding("fs", CATEGORY_FILE_SHARING, attributes=ServiceUseAttributes(
            service=f"Svc{HOSTILE}", domains=[f"files.example{HOSTILE}"], bytes_up=5 << 20,
            per_host=[{"host": f"pc{HOSTILE}", "bytes_up": 5 << 20, "bytes_down": 0}])),
        finding("cr", CATEGORY_CREDENTIALS, attributes=CleartextLoginAttributes(
            protocol="pop3", username=f"bob{HOSTILE}", secret_mask="p***** (6)", secret_fingerprint="fp:00")),
        finding("wf", CATEGORY_WIFI, severity="medium", attributes=RecurringDropAttributes.load({  # as if damaged
            "pattern": "daily", "time_of_day": 545,
            "heatmap": {"ap": f"ap{HOSTILE}", "dates": ["2024-02-29", "2024-03-01"],
                        "cells": [[0, 9, 2], [1, 9, 3]], "window": [535, 555]},
            "outages": [{"start": T0 - 600, "duration_s": 120, "stations": [f"sta{HOSTILE}"]}]})),
    ]
    result = ScanResult(started=T0 + 3600, finished=T0 + 3660, tool_version="0.1.0", rules_sha256="0" * 64,
                        inputs=[InputRecord(path=f"in{HOSTILE}.pcap", sha256="1" * 64, bytes=10, kind="pcap",
                                            warnings=[HOSTILE])],
                        findings=findings, site=f"Site{HOSTILE}", operator=f"op{HOSTILE}")
    return SiteReport(result=result, expired_allows=[("allow-x", "2024-01-01", HOSTILE)],
                      generated=T0 + 7200, history=[(T0 - 86400, {"high": 1})])


def run_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", *args,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed


def console_lines(stderr: str, url: str) -> list[str]:
    """Chromium's --enable-logging lines for console messages raised by ``url``."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line and url in line]


def png_has_content(path: Path) -> bool:
    """True when the decoded pixels are not one flat colour (a blank page is)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, idat = 8, b""
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"IDAT":
            idat += data[offset + 8:offset + 8 + length]
        offset += 12 + length
    pixels = zlib.decompress(idat)
    return len(set(pixels)) > 16


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    path = folder / "report.html"
    render_report([hostile_report()], path)
    return path


@pytest.fixture(scope="module")
def file_run(report_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    """(dumped DOM, chromium stderr, url) for the report opened from disk."""
    url = report_file.as_uri()
    profile = tmp_path_factory.mktemp("profile")
    completed = run_chromium(profile, "--enable-logging=stderr", "--v=0", "--dump-dom", url)
    return completed.stdout, completed.stderr, url


def test_screenshot_is_painted(report_file: Path, tmp_path: Path):
    shot = tmp_path / "report.png"
    run_chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000",
                 "--hide-scrollbars", report_file.as_uri())
    print(f"report screenshot: {shot}")
    assert shot.exists() and shot.stat().st_size > 10_000
    assert png_has_content(shot)


def test_hostile_strings_stay_text_in_the_dom(file_run: tuple[str, str, str]):
    dom = file_run[0]
    assert "Executive summary" in dom
    assert "<img" not in dom  # the page has no images: any <img would be injected
    assert "&lt;img src=x onerror=alert(1)&gt;" in dom
    assert "<script>alert" not in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title and SENTINEL not in title.group(1)


def test_filter_script_runs_under_the_csp(file_run: tuple[str, str, str]):
    dom = file_run[0]
    panel = re.search(r"<div id=\"filters\"[^>]*>", dom)
    assert panel, "filter panel missing"
    assert "hidden" not in panel.group(0), "report.js did not run (CSP hash mismatch?)"


def test_no_console_messages(file_run: tuple[str, str, str]):
    _, stderr, url = file_run
    assert console_lines(stderr, url) == []


class _RecordingHandler(http.server.SimpleHTTPRequestHandler):
    requested: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self.requested.append(self.path)
        super().do_GET()

    def log_message(self, *args) -> None:
        """Keep pytest output clean; paths are recorded in do_GET."""


def test_only_the_report_is_requested(report_file: Path, tmp_path: Path):
    requested: list[str] = []
    handler = type("Handler", (_RecordingHandler,), {"requested": requested})

    def make_handler(*args, **kwargs):
        return handler(*args, directory=str(report_file.parent), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/report.html"
        completed = run_chromium(tmp_path / "profile", "--enable-logging=stderr", "--v=0", "--dump-dom", url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert "Executive summary" in completed.stdout
    assert requested == ["/report.html"]
    assert console_lines(completed.stderr, url) == []
