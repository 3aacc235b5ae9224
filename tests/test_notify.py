"""Notifications of new findings: a JSON webhook and e-mail, each against a loopback server."""

from __future__ import annotations

import email
import http.server
import json
import socketserver
import sqlite3
import sys
import threading

import pytest
from click.testing import CliRunner

from detector.cli import main
from detector.outputs.notify import NOTIFY_SCHEMA, NotifyConfig, NotifyConfigError
from detector.samples import DEMO_PASSWORDS, office_packets, write_pcapng
from detector.secrets import masked_url, redacted_command_line

T0 = 1_793_610_000.0


class Hook(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers["Content-Type"], body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class SmtpSink(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to accept one message; smtpd is gone from Python 3.12."""

    messages: list = []

    def reply(self, text: str) -> None:
        self.wfile.write((text + "\r\n").encode())

    def handle(self):
        self.reply("220 sink ready")
        envelope = {"from": "", "to": []}
        while True:
            line = self.rfile.readline().decode("ascii", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if not line or verb == "QUIT":
                self.reply("221 bye")
                return
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink")
            elif verb == "MAIL":
                envelope["from"] = line.split(":", 1)[1].strip()
                self.reply("250 ok")
            elif verb == "RCPT":
                envelope["to"].append(line.split(":", 1)[1].strip())
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                self.messages.append((dict(envelope), b"".join(data)))
                self.reply("250 queued")
            else:
                self.reply("250 ok")


@pytest.fixture
def webhook():
    Hook.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/T0KEN-secret", Hook.received
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp():
    SmtpSink.messages = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpSink)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}", SmtpSink.messages
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    return write_pcapng(tmp_path_factory.mktemp("office") / "office.pcapng", office_packets(T0))


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_webhook_gets_new_findings_once(webhook, office, tmp_path):
    url, received = webhook
    db = tmp_path / "n.db"
    args = ["scan", str(office), "--db", str(db), "--site", "hq", "-q", "--notify-webhook", url,
            "--notify-min-severity", "low"]
    first = run(*args)
    assert first.exit_code == 0, first.output
    assert len(received) == 1
    content_type, body = received[0]
    assert content_type == "application/json"
    payload = json.loads(body)
    assert payload["schema"] == NOTIFY_SCHEMA and payload["site"] == "hq" and payload["scan_id"] == 1
    titles = [f["title"] for f in payload["new_findings"]]
    assert any("Dropbox" in t for t in titles) and any("FTP" in t for t in titles)
    assert all(f["severity"] != "info" for f in payload["new_findings"])
    for secret in DEMO_PASSWORDS.values():
        assert secret not in body.decode()
    assert run(*args).exit_code == 0
    assert len(received) == 1  # the second scan finds nothing new: no second call


def test_min_severity_filters(webhook, office):
    url, received = webhook
    assert run("scan", str(office), "-q", "--notify-webhook", url, "--notify-min-severity", "critical").exit_code == 0
    severities = {f["severity"] for body in received for f in json.loads(body[1])["new_findings"]}
    assert severities <= {"critical"}


def test_mail_goes_through_smtp(smtp, office, tmp_path):
    address, messages = smtp
    result = run("scan", str(office), "-q", "--site", "hq", "--notify-smtp", address, "--notify-to", "it@example.org",
                 "--notify-from", "probe@example.org", "--notify-min-severity", "low")
    assert result.exit_code == 0, result.output
    assert len(messages) == 1
    envelope, raw = messages[0]
    assert envelope == {"from": "<probe@example.org>", "to": ["<it@example.org>"]}
    message = email.message_from_bytes(raw)
    assert message["Subject"].startswith("shadowit: ") and "at hq" in message["Subject"]
    parts = {part.get_content_type(): part.get_payload(decode=True) for part in message.walk()
             if not part.is_multipart()}
    assert b"Dropbox" in parts["text/plain"]
    assert json.loads(parts["application/json"])["schema"] == NOTIFY_SCHEMA
    for secret in DEMO_PASSWORDS.values():
        assert secret.encode() not in raw


def test_failed_notification_is_a_warning_not_a_failed_scan(office, webhook):
    url, _ = webhook
    dead = "http://127.0.0.1:9/hooks/T0KEN-secret"
    result = run("scan", str(office), "-q", "--notify-webhook", dead, "--notify-min-severity", "low")
    assert result.exit_code == 0
    assert "warning: notification failed: webhook http://127.0.0.1:9/" in result.output
    assert "T0KEN" not in result.output  # webhook tokens are not echoed
    result = run("scan", str(office), "-q", "--notify-smtp", "127.0.0.1:9", "--notify-to", "a@example.org",
                 "--notify-min-severity", "low", "--fail-on", "high")
    assert result.exit_code == 1 and "e-mail via 127.0.0.1:9 failed" in result.output


def test_bad_notify_options_exit_2(office):
    for args in (["--notify-webhook", "ftp://x"], ["--notify-smtp", "mail:25"], ["--notify-to", "a@example.org"]):
        result = run("scan", str(office), "-q", *args)
        assert result.exit_code == 2 and result.output.startswith("shadowit: error: --notify")
    with pytest.raises(NotifyConfigError):
        NotifyConfig(smtp="host:port", to=["a@b"]).check()
    shown = masked_url("https://hooks.example.org/services/T0/B1/XYZ?token=abc")
    assert shown.startswith("https://hooks.example.org/services/") and not {"T0", "B1", "XYZ", "abc"} & set(
        shown.replace("?", "/").replace("=", "/").split("/"))


def test_webhook_token_is_in_no_stored_or_shown_command_line(webhook, office, tmp_path, monkeypatch):
    url, received = webhook
    slack_like = url.replace("/hooks/T0KEN-secret", "/services/T000/B000/XXXXSECRET?token=QUERYSECRET")
    db, out_json, report = tmp_path / "n.db", tmp_path / "scan.json", tmp_path / "report.html"
    args = ["scan", str(office), "--db", str(db), "--json", str(out_json), "--report", str(report), "-q",
            "--notify-min-severity", "low", "--notify-webhook", slack_like]
    monkeypatch.setattr(sys, "argv", ["shadowit", *args])  # the command line is recorded from sys.argv
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert len(received) == 1  # the webhook itself still gets the whole URL
    stored = json.loads(out_json.read_text())["scan"]["command_line"]
    assert stored.endswith("--notify-webhook " + slack_like.split("/services/")[0] + "/services/***/***/***?token=***")
    outputs = {"json": out_json.read_text(), "report": report.read_text(), "console": result.output,
               "db": "\n".join(sqlite3.connect(db).iterdump()), "export": run("export", "--db", str(db)).output,
               "history": run("history", "--db", str(db), "--json").output}
    for where, text in outputs.items():
        assert "--notify-webhook" in text or where == "console", where  # each shows the command line
        assert "XXXXSECRET" not in text and "QUERYSECRET" not in text and "T000" not in text, where


@pytest.mark.parametrize("arguments, shown", [
    (["scan", "x", "--notify-webhook", "https://hooks.slack.com/services/T000/B000/XXXXSECRET"],
     "scan x --notify-webhook https://hooks.slack.com/services/***/***/***"),
    (["scan", "--notify-webhook=https://u:pw@example.org:8443/hook?token=abc&flag", "x"],
     "scan --notify-webhook=https://***@example.org:8443/hook?token=***&*** x"),
    (["scan", "https://discord.com/api/webhooks/1/tok", "--notify-webhook", "http://[::1]:8/a/b#frag"],
     "scan https://discord.com/api/webhooks/1/tok --notify-webhook http://[::1]:8/a/***#***"),
    (["scan", "ftp://admin:hunter2@nas/share", "--notify-webhook", "http://[::1"], "scan ftp://***@nas/share "
     "--notify-webhook ***"),
    (["scan", "/srv/drop", "--db", "a.db", "--site", "hq"], "scan /srv/drop --db a.db --site hq"),
])
def test_command_line_masks_webhook_tokens_and_url_passwords(arguments, shown):
    assert redacted_command_line(arguments) == shown
