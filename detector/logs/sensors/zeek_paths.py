"""What each Zeek log path says, as observations (field names from Zeek's ``Info`` records).

One small function per log path; each gets a ``Fields`` view that hides the
encoding (TSV or JSON), so both encodings give the same observations. A
record missing the fields a mapping needs says nothing; a field that cannot
be what its type says (a timestamp that is no number) makes the line malformed.

Zeek 4-9 field lists: conn, dns, ssl (``subject`` before 4.1, ``cert_chain_fuids`` 4.1-5.x,
``cert_chain_fps`` since 6.0), x509 (``id``; ``fingerprint`` since 6.0), quic, http, ftp (one
row per logged command; login-only sessions since 9.0), notice, smtp, files (``uid``/``id``
since 5.0, ``tx_hosts``/``rx_hosts`` before), dhcp (3.0+ and the old per-connection
form), ntlm, kerberos, software.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Callable, Optional

from detector import observations as obs
from detector.logs.sensors import mapping
from detector.secrets import protect, protect_missing

HIDDEN = "<hidden>"
DHCP_CLIENT_MESSAGES = {"DISCOVER": "discover", "REQUEST": "request"}
MAX_TEXT = 1024


class Malformed(ValueError):
    """A field whose text cannot be its declared type."""


class Fields:
    """Typed access to one record's fields; subclasses know the encoding."""

    __slots__ = ()

    def raw(self, key: str) -> Any:
        raise AssertionError("subclass must override raw")

    def s(self, key: str) -> str:
        raise AssertionError("subclass must override s")

    def items(self, key: str) -> list[str]:
        raise AssertionError("subclass must override items")

    def n(self, key: str) -> Optional[int]:
        value = self.raw(key)
        if value is None or value == "" or isinstance(value, bool):
            return None
        try:
            return int(value) if not isinstance(value, float) else int(value)
        except (TypeError, ValueError):
            try:
                return int(float(value))
            except (TypeError, ValueError):
                raise Malformed(f"{key}: not a count") from None

    def f(self, key: str) -> Optional[float]:
        value = self.raw(key)
        if value is None or value == "" or isinstance(value, bool):
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise Malformed(f"{key}: not a number") from None

    def b(self, key: str) -> Optional[bool]:
        value = self.raw(key)
        if value is None or isinstance(value, bool):
            return value
        return {"T": True, "F": False, "true": True, "false": False}.get(str(value))

    def ts(self, key: str = "ts") -> float:
        """Seconds since the epoch; JSON logs may carry ISO-8601 (LogAscii::json_timestamps)."""
        value = self.raw(key)
        if value is None:
            return 0.0
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        text = str(value)
        try:
            return float(text)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise Malformed(f"{key}: not a time") from None


Mapper = Callable[[Fields, str, obs.Emit, Any], bool]


def _is_address(text: str) -> bool:
    """An answer is an address or a name; names have no ':' and are not all digits and dots."""
    return ":" in text or (text[:1].isdigit() and text.replace(".", "").isdigit())


def _ends(rec: Fields) -> tuple[str, str, int]:
    return rec.s("id.orig_h"), rec.s("id.resp_h"), rec.n("id.resp_p") or 0


# ---------------------------------------------------------------- names


def dns(rec: Fields, where: str, emit: obs.Emit, state: Any) -> bool:
    query = rec.s("query").lower().rstrip(".")[:255]
    if not query:
        return True
    client, server, _ = _ends(rec)
    ts = rec.ts()
    qtype = rec.n("qtype") or mapping.QTYPE_NAMES.get(rec.s("qtype_name"), 0)
    answers = rec.items("answers")
    addresses = tuple(a for a in answers if _is_address(a))[:64]
    aliases = tuple(a.lower().rstrip(".") for a in answers if a and not _is_address(a) and "." in a)[:16]
    ttls = rec.items("TTLs")  # one per answer, in the same order
    ttl = mapping.shortest_ttl([t for a, t in zip(answers, ttls) if _is_address(a)]) if addresses else None
    mapping.dns_answer(emit, ts, where, client, server, query, qtype, addresses, aliases, ttl)
    return True


def ssl(rec: Fields, where: str, emit: obs.Emit, state: Any) -> bool:
    """The SNI; without one, the certificate: its subject (Zeek < 4.1) or its entry in x509.log (joined)."""
    client, server, port = _ends(rec)
    ts = rec.ts()
    sni = rec.s("server_name")[:255]
    if sni or not client:
        mapping.server_name(emit, ts, where, client, server, port, sni)
        return True
    common = common_name(rec.s("subject"))
    if common:
        mapping.server_name(emit, ts, where, client, server, port, "", common)
        return True
    chain = tuple(rec.items("cert_chain_fps")[:1] or rec.items("cert_chain_fuids")[:1])
    state.certificates.session(emit, ts, where, client, server, port, chain)
    return True


def x509(rec: Fields, where: str, emit: obs.Emit, state: Any) -> bool:
    """A certificate, once (Zeek >= 4.1): the name it gives, under its fingerprint (Zeek >= 6) and file id."""
    rec.ts()
    name = common_name(rec.s("certificate.subject")) or next(iter(rec.items("san.dns")), "")[:255]
    if name and rec.b("basic_constraints.ca") is not True:
        state.certificates.certificate((rec.s("fingerprint"), rec.s("id")), name)
    return True


def common_name(subject: str) -> str:
    """'CN=www.dropbox.com,O=Dropbox\\, Inc,C=US' -> 'www.dropbox.com'."""
    for part in subject.split(","):
        part = part.strip()
        if part.startswith("CN="):
            return part[3:][:255]
    return ""


def quic(rec: Fields, where: str, emit: obs.Emit, state: Any) -> bool:
    sni = rec.s("server_name")[:255]
    if sni:
        client, server, port = _ends(rec)
        mapping.server_name(emit, rec.ts(), where, client, server, port, sni, transport="quic")
    return True


def software(rec: Fields, where: str, emit: obs.Emit, state: Any) -> bool:
    """A client program Zeek recognised (by User-Agent, banner): names a service when the catalog knows it."""
    name = rec.s("name")[:128]
    host = rec.s("host")
    if name and host:
        version = rec.s("unparsed_version")[:200]
        emit(obs.ServiceContact(rec.ts(), where, host, service=name, method="software",
                            server_port=rec.n("host_p") or 0,
                            detail=f"software {rec.s('software_type')}: {version or name} on {host}"))
    return True


# ---------------------------------------------------------------- traffic


def conn(rec: Fields, where: str, emit: obs.Emit, state: Any) -> bool:
    client, server, port = _ends(rec)
    if not client or not server:
        return True
    ts = rec.ts()
    up = rec.n("orig_bytes") or 0
    down = rec.n("resp_bytes") or 0
    packets = (rec.n("orig_pkts") or 0) + (rec.n("resp_pkts") or 0)
    emit(obs.FlowVolume(ts, where, client, server, port, rec.s("proto") or "tcp", up, down, packets,
                    ts + (rec.f("duration") or 0.0)))
    return True


def http(rec: Fields, where: str, emit: obs.Emit, state: Any) -> bool:
    client, server, port = _ends(rec)
    ts = rec.ts()
    method = rec.s("method")[:16]
    host = rec.s("host").split(":", 1)[0][:255]
    if method or host:
        emit(obs.HttpRequest(ts, where, client, server, port, method, host, rec.s("uri")[:MAX_TEXT],
                         rec.n("request_body_len"), rec.s("user_agent")[:256]))
    user = rec.s("username")[:256]
    if user:
        status = rec.n("status_code")
        accepted = None if status is None else status not in (401, 407)
        emit(obs.Credential(ts, where, "http-basic", client, server, port, user, _secret(rec.s("password")),
                        accepted=accepted, note=_hidden_note(rec.s("password"))))
    return True


def ftp(rec: Fields, where: str, emit: obs.Emit, state: Any) -> bool:
    """One row per logged command (transfers, PASV/PORT; since Zeek 9 at least one per session); the session's
    login rides on every row. The login is judged over the whole session (``FtpSessions``), its outcome from the
    login reply, not from the reply of whatever command the row logs."""
    client, server, port = _ends(rec)
    ts = rec.ts()
    command = rec.s("command").upper()[:16]
    reply = rec.n("reply_code")
    state.ftp.row(emit, rec.s("uid") or f"{client}|{server}", ts, where, client, server, port,
                  rec.s("user")[:256], rec.s("password")[:256], command, reply)
    direction = mapping.FTP_FILE_COMMANDS.get(command)
    if direction and (reply is None or reply < 400):
        name = ftp_file_name(rec.s("arg"))[:256]
        emit(mapping.ftp_transfer(ts, where, client, server, name, direction, rec.n("file_size")))
    return True


def ftp_file_name(argument: str) -> str:
    """The path Zeek built for a STOR/RETR (``ftp://10.0.0.2/./report.pdf``: the working directory joined with
    the argument), without the URL and Zeek's ``./`` for the login directory; an absolute path keeps its ``/``.
    An argument cut to nothing by ``FTP::max_arg_length`` leaves no name: NAME_NOT_LOGGED."""
    if argument.startswith("ftp://"):
        rest = argument[6:]
        slash = rest.find("/", rest.find("]") + 1 if rest.startswith("[") else 0)
        argument = rest[slash:] if slash >= 0 else ""
        if argument.startswith("/./") or argument == "/.":
            argument = argument[1:]
    while argument.startswith("./"):
        argument = argument[2:]
    if argument in ("", ".", "/") or argument.endswith("/."):
        return NAME_NOT_LOGGED
    return argument


NAME_NOT_LOGGED = "(name not logged)"
LOGIN_COMMANDS = {"USER", "PASS", "ACCT"}
LOGIN_ACCEPTED = {230, 232}
LOGIN_REFUSED = {530, 430}
MAX_TRIES_KEPT = 1000  # refused tries remembered per session (each becomes one refused login)


class FtpSession:
    """What the rows of one FTP session (one uid) say about its login."""

    __slots__ = ("ts", "where", "client", "server", "port", "user", "password", "accepted", "tries")

    def __init__(self, ts: float, where: str, client: str, server: str, port: int):
        self.ts, self.where, self.client, self.server, self.port = ts, where, client, server, port
        self.user = ""
        self.password = ""
        self.accepted: Optional[bool] = None
        self.tries: list[tuple[float, str, str, str]] = []  # refused: ts, where, user, password


class FtpSessions:
    """Per-file memory of FTP sessions: logins are emitted when the file ends (or a session is pushed out).

    Zeek logs the user and password the session holds when the row is written, so
    a password can first appear on a later row; USER/PASS rows (when Zeek is told
    to log them) carry the login reply: 230 accepted, 530 refused, one refused try
    per such row. A transfer that succeeded proves a login was accepted.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self.sessions: dict[str, FtpSession] = {}

    def row(self, emit: obs.Emit, uid: str, ts: float, where: str, client: str, server: str, port: int,
            user: str, password: str, command: str, reply: Optional[int]) -> None:
        session = self.sessions.get(uid)
        if session is None:
            if len(self.sessions) >= self.limit:
                self._emit(emit, self.sessions.pop(next(iter(self.sessions))))
            session = self.sessions[uid] = FtpSession(ts, where, client, server, port)
        if user and user != "<unknown>":
            session.user = user
        if password and (password != HIDDEN or not session.password):
            session.password = password
        if command in LOGIN_COMMANDS and reply in LOGIN_REFUSED:
            if len(session.tries) < MAX_TRIES_KEPT:
                session.tries.append((ts, where, session.user, password))
            session.accepted = False if session.accepted is None else session.accepted
        elif command in LOGIN_COMMANDS and reply in LOGIN_ACCEPTED:
            session.accepted = True
        elif command in mapping.FTP_FILE_COMMANDS and reply is not None and reply < 400:
            session.accepted = True

    def finish(self, emit: obs.Emit) -> None:
        for session in self.sessions.values():
            self._emit(emit, session)
        self.sessions.clear()

    @staticmethod
    def _emit(emit: obs.Emit, s: FtpSession) -> None:
        for ts, where, user, password in s.tries:
            emit(obs.Credential(ts, where, "ftp", s.client, s.server, s.port, user, _secret(password),
                                kind=mapping.ftp_login_kind(user), accepted=False, note=_hidden_note(password)))
        if s.user and (s.accepted is not False or not s.tries):
            emit(obs.Credential(s.ts, s.where, "ftp", s.client, s.server, s.port, s.user, _secret(s.password),
                                kind=mapping.ftp_login_kind(s.user), accepted=s.accepted,
                                note=_hidden_note(s.password)))


def notice(rec: Fields, where: str, emit: obs.Emit, state: Any) -> bool:
    """``FTP::Bruteforcing`` (policy/protocols/ftp/detect-bruteforcing): the failed logins Zeek counted, one
    refused login each (up to MAX_TRIES_KEPT), against the servers Zeek sampled."""
    if rec.s("note") != "FTP::Bruteforcing":
        rec.ts()
        return True
    attacker = rec.s("src") or rec.s("id.orig_h")
    message = rec.s("msg")[:MAX_TEXT]
    count = BRUTE_COUNT.search(message)
    servers = [s.strip() for s in rec.s("sub").partition(":")[2].split(",") if s.strip()][:16] \
        or [rec.s("dst") or rec.s("id.resp_h")]
    if not attacker or not count:
        return True
    ts = rec.ts()
    tries = min(int(count.group(1)), MAX_TRIES_KEPT)
    for index in range(tries):
        server = servers[index % len(servers)]
        emit(obs.Credential(ts, where, "ftp", attacker, server, 21, "", protect_missing(), accepted=False,
                            note=f"Zeek notice FTP::Bruteforcing: {message}"))
    return True


BRUTE_COUNT = re.compile(r"had (\d{1,9}) failed logins")


def files(rec: Fields, where: str, emit: obs.Emit, state: Any) -> bool:
    """Mail attachments by name, size and type (FTP and HTTP bodies are covered by their own logs)."""
    if "SMTP" not in rec.s("source").upper():
        return True
    client = rec.s("id.orig_h") or next(iter(rec.items("tx_hosts")), "")
    server = rec.s("id.resp_h") or next(iter(rec.items("rx_hosts")), "")
    name = rec.s("filename")[:256]
    mime = rec.s("mime_type")[:128]
    if not name:
        if not mime or mime.startswith(("text/", "multipart/", "message/")):
            return True  # the message body itself, not an attachment
        name = f"(unnamed {mime})"
    size = rec.n("total_bytes")
    if size is None:
        size = rec.n("seen_bytes")
    emit(obs.FileTransfer(rec.ts(), where, client, server, "smtp-attachment", name, "up", size, mime_type=mime))
    return True


def smtp(rec: Fields, where: str, emit: obs.Emit, state: Any) -> bool:
    """smtp.log carries the envelope but no file names (those are in files.log): nothing to report alone."""
    rec.ts()  # still checks the line
    return True


# ---------------------------------------------------------------- who is who


def dhcp(rec: Fields, where: str, emit: obs.Emit, state: Any) -> bool:
    ts = rec.ts()
    mac = rec.s("mac").lower()
    hostname = rec.s("host_name")[:64]
    address = rec.s("assigned_addr") or rec.s("assigned_ip") or rec.s("client_addr")
    if mac:
        bound = bool(rec.s("client_addr"))
        for message in rec.items("msg_types"):
            kind = DHCP_CLIENT_MESSAGES.get(message.upper())
            if kind:
                emit(obs.DhcpClientRequest(ts, where, mac, kind, not bound, hostname))
    if mac or hostname:
        emit(obs.HostIdentity(ts, where, address=address, mac=mac, hostname=hostname,
                          domain=rec.s("domain")[:255], source="zeek:dhcp"))
    return True


def ntlm(rec: Fields, where: str, emit: obs.Emit, state: Any) -> bool:
    user = rec.s("username")[:256]
    hostname = rec.s("hostname")[:64]
    if user or hostname:
        emit(obs.HostIdentity(rec.ts(), where, address=rec.s("id.orig_h"), hostname=hostname, username=user,
                          domain=rec.s("domainname")[:255], source="zeek:ntlm"))
    return True


def kerberos(rec: Fields, where: str, emit: obs.Emit, state: Any) -> bool:
    principal = rec.s("client")[:256]
    if principal:
        user, _, realm = principal.replace("@", "/").partition("/")
        emit(obs.HostIdentity(rec.ts(), where, address=rec.s("id.orig_h"), username=user, domain=realm,
                          source="zeek:kerberos"))
    return True


def _secret(password: str):
    """Zeek writes '<hidden>' (or nothing) unless default_capture_password is set."""
    if not password or password == HIDDEN:
        return protect_missing()
    return protect(password)


def _hidden_note(password: str) -> str:
    return "password hidden by Zeek" if not password or password == HIDDEN else ""


MAPPERS: dict[str, Mapper] = {
    "conn": conn, "dns": dns, "ssl": ssl, "quic": quic, "http": http, "ftp": ftp, "smtp": smtp,
    "files": files, "dhcp": dhcp, "ntlm": ntlm, "kerberos": kerberos, "software": software, "x509": x509,
    "notice": notice,
}

# Zeek's log paths (base and policy scripts): a file name starting with one of them names its path
KNOWN_PATHS = frozenset(
    "conn dns ssl x509 http ftp smtp pop3 imap irc files notice weird software dhcp ntlm kerberos quic ssh rdp "
    "smb_files smb_mapping dce_rpc sip snmp mysql radius tunnel socks intel dpd analyzer packet_filter reporter "
    "syslog modbus dnp3 ocsp pe known_hosts known_services known_certs known_devices loaded_scripts capture_loss stats "
    "signatures traceroute mqtt_connect mqtt_publish mqtt_subscribe websocket ldap ldap_search".split())

# what only one log path has (every field listed must be present), most specific first: how to read a log
# whose file name and _path say nothing. JSON leaves unset fields out, so one field must suffice where it can.
SIGNATURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("quic", ("client_initial_dcid",)), ("dns", ("qtype_name",)), ("dns", ("query", "rcode")),
    ("dns", ("query", "trans_id")), ("x509", ("certificate.subject",)), ("x509", ("certificate.version",)),
    ("ftp", ("command", "reply_code")), ("ftp", ("command", "password")), ("ftp", ("data_channel.passive",)),
    ("ftp", ("command", "arg")), ("ssl", ("server_name", "version")), ("ssl", ("cert_chain_fps",)),
    ("ssl", ("established",)), ("ssl", ("server_name", "cipher")), ("notice", ("note", "msg")),
    ("conn", ("conn_state",)), ("conn", ("orig_bytes",)), ("conn", ("history", "service")),
    ("http", ("trans_depth", "method")), ("http", ("request_body_len",)), ("http", ("trans_depth", "status_code")),
    ("smtp", ("mailfrom",)), ("smtp", ("helo",)), ("files", ("fuid", "source")), ("files", ("seen_bytes",)),
    ("files", ("fuid", "analyzers")), ("dhcp", ("msg_types",)), ("ntlm", ("domainname",)),
    ("ntlm", ("server_nb_computer_name",)), ("kerberos", ("request_type",)), ("software", ("software_type",)),
)


def guess_path(keys) -> str:
    for path, fields in SIGNATURES:
        if all(field in keys for field in fields):
            return path
    return ""
