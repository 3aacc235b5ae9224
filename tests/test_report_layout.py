"""What the client holds: the report at phone and desktop width, and printed to A4 PDF.

Headless Chromium lays the page out at 390 px and 1400 px and reports whether
anything runs off the screen; it prints the report of a whole-corpus audit to
PDF, whose pages are counted (the target is 25 A4 pages) and whose page one is
rendered to PNG for a look.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from detector.findings.finding import Evidence
from reports.branding import Branding
from reports.render import ReportOptions, render_report
from tests.test_report_browser import CHROMIUM, hostile_report, png_has_content, run_chromium

pytestmark = pytest.mark.browser
if CHROMIUM is None:
    pytestmark = [pytest.mark.browser, pytest.mark.skip(reason="no chromium on PATH (apt-get install chromium)")]

MAX_PAGES = 25
# Added to a copy of the report only: writes the layout figures into the DOM that --dump-dom returns.
PROBE = """(function () {
  var width = window.innerWidth, wide = [];
  var all = document.body.getElementsByTagName("*");
  for (var i = 0; i < all.length && wide.length < 5; i++) {
    var box = all[i].getBoundingClientRect();
    if (box.right > width + 1 && box.width > 0) { wide.push(all[i].tagName + "." + all[i].className); }
  }
  var cells = document.body.querySelectorAll("table td"), bare = 0, named = [];
  for (var j = 0; j < cells.length; j++) {
    var td = cells[j], table = td.closest("table"), folded = getComputedStyle(td).display === "block";
    var shown = getComputedStyle(td, "::before").content;
    var labelled = td.getAttribute("data-label") && (!folded || table.classList.contains("meta") ||
                   (shown && shown !== "none" && shown !== "normal"));
    if (!labelled) { bare++; if (named.length < 5) { named.push(table.className + ">" + td.className); } }
  }
  var probe = document.documentElement.scrollWidth + "/" + width + "/" + wide.join(",") + "/" + cells.length +
              ":" + bare + ":" + named.join(",");
  document.body.setAttribute("data-probe", probe);
  if (window.parent !== window) { window.parent.postMessage(probe, "*"); }
}());"""
# Headless Chromium will not make a window narrower than 500 px: the report is laid out in an
# iframe of the exact width instead, and its probe reports back by postMessage.
FRAME = """<!DOCTYPE html><html><body style="margin:0">
<iframe src="{src}" style="width:{width}px;height:900px;border:0"></iframe>
<script>window.addEventListener("message", function (e) {{ document.body.setAttribute("data-probe", e.data); }});
</script></body></html>"""


def with_probe(html: str) -> str:
    """The report plus PROBE, its hash allowed by the report's own CSP."""
    digest = base64.b64encode(hashlib.sha256(PROBE.encode()).digest()).decode()
    html = html.replace("script-src '", f"script-src 'sha256-{digest}' '", 1)
    return html.replace("</body>", f"<script>{PROBE}</script></body>", 1)


class CellLabels(NamedTuple):
    """Table cells on the page, those without a label a reader sees (a folded card line shows its column)."""

    cells: int
    unlabelled: int
    examples: str


def layout(report: Path, width: int, profile: Path) -> tuple[int, int, str, CellLabels]:
    probed = report.with_name(f"probe-{width}.html")
    probed.write_text(with_probe(report.read_text(encoding="utf-8")), encoding="utf-8")
    frame = report.with_name(f"frame-{width}.html")
    frame.write_text(FRAME.format(src=probed.name, width=width), encoding="utf-8")
    completed = run_chromium(profile, f"--window-size={max(width, 800)},1000", "--hide-scrollbars",
                             "--virtual-time-budget=5000", "--dump-dom", frame.as_uri())
    match = re.search(r'data-probe="(\d+)/(\d+)/([^/"]*)/(\d+):(\d+):([^"]*)"', completed.stdout)
    assert match, "the layout probe did not run"
    cells = CellLabels(int(match.group(4)), int(match.group(5)), match.group(6))
    return int(match.group(1)), int(match.group(2)), match.group(3), cells


def print_pdf(report: Path, pdf: Path, profile: Path) -> None:
    run_chromium(profile, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", report.as_uri())
    assert pdf.exists() and pdf.stat().st_size > 1000


def page_count(pdf: Path) -> int:
    try:
        from pypdf import PdfReader
    except ImportError:
        if not shutil.which("pdfinfo"):
            pytest.skip("neither pypdf nor pdfinfo (poppler-utils) to count PDF pages")
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    return len(PdfReader(str(pdf)).pages)


def page_text(pdf: Path, page: int) -> str:
    try:
        from pypdf import PdfReader
    except ImportError:
        if not shutil.which("pdftotext"):
            pytest.skip("neither pypdf nor pdftotext to read the PDF")
        return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
    return PdfReader(str(pdf)).pages[page - 1].extract_text()


def first_page_png(pdf: Path, out: Path) -> Path:
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) needed to render page one")
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(out)],
                   check=True, capture_output=True)
    return out.with_suffix(".png")


@pytest.fixture(scope="module")
def branded_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("layout") / "report.html"
    options = ReportOptions("en", Branding("Muster GmbH", "", "Confidential"))
    render_report([hostile_report()], path, options)
    return path


@pytest.mark.parametrize("width", [390, 1400])
def test_nothing_runs_off_the_screen(branded_report: Path, tmp_path: Path, width: int):
    scroll, inner, wide, _cells = layout(branded_report, width, tmp_path / "profile")
    assert inner == width
    assert scroll <= inner, f"page is {scroll} px wide at {width} px; too wide: {wide}"


@pytest.fixture(scope="module")
def full_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every section the report has: each category, a previous scan, trend, expired rules, long evidence times."""
    import copy

    from test_report import DAY, T0, every_category, make_scan, site_report

    findings = every_category()
    findings[0].evidence = [Evidence(f"2024-03-01T10:{minute:02d}:00Z", f"capture-{minute}.pcap:frame {minute}",
                                     "SNI wetransfer.com") for minute in range(12)]
    previous = make_scan(copy.deepcopy(findings[:2]), started=T0)
    report = site_report(findings, previous=previous,
                         history=[(T0 - DAY, {"high": 2}), (T0 - DAY + 3600, {"low": 1})])
    path = tmp_path_factory.mktemp("full") / "report.html"
    render_report([report], path, ReportOptions("en", Branding("Muster GmbH", "", "Confidential")))
    return path


def test_every_table_cell_has_its_label_at_phone_width(full_report: Path, tmp_path: Path):
    """At 390 px tables fold into cards: every line of every card says which column it is, and nothing
    (evidence times included) makes the page scroll sideways."""
    scroll, inner, wide, cells = layout(full_report, 390, tmp_path / "profile")
    assert cells.cells > 100
    assert cells.unlabelled == 0, f"{cells.unlabelled} of {cells.cells} cells unlabelled, e.g. {cells.examples}"
    assert scroll <= inner, f"page is {scroll} px wide at 390 px; too wide: {wide}"


def test_printed_report_opens_with_the_cover(branded_report: Path, tmp_path: Path):
    pdf = tmp_path / "report.pdf"
    print_pdf(branded_report, pdf, tmp_path / "profile")
    assert page_count(pdf) >= 3
    cover = page_text(pdf, 1)
    assert "Muster GmbH" in cover and "CONFIDENTIAL" in cover.upper()
    assert "Executive summary" not in cover  # the summary starts on its own page
    assert "Executive summary" in page_text(pdf, 2)
    png = first_page_png(pdf, tmp_path / "page1")
    assert png_has_content(png)


@pytest.mark.corpus
def test_whole_corpus_audit_prints_to_at_most_25_pages(corpus: Path, tmp_path: Path):
    report = tmp_path / "r.html"
    command = [sys.executable, "-m", "detector.cli", "scan", str(corpus), "--report", str(report), "-q",
               "--client", "Corpus Client", "--classification", "Confidential"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    pdf = tmp_path / "r.pdf"
    print_pdf(report, pdf, tmp_path / "profile")
    pages = page_count(pdf)
    png = first_page_png(pdf, tmp_path / "page1")
    print(f"whole-corpus report: {pages} A4 pages; page one: {png}")
    assert pages <= MAX_PAGES
    assert png_has_content(png)
    for width in (390, 1400):
        scroll, inner, wide, _cells = layout(report, width, tmp_path / f"profile-{width}")
        assert scroll <= inner, f"corpus report is {scroll} px wide at {width} px; too wide: {wide}"
