"""Suricata EVE JSON: each event type we read, DNS v1 and v2, ET POLICY alerts, malformed lines."""

from __future__ import annotations

import json

import pytest
from cred_packets import scan
from scanning import by_detector, decode_lines, only
from zeek_writer import eve, write

from detector import observations as obs
from detector.logs.base import LogContext
from detector.logs.sensors.eve import EveDecoder, SignatureTableError, eve_time, load_signature_table
from detector.policy.catalog import load_catalog

T0 = 1795964400.5
PC, RESOLVER = "10.1.0.5", "10.1.0.1"


def observe(*lines: str) -> tuple[list, int]:
    decoder = EveDecoder()
    assert decoder.sniff([line for line in lines if line.startswith("{")]) > 0.9
    return decode_lines(decoder, "eve.json", lines)


def test_timestamps():
    assert eve_time("2026-11-29T15:00:00.500000+0000") == pytest.approx(T0)
    assert eve_time("2026-11-29T16:00:00.500000+0100") == pytest.approx(T0)
    assert eve_time("2026-11-29T15:00:00+0000") == pytest.approx(T0 - 0.5)
    with pytest.raises(ValueError):
        eve_time("yesterday at noon")


def test_dns_v1_query_and_answer_records():
    seen, bad = observe(
        eve("dns", T0, PC, 40000, RESOLVER, 53, "UDP", dns={"type": "query", "id": 7, "rrname": "www.dropbox.com",
                                                            "rrtype": "A", "tx_id": 0}),
        eve("dns", T0, RESOLVER, 53, PC, 40000, "UDP", dns={"type": "answer", "id": 7, "rcode": "NOERROR",
                                                            "rrname": "www.dropbox.com", "rrtype": "CNAME",
                                                            "ttl": 60, "rdata": "www.dropbox-dns.com"}),
        eve("dns", T0, RESOLVER, 53, PC, 40000, "UDP", dns={"type": "answer", "id": 7, "rcode": "NOERROR",
                                                            "rrname": "www.dropbox-dns.com", "rrtype": "A",
                                                            "ttl": 60, "rdata": "162.125.1.1"}))
    assert bad == 0
    queries = only(seen, obs.DnsQuery)
    assert [(q.client, q.server, q.qname, q.answers) for q in queries] == [
        (PC, RESOLVER, "www.dropbox.com", ()), (PC, RESOLVER, "www.dropbox.com", ()),
        (PC, RESOLVER, "www.dropbox-dns.com", ("162.125.1.1",))]
    (alias,) = only(seen, obs.DnsAlias)
    assert alias.targets == ("www.dropbox-dns.com",)


@pytest.mark.parametrize("grouped_only", [False, True])
def test_dns_v2_answers_and_grouped(grouped_only):
    dns = {"version": 2, "type": "answer", "id": 9, "flags": "8180", "qr": True, "rd": True, "ra": True,
           "rrname": "mega.nz", "rrtype": "A", "rcode": "NOERROR",
           "grouped": {"A": ["31.216.145.5", "31.216.145.6"]}}
    if not grouped_only:
        dns["answers"] = [{"rrname": "mega.nz", "rrtype": "A", "ttl": 300, "rdata": "31.216.145.5"},
                          {"rrname": "mega.nz", "rrtype": "A", "ttl": 300, "rdata": "31.216.145.6"}]
    seen, bad = observe(eve("dns", T0, RESOLVER, 53, PC, 40001, "UDP", dns=dns))
    (query,) = only(seen, obs.DnsQuery)
    assert (query.client, query.qname, query.qtype, query.answers) == (PC, "mega.nz", 1,
                                                                       ("31.216.145.5", "31.216.145.6"))


def test_dns_v3_queries_list():
    seen, _ = observe(eve("dns", T0, PC, 40002, RESOLVER, 53, "UDP",
                          dns={"version": 3, "type": "request", "id": 1,
                               "queries": [{"rrname": "wetransfer.com", "rrtype": "AAAA"}]}))
    (query,) = only(seen, obs.DnsQuery)
    assert (query.qname, query.qtype) == ("wetransfer.com", 28)


def test_tls_sni_certificate_and_quic():
    seen, _ = observe(
        eve("tls", T0, PC, 50000, "162.125.1.1", 443, tls={"sni": "www.dropbox.com", "version": "TLS 1.3"}),
        eve("tls", T0, PC, 50001, "52.1.1.1", 443, flow_id=2,
            tls={"subject": "C=NL, O=WeTransfer, CN=*.wetransfer.com", "version": "TLS 1.2"}),
        eve("quic", T0, PC, 50002, "142.250.1.1", 443, "UDP", flow_id=3,
            quic={"version": "1", "sni": "drive.google.com", "ua": "Chrome"}))
    tcp, quic = only(seen, obs.TlsClientHello)
    assert (tcp.sni, tcp.server_port, tcp.transport) == ("www.dropbox.com", 443, "tcp")
    assert (quic.sni, quic.transport) == ("drive.google.com", "quic")
    assert only(seen, obs.TlsCertificate)[0].names == ("*.wetransfer.com",)


def test_http_request_length_only_from_request_headers():
    seen, _ = observe(
        eve("http", T0, PC, 50003, "52.1.1.1", 80, http={
            "hostname": "wetransfer.com", "url": "/api/upload", "http_user_agent": "curl/8", "http_method": "POST",
            "protocol": "HTTP/1.1", "status": 200, "length": 20,
            "request_headers": [{"name": "Content-Length", "value": "3000000"}]}),
        eve("http", T0, PC, 50004, "52.1.1.1", 80, flow_id=2, http={
            "hostname": "wetransfer.com", "url": "/", "http_method": "GET", "status": 200, "length": 5000}))
    post, get = only(seen, obs.HttpRequest)
    assert (post.method, post.host, post.uri, post.content_length) == ("POST", "wetransfer.com", "/api/upload",
                                                                       3_000_000)
    assert get.content_length is None  # EVE's length is the response body


def test_ftp_login_stor_and_ftp_data_once():
    server = "198.51.100.7"
    seen, bad = observe(
        eve("ftp", T0, PC, 50010, server, 21, ftp={"command": "USER", "command_data": "bob",
                                                   "reply": ["Password required"], "completion_code": ["331"]}),
        eve("ftp", T0, PC, 50010, server, 21, ftp={"command": "PASS", "command_data": "Hunter2x",
                                                   "reply": ["Logged in"], "completion_code": ["230"]}),
        eve("ftp", T0, PC, 50010, server, 21, ftp={"command": "STOR", "command_data": "payroll.xlsx",
                                                   "completion_code": ["150", "226"]}),
        eve("ftp_data", T0, server, 20, PC, 50011, flow_id=5, ftp_data={"filename": "payroll.xlsx",
                                                                        "command": "STOR"}),
        eve("ftp", T0, PC, 50012, server, 21, flow_id=6, ftp={"command": "USER", "command_data": "anonymous"}),
        eve("ftp", T0, PC, 50012, server, 21, flow_id=6, ftp={"command": "PASS", "completion_code": ["530"]}))
    assert bad == 0
    bob, anonymous = only(seen, obs.Credential)
    assert (bob.protocol, bob.username, bob.server, bob.accepted, bob.secret.captured) == ("ftp", "bob", server, True,
                                                                                         True)
    assert (anonymous.kind, anonymous.accepted, anonymous.secret.captured) == ("anonymous", False, False)
    (stor,) = only(seen, obs.FileTransfer)
    assert (stor.protocol, stor.filename, stor.client, stor.server) == ("ftp-stor", "payroll.xlsx", PC, server)


def test_smtp_email_and_fileinfo_give_one_attachment_with_size():
    mail = {"from": "dave@example.com", "to": ["dave.home@gmail.com"], "attachment": ["contract.pdf"],
            "status": "PARSE_DONE"}
    smtp = {"helo": "pc1", "mail_from": "<dave@example.com>", "rcpt_to": ["<dave.home@gmail.com>"]}
    seen, _ = observe(
        eve("fileinfo", T0, PC, 50020, "203.0.113.25", 25, app_proto="smtp", smtp=smtp, email=mail,
            fileinfo={"filename": "contract.pdf", "state": "CLOSED", "stored": False, "size": 81000, "tx_id": 0}),
        eve("smtp", T0, PC, 50020, "203.0.113.25", 25, smtp=smtp, email=mail),
        eve("email", T0, PC, 50020, "203.0.113.25", 25, email=mail))
    (attachment,) = only(seen, obs.FileTransfer)
    assert (attachment.protocol, attachment.filename, attachment.size, attachment.sender, attachment.recipients) == \
        ("smtp-attachment", "contract.pdf", 81000, "dave@example.com", ("dave.home@gmail.com",))
    seen, _ = observe(eve("smtp", T0, PC, 50021, "203.0.113.25", 25, flow_id=9, smtp=smtp, email=mail))
    assert only(seen, obs.FileTransfer)[0].size is None


def test_flow_bytes():
    seen, _ = observe(eve("flow", T0 + 9, PC, 50000, "162.125.1.1", 443, app_proto="tls", flow={
        "pkts_toserver": 100, "pkts_toclient": 80, "bytes_toserver": 5_000_000, "bytes_toclient": 20_000,
        "start": "2026-11-29T15:00:00.500000+0000", "end": "2026-11-29T15:00:09.500000+0000", "state": "closed"}))
    (flow,) = only(seen, obs.FlowVolume)
    assert (flow.bytes_up, flow.bytes_down, flow.packets, flow.ts, flow.end) == (5_000_000, 20_000, 180,
                                                                                  pytest.approx(T0),
                                                                                  pytest.approx(T0 + 9))


def test_dhcp_hostname():
    seen, _ = observe(
        eve("dhcp", T0, "0.0.0.0", 68, "255.255.255.255", 67, "UDP", dhcp={
            "type": "request", "id": 1, "client_mac": "AA:BB:CC:00:11:22", "assigned_ip": "0.0.0.0",
            "client_ip": "0.0.0.0", "dhcp_type": "discover", "hostname": "ACCT-LAPTOP-3"}),
        eve("dhcp", T0, "10.1.0.1", 67, "10.1.0.77", 68, "UDP", dhcp={
            "type": "reply", "id": 1, "client_mac": "aa:bb:cc:00:11:22", "assigned_ip": "10.1.0.77",
            "dhcp_type": "ack"}))
    (request,) = only(seen, obs.DhcpClientRequest)
    assert (request.client, request.message, request.initial, request.hostname) == \
        ("aa:bb:cc:00:11:22", "discover", True, "ACCT-LAPTOP-3")
    names = only(seen, obs.HostIdentity)
    assert [(n.address, n.mac, n.hostname) for n in names] == [("", "aa:bb:cc:00:11:22", "ACCT-LAPTOP-3"),
                                                              ("10.1.0.77", "aa:bb:cc:00:11:22", "")]


def test_krb5_and_smb_ntlmssp_user_names():
    seen, _ = observe(
        eve("krb5", T0, PC, 50030, "10.1.0.2", 88, krb5={"msg_type": "KRB_AS_REQ", "cname": "frank",
                                                          "realm": "CORP.EXAMPLE", "sname": "krbtgt/CORP"}),
        eve("smb", T0, PC, 50031, "10.1.0.2", 445, smb={"command": "SMB2_COMMAND_SESSION_SETUP", "ntlmssp": {
            "domain": "CORP", "user": "erin", "host": "HR-PC-2"}}))
    krb, smb = only(seen, obs.HostIdentity)
    assert (krb.username, krb.domain, krb.source) == ("frank", "CORP.EXAMPLE", "suricata:krb5")
    assert (smb.username, smb.hostname, smb.domain, smb.address) == ("erin", "HR-PC-2", "CORP", PC)


def test_et_policy_alert_maps_to_catalog_service(tmp_path):
    lines = [
        eve("alert", T0, PC, 50040, "188.114.96.1", 443, alert={
            "action": "allowed", "gid": 1, "signature_id": 2027397, "rev": 3,
            "signature": "ET POLICY Observed Mega Upload Domain (mega .nz in TLS SNI)", "category":
                "Potential Corporate Privacy Violation", "severity": 1}, tls={"sni": "g.api.mega.co.nz"}),
        eve("alert", T0, "37.252.1.1", 5938, PC, 50041, flow_id=2, alert={
            "action": "allowed", "signature_id": 2008794, "signature": "ET POLICY TeamViewer Dyngate User-Agent",
            "category": "Potential Corporate Privacy Violation", "severity": 1}),
        eve("alert", T0, PC, 50042, "1.2.3.4", 443, flow_id=3, alert={
            "signature_id": 2001, "signature": "ET MALWARE Dropbox-hosted payload", "severity": 1}),
    ]
    seen, _ = observe(*lines)
    mega, teamviewer = only(seen, obs.ServiceContact)
    assert (mega.client, mega.service, mega.method, mega.host) == (PC, "MEGA", "ids-alert", "g.api.mega.co.nz")
    assert (teamviewer.client, teamviewer.server, teamviewer.service) == (PC, "37.252.1.1", "TeamViewer")
    findings, _, _ = scan(write(tmp_path, "eve.json", "\n".join(lines) + "\n"))
    services = sorted(f.attributes.service for f in by_detector(findings, "filesharing.service"))
    assert services == ["MEGA", "TeamViewer"]


def test_signature_table_names_only_catalog_services():
    table = load_signature_table()
    catalog = load_catalog()
    missing = [m.service for m in table.mappings if catalog.named(m.service) is None]
    assert missing == []
    assert table.service("ET POLICY Dropbox.com Offsite File Backup in Use") == "Dropbox"
    assert table.service("ET TROJAN something dropbox") == ""


def test_signature_table_errors_name_the_entry(tmp_path):
    bad = tmp_path / "sigs.yaml"
    bad.write_text("signatures:\n  - {match: '(', service: Dropbox}\n")
    with pytest.raises(SignatureTableError, match=r"sigs.yaml:2:13: signatures entry 1: bad regular expression"):
        load_signature_table(bad)
    bad.write_text("signatures:\n  - {match: dropbox}\n")
    with pytest.raises(SignatureTableError, match="entry 1: needs 'match' and 'service'"):
        load_signature_table(bad)


def test_every_field_missing_and_unknown_events():
    seen, bad = observe('{"timestamp": "2026-11-29T15:00:00.5+0000", "event_type": "dns"}',
                        '{"timestamp": "2026-11-29T15:00:00.5+0000", "event_type": "stats", "stats": {}}',
                        *[json.dumps({"timestamp": "2026-11-29T15:00:00.5+0000", "event_type": kind})
                          for kind in ("tls", "quic", "http", "fileinfo", "ftp", "ftp_data", "smtp", "email",
                                       "flow", "dhcp", "alert", "krb5", "smb")])
    assert bad == 0
    assert only(seen, obs.FlowVolume) and len(seen) == 1  # a flow event without counters is an empty flow


def test_malformed_lines_are_counted_and_skipped(tmp_path):
    good = eve("tls", T0, PC, 50000, "162.125.1.1", 443, tls={"sni": "www.dropbox.com"})
    lines = [good, "{not json", '["an", "array"]', '{"event_type": "tls", "timestamp": "never"}',
             '{"timestamp": "2026-11-29T15:00:00+0000"}', good]
    findings, inputs, _ = scan(write(tmp_path, "eve.json", "\n".join(lines) + "\n"))
    (record,) = inputs
    assert record.kind == "log:suricata-eve" and record.skipped == 4
    assert "4 malformed line(s) skipped (first at line 2)" in record.warnings
    (service,) = by_detector(findings, "filesharing.service")
    assert service.attributes.service == "Dropbox"


def test_rotated_gzip_eve(tmp_path):
    line = eve("tls", T0, PC, 50000, "162.125.1.1", 443, tls={"sni": "www.dropbox.com"})
    findings, inputs, _ = scan(write(tmp_path, "eve.json-20261129.gz", line + "\n"))
    assert inputs[0].kind == "log:suricata-eve"
    assert by_detector(findings, "filesharing.service")[0].attributes.service == "Dropbox"


def _catalog_name(name: str) -> bool:
    return load_catalog().match(name) is not None


def _compact(line: str) -> bytes:
    """As Suricata writes EVE: no spaces after separators (the raw test's fast path)."""
    return json.dumps(json.loads(line), separators=(",", ":")).encode()


def test_raw_skip_of_alerts_keeps_mapped_and_escaped_signatures():
    """The raw test passes over alerts naming no catalog service; a mapped or escaped signature is parsed."""
    parser = EveDecoder().parser(LogContext("eve.json", watched={}, relevant_name=_catalog_name))

    def alert(signature: str) -> bytes:
        return _compact(eve("alert", T0, PC, 50040, "188.114.96.1", 443, alert={"signature": signature}))

    assert parser.skip_raw(alert("ET SCAN Nmap Scripting Engine User-Agent Detected"))
    assert parser.skip_raw(alert("ET SCAN Nmap Scripting Engine User-Agent Detected"))  # cached answer
    assert not parser.skip_raw(alert("ET POLICY Observed Mega Upload Domain (mega .nz in TLS SNI)"))
    assert not parser.skip_raw(alert('ET POLICY "quoted" Dropbox'))  # escaped: the full parse decides
    assert not parser.skip_raw(alert("ET POLICY " + "x" * 600))  # longer than the part read: full parse
    assert not parser.skip_raw(b'{"event_type":"alert","alert":{"signature":"unterminated')


def test_raw_skip_of_names_and_flows():
    parser = EveDecoder().parser(LogContext("eve.json", watched={"162.125.1.1": "x"}, relevant_name=_catalog_name))
    tls = _compact(eve("tls", T0, PC, 50000, "198.51.100.7", 443, tls={"sni": "www.example.org"}))
    assert parser.skip_raw(tls)
    assert not parser.skip_raw(tls.replace(b"www.example.org", b"www.dropbox.com"))
    assert not parser.skip_raw(tls.replace(b"www.example.org", b"www.exa\\u006dple.org"))
    assert not parser.skip_raw(b'{"event_type":"dns","dns":{"rrname":"no-end')
    flow = _compact(eve("flow", T0, PC, 50000, "198.51.100.7", 443, flow={"bytes_toserver": 1}))
    assert parser.skip_raw(flow)
    assert not parser.skip_raw(flow.replace(b"198.51.100.7", b"162.125.1.1"))


# Suricata 8 (EVE dns v3, as suricata-verify's dns-eve-v3 expects it): a response carries its questions and answers
V3_RESPONSE = {"version": 3, "type": "response", "tx_id": 0, "id": 15000, "flags": "8180", "qr": True, "rd": True,
               "ra": True, "opcode": 0, "rcode": "NOERROR",
               "queries": [{"rrname": "files.example.net", "rrtype": "A"}],
               "answers": [{"rrname": "files.example.net", "rrtype": "CNAME", "ttl": 300,
                            "rdata": "www.dropbox-dns.com"},
                           {"rrname": "www.dropbox-dns.com", "rrtype": "A", "ttl": 60, "rdata": "162.125.1.1"}],
               "grouped": {"CNAME": ["www.dropbox-dns.com"], "A": ["162.125.1.1"]}}
# the same answer in Suricata 6/7's v2 layout
V2_ANSWER = {"version": 2, "type": "answer", "id": 15000, "flags": "8180", "qr": True, "rd": True, "ra": True,
             "rrname": "files.example.net", "rrtype": "A", "rcode": "NOERROR", "answers": V3_RESPONSE["answers"],
             "grouped": V3_RESPONSE["grouped"]}


@pytest.mark.parametrize("layout", ["v3", "v3-grouped-only", "v2"])
def test_dns_response_answers_and_cname_chain_in_every_layout(layout):
    dns = dict(V2_ANSWER if layout == "v2" else V3_RESPONSE)
    if layout == "v3-grouped-only":
        del dns["answers"]
    seen, bad = observe(eve("dns", T0, RESOLVER, 53, PC, 40000, "UDP", dns=dns))
    assert bad == 0
    (query,) = only(seen, obs.DnsQuery)
    assert (query.client, query.server, query.qname, query.qtype, query.answers) == \
        (PC, RESOLVER, "files.example.net", 1, ("162.125.1.1",))
    (alias,) = only(seen, obs.DnsAlias)
    assert (alias.name, alias.targets) == ("files.example.net", ("www.dropbox-dns.com",))


@pytest.mark.parametrize("layout", ["v3", "v2"])
def test_cname_to_dropbox_meters_the_upload_in_every_layout(tmp_path, layout):
    """A name the catalog does not know, CNAME'd to Dropbox, then 50 MB up: the upload is Dropbox's."""
    dns = V3_RESPONSE if layout == "v3" else V2_ANSWER
    lines = [eve("dns", T0, RESOLVER, 53, PC, 40000, "UDP", dns=dns),
             eve("flow", T0 + 60, PC, 50000, "162.125.1.1", 443, flow_id=2, app_proto="tls", flow={
                 "pkts_toserver": 40000, "pkts_toclient": 9000, "bytes_toserver": 50_000_000,
                 "bytes_toclient": 90_000, "start": "2026-11-29T15:01:00.500000+0000",
                 "end": "2026-11-29T15:03:00.500000+0000", "state": "closed"})]
    findings, inputs, _ = scan(write(tmp_path, "eve.json", "\n".join(lines) + "\n"))
    assert inputs[0].kind == "log:suricata-eve" and inputs[0].skipped == 0
    (dropbox,) = [f for f in by_detector(findings, "filesharing.service") if f.attributes.service == "Dropbox"]
    assert dropbox.attributes.bytes_up == 50_000_000


def test_dhcp_hostname_loses_suricatas_trailing_nul():
    seen, _ = observe(eve("dhcp", T0, "0.0.0.0", 68, "255.255.255.255", 67, "UDP", dhcp={
        "type": "request", "id": 1, "client_mac": "aa:bb:cc:00:11:22", "client_ip": "0.0.0.0",
        "dhcp_type": "request", "hostname": "ACCT-LAPTOP-3\u0000"}))
    (request,) = only(seen, obs.DhcpClientRequest)
    assert request.hostname == "ACCT-LAPTOP-3"
    assert {n.hostname for n in only(seen, obs.HostIdentity)} == {"ACCT-LAPTOP-3"}


@pytest.mark.parametrize(("status", "accepted"), [(200, True), (401, False), (None, None)])
def test_basic_login_in_dumped_request_headers(status, accepted):
    """dump-all-headers: request_headers hold Authorization: Basic (alice:Summer2026!)."""
    http = {"hostname": "intranet.example.lan", "url": "/admin/", "http_method": "GET", "protocol": "HTTP/1.1",
            "length": 0, "request_headers": [{"name": "Host", "value": "intranet.example.lan"},
                                             {"name": "Authorization", "value": "Basic YWxpY2U6U3VtbWVyMjAyNiE="}]}
    if status is not None:
        http["status"] = status
    seen, bad = observe(eve("http", T0, PC, 50001, "10.1.0.20", 80, http=http))
    assert bad == 0
    (login,) = only(seen, obs.Credential)
    assert (login.protocol, login.username, login.server, login.server_port, login.accepted) == \
        ("http-basic", "alice", "10.1.0.20", 80, accepted)
    assert login.secret.captured and login.secret.length == len("Summer2026!")
