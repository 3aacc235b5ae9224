"""One state per site: report, diff, history, JSON and terminal read one comparison; time you can trust."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from cred_packets import ftp_exchange, imap_packets, pop3_packets, telnet_packets
from zeek_writer import write, zeek_tsv

from detector.cli import main
from detector.outputs.export import findings_document
from detector.outputs.report import site_report
from detector.outputs.run import OutputRequest, prepare_run
from detector.policy import load_ruleset
from detector.samples import tcp_session, write_pcap
from detector.session.scan import ScanRequest, run_scan
from detector.store import Store
from reports.render import render_report

FTP_ROW = {"ts": 1795964400.0, "uid": "C1", "id.orig_h": "10.1.2.3", "id.orig_p": 40021, "id.resp_h": "10.1.2.50",
           "id.resp_p": 21, "user": "carol", "password": "Winter2026", "command": "STOR", "arg": "a.txt",
           "reply_code": 226}


def scan(paths: list[Path], db: Path, site: str = "acme", **extra):
    request = ScanRequest(paths=[str(p) for p in paths], rules_files=[], db=db, site=site, **extra)
    return run_scan(request)


def office_capture(folder: Path) -> tuple[Path, Path]:
    """A capture with several clear-text logins (Telnet first), and a truncated copy that holds the Telnet one."""
    now = time.time() - 3600
    telnet = telnet_packets(now)[0]
    whole = write_pcap(folder / "office.pcap", telnet + pop3_packets(now + 60)[0] + imap_packets(now + 120)[0])
    prefix = write_pcap(folder / "prefix.pcap", telnet).read_bytes()
    cut = folder / "office-cut.pcap"
    cut.write_bytes(whole.read_bytes()[:len(prefix) + 30])  # into the next frame: a truncated copy
    (folder / "prefix.pcap").unlink()
    return whole, cut


def test_truncated_rescan_keeps_the_grade_and_lists_the_rest_as_not_rechecked(tmp_path):
    whole, cut = office_capture(tmp_path)
    db = tmp_path / "site.db"
    first = scan([whole], db).result
    assert len(first.findings) >= 3
    second = scan([cut], db).result
    assert 0 < len(second.findings) < len(first.findings)
    with Store(db) as store:
        state = store.site_state(site="acme")
        diff = store.diff(site="acme")
    kept = {f.id for f in second.findings}
    assert {f.id for f in state.not_rechecked} == {f.id for f in first.findings} - kept
    assert not state.resolved and not diff.resolved
    assert {f.id for f in diff.not_rechecked} == {f.id for f in state.not_rechecked}  # diff and report agree
    assert state.risk.score <= first.risk.score and state.risk.grade == first.risk.grade  # never better
    assert second.risk.score > first.risk.score  # the partial scan alone would look better
    with Store(db) as store:
        html = render_report([site_report(second, load_ruleset([]), store)])
    assert f'aria-label="Grade {first.risk.grade}"' in html
    assert "0 new, 0 resolved" in html and "not re-checked" in html
    stale = len(state.not_rechecked)
    assert f"{stale} not re-checked: their inputs were not read again" in html
    history = CliRunner().invoke(main, ["history", "--db", str(db), "--json"])
    rows = json.loads(history.output)
    assert rows[0]["state"] == {"score": state.risk.score, "grade": state.risk.grade, "not_rechecked": stale,
                                 "exception_expired": 0}


def test_rescanning_the_same_capture_resolves_what_is_gone(tmp_path):
    whole, _cut = office_capture(tmp_path)
    db = tmp_path / "site.db"
    first = scan([whole], db).result
    telnet_only = write_pcap(tmp_path / "office.pcap", telnet_packets(time.time() - 3600)[0])  # same name, re-read
    second = scan([telnet_only], db).result
    with Store(db) as store:
        state = store.site_state(site="acme")
    assert {f.id for f in state.resolved} == {f.id for f in first.findings} - {f.id for f in second.findings}
    assert not state.not_rechecked


def test_incremental_run_without_new_lines_keeps_the_credential_in_the_state(tmp_path):
    log = write(tmp_path, "ftp.log", zeek_tsv("ftp", [FTP_ROW]))
    db = tmp_path / "site.db"
    runner = CliRunner()
    first = runner.invoke(main, ["scan", "--db", str(db), "--site", "acme", "--rules", "/dev/null", "--incremental",
                                 "-q", str(log)])
    second = runner.invoke(main, ["scan", "--db", str(db), "--site", "acme", "--rules", "/dev/null",
                                  "--incremental", "-q", "--json", str(tmp_path / "run2.json"), str(log)])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    grade = next(line for line in first.output.splitlines() if line.startswith("risk: grade"))
    assert "grade A, score 100/100" not in grade
    assert grade in second.output  # the same grade: the login of an hour ago is still the site's state
    assert "2 finding(s) of earlier scans not re-checked" in second.output  # the login and the FTP upload
    document = json.loads((tmp_path / "run2.json").read_text())
    assert document["findings"] == []
    stale = document["site_state"]["not_rechecked"]
    assert {f["state"] for f in stale} == {"not-rechecked"}
    assert "plaintext-credentials" in {f["category"] for f in stale}
    assert document["site_state"]["risk"]["grade"] == grade.split()[2].rstrip(",")


def test_incremental_lines_do_not_resolve_what_earlier_lines_found(tmp_path):
    open_log = [line for line in zeek_tsv("ftp", [FTP_ROW]).splitlines() if not line.startswith("#close")]
    log = write(tmp_path, "ftp.log", "\n".join(open_log) + "\n")
    db = tmp_path / "site.db"
    scan([log], db, incremental=True)
    other = dict(FTP_ROW, ts=FTP_ROW["ts"] + 60, uid="C2", user="dave", **{"id.resp_h": "10.1.2.60"})
    with log.open("a") as handle:  # the log grows by a line that holds another server's login
        handle.write(zeek_tsv("ftp", [other]).splitlines()[8] + "\n")
    first_login = "Clear-text FTP password for carol"
    second = scan([log], db, incremental=True).result
    assert not any(f.title.startswith(first_login) for f in second.findings)
    with Store(db) as store:
        state = store.site_state(site="acme")
    assert not state.resolved  # the new lines re-checked nothing the earlier lines found
    assert any(f.title.startswith(first_login) for f in state.not_rechecked)


def test_an_area_without_input_says_not_assessed(tmp_path):
    log = write(tmp_path, "ftp.log", zeek_tsv("ftp", [FTP_ROW]))
    db = tmp_path / "site.db"
    outcome = scan([log], db)
    request = OutputRequest(db=db)
    outcome, state = prepare_run(outcome, request)
    assert state.areas == {"file-sharing": True, "plaintext-credentials": True, "wifi-drops": False,
                           "wifi-attack": False}
    document = findings_document(outcome.result, state)
    assert document["site_state"]["areas"]["wifi-drops"] == "not assessed"
    assert document["findings"][0]["state"] == "new"
    html = render_report([site_report(outcome.result, load_ruleset([]), None, state=state)])
    table = html.split('<table class="subscores">', 1)[1].split("</table>", 1)[0]
    wifi = next(row for row in table.split("<tr>") if ">Wi-Fi</td>" in row)
    assert "not assessed" in wifi and "badge" not in wifi
    result = CliRunner().invoke(main, ["scan", "--db", str(db), "--site", "acme", "--rules", "/dev/null", "-q",
                                       str(log)])
    assert "not assessed (no input could show them): Recurring Wi-Fi drops, Wi-Fi attacks" in result.output


def test_a_capture_whose_clock_was_never_set_is_flagged_and_kept_off_the_cover(tmp_path):
    packets = tcp_session("10.1.2.3", "10.1.2.50", 40021, 21, ftp_exchange("bob", "Ftp#Pass1"), 100.0)
    capture = write_pcap(tmp_path / "reset.pcap", packets)
    outcome = scan([capture], tmp_path / "site.db")
    (record,) = outcome.result.inputs
    flagged = [w for w in record.warnings if "clock before 2000 (never set?)" in w]
    assert flagged and flagged[0].split()[0].isdigit() and int(flagged[0].split()[0]) > 0
    assert outcome.result.findings  # the login is still a finding
    html = render_report([site_report(outcome.result, load_ruleset([]))])
    cover = html.split('class="cover"', 1)[1].split("</section>", 1)[0]
    assert "1970" not in cover
    assert outcome.result.findings[0].risk > 0  # an unknown age counts in full


def test_recency_is_unchanged_when_an_unrelated_newer_capture_is_added(tmp_path):
    old = time.time() - 45.5 * 86400  # half a day from a whole-day boundary: seconds of scan time never change the age
    ftp = write_pcap(tmp_path / "old.pcap",
                     tcp_session("10.1.2.3", "10.1.2.50", 40021, 21, ftp_exchange("bob", "Ftp#Pass1"), old))
    newer = write_pcap(tmp_path / "new.pcap", telnet_packets(time.time() - 60)[0])
    alone = scan([ftp], tmp_path / "a.db").result
    together = scan([ftp, newer], tmp_path / "b.db").result
    login = next(f for f in alone.findings if "ftp" in f.title.lower())
    same = next(f for f in together.findings if f.id == login.id)
    assert same.risk == login.risk
    assert login.risk < 20 * 2  # 45 days before the scan: aged, not counted as if seen today


def test_export_json_carries_the_state_the_scan_wrote(tmp_path):
    """`export --format json` of a stored scan is the document `--json` wrote then: per-finding state and the
    site_state block included (only times of writing may differ)."""
    whole, cut = office_capture(tmp_path)
    db = tmp_path / "site.db"
    runner = CliRunner()
    for number, capture in enumerate((whole, cut)):
        written = tmp_path / f"scan{number}.json"
        result = runner.invoke(main, ["scan", str(capture), "--db", str(db), "--site", "acme", "--rules",
                                      "/dev/null", "--json", str(written), "-q"])
        assert result.exit_code == 0, result.output
    exported = runner.invoke(main, ["export", "--db", str(db), "--format", "json"])
    assert exported.exit_code == 0, exported.output
    document, original = json.loads(exported.output), json.loads((tmp_path / "scan1.json").read_text())
    assert {f["id"]: f["state"] for f in document["findings"]} == {f["id"]: f["state"] for f in original["findings"]}
    assert document["site_state"] == original["site_state"]
    assert document["site_state"]["not_rechecked"] and document["site_state"]["compared_with"] == 1


def test_history_reads_the_state_grade_stored_with_each_scan(tmp_path, monkeypatch):
    """The grade of the site's state is computed once, when the scan is stored; history reads it and walks
    the states again only for scans stored before it was kept."""
    whole, cut = office_capture(tmp_path)
    db = tmp_path / "site.db"
    first, second = scan([whole], db), scan([cut], db)
    with Store(db) as store:
        expected = {scan_id: store.site_state(scan_id) for scan_id in (1, 2)}
    assert second.state is not None and second.state.risk.grade == expected[2].risk.grade
    monkeypatch.setattr("detector.store.store.site_states", lambda scans: pytest.fail("states walked again"))
    with Store(db) as store:
        rows = {row.id: row.state for row in store.history()}
    for scan_id, state in expected.items():
        assert rows[scan_id] == (state.risk.score, state.risk.grade, len(state.not_rechecked), 0)
    assert rows[2].not_rechecked == len(first.result.findings) - len(second.result.findings) > 0
    monkeypatch.undo()
    with Store(db) as store:  # a database written before the grade was stored: computed as before
        store.db.conn.execute("UPDATE scans SET state_score = NULL, state_grade = NULL, state_not_rechecked = NULL")
        store.db.conn.commit()
        assert {row.id: row.state for row in store.history()} == rows
