"""Suricata EVE JSON (one event per line), to the same observations packets give.

Events read: ``dns`` (v1: one event per query or answer record; v2, Suricata 6-7:
``"type":"answer"`` with ``answers`` list and/or ``grouped``; v3, Suricata 7
requests and every Suricata 8 record: ``"version":3``, ``"type":"request"`` or
``"response"``, the questions in ``queries`` and a response's records in ``answers``
/ ``grouped`` beside them), ``tls`` and ``quic`` (``sni``), ``http`` (and Basic
logins in ``request_headers`` when ``dump-all-headers`` is on),
``fileinfo`` (mail attachments with size), ``ftp`` and ``ftp_data``, ``smtp`` /
``email`` (attachment names, envelope), ``flow`` (``bytes_toserver`` /
``bytes_toclient``), ``dhcp`` (host name), ``krb5`` and ``smb`` NTLMSSP (user
names) and ``alert``: ET POLICY signatures that name a file-sharing or remote
access service become contacts of that catalog service through
rules/suricata_signatures.yaml.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional

from detector.bounded import RecentMap
from detector.data import rules_file
from detector.logs.base import LineParser, LogContext, LogDecoder, first_match
from detector.logs.sensors.jsonline import json_object
from detector.logs.sensors.mapping import (
    FTP_FILE_COMMANDS,
    QTYPE_NAMES,
    dns_answer,
    ftp_login_kind,
    ftp_transfer,
    server_name,
    shortest_ttl,
)
from detector.observations import (
    Credential,
    DhcpClientRequest,
    Emit,
    FileTransfer,
    FlowVolume,
    HostIdentity,
    HttpRequest,
    ServiceContact,
)
from detector.policy.model import Mark
from detector.policy.yamlsrc import YamlFileError, YList, YMap, load_file
from detector.secrets import protect, protect_missing

DNS_PORTS = (53, 5353, 853)
MAX_MEMORY = 20_000  # per-file bounded tables (ftp sessions, attachments already reported)
SIGNATURES_FILE = "suricata_signatures.yaml"
SIGNATURE_LIMIT = 512  # characters of an alert signature read
BASIC_HEADERS = {"authorization": "http-basic", "proxy-authorization": "http-proxy-basic"}
NAME_KEYS = {b"dns": b'"rrname":"', b"tls": b'"sni":"', b"quic": b'"sni":"', b"http": b'"hostname":"'}
HANDLED_RAW = {b"dns", b"tls", b"quic", b"http", b"fileinfo", b"ftp", b"ftp_data", b"smtp", b"email", b"alert",
               b"dhcp", b"krb5", b"smb"}


class SignatureTableError(ValueError):
    """rules/suricata_signatures.yaml cannot be used; the message names the file and entry."""


@dataclass(frozen=True)
class SignatureMapping:
    pattern: re.Pattern
    service: str


@dataclass(frozen=True)
class SignatureTable:
    prefixes: tuple[str, ...]
    mappings: tuple[SignatureMapping, ...]

    def service(self, signature: str) -> str:
        if not signature.startswith(self.prefixes):
            return ""
        for mapping in self.mappings:
            if mapping.pattern.search(signature):
                return mapping.service
        return ""


def signatures_path() -> Path:
    """Beside the service catalog in the shipped ``rules`` package."""
    return rules_file(SIGNATURES_FILE)


def load_signature_table(path: Optional[Path] = None) -> SignatureTable:
    """Read the table through the one YAML loader; every problem names ``file:line:col`` and the entry."""
    path = path or signatures_path()
    try:
        data = load_file(path)
    except YamlFileError as exc:
        raise SignatureTableError(str(exc)) from exc
    if not isinstance(data, YMap) or not isinstance(data.get("signatures"), YList):
        mark = data.value_mark("signatures") if isinstance(data, YMap) and "signatures" in data \
            else getattr(data, "mark", Mark(str(path), 1, 1))
        raise SignatureTableError(str(mark.error("expected a mapping with a 'signatures' list")))
    prefixes = data.get("prefixes", ["ET POLICY"])
    if not isinstance(prefixes, list) or not all(isinstance(p, str) and p for p in prefixes):
        raise SignatureTableError(str(data.value_mark("prefixes").error("'prefixes' must be a list of strings")))
    entries = data["signatures"]
    mappings = []
    for index, entry in enumerate(entries):
        where = entries.item_mark(index)
        if not isinstance(entry, YMap) or not isinstance(entry.get("match"), str) \
                or not isinstance(entry.get("service"), str):
            raise SignatureTableError(str(where.error(
                f"signatures entry {index + 1}: needs 'match' and 'service' strings")))
        try:
            pattern = re.compile(entry["match"], re.IGNORECASE)
        except re.error as exc:
            raise SignatureTableError(str(entry.value_mark("match").error(
                f"signatures entry {index + 1}: bad regular expression ({exc})"))) from exc
        mappings.append(SignatureMapping(pattern, entry["service"]))
    return SignatureTable(tuple(prefixes), tuple(mappings))


@lru_cache(maxsize=1)
def default_signature_table() -> SignatureTable:
    return load_signature_table()


# ---------------------------------------------------------------- helpers

_SECONDS: dict[str, float] = {}


def eve_time(text: Any) -> float:
    """'2026-11-29T15:00:00.123456+0000' -> epoch seconds; the whole-second part is cached (it repeats)."""
    if not isinstance(text, str) or len(text) < 19:
        raise ValueError("no timestamp")
    head = text[:19]
    zone = text[26:] if len(text) > 26 and text[19:20] == "." else text[19:].lstrip(".0123456789")
    key = head + zone
    base = _SECONDS.get(key)
    if base is None:
        base = datetime.fromisoformat(head + (zone or "+00:00")).timestamp()
        if len(_SECONDS) > 4096:
            _SECONDS.clear()
        _SECONDS[key] = base
    fraction = text[19:len(text) - len(zone)] if zone else text[19:]
    return base + (float(fraction) if fraction.startswith(".") and len(fraction) > 1 else 0.0)


def _text(value: Any, limit: int = 256) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value)[:limit]


def _int(value: Any) -> Optional[int]:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@dataclass
class Event:
    """The common part of every EVE record."""

    ts: float
    where: str
    src: str
    sport: int
    dst: str
    dport: int
    proto: str
    data: dict

    def section(self, name: str) -> dict:
        value = self.data.get(name)
        return value if isinstance(value, dict) else {}


class EveParser(LineParser):
    def __init__(self, ctx: LogContext, table: Optional[SignatureTable] = None):
        self.table = table
        self.watched = ctx.watched_raw  # metered servers, as bytes: compared with the raw line
        self.relevant = ctx.relevant_name
        self.names: dict[bytes, bool] = {}  # raw name -> no catalog service (skip the record)
        self.signatures: dict[bytes, bool] = {}  # raw alert signature -> names no catalog service
        self.skip_raw = self._skip_raw
        self.ftp_users: RecentMap[Any, str] = RecentMap(MAX_MEMORY)  # flow_id -> user name
        self.files_seen: RecentMap[Any, None] = RecentMap(MAX_MEMORY)  # (hosts, file name) already reported
        self.handlers: dict[str, Callable[[Event, Emit], None]] = {
            "dns": self._dns, "tls": self._tls, "quic": self._quic, "http": self._http,
            "fileinfo": self._fileinfo, "ftp": self._ftp, "ftp_data": self._ftp_data, "smtp": self._smtp,
            "email": self._smtp, "flow": self._flow, "dhcp": self._dhcp, "alert": self._alert,
            "krb5": self._krb5, "smb": self._smb,
        }

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        data = json_object(line)
        if data is None:
            return False
        kind = data.get("event_type")
        if not isinstance(kind, str):
            return False
        handler = self.handlers.get(kind)
        if handler is None:
            return True  # stats, anomaly, netflow...: well-formed, nothing for us
        try:
            event = Event(eve_time(data.get("timestamp")), where, _text(data.get("src_ip")),
                          _int(data.get("src_port")) or 0, _text(data.get("dest_ip")),
                          _int(data.get("dest_port")) or 0, _text(data.get("proto")).lower(), data)
            handler(event, emit)
        except (ValueError, TypeError, AttributeError):
            return False
        return True

    def line_time(self, line: str) -> Optional[float]:
        data = json_object(line)
        try:
            return eve_time(data.get("timestamp")) if data is not None else None
        except (ValueError, TypeError):
            return None

    def _skip_raw(self, line: bytes) -> bool:
        """Raw-bytes test for the bulk of a busy EVE file (Suricata writes compact JSON).

        flow: the server is not metered; dns/tls/quic/http: the name is no
        catalog service and the event carries nothing else (CNAME, tracker URI, Basic login header);
        fileinfo: not a mail attachment; event types we do not read. Anything
        unusual (escapes, other spacing) takes the full path.
        """
        # bytes.split and partition, not find: find parses its arguments the slow way (a third of the cost)
        head = line.split(b'"event_type":"', 1)
        if len(head) < 2:
            return False
        kind, quote, rest = head[1].partition(b'"')
        if not quote:
            return False
        if kind == b"flow":  # most of the file: is the server metered?
            watched = self.watched
            if not watched:
                return watched is not None
            found = rest.split(b'"dest_ip":"', 1)  # Suricata writes it after event_type
            if len(found) < 2:
                found = head[0].split(b'"dest_ip":"', 1)
                if len(found) < 2:
                    return False
            dest, quote, _ = found[1].partition(b'"')
            return bool(quote) and dest not in watched
        key = NAME_KEYS.get(kind)
        if key is not None:  # dns, tls, quic, http: most of the rest
            if self.relevant is None:
                return False
            name = _raw_string(line, key)
            if name is None:
                return False
            hit = self.names.get(name)
            if hit is None:
                hit = self._irrelevant(name)
            # a CNAME chain or a tracker URI matters whatever the name ("CNAME": a needle JSON rarely holds)
            return hit and not (b"CNAME" in line if kind == b"dns" else kind == b"http" and (
                b"announce" in line or b"scrape" in line or b"uthorization" in line))
        if kind == b"alert":
            signature = _raw_string(line, b'"signature":"')
            return signature is not None and self._unmapped(signature)
        if kind not in HANDLED_RAW:
            return kind.replace(b"_", b"").isalnum()  # stats, anomaly, netflow...: nothing for us
        if kind == b"fileinfo":
            return b'"app_proto":"' in line and b'"app_proto":"smtp"' not in line
        return False

    def _irrelevant(self, name: bytes) -> bool:
        """A plain name (bytes) the catalog does not know; cached per file. Empty or escaped: not decided here."""
        if len(self.names) >= MAX_MEMORY:
            self.names.clear()
        assert self.relevant is not None
        plain = bool(name) and b"\\" not in name
        hit = self.names[name] = plain and not self.relevant(name.decode("utf-8", "replace").lower().rstrip("."))
        return hit

    def _unmapped(self, signature: bytes) -> bool:
        """An alert whose signature (raw) names no catalog service: nothing for us. Cached per file."""
        hit = self.signatures.get(signature)
        if hit is None:
            if len(self.signatures) >= MAX_MEMORY:
                self.signatures.clear()
            table = self.table or default_signature_table()
            plain = 0 < len(signature) <= SIGNATURE_LIMIT and b"\\" not in signature
            hit = self.signatures[signature] = plain and not table.service(signature.decode("utf-8", "replace"))
        return hit

    # ------------------------------------------------------------ names

    def _dns(self, e: Event, emit: Emit) -> None:
        dns = e.section("dns")
        client, server = e.src, e.dst
        if e.sport in DNS_PORTS and e.dport not in DNS_PORTS:
            client, server = e.dst, e.src  # an answer logged in the server-to-client direction
        response = dns.get("type") in ("answer", "response")
        addresses, aliases = _answers(dns) if response else ((), ())
        ttl = shortest_ttl([a.get("ttl") for a in _list(dns.get("answers"))[:64]
                            if isinstance(a, dict) and a.get("rrtype") in ("A", "AAAA")]) if addresses else None
        queries = dns.get("queries")
        if isinstance(queries, list):  # v3: the questions; a response's answers belong to them
            for query in queries[:16]:
                if isinstance(query, dict):
                    self._dns_one(e, emit, client, server, _text(query.get("rrname"), 255),
                                  _text(query.get("rrtype"), 16), addresses, aliases, ttl)
            return
        rrtype = _text(dns.get("rrtype"), 16)
        if response and "rdata" in dns and not isinstance(dns.get("answers"), list) \
                and not isinstance(dns.get("grouped"), dict):  # v1: one record per event, rrname is its owner
            rdata = dns.get("rdata")
            addresses, aliases = _answer_record(rrtype, rdata)
            ttl = shortest_ttl([dns.get("ttl")]) if addresses else None
            if rrtype in ("A", "AAAA", "CNAME"):
                rrtype = ""  # the record's type, not the question's: unknown
        self._dns_one(e, emit, client, server, _text(dns.get("rrname"), 255), rrtype, addresses, aliases, ttl)

    @staticmethod
    def _dns_one(e: Event, emit: Emit, client: str, server: str, name: str, rrtype: str,
                 addresses: tuple[str, ...], aliases: tuple[str, ...], ttl: Optional[float]) -> None:
        name = name.lower().rstrip(".")
        if name:
            dns_answer(emit, e.ts, e.where, client, server, name, QTYPE_NAMES.get(rrtype, 0), addresses, aliases,
                       ttl)

    def _tls(self, e: Event, emit: Emit) -> None:
        tls = e.section("tls")
        sni = _text(tls.get("sni"), 255)
        subject = "" if sni else _text(tls.get("subject"), 1024)
        common = [part.strip()[3:] for part in subject.split(",") if part.strip().startswith("CN=")]
        server_name(emit, e.ts, e.where, e.src, e.dst, e.dport, sni, common[0][:255] if common else None)

    def _quic(self, e: Event, emit: Emit) -> None:
        server_name(emit, e.ts, e.where, e.src, e.dst, e.dport, _text(e.section("quic").get("sni"), 255),
                    transport="quic")

    def _http(self, e: Event, emit: Emit) -> None:
        http = e.section("http")
        host = _text(http.get("hostname"), 255)
        method = _text(http.get("http_method"), 16)
        if not host and not method:
            return
        port = _int(http.get("http_port")) or e.dport
        emit(HttpRequest(e.ts, e.where, e.src, e.dst, port, method, host,
                         _text(http.get("url"), 1024), _request_length(http), _text(http.get("http_user_agent"))))
        login = _basic_login(http)
        if login is not None:
            protocol, user, password = login
            status = _int(http.get("status"))
            emit(Credential(e.ts, e.where, protocol, e.src, e.dst, port, user, protect(password),
                            accepted=None if status is None else status not in (401, 407), note=f"host {host}"))

    # ------------------------------------------------------------ files and logins

    def _fileinfo(self, e: Event, emit: Emit) -> None:
        info = e.section("fileinfo")
        if _text(e.data.get("app_proto")).lower() != "smtp":
            return  # FTP files come from ftp/ftp_data events, HTTP uploads from http events
        name = _text(info.get("filename"))
        if name:
            email = e.section("email")
            self._attachment(e, emit, name, _int(info.get("size")), email, mime=_text(info.get("magic"), 128))

    def _smtp(self, e: Event, emit: Emit) -> None:
        email = e.section("email")
        for name in _list(email.get("attachment"))[:100]:
            if isinstance(name, str) and name:
                self._attachment(e, emit, name[:256], None, email, e.section("smtp"))

    def _attachment(self, e: Event, emit: Emit, name: str, size: Optional[int], email: dict,
                    smtp: Optional[dict] = None, mime: str = "") -> None:
        key = ("smtp", e.data.get("flow_id") or (e.src, e.dst), name)
        if key in self.files_seen:
            return
        self.files_seen.put(key, None)
        smtp = smtp or e.section("smtp")
        sender = _text(email.get("from")) or _text(smtp.get("mail_from"))
        recipients = tuple(_text(r) for r in (_list(email.get("to")) or _list(smtp.get("rcpt_to")))[:50])
        emit(FileTransfer(e.ts, e.where, e.src, e.dst, "smtp-attachment", name, "up", size,
                          sender.strip("<>"), tuple(r.strip("<>") for r in recipients if r), mime_type=mime))

    def _ftp(self, e: Event, emit: Emit) -> None:
        ftp = e.section("ftp")
        command = _text(ftp.get("command"), 16).upper()
        argument = _text(ftp.get("command_data"))
        flow = e.data.get("flow_id") or (e.src, e.sport, e.dst, e.dport)
        codes = [str(code) for code in _list(ftp.get("completion_code"))]
        if command == "USER":
            self.ftp_users.put(flow, argument.strip())
        elif command == "PASS":
            user = self.ftp_users.get(flow) or ""
            secret = protect(argument) if argument else protect_missing()
            accepted = True if "230" in codes else False if any(c in ("530", "430") for c in codes) else None
            emit(Credential(e.ts, e.where, "ftp", e.src, e.dst, e.dport, user, secret,
                            kind=ftp_login_kind(user), accepted=accepted,
                            note="" if argument else "password not logged by Suricata"))
        elif command in FTP_FILE_COMMANDS and argument:
            self._ftp_file(e, emit, e.src, e.dst, argument, FTP_FILE_COMMANDS[command])

    def _ftp_data(self, e: Event, emit: Emit) -> None:
        data = e.section("ftp_data")
        command = _text(data.get("command"), 16).upper()
        name = _text(data.get("filename"))
        if command in FTP_FILE_COMMANDS and name:
            self._ftp_file(e, emit, e.src, e.dst, name, FTP_FILE_COMMANDS[command])

    def _ftp_file(self, e: Event, emit: Emit, client: str, server: str, name: str, direction: str) -> None:
        hosts = tuple(sorted((client, server)))
        key = ("ftp", hosts, name, direction)
        if key in self.files_seen:
            return  # the control channel's STOR and the data channel's ftp_data name the same file
        self.files_seen.put(key, None)
        emit(ftp_transfer(e.ts, e.where, client, server, name, direction))

    # ------------------------------------------------------------ volumes, devices, alerts

    def _flow(self, e: Event, emit: Emit) -> None:
        flow = e.section("flow")
        start = flow.get("start")
        end = flow.get("end")
        first = eve_time(start) if isinstance(start, str) else e.ts
        last = eve_time(end) if isinstance(end, str) else first
        packets = (_int(flow.get("pkts_toserver")) or 0) + (_int(flow.get("pkts_toclient")) or 0)
        emit(FlowVolume(first, e.where, e.src, e.dst, e.dport, e.proto or "tcp",
                        _int(flow.get("bytes_toserver")) or 0, _int(flow.get("bytes_toclient")) or 0, packets,
                        last))

    def _dhcp(self, e: Event, emit: Emit) -> None:
        dhcp = e.section("dhcp")
        mac = _text(dhcp.get("client_mac"), 32).lower()
        hostname = _text(dhcp.get("hostname"), 64).rstrip("\x00")  # Suricata keeps option 12's trailing NUL
        kind = _text(dhcp.get("dhcp_type"), 16).lower()
        if dhcp.get("type") == "request" and mac and kind in ("discover", "request"):
            bound = _text(dhcp.get("client_ip")) not in ("", "0.0.0.0")
            emit(DhcpClientRequest(e.ts, e.where, mac, kind, not bound, hostname))
        if mac and (hostname or dhcp.get("assigned_ip")):
            address = _text(dhcp.get("assigned_ip"))
            emit(HostIdentity(e.ts, e.where, address="" if address == "0.0.0.0" else address, mac=mac,
                              hostname=hostname, source="suricata:dhcp"))

    def _alert(self, e: Event, emit: Emit) -> None:
        alert = e.section("alert")
        signature = _text(alert.get("signature"), SIGNATURE_LIMIT)
        table = self.table or default_signature_table()
        service = table.service(signature)
        if not service:
            return
        client, server, port = e.src, e.dst, e.dport
        if _text(alert.get("direction")) == "to_client" or (_public(e.src) and not _public(e.dst)):
            client, server, port = e.dst, e.src, e.sport  # the alerting packet came from the server
        host = _text(e.section("tls").get("sni"), 255) or _text(e.section("http").get("hostname"), 255) \
            or _text(e.section("dns").get("rrname"), 255)
        emit(ServiceContact(e.ts, e.where, client, host=host, service=service, method="ids-alert", server=server,
                            server_port=port, detail=f"Suricata alert {alert.get('signature_id')}: {signature}"))

    def _krb5(self, e: Event, emit: Emit) -> None:
        krb = e.section("krb5")
        user = _text(krb.get("cname"))
        if user and user != "<empty>":
            emit(HostIdentity(e.ts, e.where, address=e.src, username=user, domain=_text(krb.get("realm")),
                              source="suricata:krb5"))

    def _smb(self, e: Event, emit: Emit) -> None:
        ntlm = e.section("smb").get("ntlmssp")
        if isinstance(ntlm, dict) and (ntlm.get("user") or ntlm.get("host")):
            emit(HostIdentity(e.ts, e.where, address=e.src, hostname=_text(ntlm.get("host"), 64),
                              username=_text(ntlm.get("user")), domain=_text(ntlm.get("domain")),
                              source="suricata:smb"))


def _raw_string(line: bytes, key: bytes) -> Optional[bytes]:
    """The raw text of the first string value after ``key`` (which ends with its opening quote); None when absent
    or unterminated. Escapes stay as written: callers send a value holding a backslash to the full parse."""
    found = line.split(key, 1)
    if len(found) < 2:
        return None
    value, quote, _ = found[1].partition(b'"')
    return value if quote else None


def _public(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


def _answers(dns: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The addresses and CNAME targets of a response: the detailed ``answers`` list, else ``grouped``."""
    addresses: list[str] = []
    aliases: list[str] = []
    answers = dns.get("answers")
    if isinstance(answers, list):
        for answer in answers[:64]:
            if isinstance(answer, dict):
                _collect(answer.get("rrtype"), answer.get("rdata"), addresses, aliases)
    elif isinstance(dns.get("grouped"), dict):
        for rtype, values in list(dns["grouped"].items())[:16]:
            for value in _list(values)[:64]:
                _collect(rtype, value, addresses, aliases)
    return tuple(addresses), tuple(aliases)


def _answer_record(rrtype: str, rdata: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    addresses: list[str] = []
    aliases: list[str] = []
    _collect(rrtype, rdata, addresses, aliases)
    return tuple(addresses), tuple(aliases)


def _collect(rtype: Any, rdata: Any, addresses: list[str], aliases: list[str]) -> None:
    if not isinstance(rdata, str) or not rdata:
        return
    if rtype in ("A", "AAAA"):
        addresses.append(rdata)
    elif rtype == "CNAME" and len(aliases) < 16:
        aliases.append(rdata.lower().rstrip("."))


def _basic_login(http: dict) -> Optional[tuple[str, str, str]]:
    """(protocol, user, password) from an ``Authorization`` / ``Proxy-Authorization: Basic`` request header
    (``dump-all-headers``), else None."""
    for header in _list(http.get("request_headers"))[:64]:
        if not isinstance(header, dict):
            continue
        protocol = BASIC_HEADERS.get(str(header.get("name", "")).lower())
        scheme, _, value = _text(header.get("value"), 4096).strip().partition(" ")
        if protocol is None or scheme.lower() != "basic":
            continue
        try:
            pair = base64.b64decode(value.strip(), validate=True).decode("utf-8", "replace")
        except (ValueError, binascii.Error):
            continue
        user, colon, password = pair.partition(":")
        if colon:
            return protocol, user[:256], password
    return None


def _request_length(http: dict) -> Optional[int]:
    """EVE's ``length`` is the response body; the request's size is only in dumped headers."""
    for header in _list(http.get("request_headers"))[:64]:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == "content-length":
            return _int(header.get("value"))
    return None


def _eve_line(line: str) -> bool:
    line = line.lstrip()
    return line[:1] == "{" and '"event_type"' in line and '"timestamp"' in line


class EveDecoder(LogDecoder):
    name = "suricata-eve"
    parser_class = EveParser

    def sniff(self, head: list[str]) -> float:
        return 0.97 * first_match(head, _eve_line)
