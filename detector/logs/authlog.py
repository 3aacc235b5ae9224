"""Server-side login logs: vsftpd, ProFTPD, Dovecot and Postfix SASL lines in syslog (or vsftpd's own log).

They show, from the server, which user logged in from which client address and
whether the session was encrypted: a clear-text FTP, IMAP, POP3 or SMTP AUTH
login is a plaintext-credentials finding even where no packet was captured.
The password itself is never in the log, so the secret is marked not captured
(``protect_missing``). Logins the server says were protected by TLS only name
who was behind the address (a HostIdentity), they are not clear-text.
vsftpd's UPLOAD/DOWNLOAD lines are file transfers (FileTransfer) as well.
"""

from __future__ import annotations

import re
from typing import Optional

from detector.logs.base import LineParser, LogContext, LogDecoder, first_match, plausible_text
from detector.logs.syslog import LineClock
from detector.observations import Credential, Emit, FileTransfer, HostIdentity
from detector.secrets import protect_missing

MAX_SESSIONS = 4096
_IP = r"(?:::ffff:)?(?P<ip>[0-9a-fA-F.:]{3,45})"

# vsftpd.log ("Tue Mar  3 13:00:00 2026 [pid 2] [bob] OK LOGIN: Client "10.0.0.5"") and vsftpd via syslog
VSFTPD_TRANSFER = re.compile(r"\[(?P<user>[^\]]{1,256})\] OK (?P<verb>UPLOAD|DOWNLOAD): Client \"" + _IP
                             + r"\", \"(?P<path>[^\"]{1,1024})\", (?P<size>\d{1,15}) bytes")
VSFTPD = re.compile(r"\[(?P<user>[^\]]{1,256})\] (?P<result>OK|FAIL) LOGIN: Client \"" + _IP + r"\"")
# proftpd: "host (10.0.0.5[10.0.0.5]) - USER bob: Login successful." / "USER bob (Login failed): ..."
PROFTPD = re.compile(r"proftpd\[\d+\]: .*?\((?:[^\[\)]*)\[" + _IP + r"\]\) - USER (?P<user>\S{1,256}?)"
                     r"(?P<result>: Login successful| \(Login failed\))")
# dovecot: "imap-login: Login: user=<bob>, method=PLAIN, rip=10.0.0.5, lip=10.0.0.2, mpid=7, TLS, session=<x>"
DOVECOT = re.compile(r"dovecot(?:\[\d+\])?: (?P<service>imap|pop3|submission|managesieve)-login: "
                     r"(?P<event>Login|Disconnected|Aborted login)(?P<why>.{0,200}?): user=<(?P<user>[^>]{0,256})>"
                     r"(?P<rest>.*)$")
DOVECOT_FIELD = re.compile(r"\b(?P<key>method|rip|lip|lport)=(?P<value>[^,\s]+)")
# postfix: "smtpd[7]: 4ABC: client=host[10.0.0.5], sasl_method=PLAIN, sasl_username=bob"
POSTFIX_SASL = re.compile(r"postfix(?:/[\w-]+)*/(?P<daemon>smtpd|submission|smtps)\[(?P<pid>\d+)\]: "
                          r"(?:[0-9A-Za-z]{5,20}: )?client=[^\[]*\[" + _IP + r"\](?::\d+)?, sasl_method=(?P<method>\w+)"
                          r", sasl_username=(?P<user>\S{1,256})")
POSTFIX_SASL_FAIL = re.compile(r"postfix(?:/[\w-]+)*/(?P<daemon>smtpd|submission|smtps)\[(?P<pid>\d+)\]: warning: "
                               r"[^\[]*\[" + _IP + r"\]: SASL (?P<method>[\w-]+) authentication failed"
                               r"(?:[^,]*, sasl_username=(?P<user>\S{1,256}))?")
POSTFIX_TLS = re.compile(r"postfix(?:/[\w-]+)*/(?:smtpd|submission|smtps)\[(?P<pid>\d+)\]: "
                         r"(?:Anonymous|Trusted|Untrusted|Verified) TLS connection established from")
POSTFIX_DISCONNECT = re.compile(r"postfix(?:/[\w-]+)*/(?:smtpd|submission|smtps)\[(?P<pid>\d+)\]: disconnect from")
LOGIN_PROGRAMS = re.compile(r"(?:vsftpd|proftpd|dovecot|pure-ftpd)(?:\[\d+\])?: |\[pid \d+\] \[|"
                            r"postfix(?:/[\w-]+)*/(?:smtpd|submission|smtps)\[\d+\]: .*(?:sasl_|SASL )")
SERVICE_PORTS = {"ftp": 21, "imap": 143, "pop3": 110, "submission": 587, "smtp": 25, "managesieve": 4190}
SYSLOG_HOST = re.compile(r"^\s*(?P<host>[\w.-]{1,253}) [\w./-]{1,64}(?:\[\d+\])?: ")


class LoginLines:
    """Recognises one server login line and emits what it proves; shared with the Postfix parser."""

    def __init__(self, ctx: LogContext):
        self.clock = LineClock(ctx)
        self.tls_pids: dict[str, None] = {}  # smtpd processes whose client started TLS

    def handle(self, line: str, where: str, emit: Emit) -> bool:
        """True when the line was a login line (whatever it proved)."""
        ts, rest = self.clock.parse(line)
        ts = ts or 0.0
        for handler in (self._vsftpd, self._proftpd, self._dovecot, self._postfix):
            if handler(line, rest, ts, where, emit):
                return True
        return False

    # ------------------------------------------------------------ per server

    def _vsftpd(self, line: str, rest: str, ts: float, where: str, emit: Emit) -> bool:
        match = VSFTPD_TRANSFER.search(line)
        if match is not None:
            up = match.group("verb") == "UPLOAD"
            emit(FileTransfer(ts, where, match.group("ip").removeprefix("::ffff:"), _host(rest) or "vsftpd host",
                              "ftp-stor" if up else "ftp-retr", match.group("path"), "up" if up else "down",
                              int(match.group("size")), match.group("user")))
            return True
        match = VSFTPD.search(line)
        if match is None:
            return False
        self._login(emit, ts, where, "ftp", "vsftpd", match.group("user"), match.group("ip"), _host(rest),
                    match.group("result") == "OK", tls=None)
        return True

    def _proftpd(self, line: str, rest: str, ts: float, where: str, emit: Emit) -> bool:
        match = PROFTPD.search(line)
        if match is None:
            return False
        self._login(emit, ts, where, "ftp", "proftpd", match.group("user"), match.group("ip"), _host(rest),
                    "successful" in match.group("result"), tls=None)
        return True

    def _dovecot(self, line: str, rest: str, ts: float, where: str, emit: Emit) -> bool:
        match = DOVECOT.search(line)
        if match is None:
            return False
        fields = {m.group("key"): m.group("value") for m in DOVECOT_FIELD.finditer(match.group("rest"))}
        flags = {part.strip() for part in match.group("rest").split(",")}
        user, client = match.group("user"), fields.get("rip", "").removeprefix("::ffff:")
        if not user or not client:
            return True  # a disconnect before any user name: nothing to say
        event, why = match.group("event"), match.group("why")
        if event != "Login" and "auth failed" not in why:
            return True  # disconnected for another reason: no attempt is proven
        service = match.group("service")
        tls = "TLS" in flags or "secured" in flags or any(f.startswith("TLS") for f in flags)
        port = int(fields["lport"]) if fields.get("lport", "").isdigit() else SERVICE_PORTS[service]
        method = fields.get("method", "")
        if method and method.upper() not in ("PLAIN", "LOGIN"):
            tls = True  # CRAM-MD5, SCRAM, OAUTHBEARER...: no clear password even without TLS
        protocol = "smtp" if service == "submission" else service
        self._login(emit, ts, where, protocol, "dovecot", user, client, fields.get("lip", "") or _host(rest),
                    event == "Login", tls=tls, port=port, note=f"method {method}" if method else "")
        return True

    def _postfix(self, line: str, rest: str, ts: float, where: str, emit: Emit) -> bool:
        match = POSTFIX_TLS.search(line)
        if match is not None:
            self.tls_pids[match.group("pid")] = None
            if len(self.tls_pids) > MAX_SESSIONS:
                self.tls_pids.pop(next(iter(self.tls_pids)))
            return True
        match = POSTFIX_DISCONNECT.search(line)
        if match is not None:
            self.tls_pids.pop(match.group("pid"), None)
            return False  # an ordinary Postfix line: let the queue parser see it too
        match = POSTFIX_SASL.search(line) or POSTFIX_SASL_FAIL.search(line)
        if match is None:
            return False
        accepted = "authentication failed" not in line
        user = match.group("user") or ""
        if user.endswith(","):
            user = user[:-1]
        method = match.group("method").upper()
        tls = match.group("pid") in self.tls_pids or "smtps" in match.group(0).split("[", 1)[0] or method not in (
            "PLAIN", "LOGIN")
        service = match.group(0).split("[", 1)[0]
        port = 465 if "smtps" in service else 587 if "submission" in service else 25
        self._login(emit, ts, where, "smtp", "postfix", user, match.group("ip"), _host(rest), accepted, tls=tls,
                    port=port, note=f"SASL {method}")
        return True

    # ------------------------------------------------------------ output

    @staticmethod
    def _login(emit: Emit, ts: float, where: str, protocol: str, server_name: str, user: str, client: str,
               server: str, accepted: bool, tls: Optional[bool], port: int = 0, note: str = "") -> None:
        user, client = user.strip()[:256], client.removeprefix("::ffff:")
        if user and client and accepted:
            emit(HostIdentity(ts, where, client, username=user, source="authlog"))
        if tls:
            return  # encrypted: who, but no clear-text login
        server = server or f"{server_name} host"  # a log without a host field is the server's own log
        notes = [f"{server_name} log"] + ([note] if note else [])
        notes.append("the log does not say whether TLS was used" if tls is None else "no TLS")
        anonymous = protocol == "ftp" and user.lower() in ("anonymous", "ftp")
        emit(Credential(ts, where, protocol, client, server, port or SERVICE_PORTS.get(protocol, 0), user,
                        protect_missing(), kind="anonymous" if anonymous else "cleartext", accepted=accepted,
                        note=", ".join(notes)[:200], starttls=None if tls is None else False))


def _host(rest: str) -> str:
    """The syslog host field, which names the server that wrote the line."""
    match = SYSLOG_HOST.match(rest)
    return match.group("host") if match else ""


class AuthLogParser(LineParser):
    def __init__(self, ctx: LogContext):
        self.lines = LoginLines(ctx)

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        if self.lines.handle(line, where, emit):
            return True
        return plausible_text(line)  # other daemons in the same syslog are not malformed

    def finish(self, emit: Emit) -> None:
        return None


class AuthLogDecoder(LogDecoder):
    name = "server-logins"
    parser_class = AuthLogParser

    def sniff(self, head: list[str]) -> float:
        share = first_match(head, lambda line: bool(LOGIN_PROGRAMS.search(line)))
        return min(0.9, share * 1.5) if share else 0.0
