"""Zeek logs in both encodings: every log path we read, unset fields, escapes, malformed lines, archives."""

from __future__ import annotations

import pytest
from cred_packets import scan
from scanning import by_detector, decode_lines, only
from zeek_writer import FIELDS, write, zeek_json, zeek_tsv

from detector.logs.base import LogContext
from detector.logs.sensors.zeek import ZeekJsonDecoder, ZeekTsvDecoder, unescape
from detector.observations import (
    Credential,
    DhcpClientRequest,
    DnsAlias,
    DnsQuery,
    FileTransfer,
    FlowVolume,
    HostIdentity,
    HttpRequest,
    ServiceContact,
    TlsCertificate,
    TlsClientHello,
)

T0 = 1795964400.25
CONN = {"ts": T0, "uid": "CAbc1", "id.orig_h": "10.1.0.5", "id.orig_p": 50123, "id.resp_h": "162.125.1.1",
        "id.resp_p": 443}
ENCODINGS = ["tsv", "json", "json-streaming"]


def encode(encoding: str, path: str, rows: list[dict]) -> str:
    if encoding == "tsv":
        return zeek_tsv(path, rows)
    return zeek_json(path, rows, with_path=encoding == "json-streaming")


def observe(encoding: str, path: str, rows: list[dict], filename: str = "") -> tuple[list, int]:
    """Observations from the decoder alone, and how many lines it called malformed."""
    text = encode(encoding, path, rows)
    decoder = ZeekTsvDecoder() if encoding == "tsv" else ZeekJsonDecoder()
    lines = text.splitlines()
    assert decoder.sniff(lines[:50]) > 0.9 or not any(rows)
    name = filename or (f"{path}.log" if encoding != "json-streaming" else "zeek-stream.log")
    return decode_lines(decoder, name, lines)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_conn_gives_flow_volume(encoding):
    row = dict(CONN, proto="tcp", service="ssl", duration=12.5, orig_bytes=5_000_000, resp_bytes=20_000,
               conn_state="SF", orig_pkts=3500, resp_pkts=1200, tunnel_parents=[])
    seen, bad = observe(encoding, "conn", [row])
    assert bad == 0
    (flow,) = only(seen, FlowVolume)
    assert (flow.client, flow.server, flow.server_port, flow.transport) == ("10.1.0.5", "162.125.1.1", 443, "tcp")
    assert (flow.bytes_up, flow.bytes_down, flow.packets) == (5_000_000, 20_000, 4700)
    assert flow.ts == pytest.approx(T0) and flow.end == pytest.approx(T0 + 12.5)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_dns_query_answers_and_cname_chain(encoding):
    row = dict(CONN, **{"id.resp_h": "10.1.0.1", "id.resp_p": 53}, proto="udp", query="www.dropbox.com", qtype=1,
               qtype_name="A", rcode=0, rcode_name="NOERROR", answers=["www.dropbox-dns.com", "162.125.1.1"],
               TTLs=[60.0, 60.0])
    seen, bad = observe(encoding, "dns", [row])
    assert bad == 0
    (query,) = only(seen, DnsQuery)
    assert (query.client, query.server, query.qname, query.qtype, query.answers) == \
        ("10.1.0.5", "10.1.0.1", "www.dropbox.com", 1, ("162.125.1.1",))
    (alias,) = only(seen, DnsAlias)
    assert alias.targets == ("www.dropbox-dns.com",)


def test_files_old_layout_and_unnamed_attachment(tmp_path):
    """Zeek before 5.0: tx_hosts/rx_hosts instead of id.*; a nameless PDF part still counts."""
    from detector.logs.sensors.zeek import ZeekJsonDecoder as decoder

    parser = decoder().parser(LogContext("files.log"))
    seen: list = []
    line = ('{"ts": 1795964400.25, "fuid": "F1", "tx_hosts": ["10.1.0.5"], "rx_hosts": ["203.0.113.25"], '
            '"conn_uids": ["C1"], "source": "SMTP", "depth": 3, "mime_type": "application/pdf", "is_orig": true, '
            '"seen_bytes": 500}')
    assert parser.parse(line, "files.log:line 1", seen.append)
    (attachment,) = only(seen, FileTransfer)
    assert (attachment.filename, attachment.client, attachment.server, attachment.size) == \
        ("(unnamed application/pdf)", "10.1.0.5", "203.0.113.25", 500)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_ssl_sni_and_certificate_without_sni(encoding):
    rows = [dict(CONN, version="TLSv13", server_name="www.dropbox.com", established=True),
            dict(CONN, uid="C2", version="TLSv12", subject="CN=*.wetransfer.com,O=WeTransfer")]
    fields = set(FIELDS["ssl"]) | {"subject"}
    FIELDS["ssl_with_subject"] = [f for f in FIELDS["ssl"]] + ["subject"]
    try:
        if encoding == "tsv":
            from zeek_writer import zeek_tsv as writer
            text = writer("ssl_with_subject", rows).replace("#path\tssl_with_subject", "#path\tssl")
            parser = ZeekTsvDecoder().parser(LogContext("ssl.log"))
        else:
            text = zeek_json("ssl_with_subject", rows)
            parser = ZeekJsonDecoder().parser(LogContext("ssl.log"))
    finally:
        del FIELDS["ssl_with_subject"]
    assert "subject" in fields
    seen: list = []
    assert all(parser.parse(line, "x", seen.append) for line in text.splitlines())
    (hello,) = only(seen, TlsClientHello)
    assert (hello.sni, hello.server_port, hello.transport) == ("www.dropbox.com", 443, "tcp")
    (cert,) = only(seen, TlsCertificate)
    assert cert.names == ("*.wetransfer.com",)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_quic_sni(encoding):
    row = dict(CONN, **{"id.resp_p": 443}, version="1", client_initial_dcid="95412c47018cdfe8",
               server_name="drive.google.com", client_protocol="h3", history="ISisH")
    seen, _ = observe(encoding, "quic", [row])
    (hello,) = only(seen, TlsClientHello)
    assert (hello.sni, hello.transport) == ("drive.google.com", "quic")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_http_upload_and_basic_login(encoding):
    rows = [dict(CONN, **{"id.resp_h": "52.1.1.1", "id.resp_p": 80}, trans_depth=1, method="POST",
                 host="wetransfer.com", uri="/api/upload?x=1", version="1.1", user_agent="curl/8",
                 request_body_len=3_000_000, response_body_len=20, status_code=200, status_msg="OK", tags=[],
                 orig_filenames=["q3.xlsx"]),
            dict(CONN, uid="C9", **{"id.resp_h": "10.1.0.9", "id.resp_p": 8080}, method="GET", host="intranet:8080",
                 uri="/", status_code=200, username="alice", password="<hidden>")]
    seen, bad = observe(encoding, "http", rows)
    assert bad == 0
    upload, page = only(seen, HttpRequest)
    assert (upload.method, upload.host, upload.content_length) == ("POST", "wetransfer.com", 3_000_000)
    assert page.host == "intranet"
    (login,) = only(seen, Credential)
    assert (login.protocol, login.username, login.server, login.server_port) == ("http-basic", "alice",
                                                                               "10.1.0.9", 8080)
    assert login.secret.captured is False and login.secret.mask == "(not captured)" and login.accepted is True


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_ftp_login_once_per_session_and_files(encoding):
    base = dict(CONN, **{"id.resp_h": "198.51.100.7", "id.resp_p": 21}, user="bob", password="<hidden>")
    rows = [dict(base, command="STOR", arg="ftp://198.51.100.7/./payroll.xlsx", file_size=48_000, reply_code=226,
                 reply_msg="Transfer complete"),
            dict(base, command="RETR", arg="ftp://198.51.100.7/pub/readme.txt", reply_code=226)]
    seen, _ = observe(encoding, "ftp", rows)
    (login,) = only(seen, Credential)
    assert (login.protocol, login.username, login.kind, login.secret.captured) == ("ftp", "bob", "cleartext", False)
    stor, retr = only(seen, FileTransfer)
    assert (stor.protocol, stor.filename, stor.size, stor.direction) == ("ftp-stor", "payroll.xlsx", 48_000, "up")
    assert (retr.protocol, retr.filename) == ("ftp-retr", "/pub/readme.txt")  # Zeek's path: absolute


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_ftp_password_zeek_was_told_to_log(encoding):
    row = dict(CONN, **{"id.resp_p": 21}, user="carol", password="Winter2026", command="STOR", arg="a.txt",
               reply_code=226)
    seen, _ = observe(encoding, "ftp", [row])
    (login,) = only(seen, Credential)
    assert login.secret.captured and login.secret.fingerprint and login.secret.length == 10


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_smtp_attachment_from_files_log(encoding):
    smtp = dict(CONN, **{"id.resp_h": "203.0.113.25", "id.resp_p": 25}, trans_depth=1, helo="pc1",
                mailfrom="<dave@example.com>", rcptto=["<dave.home@gmail.com>"], subject="stuff",
                fuids=["Fa1", "Fb2"])
    seen, bad = observe(encoding, "smtp", [smtp])
    assert bad == 0 and seen == []
    files = [dict(ts=T0, fuid="Fa1", uid="CAbc1", **{"id.orig_h": "10.1.0.5", "id.orig_p": 50123,
                                                     "id.resp_h": "203.0.113.25", "id.resp_p": 25},
                  source="SMTP", depth=3, analyzers=[], mime_type="text/plain", is_orig=True, seen_bytes=120),
             dict(ts=T0, fuid="Fb2", uid="CAbc1", **{"id.orig_h": "10.1.0.5", "id.orig_p": 50123,
                                                     "id.resp_h": "203.0.113.25", "id.resp_p": 25},
                  source="SMTP", depth=4, analyzers=[], mime_type="application/pdf", filename="contract.pdf",
                  is_orig=True, seen_bytes=81_000, total_bytes=81_000)]
    seen, bad = observe(encoding, "files", files)
    (attachment,) = only(seen, FileTransfer)
    assert (attachment.protocol, attachment.filename, attachment.size, attachment.client, attachment.server,
            attachment.mime_type) == ("smtp-attachment", "contract.pdf", 81_000, "10.1.0.5", "203.0.113.25",
                                      "application/pdf")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_dhcp_host_name_and_requests(encoding):
    row = {"ts": T0, "uids": ["C1", "C2"], "client_addr": None, "server_addr": "10.1.0.1", "mac": "AA:BB:CC:00:11:22",
           "host_name": "ACCT-LAPTOP-3", "domain": "office.lan", "assigned_addr": "10.1.0.77", "lease_time": 86400.0,
           "msg_types": ["DISCOVER", "OFFER", "REQUEST", "ACK"], "duration": 0.4}
    seen, bad = observe(encoding, "dhcp", [row])
    assert bad == 0
    requests = only(seen, DhcpClientRequest)
    assert [(r.client, r.message, r.initial, r.hostname) for r in requests] == [
        ("aa:bb:cc:00:11:22", "discover", True, "ACCT-LAPTOP-3"), ("aa:bb:cc:00:11:22", "request", True,
                                                                   "ACCT-LAPTOP-3")]
    (who,) = only(seen, HostIdentity)
    assert (who.address, who.mac, who.hostname, who.domain, who.source) == \
        ("10.1.0.77", "aa:bb:cc:00:11:22", "ACCT-LAPTOP-3", "office.lan", "zeek:dhcp")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_ntlm_and_kerberos_user_names(encoding):
    ntlm = dict(CONN, **{"id.resp_p": 445}, username="erin", hostname="HR-PC-2", domainname="CORP", success=True)
    seen, _ = observe(encoding, "ntlm", [ntlm])
    (who,) = only(seen, HostIdentity)
    assert (who.address, who.username, who.hostname, who.domain, who.source) == \
        ("10.1.0.5", "erin", "HR-PC-2", "CORP", "zeek:ntlm")
    krb = dict(CONN, **{"id.resp_p": 88}, request_type="AS", client="frank/CORP.EXAMPLE", service="krbtgt/CORP",
               success=True)
    seen, _ = observe(encoding, "kerberos", [krb])
    (who,) = only(seen, HostIdentity)
    assert (who.username, who.domain, who.source) == ("frank", "CORP.EXAMPLE", "zeek:kerberos")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_software_names_a_catalog_service(encoding, tmp_path):
    row = {"ts": T0, "host": "10.1.0.5", "host_p": None, "software_type": "HTTP::BROWSER", "name": "AnyDesk",
           "version.major": 8, "unparsed_version": "AnyDesk/8.0.8"}
    seen, _ = observe(encoding, "software", [row])
    (contact,) = only(seen, ServiceContact)
    assert (contact.client, contact.service, contact.method) == ("10.1.0.5", "AnyDesk", "software")
    findings, _, _ = scan(write(tmp_path, "software.log", encode(encoding, "software", [row])))
    assert [f.attributes.service for f in by_detector(findings, "filesharing.service")] == ["AnyDesk"]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("path", sorted(FIELDS))
def test_every_field_unset_says_nothing_and_is_not_malformed(encoding, path):
    seen, bad = observe(encoding, path, [{}])
    assert (seen, bad) == ([], 0)


def test_escapes_sets_and_empty_values():
    assert unescape("a\\x09b") == "a\tb"
    assert unescape("caf\\xc3\\xa9") == "café"
    assert unescape("back\\x5cslash") == "back\\slash"
    row = dict(CONN, **{"id.resp_h": "10.1.0.1", "id.resp_p": 53}, query="we\ttransfer.example", qtype=1,
               answers=[], rejected=False)
    text = zeek_tsv("dns", [row])
    assert "we\\x09transfer.example" in text and "(empty)" in text
    seen, bad = observe("tsv", "dns", [row])
    assert bad == 0 and only(seen, DnsQuery)[0].qname == "we\ttransfer.example"
    assert only(seen, DnsQuery)[0].answers == ()


@pytest.mark.parametrize("encoding", ["tsv", "json"])
def test_malformed_lines_are_counted_and_skipped(encoding, tmp_path):
    good = dict(CONN, **{"id.resp_h": "10.1.0.1", "id.resp_p": 53}, query="www.dropbox.com", qtype=1)
    text = encode(encoding, "dns", [good, dict(good, ts="yesterday"), good])
    lines = text.splitlines()
    if encoding == "tsv":
        lines.insert(9, "only\tthree\tcolumns")
    else:
        lines.insert(1, '{"ts": 1795964400, "uid": "C1", "query": ')
        lines.insert(2, "[1, 2, 3]")
    path = write(tmp_path, "dns.log", "\n".join(lines) + "\n")
    findings, inputs, _ = scan(path)
    (record,) = inputs
    assert record.kind == ("log:zeek" if encoding == "tsv" else "log:zeek-json")
    assert record.skipped == (2 if encoding == "tsv" else 3)
    assert "malformed line(s) skipped" in " ".join(record.warnings)
    (service,) = by_detector(findings, "filesharing.service")
    assert service.attributes.service == "Dropbox" and service.count == 2


def test_data_before_fields_header_is_malformed():
    parser = ZeekTsvDecoder().parser(LogContext("dns.log"))
    assert parser.parse("1795964400.0\tC1\t10.0.0.1", "x", lambda o: None) is False


def test_rotated_gzip_archive_directory(tmp_path):
    """Zeek's archive layout: logs/2026-11-29/<path>.HH:MM:SS-HH:MM:SS.log.gz, no #path needed from the name."""
    dns_row = dict(CONN, **{"id.resp_h": "10.1.0.1", "id.resp_p": 53}, query="mega.nz", qtype=1,
                   answers=["31.216.145.5"])
    conn_row = dict(CONN, **{"id.resp_h": "31.216.145.5"}, proto="tcp", orig_bytes=900_000_000, resp_bytes=1000)
    day = tmp_path / "logs" / "2026-11-29"
    write(day, "dns.15:00:00-16:00:00.log.gz", zeek_json("dns", [dns_row]))
    write(day, "conn.15:00:00-16:00:00.log.gz", zeek_tsv("conn", [conn_row]))
    write(day, "weird.15:00:00-16:00:00.log.gz", '{"ts": 1795964400.5, "uid": "C7", "name": "bad_TCP_checksum"}\n')
    from cred_packets import _rules_and_catalog

    from detector.inputs import discover
    from detector.session.pipeline import Scan, ScanConfig
    from detector.session.policy import classify

    ruleset, catalog = _rules_and_catalog()
    pipeline = Scan(ScanConfig(ruleset.settings, catalog, None))
    for path in discover([str(tmp_path / "logs")]):
        pipeline.add_file(path)
    findings = classify(pipeline.finish(), ruleset)
    kinds = sorted(i.kind for i in pipeline.inputs)
    assert kinds == ["log:zeek", "log:zeek-json", "log:zeek-json"]
    (service,) = by_detector(findings, "filesharing.service")
    assert service.attributes.service == "MEGA"
    assert service.attributes.bytes_up == 900_000_000  # conn.log read after the names that attribute it


def test_hidden_passwords_are_findings_but_never_reuse(tmp_path):
    rows = [dict(CONN, uid=f"C{n}", **{"id.resp_h": "198.51.100.7", "id.resp_p": 21}, user=user,
                 password="<hidden>", command="STOR", arg=f"f{n}.txt", reply_code=226)
            for n, user in enumerate(["bob", "carol"])]
    findings, _, _ = scan(write(tmp_path, "ftp.log", zeek_tsv("ftp", rows)))
    logins = by_detector(findings, "credentials.cleartext")
    assert sorted(f.attributes.username for f in logins) == ["bob", "carol"]
    for finding in logins:
        assert finding.attributes.secret_captured is False
        assert finding.attributes.secret_mask == "(not captured)"
        assert finding.attributes.secret_fingerprint == ""
        assert "not captured" in finding.title
        assert finding.severity in ("high", "critical", "medium")
    assert by_detector(findings, "credentials.reuse") == []
