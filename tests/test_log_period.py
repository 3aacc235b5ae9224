"""The period a log covers: first and last record times, also when most records are skipped unparsed.

The report's cover ("Traffic and logs covered") and evidence appendix ("Time
covered") read InputRecord.first_ts/last_ts; for a log they come from the times
of its first and last record lines, widened by every observation's time.
"""

from __future__ import annotations

import json
from pathlib import Path

from cred_packets import scan
from test_incremental import T0, incremental, tls_line
from zeek_writer import eve, write, zeek_json, zeek_tsv


def compact(line: str) -> str:
    return json.dumps(json.loads(line), separators=(",", ":"))


def period(tmp_path: Path, name: str, text: str) -> tuple[float, float]:
    _, inputs, _ = scan(write(tmp_path, name, text))
    (record,) = inputs
    return record.first_ts, record.last_ts


def flow(n: int) -> str:
    """A flow to a server nobody watches: skipped on its raw bytes, never parsed."""
    return compact(eve("flow", T0 + n, "10.1.0.5", 40000 + n, "198.51.100.7", 443, flow_id=n,
                       flow={"bytes_toserver": 10, "bytes_toclient": 10}))


def test_eve_period_comes_from_lines_nobody_parsed(tmp_path):
    lines = [flow(0), compact(tls_line(50, "www.dropbox.com")), flow(3600)]
    assert period(tmp_path, "eve.json", "\n".join(lines) + "\n") == (T0, T0 + 3600)


def test_zeek_tsv_period_skips_the_header_and_the_close_line(tmp_path):
    rows = [{"ts": T0 + n, "uid": f"C{n}", "id.orig_h": "10.1.0.5", "id.orig_p": 40000, "id.resp_h": "198.51.100.7",
             "id.resp_p": 443, "proto": "tcp", "orig_bytes": 1, "resp_bytes": 1} for n in (0, 10, 7200)]
    assert period(tmp_path, "conn.log", zeek_tsv("conn", rows)) == (T0, T0 + 7200)


def test_zeek_json_period_reads_epoch_and_iso_times(tmp_path):
    rows = [{"ts": T0 + 5, "uid": "C1", "id.orig_h": "10.1.0.5", "id.resp_h": "10.1.0.1", "query": "example.org"},
            {"ts": "2026-11-29T17:00:00.000000Z", "uid": "C2", "id.orig_h": "10.1.0.5", "id.resp_h": "10.1.0.1",
             "query": "example.net"}]
    first, last = period(tmp_path, "dns.log", zeek_json("dns", rows, with_path=True))
    assert first == T0 + 5 and last == 1795964400.0 + 7200 + 0  # 2026-11-29T17:00Z is T0 + 2 h


def test_hostile_times_do_not_stretch_the_period(tmp_path):
    far = compact(eve("flow", T0, "10.1.0.5", 1, "198.51.100.7", 443)).replace("2026-11-29", "9999-12-31")
    lines = [far, flow(1), flow(2), far]
    assert period(tmp_path, "eve.json", "\n".join(lines) + "\n") == (T0 + 1, T0 + 2)


def test_a_format_without_line_times_takes_its_observations_times(tmp_path):
    from test_authlog import VSFTPD_LOG

    _, inputs, _ = scan(write(tmp_path, "vsftpd.log", VSFTPD_LOG))
    (record,) = inputs
    assert record.kind == "log:server-logins"
    assert record.first_ts is not None and record.last_ts - record.first_ts == 10  # 13:00:01 .. 13:00:11


def test_incremental_scan_covers_the_lines_it_read(tmp_path):
    log, db = tmp_path / "eve.json", tmp_path / "site.db"
    log.write_text(compact(tls_line(0)) + "\n" + compact(tls_line(100)) + "\n")
    first = incremental([log], db)
    (record,) = first.result.inputs
    assert (record.first_ts, record.last_ts) == (T0, T0 + 100)
    with log.open("a") as handle:
        handle.write(flow(500) + "\n" + flow(900) + "\n")
    (record,) = incremental([log], db).result.inputs
    assert (record.first_ts, record.last_ts) == (T0 + 500, T0 + 900)
