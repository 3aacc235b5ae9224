"""Logs as they are handed over: server login lines (vsftpd, ProFTPD, Dovecot, Postfix SASL) and the
Microsoft 365 message trace from the admin center and from Exchange Online PowerShell."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from cred_packets import scan as scan_files  # rule pack and catalog parsed once per session
from scanning import by_detector

from detector.detectors import directory_of
from detector.logs.base import LogContext
from detector.logs.maillog import MessageTraceParser, m365_time
from detector.observations import FileTransfer

MAIL_LOG = """\
Mar  3 13:00:00 mail dovecot: imap-login: Login: user=<anna>, method=PLAIN, rip=10.0.0.23, lip=10.0.0.2, mpid=4242, session=<abc>
Mar  3 13:00:05 mail dovecot: pop3-login: Login: user=<bob>, method=PLAIN, rip=10.0.0.31, lip=10.0.0.2, mpid=4243, TLS, session=<abd>
Mar  3 13:00:09 mail dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<carol>, method=PLAIN, rip=10.0.0.40, lip=10.0.0.2, session=<abe>
Mar  3 13:00:10 mail dovecot: imap-login: Disconnected: Inactivity (no auth attempts in 180 secs): user=<>, rip=10.0.0.41, lip=10.0.0.2, session=<abf>
Mar  3 13:00:11 mail dovecot: imap-login: Login: user=<dave>, method=CRAM-MD5, rip=10.0.0.42, lip=10.0.0.2, mpid=4244, session=<abg>
Mar  3 13:01:00 mail postfix/submission/smtpd[2001]: connect from laptop[10.0.0.23]
Mar  3 13:01:01 mail postfix/submission/smtpd[2001]: 4C1D2E3F4A: client=laptop[10.0.0.23], sasl_method=PLAIN, sasl_username=anna@corp.example
Mar  3 13:01:02 mail postfix/qmgr[2003]: 4C1D2E3F4A: from=<anna@corp.example>, size=2048, nrcpt=1 (queue active)
Mar  3 13:01:03 mail postfix/smtp[2004]: 4C1D2E3F4A: to=<x@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.1]:25, delay=1, status=sent (250 OK)
Mar  3 13:01:03 mail postfix/qmgr[2003]: 4C1D2E3F4A: removed
Mar  3 13:02:00 mail postfix/smtpd[2010]: Anonymous TLS connection established from unknown[10.0.0.31]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
Mar  3 13:02:01 mail postfix/smtpd[2010]: 5D2E3F4A5B: client=unknown[10.0.0.31], sasl_method=LOGIN, sasl_username=bob
Mar  3 13:02:10 mail postfix/smtpd[2011]: warning: unknown[203.0.113.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=admin
"""  # noqa: E501

VSFTPD_LOG = """\
Tue Mar  3 13:00:00 2026 [pid 1234] CONNECT: Client "10.0.0.23"
Tue Mar  3 13:00:01 2026 [pid 1233] [anna] OK LOGIN: Client "10.0.0.23"
Tue Mar  3 13:00:09 2026 [pid 1236] [bob] FAIL LOGIN: Client "::ffff:10.0.0.31"
Tue Mar  3 13:00:10 2026 [pid 1237] [ftp] OK LOGIN: Client "10.0.0.50", anon password "?"
Tue Mar  3 13:00:11 2026 [pid 1233] [anna] OK UPLOAD: Client "10.0.0.23", "/home/anna/q3.xlsx", 52311 bytes, 1200.00Kbyte/sec
"""  # noqa: E501

SYSLOG = """\
Mar  3 13:00:00 files proftpd[7788]: files.corp.example (10.0.0.23[10.0.0.23]) - FTP session opened.
Mar  3 13:00:01 files proftpd[7788]: files.corp.example (10.0.0.23[10.0.0.23]) - USER anna: Login successful.
Mar  3 13:00:05 files proftpd[7790]: files.corp.example (10.0.0.31[10.0.0.31]) - USER bob (Login failed): Incorrect password
Mar  3 13:00:06 files CRON[7791]: (root) CMD (run-parts /etc/cron.hourly)
Mar  3 13:00:07 files vsftpd[7792]: [carol] OK LOGIN: Client "10.0.0.40"
"""  # noqa: E501


def logins(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    findings, inputs, scan = scan_files(path)
    found = {(f.attributes.protocol, f.attributes.username, f.attributes.client, f.attributes.server_port,
              f.attributes.accepted): f for f in by_detector(findings, "credentials.cleartext")}
    return found, inputs[0], directory_of(scan.detectors), findings


def test_dovecot_and_postfix_sasl_clear_logins_from_the_server_side(tmp_path):
    found, record, directory, _ = logins(tmp_path, "mail.log", MAIL_LOG)
    assert set(found) == {
        ("imap", "anna", "10.0.0.23", 143, True),  # no TLS flag: clear
        ("imap", "carol", "10.0.0.40", 143, False),  # a failed attempt still sent the password
        ("smtp", "anna@corp.example", "10.0.0.23", 587, True),  # submission without STARTTLS
        ("smtp", "admin", "203.0.113.9", 25, False),
    }  # bob used TLS on both; dave used CRAM-MD5: no clear password
    anna = found[("imap", "anna", "10.0.0.23", 143, True)]
    assert anna.attributes.secret_mask == "(not captured)" and anna.attributes.secret_captured is False
    assert "dovecot log" in anna.attributes.note and "(seen in a log, password not captured)" in anna.title
    assert record.skipped == 0
    assert directory.describe("10.0.0.31").user == "bob"  # who, even when encrypted
    assert not [f for f in by_detector(_all(tmp_path), "credentials.reuse")]


def _all(tmp_path):
    path = tmp_path / "both.log"
    path.write_text(MAIL_LOG + VSFTPD_LOG.replace("Tue Mar  3", "Mar  3").replace(" 2026 [pid", " srv vsftpd[1]: [pid"),
                    encoding="utf-8")
    return scan_files(path)[0]


def test_vsftpd_own_log_logins_and_uploads(tmp_path):
    found, record, directory, findings = logins(tmp_path, "vsftpd.log", VSFTPD_LOG)
    assert record.kind == "log:server-logins"
    assert {k[:5] for k in found} == {("ftp", "anna", "10.0.0.23", 21, True), ("ftp", "bob", "10.0.0.31", 21, False),
                                      ("ftp", "ftp", "10.0.0.50", 21, True)}
    assert found[("ftp", "ftp", "10.0.0.50", 21, True)].attributes.kind == "anonymous"
    assert "does not say whether TLS" in found[("ftp", "anna", "10.0.0.23", 21, True)].attributes.note
    uploads = [f for f in findings if f.category == "file-sharing"]
    assert uploads and "/home/anna/q3.xlsx" in uploads[0].title
    assert directory.describe("10.0.0.23").user == "anna"


def test_proftpd_and_vsftpd_in_syslog_name_the_server_host(tmp_path):
    found, record, _, _ = logins(tmp_path, "syslog", SYSLOG)
    assert set(found) == {("ftp", "anna", "10.0.0.23", 21, True), ("ftp", "bob", "10.0.0.31", 21, False),
                          ("ftp", "carol", "10.0.0.40", 21, True)}
    assert {f.attributes.server for f in found.values()} == {"files"}
    assert record.skipped == 0


def test_server_log_without_login_lines_is_not_claimed(tmp_path, corpus):
    for name in ("logs/loghub_Linux_2k.log", "logs/loghub_OpenSSH_2k.log"):
        findings, _, _ = scan_files(corpus / name)
        assert not by_detector(findings, "credentials.cleartext")


# ---------------------------------------------------------------- Microsoft 365 message trace


POWERSHELL = (
    "\ufeff#TYPE Deserialized.Microsoft.Exchange.Management.FfoReporting.Data.MessageTrace\r\n"
    '"PSComputerName","RunspaceId","PSShowComputerName","Organization","MessageId","Received","SenderAddress",'
    '"RecipientAddress","Subject","Status","ToIP","FromIP","Size","MessageTraceId","StartDate","EndDate","Index"\r\n'
    '"outlook.office365.com","9a1b","False","contoso.onmicrosoft.com","<m1@contoso.com>","3/3/2026 1:00:00 PM",'
    '"carol@contoso.com","carol.home@outlook.com","Q3, final ""numbers""","Delivered","","10.0.0.40","26214400",'
    '"1f2e","3/1/2026 12:00:00 AM","3/4/2026 12:00:00 AM","0"\r\n'
    '"outlook.office365.com","9a1b","False","contoso.onmicrosoft.com","<m2@contoso.com>","3/13/2026 9:05:00 AM",'
    '"carol@contoso.com","eve@gmail.com","blocked","Failed","","10.0.0.40","26214400","1f2f","","","1"\r\n'
)

ADMIN_CENTER = (
    "\ufeffDate (UTC),Sender,Recipient,Subject,Status,Message ID,Message trace ID,Size\n"
    '13/03/2026 14:30:00,carol@contoso.com,carol.home@outlook.com,"Deck, v2",Delivered,<m3@contoso.com>,1f30,'
    "31457280\n"
    "03/03/2026 08:00:00,carol@contoso.com,dave@contoso.com,internal,Delivered,<m4@contoso.com>,1f31,1024\n"
)

HISTORICAL = (
    "origin_timestamp_utc,sender_address,recipient_status,message_subject,total_bytes,message_id,"
    "network_message_id,original_client_ip,directionality,connector_id,delivery_priority\n"
    '2026-03-03T12:00:00Z,carol@contoso.com,x@gmail.com##Receive; Fail,"spam",100,<m6@c.com>,6b1f,10.0.0.40,,,\n'
    '2026-03-03T13:00:00.0000000Z,carol@contoso.com,"carol.home@outlook.com##Receive, Send;'
    'x@gmail.com##Receive, Fail","Q3",26214400,<m5@contoso.com>,6b1e,10.0.0.40,Originating,,Normal\n'
)


def trace(text: str) -> list[FileTransfer]:
    parser = MessageTraceParser()
    out: list = []
    for number, line in enumerate(text.splitlines(), 1):
        assert parser.parse(line.rstrip("\r"), f"trace.csv:line {number}", out.append) is True, line
    return out


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=timezone.utc).timestamp()


def test_powershell_export_with_bom_type_line_quotes_and_us_dates():
    rows = trace(POWERSHELL)
    assert len(rows) == 1  # the failed message moved nothing
    row = rows[0]
    assert row.ts == utc(2026, 3, 3, 13, 0)
    assert (row.sender, row.recipients, row.size, row.client) == (
        "carol@contoso.com", ("carol.home@outlook.com",), 26214400, "10.0.0.40")
    assert row.filename == "message 'Q3, final \"numbers\"'"


def test_admin_center_download_with_day_first_dates():
    rows = trace(ADMIN_CENTER)
    assert [r.ts for r in rows] == [utc(2026, 3, 13, 14, 30), utc(2026, 3, 3, 8, 0)]  # 13/03 proves day first
    assert rows[0].size == 31457280 and rows[0].recipients == ("carol.home@outlook.com",)


def test_historical_search_report_recipient_status():
    rows = trace(HISTORICAL)
    assert len(rows) == 1
    assert rows[0].recipients == ("carol.home@outlook.com",)  # the failed recipient received nothing
    assert rows[0].ts == utc(2026, 3, 3, 13, 0) and rows[0].client == "10.0.0.40"


@pytest.mark.parametrize("text, expected", [
    ("3/3/2026 1:00:00 PM", utc(2026, 3, 3, 13, 0)),
    ("12/31/2026 11:59:59 PM", utc(2026, 12, 31, 23, 59, 59)),
    ("3/3/2026 12:05:00 AM", utc(2026, 3, 3, 0, 5)),
    ("03.04.2026 13:00:00", utc(2026, 4, 3, 13, 0)),
    ("2026-03-03 13:00:00", utc(2026, 3, 3, 13, 0)),
    ("2026-03-03T13:00:00.1234567Z", utc(2026, 3, 3, 13, 0)),
    ("2026-03-03T15:00:00+02:00", utc(2026, 3, 3, 13, 0)),
    ("not a date", None),
    ("13/13/2026 10:00:00", None),
])
def test_locale_dates(text, expected):
    assert m365_time(text)[0] == expected


def test_message_trace_files_are_recognised_end_to_end(tmp_path):
    for name, text in (("ps.csv", POWERSHELL), ("eac.csv", ADMIN_CENTER), ("hist.csv", HISTORICAL)):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        _, inputs, _ = scan_files(path)
        assert inputs[0].kind == "log:m365-message-trace", name
        assert inputs[0].skipped == 0, name


def test_a_csv_with_date_from_to_columns_is_not_a_message_trace(tmp_path):
    path = tmp_path / "calendar.csv"
    path.write_text("Date,From,To,Notes\n2026-03-03 10:00:00,anna@x.example,bob@x.example,lunch\n")
    _, inputs, _ = scan_files(path)
    assert inputs[0].kind != "log:m365-message-trace"


def test_log_context_is_only_used_for_the_clock():
    assert LogContext("x").path == "x"
