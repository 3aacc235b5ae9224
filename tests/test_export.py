"""Exports: flat CSV with site and scan id, the JSON scan context, and DNS block lists."""

from __future__ import annotations

import csv
import io
import json
import socket
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from detector.cli import main
from detector.findings.filesharing import ServiceUseAttributes
from detector.findings.finding import Finding
from detector.findings.result import ScanResult
from detector.outputs.export import blocklist, neutralise_formula, write_blocklist, write_csv
from detector.policy.catalog import load_catalog
from detector.samples import office_packets, write_pcapng

T0 = datetime(2026, 11, 2, 9, tzinfo=timezone.utc).timestamp()

ALLOW_DROPBOX = """\
version: 1
rules:
  - id: site-allow-dropbox
    title: Dropbox is the office's file share
    action: allow
    match:
      category: file-sharing
      service: Dropbox
    reason: Company Dropbox Business account.
    owner: office manager
    expires: 2099-12-31
"""


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def office_db(tmp_path):
    capture = write_pcapng(tmp_path / "office.pcapng", office_packets(T0))
    db = tmp_path / "office.db"
    result = run("scan", capture, "--db", db, "--site", "Branch, Köln", "--operator", "auditor-1", "-q")
    assert result.exit_code == 0, result.output
    return db


def test_csv_has_site_scan_id_and_one_column_per_attribute(office_db):
    output = run("export", "--db", office_db, "--format", "csv").output
    rows = list(csv.DictReader(io.StringIO(output)))
    assert rows and {row["site"] for row in rows} == {"Branch, Köln"}
    assert {row["scan_id"] for row in rows} == {"1"}
    assert "attributes" not in rows[0], "attributes must not be one JSON blob"
    dropbox = next(row for row in rows if row.get("attr_service") == "Dropbox")
    assert int(dropbox["attr_bytes_up"]) > 2_000_000
    assert dropbox["attr_service_category"] == "cloud-storage"
    ftp = next(row for row in rows if row["category"] == "plaintext-credentials" and "FTP" in row["title"])
    assert ftp["attr_secret_mask"] and ftp["attr_secret_mask"] != "ftp"  # the mask, never the password
    assert "; " in dropbox["attr_domains"] or "." in dropbox["attr_domains"]  # a list joined, not JSON
    assert not dropbox["attr_domains"].startswith("[")


def test_csv_neutralises_formulas_from_the_wire():
    finding = Finding(id="f1", title="=HYPERLINK(\"x\")", first_seen=T0, last_seen=T0, count=1, hosts=["@10.0.0.1"],
                      attributes=ServiceUseAttributes())
    out = io.StringIO()
    write_csv(ScanResult(T0, T0, "t", "r", [], [finding], site="-site", scan_id=4), out)
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["title"].startswith("'=") and row["hosts"].startswith("'@") and row["site"] == "'-site"


@pytest.mark.parametrize("cell, neutralised", [
    ("a;=1+2;b", "a;'=1+2;b"),  # German and French Excel split on ";"
    ("x,@SUM(1)", "x,'@SUM(1)"),
    ("ok\t=cmd", "ok\t'=cmd"),
    ("\r=1+2", "'\r'=1+2"),
    ("ok\r=1+2", "ok\r'=1+2"),  # the writer leaves a CR unquoted: readers start a row there
    ("a; \"=1+2\"", "a; \"'=1+2\""),  # spaces and an opening quote do not hide the field's start
    ("-site", "'-site"),
])
def test_csv_neutralises_a_formula_at_the_start_of_any_field_a_locale_splits(cell, neutralised):
    assert neutralise_formula(cell) == neutralised


@pytest.mark.parametrize("cell", ["-70", "-1.5", "42", "10.0.0.1; 10.0.0.2", "Branch, Köln", "a - b", ""])
def test_csv_leaves_numbers_and_ordinary_text_as_they_are(cell):
    assert neutralise_formula(cell) == cell


def test_csv_row_keeps_numbers_numeric_and_splits_no_field_into_a_formula():
    finding = Finding(id="f1", title="login a;=1+2;b", first_seen=T0, last_seen=T0, count=3,
                      hosts=["10.0.0.1", "=cmd|' /C calc'!A0"], attributes=ServiceUseAttributes())
    out = io.StringIO()
    write_csv(ScanResult(T0, T0, "t", "r", [], [finding], site="Branch", scan_id=4), out)
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["title"] == "login a;'=1+2;b" and row["hosts"] == "10.0.0.1; '=cmd|' /C calc'!A0"
    assert row["count"] == "3" and row["scan_id"] == "4"
    for line in out.getvalue().splitlines():
        for separator in ",;\t":
            assert not any(part.lstrip(' "').startswith(("=", "+", "@")) for part in line.split(separator))


def test_json_export_names_operator_host_and_command_line(tmp_path):
    capture = write_pcapng(tmp_path / "office.pcapng", office_packets(T0))
    db = tmp_path / "o.db"
    command = [sys.executable, "-m", "detector.cli", "scan", str(capture), "--db", str(db), "--operator", "auditor-1",
               "--json", str(tmp_path / "scan.json"), "-q"]
    subprocess.run(command, check=True, capture_output=True)
    for scan in (json.loads(run("export", "--db", db).output)["scan"],
                 json.loads((tmp_path / "scan.json").read_text())["scan"]):
        assert scan["operator"] == "auditor-1"
        assert scan["hostname"] == socket.gethostname()
        assert scan["command_line"] == " ".join(command[3:])


def _service_finding(name: str, sanctioned: bool = False) -> Finding:
    finding = Finding(id=f"id-{name}-{sanctioned}", title=f"{name} used", first_seen=T0, last_seen=T0, count=1,
                      hosts=["10.0.0.5"], attributes=ServiceUseAttributes(service=name))
    finding.sanctioned = sanctioned
    return finding


def test_blocklist_takes_catalog_domains_of_unsanctioned_services_only():
    catalog = load_catalog()
    findings = [_service_finding("Dropbox"), _service_finding("WeTransfer"),
                _service_finding("Box", sanctioned=True), _service_finding("Box"),
                _service_finding("Totally Unknown Cloud")]
    block = blocklist(ScanResult(T0, T0, "t", "r", [], findings, scan_id=1), catalog)
    assert set(block.services) == {"Dropbox", "WeTransfer"}
    assert set(block.services["Dropbox"]) == set(catalog.named("Dropbox").domains)
    assert "Box" in block.skipped and "Totally Unknown Cloud" in block.skipped


@pytest.mark.parametrize("style, expected", [
    ("hosts", "0.0.0.0 dropbox.com\n"),
    ("dnsmasq", "address=/dropbox.com/0.0.0.0\n"),
    ("domains", "\ndropbox.com\n"),
])
def test_blocklist_styles(style, expected):
    out = io.StringIO()
    write_blocklist(ScanResult(T0, T0, "t", "r", [], [_service_finding("Dropbox")], scan_id=1), out, style)
    text = out.getvalue()
    assert expected in text
    body = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert body and "wetransfer.com" not in text


def test_blocklist_cli_drops_a_service_an_allow_rule_sanctions(office_db, tmp_path):
    hosts = run("export", "--db", office_db, "--format", "blocklist").output
    assert "0.0.0.0 dropbox.com" in hosts and "0.0.0.0 wetransfer.com" in hosts
    rules = tmp_path / "rules.yaml"
    rules.write_text(ALLOW_DROPBOX)
    capture = tmp_path / "office.pcapng"
    db = tmp_path / "allowed.db"
    assert run("scan", capture, "--db", db, "--rules", rules, "-q").exit_code == 0
    domains = run("export", "--db", db, "--format", "blocklist", "--style", "domains").output
    assert "\nwetransfer.com\n" in domains and "\ndropbox.com\n" not in domains
    assert "# not blocked: Dropbox: sanctioned by the site's policy (rule site-allow-dropbox)" in domains


def test_blocklist_says_whether_a_rule_sanctions_all_or_part_of_a_service():
    whole, part, rest = _service_finding("Dropbox", True), _service_finding("Box", True), _service_finding("Box")
    whole.rule, part.rule = "allow-dropbox", "allow-box-tenant"
    block = blocklist(ScanResult(T0, T0, "t", "r", [], [whole, part, rest], scan_id=1), load_catalog())
    assert block.skipped["Dropbox"] == "sanctioned by the site's policy (rule allow-dropbox)"
    assert block.skipped["Box"].startswith("sanctioned for part of its use (rule allow-box-tenant;")


def test_report_shows_the_accepted_risk_of_a_sanctioned_finding(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(ALLOW_DROPBOX)
    capture = write_pcapng(tmp_path / "office.pcapng", office_packets(T0))
    report = tmp_path / "r.html"
    assert run("scan", capture, "--rules", rules, "--report", report, "-q").exit_code == 0
    html = report.read_text(encoding="utf-8")
    assert "site-allow-dropbox" in html and "Company Dropbox Business account." in html
    assert "office manager" in html and "until 2099-12-31" in html
