"""End to end: captures and logs in, exact findings out, secrets nowhere in clear."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from scanning import by_detector, scan_files

from detector.cli import main
from detector.policy import load_ruleset
from detector.samples import (
    DEMO_PASSWORDS,
    client_hello,
    deauth,
    dns_exchange,
    hostapd_lines,
    office_packets,
    tcp_session,
    wifi_packets,
    write_demo,
    write_pcap,
    write_pcapng,
)

BASE = datetime(2026, 11, 2, tzinfo=timezone.utc)
T0 = BASE.timestamp() + 9 * 3600


def run(*args: str):
    runner = CliRunner()
    return runner.invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def office(tmp_path) -> Path:
    return write_pcapng(tmp_path / "office.pcapng", office_packets(T0))


def test_office_capture_exact_findings(office):
    findings, inputs, _ = scan_files(office)
    services = {f.attributes.service: f for f in by_detector(findings, "filesharing.service")}
    assert set(services) == {"Dropbox", "WeTransfer", "MEGA"}
    dropbox = services["Dropbox"]
    assert dropbox.hosts == ["192.168.10.23"]
    assert set(dropbox.attributes.methods) == {"dns", "tls-sni"}
    assert dropbox.attributes.bytes_up > 2_600_000
    assert services["MEGA"].attributes.bytes_up is None  # DNS only: volume unknown
    creds = {f.attributes.protocol: f for f in by_detector(findings, "credentials.cleartext")}
    assert set(creds) == {"ftp", "http-basic"}
    assert creds["ftp"].attributes.username == "scanner"
    assert creds["ftp"].attributes.accepted is True
    assert creds["ftp"].attributes.secret_mask == "S********* (10)"
    assert creds["http-basic"].attributes.username == "admin"
    assert creds["http-basic"].attributes.server_port == 80
    transfers = by_detector(findings, "filesharing.attachment")
    assert [t.attributes.filename for t in transfers] == ["invoices-2024.xlsx"]
    assert inputs[0].warnings == []


def test_ipv6_and_pcap_variant(tmp_path):
    packets = dns_exchange("2001:db8::23", "2001:db8::1", "www.wetransfer.com", ["2001:db8:77::5"], T0)
    packets += tcp_session("2001:db8::23", "2001:db8:77::5", 40000, 443, [(True, client_hello("wetransfer.com"))],
                           T0 + 1)
    basic = "Authorization: Basic dGVzdDoxOjM0"  # test / 1:34, split on the first colon only
    packets += tcp_session("2001:db8::23", "2001:db8::80", 40001, 8080,
                           [(True, f"GET / HTTP/1.1\r\nHost: nas\r\n{basic}\r\n\r\n".encode()),
                            (False, b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")], T0 + 2)
    path = write_pcap(tmp_path / "v6.pcap", packets, nano=True)
    office = load_ruleset([]).settings.updated({"site_networks": ("2001:db8::/64",)})  # a public IPv6 office LAN
    findings, _, _ = scan_files(path, settings=office)
    service = by_detector(findings, "filesharing.service")[0]
    assert service.attributes.service == "WeTransfer"
    assert service.hosts == ["2001:db8::23"]
    assert service.attributes.bytes_up > 0
    cred = by_detector(findings, "credentials.cleartext")[0]
    assert cred.attributes.username == "test"
    assert cred.attributes.secret_mask == "1*** (4)"
    assert cred.attributes.accepted is False


def test_daily_wifi_pattern_from_radiotap_and_hostapd(tmp_path):
    wifi = write_pcap(tmp_path / "wifi.pcap", wifi_packets(BASE))
    log = tmp_path / "ap.log"
    log.write_text("\n".join(hostapd_lines(BASE)) + "\n")
    findings, inputs, _ = scan_files(wifi, log)
    patterns = sorted(by_detector(findings, "wifi.recurring"), key=lambda f: f.attributes.time_of_day)
    assert [p.attributes.time_of_day[:2] for p in patterns] == ["09", "14"]
    morning, afternoon = patterns
    assert morning.attributes.days_with_drop == 4
    assert afternoon.attributes.days_with_drop == 5
    assert afternoon.attributes.aps == ["10:20:30:40:50:60"]
    assert abs(int(afternoon.attributes.time_of_day[3:]) - 5) <= 4
    assert inputs[1].kind == "log:hostapd"


def test_three_drops_at_different_times_are_not_a_pattern(tmp_path):
    bssid, station = "10:20:30:40:50:60", "aa:bb:cc:00:00:01"
    frames = [deauth(bssid, station, 4, BASE.timestamp() + day * 86400 + hour * 3600)
              for day, hour in ((0, 9), (1, 13), (2, 17))]
    findings, _, _ = scan_files(write_pcap(tmp_path / "w.pcap", frames))
    assert by_detector(findings, "wifi.recurring") == []


def test_deauth_flood_is_an_attack_not_a_drop(tmp_path):
    bssid = "70:5d:cc:37:d1:cf"
    frames = [deauth(bssid, "ff:ff:ff:ff:ff:ff", 7, T0 + i * 0.01) for i in range(300)]
    findings, _, _ = scan_files(write_pcap(tmp_path / "flood.pcap", frames))
    assert [f.detector for f in findings] == ["wifi.deauth-flood"]
    assert findings[0].category == "wifi-attack"
    assert findings[0].attributes.frames == 300


# ---------------------------------------------------------------- the command line


def test_scan_command_writes_every_output_and_no_secret_anywhere(tmp_path, office):
    wifi = write_pcap(tmp_path / "wifi.pcap", wifi_packets(BASE))
    out_json, report, db = tmp_path / "a.json", tmp_path / "a.html", tmp_path / "a.db"
    result = run("scan", str(office), str(wifi), "--json", str(out_json), "--report", str(report),
                 "--db", str(db), "--quiet", "--site", "hq")
    assert result.exit_code == 0, result.output
    document = json.loads(out_json.read_text())
    assert document["schema"] == "shadowit.findings/1"
    assert {f["category"] for f in document["findings"]} >= {"file-sharing", "plaintext-credentials", "wifi-drops"}
    for finding in document["findings"]:
        assert set(finding) >= {"id", "rule", "category", "severity", "sanctioned", "title", "first_seen",
                                "last_seen", "count", "hosts", "attributes", "evidence", "compliance", "remediation"}
        assert len(finding["id"]) == 16
    assert [i["sha256"] for i in document["scan"]["inputs"]]
    dump = "\n".join(sqlite3.connect(db).iterdump())
    outputs = {"json": out_json.read_text(), "html": report.read_text(), "sqlite": dump, "stdout": result.output}
    for secret in set(DEMO_PASSWORDS.values()):
        for name, text in outputs.items():
            assert secret not in text, f"clear password found in {name}"


def test_finding_ids_are_stable_across_scans(tmp_path, office):
    first = tmp_path / "1.json"
    second = tmp_path / "2.json"
    assert run("scan", str(office), "--json", str(first), "-q").exit_code == 0
    assert run("scan", str(office), "--json", str(second), "-q").exit_code == 0
    ids = [sorted(f["id"] for f in json.loads(p.read_text())["findings"]) for p in (first, second)]
    assert ids[0] == ids[1]


def test_fail_on_threshold_sets_exit_code(office):
    assert run("scan", str(office), "-q", "--fail-on", "critical").exit_code == 0
    assert run("scan", str(office), "-q", "--fail-on", "high").exit_code == 1


def test_bad_inputs_exit_2_with_one_line(tmp_path):
    result = run("scan", str(tmp_path / "missing.pcap"), "-q")
    assert result.exit_code == 2
    assert "no such file" in result.output and "Traceback" not in result.output
    bad_rules = tmp_path / "bad.yaml"
    bad_rules.write_text("rules:\n  - id: x\n    colour: red\n")
    result = run("scan", str(tmp_path), "--rules", str(bad_rules), "-q")
    assert result.exit_code == 2
    assert f"{bad_rules}:3" in result.output


def test_rules_validate_command(tmp_path):
    assert run("rules", "validate").exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: a\n    severity: catastrophic\n")
    result = run("rules", "validate", str(bad))
    assert result.exit_code == 2 and f"{bad}:3" in result.output


def test_report_rerenders_latest_scan(tmp_path, office):
    db = tmp_path / "x.db"
    assert run("scan", str(office), "--db", str(db), "-q").exit_code == 0
    out = tmp_path / "again.html"
    result = run("report", "--db", str(db), "-o", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "Dropbox" in html and "scanner" in html
    assert DEMO_PASSWORDS["ftp"] not in html


def test_demo_command_shows_every_family(tmp_path):
    result = run("demo", "--out", str(tmp_path / "demo"), "-q")
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "demo" / "findings.json").read_text())
    assert {f["category"] for f in document["findings"]} >= {"file-sharing", "plaintext-credentials", "wifi-drops"}
    assert (tmp_path / "demo" / "report.html").stat().st_size > 10_000


def test_write_demo_is_deterministic(tmp_path):
    a = write_demo(tmp_path / "a")
    b = write_demo(tmp_path / "b")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_iso_text_is_the_calendar_answer_for_every_time_remembered_or_not():
    """iso() remembers the text per whole second; a time that rounds into the next second must not reuse it."""
    import random
    from datetime import datetime, timezone

    from detector.times import iso

    def calendar(ts):
        try:
            return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        except (OverflowError, OSError, ValueError):
            return None

    rng = random.Random(7)
    times = [0.0, 0.9999996, 0.9999994, 5.0, 5.9999999, 1_764_000_000.9999996, 4_102_444_799.9999, 4_102_444_800.0,
             -0.5, float("nan"), float("inf"), 2.0 ** 70]
    times += [rng.uniform(0, 4.2e9) for _ in range(2000)]
    edges = [0.0, 0.9999994, 0.9999995, 0.99999951]
    times += [rng.randrange(0, 4_200_000_000) + rng.choice(edges) for _ in range(2000)]
    for ts in times + times:  # the second pass answers from memory
        assert iso(ts) == calendar(ts), ts
    assert iso(None) is None
