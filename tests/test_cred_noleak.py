"""No clear secret anywhere: every protocol fixture and message file through the CLI, then grep
the JSON, the HTML report, the console output and the SQLite dump for each clear password."""

from __future__ import annotations

import json
import sqlite3

from click.testing import CliRunner
from cred_packets import BUILDERS, CLIENT, SERVER, T0, ftp_exchange, smtp_mail, write_fixture

from detector.cli import main
from detector.samples import tcp_session, write_pcap

DOCUMENT_SECRETS = ["Qwer!y2026", "Vpn!2026ok", "Dr&ucker9", "Sr!v3r-42", "Konto!2026x"]


def write_documents(folder) -> None:
    (folder / "handover.eml").write_bytes(smtp_mail("boss@example.com", ["new@example.com"]))
    (folder / "box.mbox").write_bytes(b"From x@y Mon Nov  2 09:00:00 2026\nFrom: a@x.org\nTo: b@x.org\n"
                                      b"Subject: s\n\npw is Qwer!y2026\n")
    (folder / "slack.json").write_text(json.dumps([{"type": "message", "user": "U2", "ts": "1793610060.000200",
                                                    "text": "the vpn pw is Vpn!2026ok"}]))
    (folder / "teams.json").write_text(json.dumps({"value": [{
        "createdDateTime": "2026-11-02T09:00:00Z", "from": {"user": {"displayName": "Cleo"}},
        "body": {"contentType": "html", "content": "<p>Kennwort: Dr&amp;ucker9</p>"}}]}))
    (folder / "chat.log").write_text("[09:00] <ann> morning\n[09:01] <ben> root pw is Sr!v3r-42\n")


def test_no_clear_secret_in_any_output(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    secrets: list[str] = list(DOCUMENT_SECRETS)
    for name in BUILDERS:
        _, clear = write_fixture(inputs, name)
        secrets += clear
    write_documents(inputs)
    out_json, report, db = tmp_path / "scan.json", tmp_path / "report.html", tmp_path / "scan.db"
    result = CliRunner().invoke(main, ["scan", str(inputs), "--json", str(out_json), "--report", str(report),
                                       "--db", str(db), "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    document = json.loads(out_json.read_text())
    kinds = {f["rule"].split("-")[0] for f in document["findings"] if f["category"] == "plaintext-credentials"}
    assert kinds  # the scan found credentials at all
    protocols = {f["attributes"].get("protocol") for f in document["findings"]}
    assert {"telnet", "pop3", "imap", "smtp", "snmp", "ldap", "redis", "irc", "xmpp", "postgresql", "mysql", "rlogin",
            "http-basic", "http-form"} <= protocols
    channels = {f["attributes"].get("channel") for f in document["findings"]}
    assert {"smtp", "pop3", "imap", "irc", "xmpp", "msn", "mailbox", "slack", "teams", "chat-log"} <= channels
    outputs = {
        "json": out_json.read_text(),
        "report": report.read_text(),
        "console": result.output,
        "db": "\n".join(sqlite3.connect(db).iterdump()),
    }
    for where, text in outputs.items():
        leaked = [s for s in secrets if s in text]
        assert leaked == [], f"clear secrets in {where}"


def test_a_password_equal_to_its_user_name_is_masked_as_the_user_name_too(tmp_path):
    same = "Sam3Pass!x"
    capture = write_pcap(tmp_path / "ftp.pcap", tcp_session(CLIENT, SERVER, 50126, 21, ftp_exchange(same, same), T0))
    out_json, report, db = tmp_path / "scan.json", tmp_path / "report.html", tmp_path / "scan.db"
    runner = CliRunner()
    result = runner.invoke(main, ["scan", str(capture), "--json", str(out_json), "--report", str(report),
                                  "--db", str(db)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [login] = [f for f in json.loads(out_json.read_text())["findings"] if f["attributes"].get("protocol") == "ftp"]
    mask = login["attributes"]["secret_mask"]
    assert login["attributes"]["username"] == mask and mask in login["title"]
    assert "password equals the user name" in login["attributes"]["note"]
    outputs = {
        "json": out_json.read_text(), "report": report.read_text(), "console": result.output,
        "db": "\n".join(sqlite3.connect(db).iterdump()),
        "csv": runner.invoke(main, ["export", "--db", str(db), "--format", "csv"]).output,
    }
    for where, text in outputs.items():
        assert same not in text, f"the clear password (as the user name) in {where}"


def test_a_password_typed_into_the_user_or_bind_name_is_replaced_everywhere(tmp_path):
    """A DN carrying the password, or a user field holding it, reaches findings and the device directory only
    with the password replaced (the device directory shows no user name at all for such a bind)."""
    from cred_packets import ldap_bind, ldap_bind_response

    secret = "Wint3r!Key"
    ldap = [(True, ldap_bind(1, f"cn=svc,ou={secret},dc=office,dc=lan", secret)), (False, ldap_bind_response(1, 0)),
            (True, ldap_bind(2, secret, secret)), (False, ldap_bind_response(2, 49))]
    imap = [(False, b"* OK IMAP4rev1 ready\r\n"), (True, f'a1 LOGIN "anna {secret}" {secret}\r\n'.encode()),
            (False, b"a1 NO [AUTHENTICATIONFAILED] bad\r\n")]
    packets = tcp_session(CLIENT, SERVER, 50200, 389, ldap, T0) + tcp_session(CLIENT, SERVER, 50201, 143, imap, T0 + 5)
    capture = write_pcap(tmp_path / "typed.pcap", packets)
    out_json, report, db = tmp_path / "scan.json", tmp_path / "report.html", tmp_path / "scan.db"
    runner = CliRunner()
    result = runner.invoke(main, ["scan", str(capture), "--json", str(out_json), "--report", str(report),
                                  "--db", str(db)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    document = json.loads(out_json.read_text())
    users = {f["attributes"]["protocol"]: f["attributes"]["username"] for f in document["findings"]
             if f["category"] == "plaintext-credentials" and f["detector"] == "credentials.cleartext"
             and f["attributes"]["username"] != f["attributes"]["secret_mask"]}
    assert users == {"ldap": "cn=svc,ou=[password],dc=office,dc=lan", "imap": "anna [password]"}
    outputs = {
        "json": out_json.read_text(), "report": report.read_text(), "console": result.output,
        "db": "\n".join(sqlite3.connect(db).iterdump()),
        "csv": runner.invoke(main, ["export", "--db", str(db), "--format", "csv"]).output,
    }
    for where, text in outputs.items():
        assert secret not in text, f"the clear password (inside a user name) in {where}"
