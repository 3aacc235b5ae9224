"""One office's traffic as a capture, as Zeek TSV, as Zeek JSON and as Suricata EVE: the same findings.

The capture is built with scapy; the logs are written by hand to the official
field lists, with what Zeek and Suricata log for that traffic (Zeek hides the
FTP password; EVE counts flow bytes with headers). Services, the hosts using
them, files sent and clear-text logins (protocol, user, server) must agree;
upload volume agrees exactly between the capture and Zeek's conn.log.
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import pytest
from cred_packets import scan
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from zeek_writer import eve, write, zeek_json, zeek_tsv

from detector.observations import DhcpClientRequest
from detector.samples import client_hello, dns_exchange, tcp_session, write_pcap

T0 = 1795964400.0
PC, RESOLVER = "10.1.0.5", "10.1.0.1"
DROPBOX, WETRANSFER, FTP_SERVER, MX = "162.125.1.1", "52.1.1.1", "198.51.100.7", "203.0.113.25"
MAC, HOSTNAME = "aa:bb:cc:00:11:22", "ACCT-LAPTOP-3"
HELLO = client_hello("www.dropbox.com")
UPLOAD = b"".join(b"\x17\x03\x03" + struct.pack("!H", 16000) + bytes(16000) for _ in range(12))
SERVER_REPLY = b"\x16\x03\x03\x00\x2a" + bytes(42) + b"\x17\x03\x03\x01\x00" + bytes(256)
BODY = b"x" * 3000
ATTACHMENT = b"%PDF-1.4 contract " * 40


def mail() -> bytes:
    encoded = base64.encodebytes(ATTACHMENT).replace(b"\n", b"\r\n")
    return (b"From: dave@example.com\r\nTo: dave.home@gmail.com\r\nSubject: contract\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee att\r\n'
            b'--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="contract.pdf"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n") + encoded + b"--B--\r\n"


def capture(folder: Path) -> Path:
    packets = dns_exchange(PC, RESOLVER, "www.dropbox.com", [DROPBOX], T0)
    packets += tcp_session(PC, DROPBOX, 50000, 443, [(True, HELLO), (False, SERVER_REPLY), (True, UPLOAD)], T0 + 1)
    post = (b"POST /api/upload HTTP/1.1\r\nHost: wetransfer.com\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: 3000\r\n\r\n" + BODY)
    packets += tcp_session(PC, WETRANSFER, 50001, 80, [(True, post), (False, b"HTTP/1.1 200 OK\r\n"
                                                                         b"Content-Length: 2\r\n\r\nok")], T0 + 10)
    ftp = [(False, b"220 NAS FTP server ready\r\n"), (True, b"USER bob\r\n"), (False, b"331 Password required\r\n"),
           (True, b"PASS Hunter2x\r\n"), (False, b"230 Login successful\r\n"), (True, b"PASV\r\n"),
           (False, b"227 Entering Passive Mode (198,51,100,7,195,80)\r\n"), (True, b"STOR payroll.xlsx\r\n"),
           (False, b"150 Ok to send data\r\n"), (False, b"226 Transfer complete\r\n"), (True, b"QUIT\r\n"),
           (False, b"221 Bye\r\n")]
    packets += tcp_session(PC, FTP_SERVER, 50002, 21, ftp, T0 + 20)
    smtp = [(False, b"220 mx ESMTP\r\n"), (True, b"EHLO pc1\r\n"), (False, b"250 mx\r\n"),
            (True, b"MAIL FROM:<dave@example.com>\r\n"), (False, b"250 ok\r\n"),
            (True, b"RCPT TO:<dave.home@gmail.com>\r\n"), (False, b"250 ok\r\n"), (True, b"DATA\r\n"),
            (False, b"354 go\r\n"), (True, mail() + b".\r\n"), (False, b"250 queued\r\n"), (True, b"QUIT\r\n"),
            (False, b"221 bye\r\n")]
    packets += tcp_session(PC, MX, 50003, 25, smtp, T0 + 30, mss=700)
    discover = Ether(src=MAC, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") / \
        UDP(sport=68, dport=67) / BOOTP(chaddr=bytes.fromhex(MAC.replace(":", "")), xid=7) / \
        DHCP(options=[("message-type", "discover"), ("hostname", HOSTNAME), "end"])
    discover.time = T0 - 5
    return write_pcap(folder / "office.pcap", sorted([discover, *packets], key=lambda p: float(p.time)))


def ends(client_port: int, server: str, server_port: int, ts: float, uid: str) -> dict:
    return {"ts": ts, "uid": uid, "id.orig_h": PC, "id.orig_p": client_port, "id.resp_h": server,
            "id.resp_p": server_port}


def zeek_rows() -> dict[str, list[dict]]:
    """What Zeek 6 logs for the capture above (default scripts: passwords hidden)."""
    return {
        "dns": [dict(ends(53000, RESOLVER, 53, T0, "Cd1"), proto="udp", trans_id=53000, rtt=0.02,
                     query="www.dropbox.com", qclass=1, qclass_name="C_INTERNET", qtype=1, qtype_name="A", rcode=0,
                     rcode_name="NOERROR", AA=False, TC=False, RD=True, RA=True, Z=0, answers=[DROPBOX],
                     TTLs=[60.0], rejected=False)],
        "ssl": [dict(ends(50000, DROPBOX, 443, T0 + 1.04, "Cs1"), version="TLSv13", server_name="www.dropbox.com",
                     established=False, ssl_history="C")],
        "http": [dict(ends(50001, WETRANSFER, 80, T0 + 10.04, "Ch1"), trans_depth=1, method="POST",
                      host="wetransfer.com", uri="/api/upload", version="1.1", request_body_len=3000,
                      response_body_len=2, status_code=200, status_msg="OK", tags=[])],
        "ftp": [dict(ends(50002, FTP_SERVER, 21, T0 + 20.1, "Cf1"), user="bob", password="<hidden>",
                     command="STOR", arg=f"ftp://{FTP_SERVER}/./payroll.xlsx", reply_code=150,
                     reply_msg="Ok to send data", **{"data_channel.passive": True, "data_channel.orig_h": PC,
                                                     "data_channel.resp_h": FTP_SERVER, "data_channel.resp_p": 50000})],
        "smtp": [dict(ends(50003, MX, 25, T0 + 30.1, "Cm1"), trans_depth=1, helo="pc1",
                      mailfrom="dave@example.com", rcptto=["dave.home@gmail.com"], **{"from": "dave@example.com"},
                      to=["dave.home@gmail.com"], subject="contract", last_reply="250 queued",
                      path=[MX, PC], tls=False, fuids=["Fm1", "Fm2"], is_webmail=False)],
        "files": [{"ts": T0 + 30.1, "fuid": "Fm2", "uid": "Cm1", "id.orig_h": PC, "id.orig_p": 50003,
                   "id.resp_h": MX, "id.resp_p": 25, "source": "SMTP", "depth": 4, "analyzers": [],
                   "mime_type": "application/pdf", "filename": "contract.pdf", "duration": 0.0, "is_orig": True,
                   "seen_bytes": len(ATTACHMENT), "total_bytes": len(ATTACHMENT), "missing_bytes": 0,
                   "overflow_bytes": 0, "timedout": False}],
        "dhcp": [{"ts": T0 - 5, "uids": ["Cq1"], "mac": MAC, "host_name": HOSTNAME, "msg_types": ["DISCOVER"],
                  "duration": 0.0}],
        "conn": [dict(ends(50000, DROPBOX, 443, T0 + 1.0, "Cs1"), proto="tcp", service="ssl", duration=0.2,
                      orig_bytes=len(HELLO) + len(UPLOAD), resp_bytes=len(SERVER_REPLY), conn_state="SF",
                      orig_pkts=150, resp_pkts=5)],
    }


def zeek_logs(folder: Path, encoding: str) -> Path:
    for path, rows in zeek_rows().items():
        text = zeek_tsv(path, rows) if encoding == "tsv" else zeek_json(path, rows)
        write(folder, f"{path}.log", text)
    return folder


def eve_log(folder: Path) -> Path:
    """What Suricata 7 logs for the capture (dns v2, dump-all-headers on for the request length)."""
    mail_meta = {"from": "dave@example.com", "to": ["dave.home@gmail.com"], "attachment": ["contract.pdf"],
                 "status": "PARSE_DONE"}
    smtp = {"helo": "pc1", "mail_from": "<dave@example.com>", "rcpt_to": ["<dave.home@gmail.com>"]}
    lines = [
        eve("dhcp", T0 - 5, "0.0.0.0", 68, "255.255.255.255", 67, "UDP", flow_id=9, dhcp={
            "type": "request", "id": 7, "client_mac": MAC, "assigned_ip": "0.0.0.0", "client_ip": "0.0.0.0",
            "dhcp_type": "discover", "hostname": HOSTNAME}),
        eve("dns", T0, PC, 53000, RESOLVER, 53, "UDP", flow_id=1, dns={
            "version": 2, "type": "query", "id": 53000, "rrname": "www.dropbox.com", "rrtype": "A", "tx_id": 0}),
        eve("dns", T0 + 0.02, RESOLVER, 53, PC, 53000, "UDP", flow_id=1, dns={
            "version": 2, "type": "answer", "id": 53000, "flags": "8180", "qr": True, "rrname": "www.dropbox.com",
            "rrtype": "A", "rcode": "NOERROR", "answers": [{"rrname": "www.dropbox.com", "rrtype": "A", "ttl": 60,
                                                            "rdata": DROPBOX}], "grouped": {"A": [DROPBOX]}}),
        eve("tls", T0 + 1.04, PC, 50000, DROPBOX, 443, flow_id=2, tls={"sni": "www.dropbox.com",
                                                                       "version": "UNDETERMINED"}),
        eve("http", T0 + 10.04, PC, 50001, WETRANSFER, 80, flow_id=3, http={
            "hostname": "wetransfer.com", "url": "/api/upload", "http_method": "POST", "protocol": "HTTP/1.1",
            "status": 200, "length": 2, "request_headers": [{"name": "Host", "value": "wetransfer.com"},
                                                            {"name": "Content-Length", "value": "3000"}]}),
        eve("ftp", T0 + 20.04, PC, 50002, FTP_SERVER, 21, flow_id=4, ftp={
            "command": "USER", "command_data": "bob", "reply": ["Password required"], "completion_code": ["331"]}),
        eve("ftp", T0 + 20.06, PC, 50002, FTP_SERVER, 21, flow_id=4, ftp={
            "command": "PASS", "command_data": "Hunter2x", "reply": ["Login successful"],
            "completion_code": ["230"]}),
        eve("ftp", T0 + 20.1, PC, 50002, FTP_SERVER, 21, flow_id=4, ftp={
            "command": "STOR", "command_data": "payroll.xlsx", "reply": ["Ok to send data", "Transfer complete"],
            "completion_code": ["150", "226"]}),
        eve("fileinfo", T0 + 30.1, PC, 50003, MX, 25, flow_id=5, app_proto="smtp", smtp=smtp, email=mail_meta,
            fileinfo={"filename": "contract.pdf", "state": "CLOSED", "stored": False, "size": len(ATTACHMENT),
                      "tx_id": 0}),
        eve("smtp", T0 + 30.1, PC, 50003, MX, 25, flow_id=5, smtp=smtp, email=mail_meta),
        eve("flow", T0 + 1.3, PC, 50000, DROPBOX, 443, flow_id=2, app_proto="tls", flow={
            "pkts_toserver": 150, "pkts_toclient": 5, "bytes_toserver": len(HELLO) + len(UPLOAD) + 150 * 54,
            "bytes_toclient": len(SERVER_REPLY) + 5 * 54, "start": "2026-11-29T15:00:01.000000+0000",
            "end": "2026-11-29T15:00:01.300000+0000", "state": "closed"}),
    ]
    write(folder, "eve.json", "\n".join(lines) + "\n")
    return folder


def summary(findings) -> dict:
    services = {f.attributes.service: sorted(f.hosts) for f in findings if f.detector == "filesharing.service"}
    files = sorted((f.attributes.protocol, f.attributes.filename, f.attributes.client, f.attributes.server)
                   for f in findings if f.detector == "filesharing.attachment")
    logins = sorted((f.attributes.protocol, f.attributes.username, f.attributes.server)
                    for f in findings if f.detector == "credentials.cleartext")
    return {"services": services, "files": files, "logins": logins}


def scan_folder(folder: Path):
    from detector.inputs import discover

    return scan(*discover([str(folder)]))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("equivalence")
    return {
        "capture": scan(capture(root)),
        "zeek-tsv": scan_folder(zeek_logs(root / "zeek-tsv", "tsv")),
        "zeek-json": scan_folder(zeek_logs(root / "zeek-json", "json")),
        "eve": scan_folder(eve_log(root / "eve")),
    }


def test_the_capture_itself_has_every_finding(results):
    findings, _, _ = results["capture"]
    assert summary(findings) == {
        "services": {"Dropbox": [PC], "WeTransfer": [PC]},
        "files": [("ftp-stor", "payroll.xlsx", PC, FTP_SERVER), ("smtp-attachment", "contract.pdf", PC, MX)],
        "logins": [("ftp", "bob", FTP_SERVER)],
    }


@pytest.mark.parametrize("source", ["zeek-tsv", "zeek-json", "eve"])
def test_logs_give_the_same_services_files_and_logins(results, source):
    expected = summary(results["capture"][0])
    findings, inputs, _ = results[source]
    assert all(not i.warnings for i in inputs), [i.warnings for i in inputs]
    assert summary(findings) == expected


@pytest.mark.parametrize("source", ["zeek-tsv", "zeek-json", "eve"])
def test_volumes_where_the_format_carries_them(results, source):
    def dropbox(findings):
        (service,) = [f for f in findings if f.detector == "filesharing.service" and f.attributes.service ==
                      "Dropbox"]
        return service.attributes

    captured = dropbox(results["capture"][0])
    logged = dropbox(results[source][0])
    assert captured.bytes_up == len(HELLO) + len(UPLOAD)
    if source == "eve":  # EVE counts whole packets, headers included
        assert logged.bytes_up == captured.bytes_up + 150 * 54
    else:
        assert (logged.bytes_up, logged.bytes_down) == (captured.bytes_up, captured.bytes_down)
    wetransfer = [f for f in results[source][0] if f.attributes.as_dict().get("service") == "WeTransfer"][0]
    assert wetransfer.attributes.upload_requests == 1


@pytest.mark.parametrize("source", ["capture", "zeek-tsv", "zeek-json", "eve"])
def test_dhcp_request_seen_in_every_source(results, source):
    _, _, pipeline = results[source]
    assert pipeline.router.counts.get(DhcpClientRequest.__name__) == 1


def test_only_the_capture_and_eve_hold_the_ftp_password(results):
    def login(source):
        (finding,) = [f for f in results[source][0] if f.detector == "credentials.cleartext"]
        return finding.attributes

    assert login("capture").secret_captured and login("eve").secret_captured
    assert login("capture").secret_fingerprint == login("eve").secret_fingerprint
    zeek = login("zeek-tsv")
    assert (zeek.secret_captured, zeek.secret_mask) == (False, "(not captured)")
