"""IMAP4 (RFC 9051): LOGIN (atoms, quoted and literal strings), AUTHENTICATE PLAIN/LOGIN, fetched mail text.

Literals (``{n}`` then n bytes) are followed in both directions, so a password
sent as a literal is read exactly and a fetched message body is streamed to the
MIME reader rather than mistaken for commands. The tagged OK/NO answer decides
whether the login was accepted; an OK to STARTTLS ends what can be read.
"""

from __future__ import annotations

import re
from typing import Optional

from detector.observations import Emit
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession
from detector.protocols.clearlogin import MailSession
from detector.protocols.text import LineSplitter, text
from detector.protocols.tls import StartTlsSession

IMAP_PORTS = frozenset({143})
LITERAL_END = re.compile(rb"\{(\d{1,9})\+?\}$")
TOKEN = re.compile(rb'"((?:[^"\\]|\\.){0,1024})"|([^\s"]{1,1024})')
MAX_KEPT_LITERAL = 8 * 1024
MAX_PENDING = 64 * 1024
MAX_TOKENS = 16
# every client command of RFC 9051 and RFC 3501 plus common extensions: a mid-session flow starts with any of them
COMMANDS = frozenset({
    b"CAPABILITY", b"NOOP", b"LOGOUT", b"STARTTLS", b"AUTHENTICATE", b"LOGIN", b"ENABLE", b"SELECT", b"EXAMINE",
    b"CREATE", b"DELETE", b"RENAME", b"SUBSCRIBE", b"UNSUBSCRIBE", b"LIST", b"LSUB", b"NAMESPACE", b"STATUS",
    b"APPEND", b"IDLE", b"CHECK", b"CLOSE", b"UNSELECT", b"EXPUNGE", b"SEARCH", b"FETCH", b"STORE", b"COPY",
    b"MOVE", b"UID", b"ID", b"GETQUOTAROOT", b"GETQUOTA", b"GETACL", b"MYRIGHTS", b"XLIST", b"COMPRESS"})
TAG = re.compile(rb"[\x21\x23\x24\x26\x27\x2c-\x5b\x5d-\x7a\x7c-\x7e]{1,64}")  # ASTRING-CHAR minus "+", no wildcards


def first_words(line: bytes) -> tuple[bytes, bytes]:
    """The tag and the upper-cased verb of a line's start (b"" when missing)."""
    words = line[:256].split(None, 2)
    return (words[0] if words else b""), (words[1].upper() if len(words) > 1 else b"")


def is_tag(word: bytes) -> bool:
    return TAG.fullmatch(word) is not None


def tokens(segment: bytes) -> list[bytes]:
    """Atoms and quoted strings of one line segment (escapes undone)."""
    out = []
    for match in TOKEN.finditer(segment):
        if match.group(1) is not None:
            out.append(re.sub(rb"\\(.)", rb"\1", match.group(1)))
        else:
            out.append(match.group(2))
        if len(out) >= MAX_TOKENS:
            break
    return out


class ImapSession(MailSession):
    protocol = "imap"

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.starttls = False
        self.client_buf = b""
        self.client_literal = 0
        self.client_tokens: list[bytes] = []
        self.literal_value = b""
        self.auth_tag = b""
        self.sasl_label = "AUTHENTICATE"
        self.tls_tag = b""
        self.server_literal = 0
        self.server_buf = b""
        self.mail_lines = LineSplitter()

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if from_client:
            self._client_bytes(data, ts, where)
            return True
        return self._server_bytes(data, ts, where)

    # ------------------------------------------------------------ client

    def _client_bytes(self, data: bytes, ts: float, where: str) -> None:
        buf = self.client_buf + data
        while buf:
            if self.client_literal:
                take = buf[:self.client_literal]
                buf = buf[len(take):]
                self.client_literal -= len(take)
                self.literal_value = (self.literal_value + take)[:MAX_KEPT_LITERAL]
                if not self.client_literal:
                    self.client_tokens.append(self.literal_value)
                    self.literal_value = b""
                continue
            end = buf.find(b"\n")
            if end < 0:
                break
            line, buf = buf[:end].rstrip(b"\r"), buf[end + 1:]
            self._client_line(line, ts, where)
        self.client_buf = buf[-MAX_PENDING:]

    def _client_line(self, line: bytes, ts: float, where: str) -> None:
        if self.awaiting and not self.client_tokens:
            self.sasl_continue(line.strip(), ts, where)
            return
        literal = LITERAL_END.search(line)
        if literal:
            line = line[:literal.start()]
        if len(self.client_tokens) < MAX_TOKENS:
            self.client_tokens.extend(tokens(line))
        if literal:
            self.client_literal = int(literal.group(1))
            return
        command, self.client_tokens = self.client_tokens, []
        if len(command) >= 2:
            self._command(command, ts, where)

    def _command(self, command: list[bytes], ts: float, where: str) -> None:
        tag, verb, args = command[0], command[1].upper(), command[2:]
        if verb == b"LOGIN" and len(args) >= 2:
            self.auth_tag = tag
            self.offer(ts, where, text(args[0], 256), args[1], note="LOGIN")
        elif verb == b"AUTHENTICATE" and args:
            self.auth_tag = tag
            self.sasl_start(args[0], args[1] if len(args) > 1 else b"", ts, where)
        elif verb == b"STARTTLS":
            self.starttls = True
            self.tls_tag = tag

    # ------------------------------------------------------------ server

    def _server_bytes(self, data: bytes, ts: float, where: str) -> bool:
        buf = self.server_buf + data
        while buf:
            if self.server_literal:
                take = buf[:self.server_literal]
                buf = buf[len(take):]
                self.server_literal -= len(take)
                if self.mail is not None:
                    for line in self.mail_lines.push(take):
                        self.mail.line(line)
                    if not self.server_literal:
                        self.finish_mail()
                continue
            end = buf.find(b"\n")
            if end < 0:
                break
            line, buf = buf[:end].rstrip(b"\r"), buf[end + 1:]
            if self._server_line(line, ts, where) is False:
                self.flush()
                return False
        self.server_buf = buf[-MAX_PENDING:]
        return True

    def _server_line(self, line: bytes, ts: float, where: str) -> Optional[bool]:
        upper = line.upper()
        if b"STARTTLS" in upper and (b"CAPABILITY" in upper):
            self.starttls_offered = True
        literal = LITERAL_END.search(line)
        if literal:
            self.server_literal = int(literal.group(1))
            if b"FETCH" in upper and (b"BODY[" in upper or b"RFC822" in upper) and b"RFC822.SIZE {" not in upper:
                self.start_mail(ts, where, body_only=b"BODY[TEXT]" in upper or b"RFC822.TEXT" in upper)
                self.mail_lines = LineSplitter()
            return None
        tag, _, rest = line.partition(b" ")
        status = rest[:3].upper()
        if self.tls_tag and tag == self.tls_tag:
            self.tls_tag = b""
            self.tls_started = status.startswith(b"OK")
            return False if self.tls_started else None
        if self.auth_tag and tag == self.auth_tag:
            self.auth_tag = b""
            self.awaiting = ""
            if status.startswith(b"OK"):
                self.judge(True)
            elif status.startswith((b"NO", b"BAD")):
                self.judge(False)
        return None

    def finish_mail(self) -> None:
        """A literal may end without a line break: its last partial line belongs to the message."""
        if self.mail is not None and self.mail_lines.pending:
            self.mail.line(self.mail_lines.pending.rstrip(b"\r"))
            self.mail_lines.pending = b""
        super().finish_mail()


class ImapDecoder(StreamDecoder):
    name = "imap"
    tcp_ports = IMAP_PORTS
    server_prefixes = (b"* OK ", b"* PREAUTH ")

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        """A greeting, or (picked up mid-session) a tagged command, a tagged status or a continuation."""
        if first_server:
            if first_server.startswith((b"* ", b"+ ", b"+\r\n")):
                return True
            tag, verb = first_words(first_server)
            return is_tag(tag) and verb in (b"OK", b"NO", b"BAD")
        tag, verb = first_words(first_client)
        if not is_tag(tag):
            return False
        if b"\n" not in first_client and first_client[-1:] not in b" \t":  # a short segment cut the verb
            return any(command.startswith(verb) for command in COMMANDS)
        return verb in COMMANDS

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return StartTlsSession(ImapSession(ends, emit))
