"""Zeek logs as versions 4 to 9 write them: FTP sessions, x509.log, file names without a path, zeek-cut output."""

from __future__ import annotations

import json

import pytest
from cred_packets import scan
from scanning import by_detector, decode_lines, only
from zeek_writer import write, zeek_json, zeek_tsv

from detector.logs.base import LogContext
from detector.logs.sensors.certificates import CertificateJoin
from detector.logs.sensors.zeek import ZeekJsonDecoder, ZeekTsvDecoder, path_from_filename
from detector.observations import Credential, FileTransfer, TlsCertificate

T0 = 1795964400.25
PC, FTP_SERVER = "10.1.0.5", "10.1.0.21"
SESSION = {"ts": T0, "uid": "CFtp1", "id.orig_h": PC, "id.orig_p": 50200, "id.resp_h": FTP_SERVER, "id.resp_p": 21}
ENCODINGS = ["tsv", "json"]


def observe(encoding: str, path: str, rows: list[dict], filename: str = "") -> tuple[list, int]:
    text = zeek_tsv(path, rows) if encoding == "tsv" else zeek_json(path, rows)
    decoder = ZeekTsvDecoder() if encoding == "tsv" else ZeekJsonDecoder()
    return decode_lines(decoder, filename or f"{path}.log", text.splitlines())


def ftp_row(at: float, command: str, reply: int, user: str = "bob", password: str = "<hidden>", **more) -> dict:
    return dict(SESSION, ts=T0 + at, user=user, password=password, command=command, reply_code=reply, **more)


# ---------------------------------------------------------------- ftp.log logins


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_login_outcome_comes_from_the_login_reply_not_the_rows_command(encoding):
    """Zeek 9 (FTP::log_at_least_one_command) logs a login-only session by its last command: QUIT 221 says
    nothing about the login; a refused USER/PASS row (logged_commands += USER, PASS) says refused."""
    seen, bad = observe(encoding, "ftp", [ftp_row(0, "QUIT", 221)])
    (login,) = only(seen, Credential)
    assert bad == 0 and (login.username, login.accepted) == ("bob", None)
    refused = dict(SESSION, uid="CFtp2")
    seen, _ = observe(encoding, "ftp", [dict(ftp_row(0, "PASS", 530), **refused), dict(ftp_row(1, "QUIT", 221),
                                                                                     **refused)])
    (login,) = only(seen, Credential)
    assert login.accepted is False


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_accepted_by_230_or_by_a_transfer_whatever_row_comes_first(encoding):
    rows = [ftp_row(0, "PASV", 227), ftp_row(1, "PASS", 230), ftp_row(2, "RETR", 226, arg="ftp://10.1.0.21/./a.txt")]
    for order in (rows, rows[::-1]):
        seen, _ = observe(encoding, "ftp", order)
        (login,) = only(seen, Credential)
        assert login.accepted is True
    seen, _ = observe(encoding, "ftp", [ftp_row(0, "STOR", 226, arg="ftp://10.1.0.21/./b.txt")])
    assert only(seen, Credential)[0].accepted is True
    seen, _ = observe(encoding, "ftp", [ftp_row(0, "PASV", 227)])
    assert only(seen, Credential)[0].accepted is None  # PASV's 227 is no login reply


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_password_on_a_later_row_of_the_session_is_captured(encoding):
    """default_capture_password: the first rows of a session may predate PASS, a later row carries it."""
    other = dict(SESSION, uid="COther", **{"id.orig_h": "10.1.0.6"})
    rows = [ftp_row(0, "PASV", 227, password=None), dict(ftp_row(0.5, "PASV", 227, user="eve"), **other),
            ftp_row(1, "RETR", 226, password="Winter2026", arg="ftp://10.1.0.21/./a.txt")]
    seen, _ = observe(encoding, "ftp", rows)
    logins = {c.username: c for c in only(seen, Credential)}
    assert set(logins) == {"bob", "eve"}
    assert logins["bob"].secret.captured and logins["bob"].secret.length == 10 and logins["bob"].accepted
    assert not logins["eve"].secret.captured


def test_twenty_refused_logins_are_twenty_tries_and_a_brute_force(tmp_path):
    rows = [dict(ftp_row(n, "PASS", 530, user="admin"), uid=f"CTry{n}", **{"id.orig_p": 40000 + n})
            for n in range(20)]
    seen, _ = observe("tsv", "ftp", rows)
    tries = only(seen, Credential)
    assert len(tries) == 20 and all(c.accepted is False for c in tries)
    findings, inputs, _ = scan(write(tmp_path, "ftp.log", zeek_tsv("ftp", rows)))
    assert inputs[0].skipped == 0
    (attack,) = by_detector(findings, "credentials.bruteforce")
    assert PC in attack.hosts or FTP_SERVER in attack.hosts
    assert not [f for f in by_detector(findings, "credentials.cleartext") if f.attributes.protocol == "ftp"]


def test_notice_ftp_bruteforcing_is_a_brute_force(tmp_path):
    """policy/protocols/ftp/detect-bruteforcing: the notice names the attacker and how many logins failed."""
    notice = {"ts": T0, "note": "FTP::Bruteforcing", "msg": f"{PC} had 20 failed logins on 1 FTP server in 0m37s",
              "src": PC, "actions": ["Notice::ACTION_LOG"], "suppress_for": 3600.0}
    other = {"ts": T0, "note": "SSH::Password_Guessing", "msg": "10.1.0.9 appears to be guessing SSH passwords",
             "src": "10.1.0.9"}
    seen, bad = observe("json", "notice", [notice, other])
    tries = only(seen, Credential)
    assert bad == 0 and len(tries) == 20 and {(c.client, c.protocol, c.accepted) for c in tries} == \
        {(PC, "ftp", False)}
    findings, _, _ = scan(write(tmp_path, "notice.log", zeek_tsv("notice", [notice, other])))
    (attack,) = by_detector(findings, "credentials.bruteforce")
    assert PC in attack.hosts


@pytest.mark.parametrize("user", ["anonymous", "ftp", "ftpuser", "guest", "FTPUser"])
def test_zeeks_guest_ids_are_anonymous_logins(user):
    """FTP::guest_ids: Zeek logs their password (an e-mail address) in clear."""
    seen, _ = observe("tsv", "ftp", [ftp_row(0, "RETR", 226, user=user, password="me@example.org",
                                             arg="ftp://10.1.0.21/./pub/a.txt")])
    (login,) = only(seen, Credential)
    assert login.kind == "anonymous" and login.secret.captured


@pytest.mark.parametrize(("argument", "name"), [
    ("ftp://10.1.0.21/./pub/report.pdf", "pub/report.pdf"),  # relative to the login directory
    ("ftp://10.1.0.21/srv/in/report.pdf", "/srv/in/report.pdf"),  # absolute, or after CWD /srv
    ("ftp://[2001:db8::21]/robots.txt", "/robots.txt"),
    ("ftp://10.1.0.21/.", "(name not logged)"),  # cut by FTP::max_arg_length
    ("ftp://10.1.0.21/./", "(name not logged)"),
    ("", "(name not logged)"),
])
def test_transfer_names_are_zeeks_path(argument, name):
    seen, _ = observe("tsv", "ftp", [ftp_row(0, "RETR", 226, arg=argument or None)])
    (transfer,) = only(seen, FileTransfer)
    assert transfer.filename == name


def test_a_refused_transfer_moved_no_file():
    seen, _ = observe("tsv", "ftp", [ftp_row(0, "RETR", 550, arg="ftp://10.1.0.21/./secret.txt")])
    assert not only(seen, FileTransfer)


# ---------------------------------------------------------------- file names and field sets


@pytest.mark.parametrize(("name", "path"), [
    ("ftp.log", "ftp"), ("dns.15:00:00-16:00:00.log.gz", "dns"), ("x509.log", "x509"),
    ("ftp__2026-12-07-10-00-00__2026-12-07-11-00-00__.log", "ftp"), ("ftp.json", "ftp"),
    ("/var/log/zeek/conn_20261207.json", "conn"), ("json_streaming_dns.1.log", "dns"),
    ("known_hosts.log", "known_hosts"),
    ("export.json", ""), ("zeek.log", ""),
])
def test_path_from_file_name(name, path):
    assert path_from_filename(name) == path


FTP_WITH_FUID = [ftp_row(n, "RETR", 226, user="anonymous", password="a@b.c", arg=f"ftp://10.1.0.21/./f{n}.bin",
                         file_size=1000 + n, fuid=f"FF{n}", mime_type="application/octet-stream")
                 for n in range(5)]


@pytest.mark.parametrize("filename", ["ftp__2026-12-07-10-00-00__2026-12-07-11-00-00__.log", "ftp.json",
                                      "export.json"])
def test_ftp_rows_with_fuid_are_ftp_without_path_or_telling_name(filename):
    seen, bad = observe("json", "ftp", FTP_WITH_FUID, filename)
    assert bad == 0
    assert len(only(seen, FileTransfer)) == 5 and len(only(seen, Credential)) == 1


def test_zeek_cut_minimal_header_is_read(tmp_path):
    """``zeek-cut -m``: one line of field names, then the rows, nothing else (and maybe a trailing tab)."""
    rows = "\n".join(f"{T0 + n:.6f}\tCFtp{n}\t{PC}\t{FTP_SERVER}\tbob\t<hidden>\tSTOR\tftp://10.1.0.21/./f{n}\t226\t"
                     for n in range(3))
    text = "ts\tuid\tid.orig_h\tid.resp_h\tuser\tpassword\tcommand\targ\treply_code\t\n" + rows + "\n"
    assert ZeekTsvDecoder().sniff(text.splitlines()) > 0.85
    seen, bad = decode_lines(ZeekTsvDecoder(), "ftp.log", text.splitlines())
    assert bad == 0 and len(only(seen, FileTransfer)) == 3
    assert ZeekTsvDecoder().sniff(["name\tvalue", "a\tb"]) == 0.0  # two words and a tab are not Zeek


# ---------------------------------------------------------------- x509.log (Zeek >= 4.1)

FINGERPRINT = "b706ad178447821cc60aca1e0cd59697333a6178fd1c73f839fbdfb5b76bc507"
SSL_NO_SNI = dict(SESSION, uid="CTls1", **{"id.resp_h": "162.125.1.1", "id.resp_p": 443}, version="TLSv12",
                  cipher="TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", established=True,
                  cert_chain_fps=[FINGERPRINT, "cb2db573610f401e8d602917bbbe6ab4162255f208efad909d5440691aa0203c"])
X509 = {"ts": T0, "fingerprint": FINGERPRINT, "certificate.version": 3,
        "certificate.subject": "CN=*.dropbox.com,O=Dropbox\\, Inc,L=San Francisco,ST=California,C=US",
        "certificate.issuer": "CN=DigiCert TLS RSA SHA256 2020 CA1,O=DigiCert Inc,C=US",
        "san.dns": ["*.dropbox.com", "dropbox.com"], "basic_constraints.ca": False, "host_cert": True}
CA = {"ts": T0, "fingerprint": "cb2db573610f401e8d602917bbbe6ab4162255f208efad909d5440691aa0203c",
      "certificate.subject": "CN=DigiCert TLS RSA SHA256 2020 CA1,O=DigiCert Inc,C=US", "basic_constraints.ca": True}


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("x509_first", [True, False])
def test_session_without_sni_named_by_its_certificate_in_x509_log(encoding, x509_first):
    join = CertificateJoin()
    seen: list = []
    logs = [("x509", [X509, CA]), ("ssl", [SSL_NO_SNI])]
    for path, rows in logs if x509_first else logs[::-1]:
        text = zeek_tsv(path, rows) if encoding == "tsv" else zeek_json(path, rows)
        parser = (ZeekTsvDecoder() if encoding == "tsv" else ZeekJsonDecoder()).parser(
            LogContext(f"{path}.log", certificates=join))
        assert all(parser.parse(line, "x", seen.append) for line in text.splitlines())
        parser.finish(seen.append)
    join.finish(seen.append)
    (certificate,) = only(seen, TlsCertificate)
    assert (certificate.client, certificate.server, certificate.server_port, certificate.names) == \
        (PC, "162.125.1.1", 443, ("*.dropbox.com",))


def test_zeek_4_file_ids_join_too():
    """Zeek 4.1-5.x: ssl.log cert_chain_fuids, x509.log id."""
    ssl = {k: v for k, v in SSL_NO_SNI.items() if k != "cert_chain_fps"}
    ssl["cert_chain_fuids"] = ["FkGZ2x3"]
    x509 = {k: v for k, v in X509.items() if k != "fingerprint"}
    x509["id"] = "FkGZ2x3"
    lines = [json.dumps(dict(x509, _path="x509")), json.dumps(dict(ssl, _path="ssl"))]
    seen, bad = decode_lines(ZeekJsonDecoder(), "zeek-stream.log", lines)
    assert bad == 0 and only(seen, TlsCertificate)[0].names == ("*.dropbox.com",)


@pytest.mark.parametrize("order", ["ssl-first", "x509-first"])
def test_scan_joins_across_files_in_any_order(tmp_path, order):
    ssl = write(tmp_path, "a/ssl.log", zeek_tsv("ssl", [SSL_NO_SNI]))
    x509 = write(tmp_path, "b/x509.log", zeek_tsv("x509", [X509, CA]))
    ends = {k: v for k, v in SSL_NO_SNI.items() if k in SESSION}
    conn = write(tmp_path, "c/conn.log", zeek_tsv("conn", [dict(ends, proto="tcp", orig_bytes=30_000_000,
                                                               resp_bytes=1000, duration=20.0, conn_state="SF")]))
    files = [ssl, x509, conn] if order == "ssl-first" else [x509, conn, ssl]
    findings, inputs, _ = scan(*files)
    assert all(i.skipped == 0 for i in inputs)
    services = {f.attributes.service for f in by_detector(findings, "filesharing.service")}
    assert "Dropbox" in services


@pytest.mark.parametrize(("path", "rows"), [("x509", [X509, CA]), ("notice", [
    {"ts": T0, "note": "FTP::Bruteforcing", "msg": f"{PC} had 20 failed logins on 1 FTP server in 0m37s", "src": PC}])])
def test_json_logs_without_uid_are_zeek(tmp_path, path, rows):
    """x509.log has no uid at all, and a notice often none: still recognised as Zeek JSON."""
    _, inputs, _ = scan(write(tmp_path, f"{path}.json", zeek_json(path, rows)))
    assert inputs[0].kind == "log:zeek-json" and inputs[0].skipped == 0
