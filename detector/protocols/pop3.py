"""POP3 (RFC 1939, 5034): USER/PASS and AUTH PLAIN/LOGIN passwords, APOP digests, retrieved mail text.

Server status lines are matched to client commands in order, so ``+OK`` after
PASS means accepted and ``-ERR`` refused; server prose such as "password
required for user" is never scanned. RETR/TOP answers are read through the
MIME reader and their text parts go to the password-in-message scanner.
"""

from __future__ import annotations

from collections import deque
from typing import Optional

from detector.observations import Emit
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession
from detector.protocols.clearlogin import MailSession
from detector.protocols.text import text
from detector.protocols.tls import StartTlsSession

POP3_PORTS = frozenset({110})
LOGIN_VERBS = (b"PASS", b"AUTH", b"APOP")
MULTILINE_ALWAYS = (b"RETR", b"TOP", b"CAPA")
MULTILINE_WITHOUT_ARG = (b"LIST", b"UIDL")
MAX_QUEUE = 64


class Pop3Session(MailSession):
    protocol = "pop3"

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.starttls = False
        self.user = ""
        self.commands: deque[tuple[bytes, bool]] = deque()  # (verb, multi-line answer expected)
        self.multiline: Optional[bytes] = None  # verb whose multi-line answer is being read

    def client_line(self, line: bytes, ts: float, where: str) -> Optional[bool]:
        if self.awaiting:
            self.sasl_continue(line.strip(), ts, where)
            return None
        verb, _, arg = line.strip().partition(b" ")
        verb = verb.upper()
        arg = arg.strip()
        if len(self.commands) < MAX_QUEUE:
            multi = verb in MULTILINE_ALWAYS or (verb in MULTILINE_WITHOUT_ARG and not arg)
            self.commands.append((verb, multi))
        if verb == b"USER":
            self.user = text(arg, 256)
        elif verb == b"PASS":
            self.offer(ts, where, self.user, arg, note="USER/PASS")
        elif verb == b"APOP":
            user, _, digest = arg.partition(b" ")
            self.offer(ts, where, text(user, 256), digest, kind="hash", note="APOP digest, crackable offline")
        elif verb == b"AUTH":
            mechanism, _, initial = arg.partition(b" ")
            self.sasl_start(mechanism, initial, ts, where)
        elif verb == b"STLS":
            self.starttls = True
        return None

    # ------------------------------------------------------------ server

    def server_line(self, line: bytes, ts: float, where: str) -> Optional[bool]:
        if self.multiline is not None:
            self._multiline(line)
            return None
        if line.startswith(b"+OK") or line.startswith(b"-ERR"):
            return self._status(line.startswith(b"+OK"), ts, where)
        return None

    def _status(self, ok: bool, ts: float, where: str) -> Optional[bool]:
        if not self.commands:
            return None  # the greeting
        verb, multi = self.commands.popleft()
        if verb in LOGIN_VERBS and self.pending is not None:
            self.judge(ok)
        if verb == b"STLS" and ok:
            self.tls_started = True
            return False
        if ok and multi:
            self.multiline = verb
            if verb in (b"RETR", b"TOP"):
                self.start_mail(ts, where)
        return None

    def _multiline(self, line: bytes) -> None:
        if line == b".":
            self.multiline = None
            self.finish_mail()
            return
        if self.multiline == b"CAPA" and line.upper().startswith(b"STLS"):
            self.starttls_offered = True
        if self.mail is not None:
            self.mail.line(line[1:] if line.startswith(b"..") else line)



class Pop3Decoder(StreamDecoder):
    name = "pop3"
    tcp_ports = POP3_PORTS
    server_prefixes = (b"+OK ",)

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        if first_server:
            return first_server.startswith((b"+OK", b"-ERR"))
        return first_client.upper().startswith((b"USER ", b"PASS ", b"CAPA", b"AUTH ", b"APOP ", b"STLS", b"STAT",
                                                b"QUIT"))

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return StartTlsSession(Pop3Session(ends, emit))
