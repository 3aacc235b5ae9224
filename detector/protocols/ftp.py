"""FTP control channel (RFC 959): USER/PASS with the login outcome, and STOR/RETR file names.

Recognised on port 21 or, on any port, by a "220" banner that mentions FTP or
by the client's USER command answered with 331. On the FTP ports a flow picked
up mid-session (no greeting, no USER) is recognised by any FTP command or reply.

File names are resolved against the working directory the way Zeek's ftp.log
writes them (``build_path_compressed(cwd, arg)``, cwd starting at ``.`` and
changed by an accepted CWD or CDUP), then written without the leading ``/`` or
``./``: a capture and Zeek's log of it name a transfer alike.
"""

from __future__ import annotations

import posixpath
from typing import Optional

from detector.observations import Credential, Emit, FileTransfer
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession
from detector.protocols.text import LineSplitter, text
from detector.protocols.tls import StartTlsSession
from detector.secrets import Secret, protect

ANONYMOUS = {"anonymous", "ftp"}
# RFC 959, 2228, 2389, 2428, 3659 and common extensions: a flow picked up mid-session starts with any of them
COMMANDS = frozenset({
    b"USER", b"PASS", b"ACCT", b"CWD", b"CDUP", b"SMNT", b"REIN", b"QUIT", b"PORT", b"PASV", b"TYPE", b"STRU",
    b"MODE", b"RETR", b"STOR", b"STOU", b"APPE", b"ALLO", b"REST", b"RNFR", b"RNTO", b"ABOR", b"DELE", b"RMD",
    b"MKD", b"PWD", b"LIST", b"NLST", b"SITE", b"SYST", b"STAT", b"HELP", b"NOOP", b"AUTH", b"ADAT", b"PROT",
    b"PBSZ", b"CCC", b"FEAT", b"OPTS", b"EPRT", b"EPSV", b"MDTM", b"SIZE", b"MLST", b"MLSD", b"XPWD", b"XCWD",
    b"XMKD", b"XRMD", b"CLNT", b"LANG"})
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
        self.cwd = "."  # Zeek's starting point: paths relative to an unknown login directory
        self.directory_change = ""  # the CWD argument (or "..") awaiting the server's answer

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
        elif verb in (b"STOR", b"RETR", b"APPE", b"STOU") and arg.strip() and self.transfers < 1000:
            self.transfers += 1
            e = self.ends
            up = verb != b"RETR"
            name = resolved_path(self.cwd, text(arg, 1024).strip())[:256]
            self.emit(FileTransfer(ts, where, e.client, e.server, "ftp-stor" if up else "ftp-retr",
                                   name, "up" if up else "down"))
        if verb in (b"CWD", b"XCWD") and arg.strip():
            self.directory_change = text(arg, 1024).strip()
        elif verb == b"CDUP":
            self.directory_change = ".."
        else:
            self.directory_change = ""

    def _reply(self, line: bytes) -> None:
        code = line[:3]
        if self.directory_change and line[3:4] != b"-" and code in (b"200", b"250"):
            self.cwd = changed_directory(self.cwd, self.directory_change)
            self.directory_change = ""
        if code == b"331" and not self.user and self.pending is None:
            self.user = _user_in_reply(line)  # picked up after USER: "331 Password required for bob"
        if self.pending is None or not code.isdigit() or line[3:4] == b"-":
            return
        if code == b"230":
            self.pending.accepted = True
        elif code in (b"530", b"430", b"421", b"500", b"501", b"503"):
            self.pending.accepted = False
        elif code in (b"331", b"332"):
            return  # the answer to a pipelined USER, or an account is needed: the outcome comes later
        self._flush()

    def _flush(self) -> None:
        if self.pending is not None:
            self.emit(self.pending)
            self.pending = None

    def close(self, ts: float, where: str) -> None:
        self._flush()


def changed_directory(cwd: str, change: str) -> str:
    """Zeek's ``build_path``: an absolute argument replaces the directory, a relative one is appended."""
    joined = change if change.startswith("/") else f"{cwd}/{change}"
    return joined[:1024]


def resolved_path(cwd: str, argument: str) -> str:
    """The transfer's path as Zeek's ftp.log gives it, less ``ftp://server/`` and a leading ``./``."""
    path = changed_directory(cwd, argument)
    absolute = path.startswith("/")
    path = posixpath.normpath(path)
    if not absolute:
        while path.startswith("../"):
            path = path[3:]
    return path.lstrip("/") if path not in (".", "/", "..") else ""


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
        verb = first_client[:5].split(b" ", 1)[0].split(b"\r", 1)[0].split(b"\n", 1)[0].upper()
        if len(first_client) < 4 and b"\n" not in first_client:  # a tiny first segment: a command's start
            return any(command.startswith(verb) for command in COMMANDS) if verb else False
        return verb in COMMANDS

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return StartTlsSession(FtpSession(ends, emit))
