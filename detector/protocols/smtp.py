"""SMTP (RFC 5321, 4954): AUTH PLAIN/LOGIN passwords, mail attachments, passwords in mail text.

The session follows the client's commands: ``AUTH LOGIN`` is answered by two
base64 lines (user, password), ``AUTH PLAIN`` by one. 235 means accepted, 5xx
refused. A 220 answer to STARTTLS ends what can be read. DATA is streamed
through the MIME reader: each attachment becomes a FileTransfer (envelope
sender and recipients), text parts go to the password-in-message scanner.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

from detector.observations import Emit, FileTransfer
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession
from detector.protocols.clearlogin import MailSession
from detector.protocols.sasl import b64
from detector.protocols.text import text
from detector.protocols.tls import StartTlsSession

if TYPE_CHECKING:  # the email package loads with the first mail seen (start-up, issue 15)
    from detector.documents.mime import MailSummary

SMTP_PORTS = frozenset({25, 587, 2525})
REFUSED = (b"535", b"534", b"538", b"454", b"500", b"501", b"504", b"530")
MAX_RECIPIENTS = 100
ADDRESS_ARG = re.compile(rb"<([^>]{0,320})>")


class SmtpSession(MailSession):
    protocol = "smtp"

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.starttls = False
        self.mechanism = ""  # the SASL steps of LoginSession, plus "cram" for CRAM-MD5
        self.sender = ""
        self.recipients: list[str] = []
        self.tls_requested = False

    # ------------------------------------------------------------ client

    def client_line(self, line: bytes, ts: float, where: str) -> Optional[bool]:
        if self.mail is not None:
            self._data_line(line, ts, where)
            return None
        if self.awaiting:
            self._auth_continuation(line.strip(), ts, where)
            return None
        verb, _, arg = line.strip().partition(b" ")
        verb = verb.upper()
        if verb == b"AUTH":
            self._auth(arg.strip(), ts, where)
        elif verb == b"STARTTLS":
            self.tls_requested = True
            self.starttls = True
        elif verb == b"MAIL":
            self.sender = _address(arg)
            self.recipients = []
        elif verb == b"RCPT" and len(self.recipients) < MAX_RECIPIENTS:
            self.recipients.append(_address(arg))
        elif verb == b"DATA":
            self.start_mail(ts, where)
        elif verb == b"RSET":
            self.sender, self.recipients = "", []
        return None

    def _auth(self, arg: bytes, ts: float, where: str) -> None:
        mechanism, _, initial = arg.partition(b" ")
        self.mechanism = text(mechanism, 32).upper()
        if not self.sasl_start(mechanism, initial, ts, where) and self.mechanism == "CRAM-MD5":
            self.awaiting = "cram"

    def _auth_continuation(self, line: bytes, ts: float, where: str) -> None:
        if self.awaiting != "cram":
            self.sasl_continue(line, ts, where)
            return
        self.awaiting = ""
        response = b64(line) or b""
        user, _, digest = response.rpartition(b" ")
        self.offer(ts, where, text(user, 256), digest, kind="hash",
                   note="AUTH CRAM-MD5 challenge response, crackable offline")

    def _data_line(self, line: bytes, ts: float, where: str) -> None:
        assert self.mail is not None
        if line == b".":
            self.finish_mail()
            return
        self.mail.line(line[1:] if line.startswith(b"..") else line)

    def mail_read(self, summary: MailSummary) -> None:
        """The envelope (MAIL FROM, RCPT TO) names sender and recipients better than the headers."""
        ts, where = self.mail_at
        sender = self.sender or summary.sender
        recipients = tuple(r for r in self.recipients if r) or summary.recipients
        e = self.ends
        for attachment in summary.attachments[:100]:
            self.send(FileTransfer(ts, where, e.client, e.server, "smtp-attachment", attachment.filename,
                                   "up", attachment.size, sender, recipients))
        self.send_shared_passwords(summary, sender, recipients)
        self.sender, self.recipients = "", []

    # ------------------------------------------------------------ server

    def server_line(self, line: bytes, ts: float, where: str) -> Optional[bool]:
        code = line[:3]
        if line[4:12].upper().startswith(b"STARTTLS"):
            self.starttls_offered = True
        if self.tls_requested and code == b"220":
            self.tls_started = True
            return False  # TLS starts: nothing more is readable
        if self.tls_requested and code[:1] in (b"4", b"5"):
            self.tls_requested = False
        if self.pending is not None and line[3:4] != b"-":
            if code == b"235":
                self.judge(True)
            elif code in REFUSED:
                self.judge(False)
        if code[:1] in (b"4", b"5") and self.awaiting:
            self.awaiting = ""  # the server refused the AUTH command itself
        return None



def _address(arg: bytes) -> str:
    match = ADDRESS_ARG.search(arg)
    value = text(match.group(1) if match else arg.partition(b":")[2], 320).strip().lower()
    from detector.documents.mime import addresses

    found = addresses(value)
    return found[0] if found else value[:320]


class SmtpDecoder(StreamDecoder):
    name = "smtp"
    tcp_ports = SMTP_PORTS
    server_prefixes = (b"220 ", b"220-")
    client_prefixes = (b"EHLO ", b"HELO ", b"ehlo ", b"helo ")

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        if first_server:
            # on other ports FTP (registered first) has already claimed the 220 banners that are not mail;
            # on a mail port, any reply ("250 OK", "334 ...") is a session picked up mid-way
            return first_server.startswith(self.server_prefixes) or (
                first_server[:3].isdigit() and first_server[3:4] in (b" ", b"-"))
        return first_client.upper().startswith((b"EHLO", b"HELO", b"AUTH", b"MAIL", b"STARTTLS"))

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return StartTlsSession(SmtpSession(ends, emit))
