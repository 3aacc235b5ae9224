"""Shared plumbing for line-oriented login protocols (SMTP, POP3, IMAP, IRC, Redis, XMPP, Telnet).

A session holds at most one credential waiting for the server's verdict; a new
login attempt or the end of the flow flushes it with whatever is known. The mail
protocols (SMTP, POP3, IMAP) also read whole messages for passwords shared in them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Union

from detector.observations import Credential, Emit, Observation
from detector.protocols.base import Endpoints, StreamSession
from detector.protocols.sasl import b64, plain
from detector.protocols.text import LineSplitter, text
from detector.secrets import protect, without_secret
from detector.textscan import shared_passwords

if TYPE_CHECKING:  # the email package loads with the first mail seen (start-up, issue 15)
    from detector.documents.mime import MailReader, MailSummary


class LoginSession(StreamSession):
    protocol = ""

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.client_lines = LineSplitter()
        self.server_lines = LineSplitter()
        self.pending: Optional[Credential] = None
        self.starttls: Optional[bool] = None  # protocols with an upgrade set False in their __init__
        self.starttls_offered = False
        self.emitted = 0
        self.awaiting = ""  # SASL step waiting for the client's next line: "plain", "login-user", "login-pass"
        self.sasl_user = ""
        self.sasl_label = "AUTH"  # how the protocol names its SASL command, for notes

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        splitter = self.client_lines if from_client else self.server_lines
        for line in splitter.push(data):
            keep = self.client_line(line, ts, where) if from_client else self.server_line(line, ts, where)
            if keep is False:
                self.flush()
                return False
        return True

    def client_line(self, line: bytes, ts: float, where: str) -> Optional[bool]:
        """Handle one client line; return False to stop following the flow (e.g. TLS starts)."""
        return None

    def server_line(self, line: bytes, ts: float, where: str) -> Optional[bool]:
        return None

    def offer(self, ts: float, where: str, user: str, password: Union[str, bytes], kind: str = "cleartext",
              note: str = "", protocol: str = "") -> None:
        """A login attempt was seen; it waits for the server's answer (judge) or the next attempt."""
        self.flush()
        notes = [note] if note else []
        if self.starttls is False and self.starttls_offered:
            notes.append("server offered STARTTLS, client did not use it")
        elif self.starttls is False:
            notes.append("no STARTTLS")
        elif self.starttls:
            notes.append("STARTTLS was attempted but the login still went in clear")
        e = self.ends
        self.pending = Credential(ts, where, protocol or self.protocol, e.client, e.server, e.server_port,
                                  without_secret(user, password)[:256], protect(password), kind=kind,
                                  note=", ".join(notes)[:200], starttls=self.starttls)

    # ------------------------------------------------------------ SASL PLAIN and LOGIN (SMTP, POP3, IMAP)

    def sasl_start(self, mechanism: bytes, initial: bytes, ts: float, where: str) -> bool:
        """Begin a PLAIN or LOGIN exchange; False for mechanisms this helper does not follow."""
        mechanism, initial = mechanism.upper(), initial.strip()
        if mechanism == b"PLAIN":
            if initial and initial != b"=":
                self.sasl_plain(initial, ts, where)
            else:
                self.awaiting = "plain"
        elif mechanism == b"LOGIN":
            if initial and initial != b"=":
                self.sasl_user = text(b64(initial) or b"", 256)
                self.awaiting = "login-pass"
            else:
                self.awaiting = "login-user"
        else:
            return False
        return True

    def sasl_continue(self, line: bytes, ts: float, where: str) -> None:
        """The client's answer to the server's "+" / "334" challenge."""
        step, self.awaiting = self.awaiting, ""
        if line == b"*":
            return  # the client cancelled the exchange
        if step == "plain":
            self.sasl_plain(line, ts, where)
        elif step == "login-user":
            self.sasl_user = text(b64(line) or b"", 256)
            self.awaiting = "login-pass"
        elif step == "login-pass":
            password = b64(line)
            if password is not None:
                self.offer(ts, where, self.sasl_user, password, note=f"{self.sasl_label} LOGIN")

    def sasl_plain(self, value: bytes, ts: float, where: str) -> None:
        pair = plain(value)
        if pair is not None:
            self.offer(ts, where, pair[0], pair[1], note=f"{self.sasl_label} PLAIN")

    def judge(self, accepted: bool) -> None:
        if self.pending is not None:
            self.pending.accepted = accepted
            self.flush()

    def flush(self) -> None:
        if self.pending is not None:
            self.send(self.pending)
            self.pending = None

    def send(self, obs: Observation) -> None:
        """Emit, bounded per flow so a hostile stream cannot flood the detectors."""
        if self.emitted < 10000:
            self.emitted += 1
            self.emit(obs)

    def close(self, ts: float, where: str) -> None:
        self.flush()


class MailSession(LoginSession):
    """A login protocol that also carries whole messages (SMTP DATA, POP3 RETR, IMAP FETCH)."""

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.mail: Optional[MailReader] = None
        self.mail_at = (0.0, "")

    def start_mail(self, ts: float, where: str, body_only: bool = False) -> None:
        from detector.documents.mime import MailReader

        self.mail = MailReader(body_only=body_only)
        self.mail_at = (ts, where)

    def finish_mail(self) -> None:
        """The message is complete (or the flow ended): report what it holds."""
        mail, self.mail = self.mail, None
        if mail is not None:
            self.mail_read(mail.finish())

    def mail_read(self, summary: MailSummary) -> None:
        """Passwords shared in the message's text; a protocol that knows more (SMTP's envelope) overrides."""
        self.send_shared_passwords(summary, summary.sender, summary.recipients)

    def send_shared_passwords(self, summary: MailSummary, sender: str, recipients: tuple[str, ...]) -> None:
        ts, where = self.mail_at
        for body in summary.texts:
            for obs in shared_passwords(body, self.protocol, sender, recipients, ts, where):
                self.send(obs)

    def close(self, ts: float, where: str) -> None:
        self.finish_mail()
        self.flush()
