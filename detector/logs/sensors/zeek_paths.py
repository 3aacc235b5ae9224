"""What each Zeek log path says, as observations (field names from Zeek's ``Info`` records).

One small function per log path; each gets a ``Fields`` view that hides the
encoding (TSV or JSON), so both encodings give the same observations. A
record missing the fields a mapping needs says nothing; a field that cannot
be what its type says (a timestamp that is no number) makes the line malformed.

Zeek 6/7 field lists: conn, dns, ssl, quic, http, ftp, smtp, files (``uid``/``id``
since 5.0, ``tx_hosts``/``rx_hosts`` before), dhcp (3.0+ and the old per-connection
form), ntlm, kerberos, software.
"""

from __future__ import annotations

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
    mapping.dns_answer(emit, ts, where, client, server, query, qtype, addresses, aliases)
    return True


def ssl(rec: Fields, where: str, emit: obs.Emit, state: Any) -> bool:
    client, server, port = _ends(rec)
    ts = rec.ts()
    sni = rec.s("server_name")[:255]
    common = [] if sni else [part[3:] for part in rec.s("subject").split(",") if part.startswith("CN=")]
    mapping.server_name(emit, ts, where, client, server, port, sni, common[0][:255] if common and client else None)
    return True


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
    """One line per transfer command; the login rides on every line, credited once per session."""
    client, server, port = _ends(rec)
    ts = rec.ts()
    user = rec.s("user")[:256]
    reply = rec.n("reply_code")
    if user and user != "<unknown>" and state.first_time("ftp|" + (rec.s("uid") or f"{client}|{server}|{user}")):
        emit(obs.Credential(ts, where, "ftp", client, server, port, user, _secret(rec.s("password")),
                        kind=mapping.ftp_login_kind(user),
                        accepted=True if reply is not None and reply < 400 else None,
                        note=_hidden_note(rec.s("password"))))
    direction = mapping.FTP_FILE_COMMANDS.get(rec.s("command").upper())
    argument = rec.s("arg")
    if direction and argument:
        name = ftp_file_name(argument)[:256]
        emit(mapping.ftp_transfer(ts, where, client, server, name, direction, rec.n("file_size")))
    return True


def ftp_file_name(argument: str) -> str:
    """Zeek logs the argument of STOR/RETR as a URL (ftp://10.0.0.2/./report.pdf): the path the client sent."""
    if argument.startswith("ftp://"):
        rest = argument[6:]
        slash = rest.find("/")
        argument = rest[slash + 1:] if slash >= 0 else ""
    while argument.startswith("./"):
        argument = argument[2:]
    return argument


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
    "files": files, "dhcp": dhcp, "ntlm": ntlm, "kerberos": kerberos, "software": software,
}

# fields only one log path has: how to read a JSON log whose file name and _path say nothing
SIGNATURE_FIELDS = (
    ("client_initial_dcid", "quic"), ("qtype_name", "dns"),
    ("server_name", "ssl"), ("orig_bytes", "conn"), ("request_body_len", "http"),
    ("data_channel.passive", "ftp"), ("mailfrom", "smtp"), ("fuid", "files"), ("msg_types", "dhcp"),
    ("domainname", "ntlm"), ("request_type", "kerberos"), ("software_type", "software"),
)


def guess_path(keys) -> str:
    for field, path in SIGNATURE_FIELDS:
        if field in keys:
            return path
    return ""
