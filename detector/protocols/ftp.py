"""FTP control channel (RFC 959): USER/PASS with the login outcome, and STOR/RETR file names.

Recognised on port 21 or, on any port, by a "220" banner that mentions FTP or
by the client's USER command answered with 331.
"""

from __future__ import annotations

from typing import Optional

from detector.observations import Credential, Emit, FileTransfer
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession
from detector.protocols.text import LineSplitter, text
from detector.protocols.tls import StartTlsSession
from detector.secrets import Secret, protect

ANONYMOUS = {"anonymous", "ftp"}
MAIL_BANNER_WORDS = (b"smtp", b"mail", b"postfix", b"exim", b"sendmail", b"qmail", b"mta")


class FtpSession(StreamSession):
    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.client_lines = LineSplitter()
        self.server_lines = LineSplitter()
        self.user = ""
        self.pending: Optional[Credential] = None
        self.transfers = 0
        self.tls_requested = False

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        splitter = self.client_lines if from_client else self.server_lines
        for line in splitter.push(data):
            if from_client:
                self._command(line, ts, where)
            elif self.tls_requested and line[:3] == b"234":
                self._flush()
                self.tls_started = True
                return False  # AUTH TLS accepted: the rest is encrypted
            else:
                self._reply(line)
        return True

    def _command(self, line: bytes, ts: float, where: str) -> None:
        verb, _, arg = line.partition(b" ")
        verb = verb.upper()
        if verb == b"AUTH" and arg.strip().upper() in (b"TLS", b"SSL", b"TLS-C"):
            self.tls_requested = True
        elif verb == b"USER":
            self._flush()
            self.user = text(arg, 256).strip()
        elif verb == b"PASS":
            self._flush()
            e = self.ends
            anonymous = self.user.lower() in ANONYMOUS
            secret: Secret = protect(arg)
            self.pending = Credential(ts, where, "ftp", e.client, e.server, e.server_port, self.user, secret,
                                      kind="anonymous" if anonymous else "cleartext",
                                      note="AUTH TLS was refused, login went in clear" if self.tls_requested else "",
                                      starttls=self.tls_requested)
        elif verb in (b"STOR", b"RETR", b"APPE", b"STOU") and arg and self.transfers < 1000:
            self.transfers += 1
            e = self.ends
            up = verb != b"RETR"
            self.emit(FileTransfer(ts, where, e.client, e.server, "ftp-stor" if up else "ftp-retr",
                                   text(arg, 256).strip(), "up" if up else "down"))

    def _reply(self, line: bytes) -> None:
        code = line[:3]
        if code == b"331" and not self.user and self.pending is None:
            self.user = _user_in_reply(line)  # picked up after USER: "331 Password required for bob"
        if self.pending is None or not code.isdigit() or line[3:4] == b"-":
            return
        if code == b"230":
            self.pending.accepted = True
        elif code in (b"530", b"430", b"421", b"500", b"501", b"503"):
            self.pending.accepted = False
        elif code == b"332":
            return  # account needed: outcome comes later
        self._flush()

    def _flush(self) -> None:
        if self.pending is not None:
            self.emit(self.pending)
            self.pending = None

    def close(self, ts: float, where: str) -> None:
        self._flush()


def _user_in_reply(line: bytes) -> str:
    """The user a 331 reply names ("331 Password required for bob", "331 User bob OK"), if any."""
    words = text(line[4:], 256).split()
    for index, word in enumerate(words[:-1]):
        if word.lower() in ("for", "user"):
            candidate = words[index + 1].strip(".,:'\"")
            if candidate and candidate.lower() not in ("password", "the", "user", "login"):
                return candidate
    return ""


class FtpDecoder(StreamDecoder):
    name = "ftp"
    tcp_ports = frozenset({21, 2121})
    server_prefixes = (b"220 ", b"220-")
    client_prefixes = (b"USER ", b"user ")

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        if first_server.startswith(self.server_prefixes):
            banner = first_server.lower()
            if b"ftp" in banner or b"filezilla" in banner:
                return True
            return not any(word in banner for word in MAIL_BANNER_WORDS)
        if first_server[:3].isdigit() and first_server[3:4] in (b" ", b"-"):
            return True  # picked up mid-session on an FTP port: a reply such as "331 Password required"
        return first_client.upper().startswith((b"USER ", b"AUTH ", b"PASS ", b"SYST", b"FEAT"))

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return StartTlsSession(FtpSession(ends, emit))
