"""Format sniffing looks past what precedes a log's first record: a BOM, blank and comment lines, a long line."""

from __future__ import annotations

import pytest
from cred_packets import scan
from zeek_writer import zeek_json, zeek_tsv

from detector.logs import log_decoders
from detector.logs.sniffing import SNIFF_BYTES, choose_format

SQUID = ("1793000000.100    381 10.0.0.23 TCP_TUNNEL/200 2450000 CONNECT content.dropboxapi.com:443 - "
         "HIER_DIRECT/162.125.4.14 -\n"
         "1793000100.200     12 10.0.0.23 TCP_MISS/200 5120 GET http://www.example.com/index.html - "
         "HIER_DIRECT/93.184.216.34 text/html\n")
LONG_URL = "1792999999.000     12 10.0.0.23 TCP_MISS/200 5120 GET http://www.example.com/?q=" + "a" * 9000 + \
    " - HIER_DIRECT/93.184.216.34 text/html\n"
DNS_ROW = {"ts": 1795964400.25, "uid": "C1", "id.orig_h": "10.1.0.5", "id.orig_p": 5353, "id.resp_h": "10.1.0.1",
           "id.resp_p": 53, "proto": "udp", "query": "www.dropbox.com", "qtype": 1, "qtype_name": "A"}
VARIANTS = {
    "bom": lambda text: "\ufeff" + text,
    "blank lines": lambda text: "\n\n  \n" + text,
    "comment lines": lambda text: "# exported 2026-12-07 by logrotate\n# host gw1\n" + text,
    "crlf": lambda text: text.replace("\n", "\r\n"),
}


def name_of(text: str) -> str:
    decoder, _ = choose_format(text.encode("utf-8")[:SNIFF_BYTES], log_decoders())
    return decoder.name if decoder else ""


LOGS = {"squid": SQUID, "zeek": zeek_tsv("dns", [DNS_ROW]), "zeek-json": zeek_json("dns", [DNS_ROW] * 3)}


@pytest.mark.parametrize(("name", "variant"), [(name, variant) for name in LOGS for variant in VARIANTS
                                               if (name, variant) != ("zeek", "comment lines")])
def test_a_log_is_recognised_past_what_precedes_it(name, variant):
    """(A Zeek TSV log begins with its own '#separator' header by definition: nothing comes before it.)"""
    assert name_of(VARIANTS[variant](LOGS[name])) == name


def test_a_first_line_longer_than_the_sample_is_passed_over(tmp_path):
    """A 9 KB request URL as the first line of a Squid log: the next lines tell the format."""
    assert name_of(LONG_URL + SQUID) == "squid"
    assert name_of(LONG_URL + LONG_URL + SQUID) == "squid"
    path = tmp_path / "access.log"
    path.write_text("\ufeff" + LONG_URL + SQUID, encoding="utf-8")
    findings, inputs, _ = scan(path)
    assert inputs[0].kind == "log:squid" and inputs[0].skipped == 0
    assert any(f.attributes.service == "Dropbox" for f in findings if f.detector == "filesharing.service")
