"""Findings a client can rely on (issue 10): coverage, identity, attribution, one set of numbers, exceptions.

Every test goes through the command line, as a consultant would.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from detector.cli import main
from detector.findings.contract import contract_markdown
from detector.samples import dns_exchange, office_packets, tcp_session, write_pcap, write_pcapng

T0 = datetime(2026, 11, 2, 9, tzinfo=timezone.utc).timestamp()
README = Path(__file__).resolve().parent.parent / "README.md"


def run(*args, env=None):
    return CliRunner(env=env).invoke(main, [str(a) for a in args], catch_exceptions=False)


def shadowit(*args, home: Path, cwd: Path) -> subprocess.CompletedProcess:
    """The real command in a fresh process with its own $HOME and fingerprint key."""
    env = {**os.environ, "HOME": str(home), "SHADOWIT_HOME": str(home / ".config" / "shadowit"),
           "PYTHONPATH": str(README.parent)}  # this checkout, whatever an editable install points at
    return subprocess.run([sys.executable, "-m", "detector.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300, check=False)


@pytest.fixture
def office(tmp_path) -> Path:
    return write_pcapng(tmp_path / "office.pcapng", office_packets(T0))


# ---------------------------------------------------------------- honest coverage


def test_empty_directory_exits_2_is_stored_failed_and_never_graded(tmp_path):
    empty = tmp_path / "emptydir"
    empty.mkdir()
    db, report = tmp_path / "audit.db", tmp_path / "r.html"
    result = run("scan", empty, "--db", db, "--site", "client-a", "--report", report, "-q")
    assert result.exit_code == 2
    assert "nothing usable was read" in result.output and "Traceback" not in result.output
    assert not report.exists()
    scans = json.loads(run("history", "--db", db, "--json").output)
    assert [(s["status"], s["grade"], s["score"]) for s in scans] == [("failed", None, None)]


def test_garbage_only_scan_exits_2(tmp_path):
    garbage = tmp_path / "random.bin"
    garbage.write_bytes(os.urandom(64 * 1024))
    result = run("scan", garbage, "--json", tmp_path / "out.json", "-q")
    assert result.exit_code == 2 and "nothing usable" in result.output
    assert len(result.output.strip().splitlines()) == 1  # one line


def test_failed_scan_does_not_resolve_anything(tmp_path, office):
    db = tmp_path / "audit.db"
    assert run("scan", office, "--db", db, "--site", "hq", "-q").exit_code == 0
    empty = tmp_path / "gone"
    empty.mkdir()
    assert run("scan", empty, "--db", db, "--site", "hq", "-q").exit_code == 2
    result = run("diff", "--db", db, "--json")  # the failed scan is never compared: one complete scan only
    assert result.exit_code == 2 and "resolved" not in result.output
    [failed, first] = json.loads(run("history", "--db", db, "--json").output)
    assert (failed["status"], first["status"]) == ("failed", "complete")


def test_a_source_not_scanned_again_is_not_rechecked_not_resolved(tmp_path, office):
    db = tmp_path / "audit.db"
    box = write_pcap(tmp_path / "box.pcap", dns_exchange("10.0.0.7", "10.0.0.1", "app.box.com", ["1.2.3.4"], T0))
    assert run("scan", office, box, "--db", db, "--site", "hq", "-q").exit_code == 0
    assert run("scan", box, "--db", db, "--site", "hq", "-q").exit_code == 0
    data = json.loads(run("diff", "--db", db, "--json").output)
    assert data["resolved"] == []
    assert data["not_rechecked"] and data["summary"]["not_rechecked"] == len(data["not_rechecked"])
    text = run("diff", "--db", db).output
    assert "not re-checked:" in text and "resolved: 0" in text


# ---------------------------------------------------------------- identity


def test_same_inputs_under_two_homes_give_identical_ids(tmp_path, office):
    ids = []
    for name in ("laptop-a", "laptop-b"):
        home = tmp_path / name
        home.mkdir()
        out = tmp_path / f"{name}.json"
        done = shadowit("scan", office, "--json", out, "-q", home=home, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        findings = json.loads(out.read_text())["findings"]
        ids.append(sorted(f["id"] for f in findings))
        fingerprints = {f["attributes"].get("secret_fingerprint") for f in findings} - {None, ""}
        assert fingerprints  # the keyed fingerprints differ per machine ...
    assert ids[0] == ids[1] and ids[0]  # ... the ids do not


# ---------------------------------------------------------------- grouping and attribution


def test_ftp_brute_force_capture_is_one_grouped_finding(tmp_path, corpus):
    out = tmp_path / "bf.json"
    assert run("scan", corpus / "credentials/zeek_ftp-bruteforce.pcap", "--json", out, "-q").exit_code == 0
    findings = json.loads(out.read_text())["findings"]
    credentials = [f for f in findings if f["category"] == "plaintext-credentials"]
    assert [f["detector"] for f in credentials] == ["credentials.bruteforce"]
    attack = credentials[0]
    assert attack["attributes"]["attempts"] == 30 and attack["attributes"]["succeeded"] is False
    assert attack["hosts"] == ["192.168.56.1"]  # the client, never the server


def test_broadcast_addresses_and_servers_are_never_devices(tmp_path):
    from detector.detectors.base import devices

    assert devices(["ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:fb", "255.255.255.255", "224.0.0.251", "10.0.0.255",
                    "Dropbox.exe", "aa:bb:cc:00:00:01", "10.0.0.5", "fe80::1"]) == \
        ["10.0.0.5", "aa:bb:cc:00:00:01", "fe80::1"]


def test_every_evidence_item_names_its_file_and_frame(tmp_path, office):
    box = write_pcap(tmp_path / "box.pcap", dns_exchange("10.0.0.7", "10.0.0.1", "app.box.com", ["1.2.3.4"], T0))
    out = tmp_path / "out.json"
    assert run("scan", office, box, "--json", out, "-q").exit_code == 0
    findings = json.loads(out.read_text())["findings"]
    pattern = re.compile(r"^[^:]+:(frame|line|record) \d+$")
    for finding in findings:
        assert finding["inputs"], finding["title"]
        for item in finding["evidence"]:
            assert pattern.match(item["source"]), item["source"]


# ---------------------------------------------------------------- one set of numbers


def test_terminal_json_sqlite_csv_history_and_html_agree(tmp_path, office):
    db, out, report = tmp_path / "a.db", tmp_path / "a.json", tmp_path / "a.html"
    result = run("scan", office, "--db", db, "--json", out, "--report", report)
    assert result.exit_code == 0
    document = json.loads(out.read_text())
    findings = document["findings"]
    risk = document["scan"]["risk"]
    severities = {}
    for f in findings:
        severities[f["severity"]] = severities.get(f["severity"], 0) + 1
    # terminal
    assert f"{len(findings)} finding(s)" in result.output
    assert f"grade {risk['grade']}, score {risk['score']}/100" in result.output
    # sqlite
    with sqlite3.connect(db) as conn:
        stored = dict(conn.execute("SELECT id, risk FROM findings").fetchall())
        score, grade = conn.execute("SELECT score, grade FROM scans").fetchone()
    assert stored == {f["id"]: f["risk"] for f in findings}
    assert (score, grade) == (risk["score"], risk["grade"])
    # csv
    rows = list(csv.DictReader(io.StringIO(run("export", "--db", db, "--format", "csv").output)))
    assert {r["id"]: float(r["risk"]) for r in rows} == stored
    # history
    [summary] = json.loads(run("history", "--db", db, "--json").output)
    assert (summary["n_findings"], summary["score"], summary["grade"]) == (len(findings), risk["score"], risk["grade"])
    assert {k: v for k, v in summary["counts"].items() if v} == severities
    # html: the stored grade and score, and each finding's stored risk
    html = report.read_text()
    assert f"{risk['score']}/100" in html
    for f in findings:
        if f["risk"]:
            assert f"{f['risk']:g}" in html or f"{f['risk']:.1f}" in html


# ---------------------------------------------------------------- rules and exceptions


def test_misspelt_match_field_fails_validation_at_its_line(tmp_path):
    policy = tmp_path / "site.yaml"
    policy.write_text("rules:\n  - id: allow-box\n    title: Box\n    action: allow\n    reason: contract\n"
                      "    match:\n      servce: Box\n")
    result = run("rules", "validate", policy)
    assert result.exit_code == 2
    assert f"{policy}:7:7: unknown field 'servce'" in result.output and "did you mean 'service'" in result.output


def test_unknown_service_name_fails_validation(tmp_path):
    policy = tmp_path / "site.yaml"
    policy.write_text("rules:\n  - id: allow-teams\n    title: Teams\n    action: allow\n    reason: M365\n"
                      "    match:\n      service: Microsoft Teams\n")
    result = run("rules", "validate", policy)
    assert result.exit_code == 2 and "not in the service catalog" in result.output
    assert "did you mean 'Microsoft Teams (free)'" in result.output


ALLOW_DROPBOX = """\
rules:
  - id: allow-dropbox
    title: Dropbox for the design team
    action: allow
    match: {service: Dropbox}
    reason: Client deliveries go through Dropbox
    owner: anna@office.example
    expires: 2099-12-31
"""


def test_exceptions_are_visible_in_json_csv_html_and_reclassify_without_captures(tmp_path, office):
    db, report = tmp_path / "a.db", tmp_path / "a.html"
    assert run("scan", office, "--db", db, "--site", "hq", "-q").exit_code == 0
    policy = tmp_path / "site.yaml"
    policy.write_text(ALLOW_DROPBOX)
    result = run("report", "--db", db, "--rules", policy, "-o", report)
    assert result.exit_code == 0, result.output
    document = json.loads(run("export", "--db", db, "--format", "json").output)
    dropbox = next(f for f in document["findings"] if f["attributes"].get("service") == "Dropbox")
    assert dropbox["sanctioned"] is True and dropbox["risk"] == 0
    assert dropbox["exception"]["rule"] == "allow-dropbox"
    assert (dropbox["exception"]["owner"], dropbox["exception"]["expires"]) == ("anna@office.example", "2099-12-31")
    html = report.read_text()
    assert "Client deliveries go through Dropbox" in html and "anna@office.example" in html
    rows = list(csv.DictReader(io.StringIO(run("export", "--db", db, "--format", "csv").output)))
    row = next(r for r in rows if r["id"] == dropbox["id"])
    assert row["exception_rule"] == "allow-dropbox" and row["exception_owner"] == "anna@office.example"
    scans = json.loads(run("history", "--db", db, "--json").output)
    assert scans[0]["derived_from"] == 1
    diff = json.loads(run("diff", "--db", db, "--json").output)
    assert [f["id"] for f in diff["newly_sanctioned"]] == [dropbox["id"]]


def test_no_site_policy_without_rules_yaml_and_rules_init_writes_one(tmp_path, office):
    home = tmp_path / "home"
    home.mkdir()
    out = tmp_path / "out.json"
    done = shadowit("scan", office, "--json", out, "-q", home=home, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rules = {f["rule"] for f in json.loads(out.read_text())["findings"]}
    assert not any(r.startswith("site-") for r in rules)
    init = shadowit("rules", "init", home=home, cwd=tmp_path)
    assert init.returncode == 0 and (tmp_path / "rules.yaml").is_file()
    assert shadowit("rules", "validate", "rules.yaml", home=home, cwd=tmp_path).returncode == 0
    assert shadowit("rules", "init", home=home, cwd=tmp_path).returncode == 2  # never overwrites silently


def test_shipped_example_policy_is_the_repository_template():
    root = Path(__file__).resolve().parent.parent
    assert (root / "rules.yaml").read_bytes() == (root / "rules" / "examples" / "site-policy.yaml").read_bytes()


# ---------------------------------------------------------------- time zones and the contract


@pytest.mark.parametrize("value", ["+25:00", "-14:30", "+02:75", "Mars/Olympus", "2h"])
def test_bad_time_zones_exit_2_with_one_line(tmp_path, office, value):
    result = run("scan", office, "--tz", value, "-q")
    assert result.exit_code == 2 and "--tz" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("value", ["+01:00", "-0500", "UTC", "Europe/Berlin", "America/New_York"])
def test_good_time_zones_are_accepted(tmp_path, office, value):
    assert run("scan", office, "--tz", value, "-q").exit_code == 0


def test_readme_contract_is_generated_from_the_declarations():
    text = README.read_text(encoding="utf-8")
    assert contract_markdown() in text, \
        "README contract is stale: run python -m detector.findings.contract --write README.md"


def test_detector_finish_is_repeatable_so_live_flushes_need_no_copy(tmp_path, corpus):
    """Scan.snapshot() relies on every detector's finish() changing nothing."""
    from detector.policy import load_ruleset
    from detector.policy.catalog import load_catalog
    from detector.session.pipeline import Scan, ScanConfig

    ruleset = load_ruleset([])
    scan = Scan(ScanConfig(ruleset.settings, load_catalog()))
    for name in ("credentials/zeek_ftp-bruteforce.pcap", "filesharing/ndpi_dropbox.pcap",
                 "wifi/tpwns_deauth-flood_radiotap.pcap", "mixed/zeek_smtp.pcap", "logs/loghub_Proxifier_2k.log"):
        scan.add_file(corpus / name)
    first = sorted(json.dumps(f.as_dict(), sort_keys=True) for f in scan.snapshot())
    second = sorted(json.dumps(f.as_dict(), sort_keys=True) for f in scan.snapshot())
    assert first == second and first


def test_findings_name_their_devices_in_json_and_the_database(tmp_path):
    """A device is shown as its address plus the best name known; file sharing counts devices and people."""
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    mac = "aa:bb:cc:00:00:07"
    dhcp = (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255")
            / UDP(sport=68, dport=67) / BOOTP(chaddr=bytes.fromhex(mac.replace(":", "")), ciaddr="10.0.0.7")
            / DHCP(options=[("message-type", "request"), ("requested_addr", "10.0.0.7"),
                            ("hostname", b"LAPTOP-ANNA"), "end"]))
    dhcp.time = T0 - 60
    box = dns_exchange("10.0.0.7", "10.0.0.1", "app.box.com", ["1.2.3.4"], T0)
    capture = write_pcap(tmp_path / "named.pcap", [dhcp, *box])
    db, out = tmp_path / "n.db", tmp_path / "n.json"
    assert run("scan", capture, "--json", out, "--db", db, "-q").exit_code == 0
    document = json.loads(out.read_text())
    finding = next(f for f in document["findings"] if f["attributes"].get("service") == "Box")
    assert finding["hosts"] == ["10.0.0.7"] and "LAPTOP-ANNA" in finding["host_names"]["10.0.0.7"]
    assert finding["attributes"]["devices"] == 1
    device = next(d for d in document["devices"] if d["address"] == "10.0.0.7")
    assert device["mac"] == mac and any(n["name"] == "LAPTOP-ANNA" for n in device["names"])
    stored = json.loads(run("export", "--db", db, "--format", "json").output)
    assert stored["devices"] == document["devices"]


def test_timeline_gives_each_device_its_own_upload_not_the_service_total():
    from detector.findings.filesharing import ServiceUseAttributes
    from detector.findings.finding import Finding
    from reports.timeline import collect_events

    finding = Finding(id="f", title="Dropbox used by 2 device(s)", first_seen=T0, last_seen=T0 + 60, count=4,
                      hosts=["10.0.0.5", "10.0.0.6"], attributes=ServiceUseAttributes(
                          service="Dropbox", bytes_up=3 * 1024 * 1024,
                          per_host=[
                              {"host": "10.0.0.5", "bytes_up": 2 * 1024 * 1024, "first_seen": "2026-11-02T09:00:00Z",
                               "last_seen": "2026-11-02T09:00:00Z"},
                              {"host": "10.0.0.6", "bytes_up": 1024 * 1024, "first_seen": "2026-11-02T09:01:00Z",
                               "last_seen": "2026-11-02T09:01:00Z"}]))
    labels = {e.host: e.label for e in collect_events([finding])}
    assert "2.0 MiB" in labels["10.0.0.5"] and "1.0 MiB" in labels["10.0.0.6"]
    assert not any("3.0 MiB" in label for label in labels.values())


def test_password_reuse_sits_on_the_client_devices(tmp_path):
    from cred_packets import ftp_exchange

    packets = tcp_session("10.0.0.21", "10.0.0.2", 41000, 21, ftp_exchange("anna", "Summer2026!"), T0)
    packets += tcp_session("10.0.0.21", "10.0.0.3", 41001, 21, ftp_exchange("anna.b", "Summer2026!"), T0 + 5)
    capture = write_pcap(tmp_path / "reuse.pcap", packets)
    out = tmp_path / "r.json"
    assert run("scan", capture, "--json", out, "-q").exit_code == 0
    [reuse] = [f for f in json.loads(out.read_text())["findings"] if f["detector"] == "credentials.reuse"]
    assert reuse["hosts"] == ["10.0.0.21"] and reuse["attributes"]["clients"] == ["10.0.0.21"]
    assert "10.0.0.2" not in reuse["hosts"] and "10.0.0.3" not in reuse["hosts"]


def test_an_expired_exception_shows_in_diff(tmp_path, office):
    db = tmp_path / "a.db"
    policy = tmp_path / "site.yaml"
    policy.write_text(ALLOW_DROPBOX)
    assert run("scan", office, "--db", db, "--rules", policy, "-q").exit_code == 0
    policy.write_text(ALLOW_DROPBOX.replace("2099-12-31", "2020-01-31"))
    assert run("scan", office, "--db", db, "--rules", policy, "-q").exit_code == 0
    diff = json.loads(run("diff", "--db", db, "--json").output)
    [expired] = diff["exception_expired"]
    assert expired["attributes"]["service"] == "Dropbox" and expired["exception"]["expired"] is True
    assert "exception expired: 1" in run("diff", "--db", db).output


def test_an_exception_written_and_expired_between_two_scans_counts_as_expired(tmp_path, office):
    """Scan 1 had no allow rule; scan 2's rules carry one that has already run out: diff 1 2 says so."""
    db = tmp_path / "a.db"
    assert run("scan", office, "--db", db, "-q").exit_code == 0
    policy = tmp_path / "site.yaml"
    policy.write_text(ALLOW_DROPBOX.replace("2099-12-31", "2020-01-31"))
    assert run("scan", office, "--db", db, "--rules", policy, "-q").exit_code == 0
    diff = json.loads(run("diff", "--db", db, "1", "2", "--json").output)
    assert [f["attributes"]["service"] for f in diff["exception_expired"]] == ["Dropbox"]
    assert "exception expired: 1" in run("diff", "--db", db, "1", "2").output
    assert run("scan", office, "--db", db, "--rules", policy, "-q").exit_code == 0  # still expired: no change
    assert "exception expired: 0" in run("diff", "--db", db, "2", "3").output
