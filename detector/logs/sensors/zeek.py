"""Zeek logs, both encodings: ASCII TSV with ``#`` headers and JSON (one object per line).

TSV (``LogAscii``): ``#separator`` (itself written as ``\\x09``), ``#set_separator``,
``#empty_field`` ("(empty)"), ``#unset_field`` ("-"), ``#path``, ``#fields`` and
``#types`` headers; field values escape the separator, backslash and non-printable
bytes as ``\\xHH``; set and vector fields join their items with the set separator.
A rotated file may hold several header blocks (``#close`` then ``#separator``).

``zeek-cut -m`` output: one line of field names, then the rows (no other header).

JSON (``LogAscii::use_json`` / json-streaming): flat keys ``id.orig_h``; the log
path comes from ``_path`` when present, else from the file name when it names a
Zeek log (``dns.15:00:00-16:00:00.log.gz``, the log queue's
``ftp__2026-12-07-10-00-00__2026-12-07-11-00-00__.log``, an exported ``ftp.json``),
else from the fields themselves.
What each log path means is in ``zeek_paths`` (and what Zeek shares with EVE in ``mapping``); this module
only reads the encodings.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Optional

from detector.logs.base import LineParser, LogContext, LogDecoder, first_match
from detector.logs.sensors.certificates import CertificateJoin
from detector.logs.sensors.jsonline import json_object
from detector.logs.sensors.zeek_paths import (
    KNOWN_PATHS,
    MAPPERS,
    Fields,
    FtpSessions,
    Malformed,
    conn,
    dns,
    guess_path,
    http,
    quic,
    ssl,
)
from detector.observations import Emit

ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})|\\\\")
MAX_FIELDS = 256
JSON_STREAMING = "json_streaming_"  # the json-streaming-logs package's file names
MAX_UIDS = 20_000  # per-file memory of FTP sessions (logins) and of names already judged
IPV4_LIST = b'0123456789.",'  # the bytes of a JSON list of IPv4 addresses (no name among them)
FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*")
# names that tell a names line from any other tab-separated header: Zeek's own
ZEEK_FIELDS = frozenset(("ts", "uid", "fuid", "id.orig_h", "id.resp_h", "seen.indicator", "trans_depth", "conn_state",
                         "status_code", "request_body_len", "response_body_len", "orig_bytes", "resp_bytes",
                         "qtype_name", "server_name", "mime_type", "reply_code"))


def unescape(value: str) -> str:
    """Undo Zeek's ``\\xHH`` escapes (bytes, so multi-byte UTF-8 comes back whole)."""
    if "\\" not in value:
        return value
    raw = ESCAPE.sub(lambda m: chr(int(m.group(1), 16)) if m.group(1) else "\\", value)
    try:
        return raw.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # non-latin text was written unescaped (LogAscii::enable_utf_8)
        return raw


def path_from_filename(name: str) -> str:
    """The Zeek log path a file name gives: 'dns.log', 'dns.15:00:00-16:00:00.log.gz',
    'ftp__2026-12-07-10-00-00__2026-12-07-11-00-00__.log', 'json_streaming_ftp.log' (json-streaming-logs),
    'ftp.json', 'x509-export.json'; '' for any other name."""
    stem = name.rsplit("/", 1)[-1].lower().split("__", 1)[0].split(".", 1)[0]
    stem = stem[len(JSON_STREAMING):] if stem.startswith(JSON_STREAMING) else stem
    if stem in KNOWN_PATHS:
        return stem
    first = re.split(r"[-_ ]", stem, maxsplit=1)[0]
    return first if first in KNOWN_PATHS else ""


def field_names_line(line: str) -> Optional[list[str]]:
    """The field names of a ``zeek-cut -m`` header (tab-separated Zeek field names), else None."""
    names = line.split("\t")
    named = names[:-1] if names[-1] == "" else names  # zeek-cut may end every line with a tab
    if len(named) < 2 or len(names) > MAX_FIELDS or not all(FIELD_NAME.fullmatch(name) for name in named):
        return None
    return names if any(name in ZEEK_FIELDS for name in named) else None


class TsvFields(Fields):
    """One TSV row seen through the file's header: unset and empty markers, escapes, sets."""

    __slots__ = ("row", "index", "header")

    def __init__(self, row: list[str], index: dict[str, int], header: TsvHeader):
        self.row = row
        self.index = index
        self.header = header

    def raw(self, key: str) -> Optional[str]:
        position = self.index.get(key)
        if position is None:
            return None
        value = self.row[position]
        return None if value == self.header.unset else value

    def s(self, key: str) -> str:
        value = self.raw(key)
        if value is None or value == self.header.empty:
            return ""
        return unescape(value)

    def items(self, key: str) -> list[str]:
        value = self.raw(key)
        if value is None or value == self.header.empty:
            return []
        return [unescape(item) for item in value.split(self.header.set_separator)]


class JsonFields(Fields):
    """One JSON object: flat dotted keys, or nested ``{"id": {"orig_h": ...}}`` as some shippers write."""

    __slots__ = ("data",)

    def __init__(self, data: dict):
        self.data = data

    def raw(self, key: str) -> Any:
        value = self.data.get(key)
        if value is None and "." in key:
            outer, _, inner = key.partition(".")
            nested = self.data.get(outer)
            if isinstance(nested, dict):
                value = nested.get(inner)
        return value

    def s(self, key: str) -> str:
        value = self.raw(key)
        if value is None or isinstance(value, (dict, list)):
            return ""
        if isinstance(value, bool):
            return "T" if value else "F"
        return str(value)

    def items(self, key: str) -> list[str]:
        value = self.raw(key)
        if value is None:
            return []
        if isinstance(value, list):
            return [str(v) for v in value if v is not None and not isinstance(v, (dict, list))]
        return [str(value)]


class TsvHeader:
    """The ``#`` header block in force for the rows that follow it."""

    def __init__(self) -> None:
        self.separator = "\t"
        self.set_separator = ","
        self.empty = "(empty)"
        self.unset = "-"
        self.path = ""
        self.fields: list[str] = []
        self.index: dict[str, int] = {}


class ZeekState:
    """Per-file memory shared by the mappers (bounded): FTP sessions, and certificates to name TLS sessions by
    (the scan's, so that ssl.log and x509.log join in any order; the file's own when read alone)."""

    def __init__(self, ctx: LogContext) -> None:
        self.ftp = FtpSessions(MAX_UIDS)
        self.own_certificates = ctx.certificates is None
        self.certificates: CertificateJoin = ctx.certificates or CertificateJoin()

    def finish(self, emit: Emit) -> None:
        self.ftp.finish(emit)
        if self.own_certificates:
            self.certificates.finish(emit)


class ZeekTsvParser(LineParser):
    def __init__(self, ctx: LogContext):
        self.header = TsvHeader()
        self.header.path = path_from_filename(ctx.path)
        self.mapper: Optional[Callable] = None
        self.state = ZeekState(ctx)
        self.watched = ctx.watched_raw  # metered servers, as bytes: the row prefilter reads raw bytes
        self.relevant = ctx.relevant_name
        self.names: dict[bytes, bool] = {}
        self.skip_raw: Optional[Callable[[bytes], bool]] = None  # set per #fields block, see tsv_prefilter

    def _known(self, name: bytes) -> bool:
        """A catalog host name (raw bytes from the row), cached per file."""
        hit = self.names.get(name)
        if hit is None:
            if len(self.names) >= MAX_UIDS:
                self.names.clear()
            assert self.relevant is not None
            hit = self.names[name] = self.relevant(name.decode("utf-8", "replace").lower().rstrip("."))
        return hit

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        if line[:1] == "#":
            return self._directive(line)
        header = self.header
        if not header.fields:  # zeek-cut -m: the field names alone; anything else is a row before any #fields
            names = field_names_line(line)
            if names is not None:
                self._fields(names)
            return names is not None
        row = line.split(header.separator)
        if len(row) != len(header.fields):
            return False
        if self.mapper is None:
            return True  # a log path we do not read: well-formed, nothing to say
        try:
            return self.mapper(TsvFields(row, header.index, header), where, emit, self.state)
        except Malformed:
            return False

    def line_time(self, line: str) -> Optional[float]:
        header = self.header
        if line[:1] == "#" or "ts" not in header.index:
            return None
        row = line.split(header.separator)
        if len(row) != len(header.fields):
            return None
        try:
            return TsvFields(row, header.index, header).ts() or None
        except Malformed:
            return None

    def _directive(self, line: str) -> bool:
        header = self.header
        if line.startswith("#separator"):
            value = unescape(line[len("#separator"):].strip(" "))
            if not value:
                return False
            header.separator = value
            return True
        name, _, value = line[1:].partition(header.separator)
        if name == "set_separator":
            header.set_separator = unescape(value) or ","
        elif name == "empty_field":
            header.empty = unescape(value)
        elif name == "unset_field":
            header.unset = unescape(value)
        elif name == "path":
            header.path = value.strip().lower()
        elif name == "fields":
            self._fields(value.split(header.separator))
        # #types, #open, #close and any other comment line: nothing to do
        return True

    def finish(self, emit: Emit) -> None:
        self.state.finish(emit)

    def _fields(self, names: list[str]) -> None:
        header = self.header
        header.fields = names[:MAX_FIELDS]
        header.index = {field: position for position, field in enumerate(header.fields)}
        self.mapper = MAPPERS.get(header.path) or MAPPERS.get(guess_path(header.index))
        self.skip_raw = tsv_prefilter(self.mapper, header, self.watched,
                                      self._known if self.relevant is not None else None)


def tsv_prefilter(mapper, header: TsvHeader, watched, known: Optional[Callable[[bytes], bool]]
                  ) -> Optional[Callable[[bytes], bool]]:
    """A test on a row's raw bytes telling rows that cannot matter (most of a busy log) from the rest.

    conn: the server is not metered. dns/ssl/quic/http: the name is no catalog
    service, and the row carries nothing else (CNAME chain, login, tracker URI).
    Headers, rows of the wrong width and escaped values always take the full path.
    """
    index = header.index
    separator = header.separator.encode("utf-8")
    width = len(header.fields)
    blank = {header.unset.encode("utf-8"), header.empty.encode("utf-8"), b""}
    if mapper is conn and watched is not None and "id.resp_h" in index:
        server = index["id.resp_h"]

        def skip_conn(raw: bytes) -> bool:
            if raw[:1] == b"#" or raw.count(separator) != width - 1:
                return False
            return not watched or raw.split(separator, server + 1)[server] not in watched
        return skip_conn
    if known is None:
        return None
    if mapper is dns and "query" in index and "answers" in index:
        query, answers = index["query"], index["answers"]
        set_separator = header.set_separator.encode("utf-8")

        tail = width - 1 - answers  # answers counted from the right: splits only the ends of the row

        def skip_dns(raw: bytes) -> bool:
            if raw[:1] == b"#" or raw.count(separator) != width - 1:
                return False
            name = raw.split(separator, query + 1)[query]
            if name in blank or b"\\" in name or known(name):
                return False
            found = raw.rsplit(separator, tail + 1)[1] if tail else raw.rsplit(separator, 1)[1]
            return found in blank or not any(not _address_like(a) and known(a) for a in found.split(set_separator))
        return skip_dns
    if mapper in (ssl, quic) and "server_name" in index:
        sni = index["server_name"]

        def skip_sni(raw: bytes) -> bool:
            row = raw.split(separator)
            if len(row) != width or raw[:1] == b"#":
                return False
            name = row[sni]
            return name not in blank and b"\\" not in name and not known(name)
        return skip_sni
    if mapper is http and "host" in index and "username" in index and "uri" in index:
        host, user, uri = index["host"], index["username"], index["uri"]

        def skip_http(raw: bytes) -> bool:
            row = raw.split(separator)
            if len(row) != width or raw[:1] == b"#":
                return False
            name = row[host]
            return name not in blank and row[user] in blank and b"\\" not in name \
                and b"announce" not in row[uri] and b"scrape" not in row[uri] and not known(name.split(b":", 1)[0])
        return skip_http
    return None


def _address_like(text: bytes) -> bool:
    return b":" in text or text.replace(b".", b"").isdigit()


class ZeekTsvDecoder(LogDecoder):
    name = "zeek"
    parser_class = ZeekTsvParser

    def sniff(self, head: list[str]) -> float:
        if not head:
            return 0.0
        if head[0].startswith("#separator"):
            return 1.0
        names = field_names_line(head[0])  # zeek-cut -m: rows as wide as the names line
        if names is None:
            return 0.0
        rows = head[1:]
        return 0.9 * (sum(line.count("\t") == len(names) - 1 for line in rows) / len(rows) if rows else 1.0)


class ZeekJsonParser(LineParser):
    def __init__(self, ctx: LogContext):
        self.file_path = path_from_filename(ctx.path)
        self.state = ZeekState(ctx)
        self.watched = ctx.watched_raw
        self.relevant = ctx.relevant_name
        self.names: dict[bytes, bool] = {}
        self.guessed: dict[tuple, Optional[Callable]] = {}  # the field names of a record -> its mapper
        self.skip_raw = self._prefilter()

    def line_time(self, line: str) -> Optional[float]:
        data = json_object(line)
        try:
            return (JsonFields(data).ts() or None) if data is not None else None
        except (ValueError, TypeError):  # Malformed is a ValueError
            return None

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        data = json_object(line)
        if data is None:
            return False
        mapper = self._mapper(data)
        if mapper is None:
            return True
        try:
            return mapper(JsonFields(data), where, emit, self.state)
        except Malformed:
            return False

    def finish(self, emit: Emit) -> None:
        self.state.finish(emit)

    def _mapper(self, data: dict) -> Optional[Callable]:
        """By ``_path``, else the file name, else the record's field names (cached: a log repeats its layout)."""
        path = data.get("_path")
        if isinstance(path, str):
            return MAPPERS.get(path)
        if self.file_path:
            return MAPPERS.get(self.file_path)
        keys = tuple(data)
        if keys not in self.guessed:
            if len(self.guessed) >= 256:
                self.guessed.clear()
            self.guessed[keys] = MAPPERS.get(guess_path(keys) or guess_path(_flat_keys(data)))
        return self.guessed[keys]

    def _prefilter(self) -> Optional[Callable[[bytes], bool]]:
        """Raw-bytes tests for the bulk of a busy log (Zeek writes compact JSON, keys in #fields order).

        conn: the server is not metered; dns: neither the query nor a name it
        answered is a catalog service; ssl/quic: the SNI is none; http: the host is
        none and the request carries no login or tracker URI. Everything else, and
        anything unusual (escapes, other spacing, no path known), takes the full parse.
        A file whose name gives its path holds that path's records (Zeek writes one
        path per file), so its test runs directly; otherwise JSON streaming names
        each record's path first (``{"_path":"dns",...``).
        """
        tests: dict[bytes, Callable[[bytes], bool]] = {}
        if self.watched is not None:
            tests[b"conn"] = self._skip_conn
        if self.relevant is not None:
            tests.update({b"dns": self._skip_dns, b"ssl": self._skip_sni, b"quic": self._skip_sni,
                          b"http": self._skip_http})
        if not tests:
            return None
        if self.file_path:
            return tests.get(self.file_path.encode())

        def skip(raw: bytes) -> bool:
            if raw[:10] != b'{"_path":"':
                return False
            test = tests.get(raw[10:].partition(b'"')[0])
            return test is not None and test(raw)
        return skip

    def _skip_conn(self, raw: bytes) -> bool:
        found = raw.split(b'"id.resp_h":"', 1)
        if len(found) < 2:
            return False
        server, quote, _ = found[1].partition(b'"')
        return bool(quote) and (not self.watched or server not in self.watched)

    def _skip_dns(self, raw: bytes) -> bool:
        found = raw.split(b'"query":"', 1)
        if len(found) < 2:
            return False
        name, quote, rest = found[1].partition(b'"')
        irrelevant = self.names.get(name)
        if irrelevant is None:
            irrelevant = self._irrelevant(name) if quote else False
        if not irrelevant:
            return False
        answers = rest.split(b'"answers":[', 1)
        if len(answers) < 2:
            return True
        listed, bracket, _ = answers[1].partition(b"]")
        if not bracket:
            return False
        return not listed.translate(None, IPV4_LIST) or \
            all(_address_like(a) or self._irrelevant(a) for a in listed.strip(b'"').split(b'","'))

    def _skip_sni(self, raw: bytes) -> bool:
        found = raw.split(b'"server_name":"', 1)
        if len(found) < 2:
            return False  # no SNI: the certificate may name the server
        name, quote, _ = found[1].partition(b'"')
        irrelevant = self.names.get(name)
        return irrelevant if irrelevant is not None else bool(quote) and self._irrelevant(name)

    def _skip_http(self, raw: bytes) -> bool:
        if b'"username"' in raw or b"announce" in raw or b"scrape" in raw:
            return False
        found = raw.split(b'"host":"', 1)
        if len(found) < 2:
            return False
        name, quote, _ = found[1].partition(b'"')
        return bool(quote) and self._irrelevant(name, port=True)

    def _irrelevant(self, name: Optional[bytes], port: bool = False) -> bool:
        """A plain name (raw bytes) that is no catalog service; absent, empty or escaped names are not decided."""
        if not name or b"\\" in name:
            return False
        hit = self.names.get(name)
        if hit is None:
            if len(self.names) >= MAX_UIDS:
                self.names.clear()
            assert self.relevant is not None
            text = (name.split(b":", 1)[0] if port else name).decode("utf-8", "replace").lower().rstrip(".")
            hit = self.names[name] = not self.relevant(text)
        return hit


def _flat_keys(data: dict) -> list[str]:
    """``{"id": {"orig_h": ..}}`` as ``id.orig_h``: the names nested JSON (some shippers) gives flat."""
    keys: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            keys.extend(f"{key}.{inner}" for inner in value)
        else:
            keys.append(key)
    return keys


# keys only Zeek writes (x509 and notice records may have no uid: certificates have none, notices often none)
ZEEK_KEYS = ('"uid"', '"uids"', '"_path"', '"fuid"', '"id.orig_h"', '"software_type"', '"id":{"orig_h"',
             '"certificate.', '"note"', '"seen.indicator"')


def _zeek_json_line(line: str) -> bool:
    line = line.lstrip()
    return line[:1] == "{" and '"ts"' in line and any(key in line for key in ZEEK_KEYS) \
        and '"event_type"' not in line


class ZeekJsonDecoder(LogDecoder):
    name = "zeek-json"
    parser_class = ZeekJsonParser

    def sniff(self, head: list[str]) -> float:
        return 0.95 * first_match(head, _zeek_json_line)
