"""HTTP/1.x requests (RFC 9112): Host, method, URI, upload size, and clear credentials.

Credentials found: Authorization/Proxy-Authorization Basic (split on the first
colon), form fields and query parameters whose names look like passwords,
JSON bodies with such keys. Digest and NTLM AUTHENTICATE (Type 3: user, domain,
workstation) are reported as crackable material (kind "hash"), never as clear
text; NTLM Type 1/2 and Kerberos inside Negotiate carry no credential. Bearer,
OAuth, API and push tokens are their own kind ("token", no user name). A value
shaped like an injection string or a URL is not a password. A credential is
held until the server's status line says whether it was accepted.

Traffic as it arrives: a flow picked up mid-session resynchronises on the next
request line; a body without a Content-Type that is shaped like a form is read
as one, and bytes trailing a body that start no request still belong to it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import deque
from dataclasses import dataclass
from typing import Optional
from urllib.parse import parse_qsl, urlsplit

from detector.observations import Credential, Emit, HostIdentity, HttpRequest
from detector.policy.settings import Settings
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession
from detector.protocols.ntlmssp import parse_authenticate
from detector.protocols.text import text
from detector.secrets import protect
from detector.textscan import not_a_password, shared_passwords

# RFC 9110 methods, then WebDAV's (RFC 4918, 3253): a WebDAV client logs on with NTLM on any of them
METHODS = (b"GET ", b"POST ", b"PUT ", b"HEAD ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ", b"TRACE ",
           b"PROPFIND ", b"PROPPATCH ", b"MKCOL ", b"COPY ", b"MOVE ", b"LOCK ", b"UNLOCK ", b"REPORT ", b"SEARCH ",
           b"MKCALENDAR ")
HTTP_PORTS = frozenset({80, 8000, 8008, 8080, 8081, 8888, 3128, 3129, 5985})
MAX_HEADER = 64 * 1024
MAX_BODY_KEPT = 64 * 1024
USER_FIELDS = ("username", "user", "login", "email", "uname", "userid", "user_id", "benutzer",
               "benutzername", "utilisateur", "usuario", "log", "name", "account")
MIN_MESSAGE_TEXT = 12  # shorter field values are not message text
NOT_SECRET_VALUES = {"", "login", "submit", "true", "false", "on", "off"}
# anti-forgery and session-state fields that look like "token" but are not something a person typed
NOT_PASSWORD_FIELD_PARTS = ("csrf", "xsrf", "authenticity", "verification", "nonce", "captcha", "user_token",
                            "form_token", "formtoken", "page_token", "viewstate", "state")
# A token is reported only when it is a bearer credential: whoever copies it off the wire can replay it and act as
# the account or app (RFC 6750). Fields named for one (compared without "_", "-" and case):
BEARER_FIELDS = frozenset({
    "accesstoken", "refreshtoken", "authtoken", "authenticationtoken", "idtoken", "oauthtoken", "oauthaccesstoken",
    "bearer", "bearertoken", "jwt", "apikey", "apitoken", "apisecret", "clientsecret", "appsecret", "secretkey",
    "accesskey", "secretaccesskey", "privatetoken", "personalaccesstoken", "sessiontoken", "authkey", "xauthtoken"})
# fields with "token" in their name that are not bearer credentials: push and device registrations, stream, paging and
# sync cursors, anti-forgery values, and encrypted envelopes (Netflix MSL "tokendata" and "mastertoken")
NOT_BEARER_PARTS = ("push", "registration", "regid", "device", "fcm", "gcm", "apns", "notification", "stream", "page",
                    "sync", "continuation", "cursor", "next", "resume", "upload", "channel", "subscription",
                    "tokendata", "mastertoken", "useridtoken", "servicetoken")
# prefixes of API keys and OAuth tokens issued by big providers: a "token" field holding one is a bearer credential
BEARER_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "xoxa-", "sk-",
                   "sk_live_", "rk_live_", "AKIA", "ASIA", "AIza", "ya29.", "EAAC")
MAX_BEARER = 4096  # a bearer token fits a header line; a longer blob is an opaque (encrypted) envelope
TOKEN_HEADERS = {"x-api-key": "http-api-key", "x-auth-token": "http-token", "x-access-token": "http-token",
                 "api-key": "http-api-key", "x-goog-api-key": "http-api-key"}
TOKEN_SCHEMES = {"bearer": "http-bearer", "token": "http-token", "oauth": "http-oauth", "key": "http-api-key"}
MAX_RESYNC = 64 * 1024  # bytes skipped looking for a request line in a flow picked up mid-session
MAX_REQUEST_LINE = 8 * 1024
# a request line anywhere: where a body sent without Content-Length ends (RFC 9112 3)
REQUEST_LINE = re.compile(rb"(?:" + b"|".join(m.strip() for m in METHODS) + rb") [!-~]{1,8192} HTTP/1\.[01]\r?\n")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# User-Agent fragments -> operating-system family, most specific first
USER_AGENT_OS = (
    ("windows nt 10.0", "Windows 10/11"), ("windows nt 6.3", "Windows 8.1"), ("windows nt 6.2", "Windows 8"),
    ("windows nt 6.1", "Windows 7"), ("windows nt 6.0", "Windows Vista"), ("windows nt 5.", "Windows XP"),
    ("windows phone", "Windows Phone"), ("windows", "Windows"), ("microsoft-cryptoapi", "Windows"),
    ("microsoft-wns", "Windows"), ("iphone", "iOS"), ("ipad", "iPadOS"), ("cros ", "ChromeOS"),
    ("android", "Android"), ("dalvik", "Android"), ("mac os x", "macOS"), ("macintosh", "macOS"),
    ("darwin", "Apple (Darwin)"), ("ubuntu", "Linux (Ubuntu)"), ("fedora", "Linux (Fedora)"), ("linux", "Linux"),
    ("freebsd", "FreeBSD"),
)
FORM_SHAPE = re.compile(rb"^[\w.\[\]%+*-]{1,100}=[^\s&]*(?:&[\w.\[\]%+*-]{1,100}=[^\s&]*)*\s*$")


class ChunkedBody:
    """A ``Transfer-Encoding: chunked`` body (RFC 9112 7.1) followed segment by segment.

    The decoded data is kept up to ``keep`` bytes. A malformed size line ends the
    body there: what follows is read again as the next message, never lost.
    """

    def __init__(self, keep: int):
        self.keep = keep
        self.data = b""
        self.left = 0  # bytes of chunk data still to come
        self.state = "size"  # "size", "data-end" (the CRLF after data), "trailer"
        self.line = b""

    def feed(self, buf: bytes) -> Optional[bytes]:
        """Consume body bytes; once the body ended, the bytes after it (else None: all taken)."""
        pos = 0
        while True:
            if self.left:
                take = buf[pos:pos + self.left]
                pos += len(take)
                self.left -= len(take)
                if len(self.data) < self.keep:
                    self.data += take[:self.keep - len(self.data)]
                if self.left:
                    return None
                self.state = "data-end"
                continue
            end = buf.find(b"\n", pos)
            if end < 0:
                self.line = (self.line + buf[pos:])[-1024:]
                return None
            line, self.line, pos = (self.line + buf[pos:end]).strip(), b"", end + 1
            if not self._line(line):
                return buf[pos:]

    def _line(self, line: bytes) -> bool:
        """One framing line; False when the body ended (the last chunk's trailers, or malformed framing)."""
        if self.state == "data-end":
            self.state = "size"
            return not line  # data longer than its size: the framing is lost
        if self.state == "trailer":
            return bool(line)
        try:
            size = int(line.split(b";")[0], 16)
        except ValueError:
            return False
        if size < 0:
            return False
        if size == 0:
            self.state = "trailer"
        self.left = size
        return True


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class PendingCredential:
    """A login held until the response says whether it was accepted."""

    credential: Credential
    judged_by_status: bool  # Basic auth: 401/407 means refused


class HttpSession(StreamSession):
    def __init__(self, ends: Endpoints, emit: Emit, password_fields: tuple[str, ...]):
        super().__init__(ends, emit)
        self.password_fields = password_fields
        self.client = b""
        self.server = b""
        self.client_body_left = 0
        self.client_chunked: Optional[ChunkedBody] = None
        self.server_chunked: Optional[ChunkedBody] = None
        self.client_body_open = False  # a body without Content-Length: it runs to the next request line or the end
        self.client_body = b""
        self.current: Optional[dict] = None
        self.pending: deque[list[PendingCredential]] = deque()
        self.server_body_left = 0
        self.server_dead = False
        self.client_dead = False
        self.skipped = {True: 0, False: 0}  # bytes dropped while resynchronising, per direction
        self.os_told = False
        self.requests = 0

    # -------------------------------------------------- client side

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if from_client:
            if not self.client_dead:
                self._client(data, ts, where)
        elif not self.server_dead:
            self._server(data)
        if self.server_dead and not self.requests and not self.client:
            return False  # picked up inside a long response and no request since: nothing to read here
        return not (self.client_dead and (self.server_dead or not self.pending))

    def _client(self, data: bytes, ts: float, where: str) -> None:
        self.client += data
        while self.client and not self.client_dead:
            if self.client_body_open:
                if not self._open_body():
                    return
                continue
            if self.client_chunked is not None:
                rest = self.client_chunked.feed(self.client)
                if rest is None:
                    self.client = b""
                    return
                self.client, self.client_body, self.client_chunked = rest, self.client_chunked.data, None
                self._finish_request()
                continue
            if self.client_body_left:
                take = self.client[:self.client_body_left]
                self.client = self.client[len(take):]
                self.client_body_left -= len(take)
                if len(self.client_body) < MAX_BODY_KEPT:
                    self.client_body += take[:MAX_BODY_KEPT - len(self.client_body)]
                if self.client_body_left:
                    return
                self._take_trailing()
                self._finish_request()
                continue
            if not self.client.startswith(METHODS) and not self._resync(True):
                return
            head, self.client = _split_head(self.client)
            if head is None:
                self.client_dead = len(self.client) > MAX_HEADER
                return
            self._request(head, ts, where)

    def _open_body(self) -> bool:
        """Body bytes up to the next request line; False while that line has not come yet."""
        found = REQUEST_LINE.search(self.client)
        if found is None:
            keep = max(0, len(self.client) - MAX_REQUEST_LINE)  # the tail may hold a request line's start
            self._keep_body(self.client[:keep])
            self.client = self.client[keep:]
            return False
        self._keep_body(self.client[:found.start()])
        self.client = self.client[found.start():]
        self.client_body_open = False
        self._finish_request()
        return True

    def _keep_body(self, data: bytes) -> None:
        if data and len(self.client_body) < MAX_BODY_KEPT:
            self.client_body += data[:MAX_BODY_KEPT - len(self.client_body)]

    def _user_agent_os(self, user_agent: str, ts: float, where: str) -> None:
        """The client's OS family, once per flow (a proxy's many agents are the proxy's business)."""
        if self.os_told or not user_agent:
            return
        family = user_agent_os(user_agent)
        if family:
            self.os_told = True
            self.emit(HostIdentity(ts, where, self.ends.client, os=family, source="http-user-agent"))

    def _resync(self, from_client: bool) -> bool:
        """Skip to the next request (or status) line: the flow was picked up mid-session or a body ran long."""
        buf = self.client if from_client else self.server
        starts = (b"\n" + m for m in METHODS) if from_client else (b"\nHTTP/1.",)
        found = [at for at in (buf.find(start) for start in starts) if at >= 0]
        if found:
            at = min(found) + 1
        else:
            at = max(0, len(buf) - 16)  # keep a tail that may hold the start of a line
        self.skipped[from_client] += at
        if from_client:
            self.client = buf[at:]
        else:
            self.server = buf[at:]
        if self.skipped[from_client] > MAX_RESYNC:
            if from_client:
                self.client_dead = True
            else:
                self.server_dead = True
            return False
        return bool(found)

    def _take_trailing(self) -> None:
        """Bytes after Content-Length that start no request are the rest of a body whose length was wrong."""
        rest = self.client.lstrip(b"\r\n")
        if not rest or rest.startswith(METHODS) or self.current is None:
            return
        ends = [at for at in (rest.find(b"\n" + m) for m in METHODS) if at >= 0]
        stop = min(ends) + 1 if ends else len(rest)
        if len(self.client_body) + stop <= MAX_BODY_KEPT:
            self.client_body += rest[:stop].rstrip(b"\r\n")
            self.client = rest[stop:]

    def _request(self, head: bytes, ts: float, where: str) -> None:
        """One request head; a malformed one is skipped and the next request line read (never the flow's end)."""
        lines = head.split(b"\r\n")
        method_word, _, rest = lines[0].partition(b" ")
        target, _, version = rest.rpartition(b" ")
        if not target.strip() or not version.startswith(b"HTTP/"):
            return
        headers = _headers(lines[1:])
        self.requests += 1
        method, uri = text(method_word, 16), text(target.strip(), 2048)
        length = _int(headers.get("content-length"))
        e = self.ends
        host = headers.get("host", "").split(":")[0].strip().lower()[:255] or e.server
        request = HttpRequest(ts, where, e.client, e.server, e.server_port, method, host, uri, length,
                              headers.get("user-agent", "")[:256])
        self.emit(request)
        self._user_agent_os(request.user_agent, ts, where)
        creds = self._header_credentials(headers, ts, where, host)
        creds += self._query_credentials(uri, ts, where, host)
        self.current = {"headers": headers, "ts": ts, "where": where, "creds": creds, "host": host,
                        "method": method}
        self.client_body = b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self.client_chunked = ChunkedBody(MAX_BODY_KEPT)
        elif length:
            self.client_body_left = length
        elif length is None and method in BODY_METHODS:
            self.client_body_open = True
        else:
            self._finish_request()
        if method == "CONNECT":
            self.client_dead = True

    def _finish_request(self) -> None:
        current, self.current = self.current, None
        if current is None:
            return
        creds = current["creds"]
        if self.client_body:
            creds += self._body_credentials(current, self.client_body)
        self.pending.append(creds)

    # -------------------------------------------------- credentials

    def _credential(self, protocol: str, user: str, secret, ts: float, where: str, kind: str = "cleartext",
                    note: str = "", domain: str = "", workstation: str = "") -> Credential:
        e = self.ends
        return Credential(ts, where, protocol, e.client, e.server, e.server_port, user[:256], secret,
                          kind=kind, note=note, domain=domain[:256], workstation=workstation[:256])

    def _header_credentials(self, headers: dict, ts: float, where: str, host: str) -> list[PendingCredential]:
        found = []
        for name, protocol in (("authorization", "http-basic"), ("proxy-authorization", "http-proxy-basic")):
            value = headers.get(name)
            if not value:
                continue
            scheme, _, rest = value.strip().partition(" ")
            scheme = scheme.lower()
            if scheme == "basic":
                pair = _b64(rest.strip())
                if pair is None or b":" not in pair:
                    continue
                user, _, password = pair.partition(b":")
                cred = self._credential(protocol, text(user, 256), protect(password), ts, where,
                                        note=f"host {host}")
                found.append(PendingCredential(cred, True))
            elif scheme == "digest":
                cred = self._credential("http-digest", _digest_user(rest), protect(rest.strip()), ts, where,
                                        kind="hash", note="DIGEST challenge response, crackable offline")
                found.append(PendingCredential(cred, True))
            elif scheme in ("ntlm", "negotiate"):
                found += self._ntlm(rest.strip(), ts, where, host)
            elif scheme in TOKEN_SCHEMES and 8 <= len(rest.strip()) <= MAX_BEARER:
                cred = self._credential(TOKEN_SCHEMES[scheme], "", protect(rest.strip()), ts, where, kind="token",
                                        note=f"{scheme.capitalize()} token in {name} header to {host}")
                found.append(PendingCredential(cred, True))
        for name, protocol in TOKEN_HEADERS.items():
            value = headers.get(name, "").strip()
            if 8 <= len(value) <= MAX_BEARER:
                cred = self._credential(protocol, "", protect(value), ts, where, kind="token",
                                        note=f"{name} header to {host}")
                found.append(PendingCredential(cred, True))
        return found

    def _ntlm(self, value: str, ts: float, where: str, host: str) -> list[PendingCredential]:
        """NTLM AUTHENTICATE (Type 3): user, domain, workstation; anything else carries no credential."""
        blob = _b64(value)
        auth = parse_authenticate(blob) if blob else None
        if auth is None or auth.anonymous:
            return []
        e = self.ends
        self.emit(HostIdentity(ts, where, e.client, hostname=auth.workstation, username=auth.user,
                               domain=auth.domain, source="ntlmssp-http"))
        cred = self._credential("http-ntlm", auth.user, protect(auth.response), ts, where, kind="hash",
                                note=f"{auth.version} response to {host}, crackable offline",
                                domain=auth.domain, workstation=auth.workstation)
        return [PendingCredential(cred, True)]

    def _query_credentials(self, uri: str, ts: float, where: str, host: str) -> list[PendingCredential]:
        try:
            query = urlsplit(uri).query
        except ValueError:  # e.g. "http://a]b.example/": a broken authority; the query may still be read
            query = uri.partition("?")[2].partition("#")[0]
        if not query:
            return []
        return self._pairs_credentials(parse_qsl(query, keep_blank_values=True), "http-query", ts, where, host)

    def _body_credentials(self, current: dict, body: bytes) -> list[PendingCredential]:
        ctype = current["headers"].get("content-type", "").lower()
        ts, where, host = current["ts"], current["where"], current["host"]
        pairs, protocol = _body_pairs(current["headers"].get("content-type", ""), body)
        if pairs is None:
            if ctype.startswith("text/plain"):
                self._scan_message(body.decode("utf-8", "replace"), ts, where, host)
            return []
        self._scan_message("\n".join(v for k, v in pairs if len(v) >= MIN_MESSAGE_TEXT
                                      and not _field_is(k.lower().strip(), self.password_fields)), ts, where, host)
        return self._pairs_credentials(pairs, protocol, ts, where, host)

    def _scan_message(self, body: str, ts: float, where: str, host: str) -> None:
        """Text posted to a paste site, web mail or chat web app, checked for a pasted password."""
        if body:
            for obs in shared_passwords(body, "http-post", self.ends.client, (host,), ts, where):
                self.emit(obs)

    def _pairs_credentials(self, pairs: list, protocol: str, ts: float, where: str,
                           host: str) -> list[PendingCredential]:
        lowered = [(k.lower().strip(), v) for k, v in pairs]
        user = next((v for k, v in lowered if _field_is(k, USER_FIELDS) and v and not not_a_password(v)), "")
        found = []
        for key, value in lowered:
            if value.strip().lower() in NOT_SECRET_VALUES or any(part in key for part in NOT_PASSWORD_FIELD_PARTS):
                continue
            if _token_field(key):
                if bearer_token(key, value) and not not_a_password(value):
                    cred = self._credential(f"{protocol}-token", "", protect(value), ts, where, kind="token",
                                            note=f"field {key[:40]} to {host}")
                    found.append(PendingCredential(cred, False))
            elif _field_is(key, self.password_fields) and not not_a_password(value):
                if _looks_like_token(value):  # machine-issued: a JWT or provider key is a bearer token, a blob is not
                    if bearer_token("token", value):
                        cred = self._credential(f"{protocol}-token", "", protect(value), ts, where, kind="token",
                                                note=f"field {key[:40]} to {host}")
                        found.append(PendingCredential(cred, False))
                    continue
                cred = self._credential(protocol, user, protect(value), ts, where,
                                        note=f"field {key[:40]} to {host}")
                found.append(PendingCredential(cred, False))
        return found

    # -------------------------------------------------- server side

    def _server(self, data: bytes) -> None:
        self.server += data
        while self.server and not self.server_dead:
            if self.server_body_left:
                skip = min(self.server_body_left, len(self.server))
                self.server = self.server[skip:]
                self.server_body_left -= skip
                continue
            if self.server_chunked is not None:
                rest = self.server_chunked.feed(self.server)
                self.server = rest or b""
                if rest is None:
                    return
                self.server_chunked = None
                continue
            if not self.server.startswith(b"HTTP/") and not self._resync(False):
                return
            head, self.server = _split_head(self.server)
            if head is None:
                self.server_dead = len(self.server) > MAX_HEADER
                return
            self._response(head)

    def _response(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            self._judge(None)  # a malformed status line still answers one request; the next one is read
            return
        status = int(parts[1])
        if status < 200 and status != 101:
            return  # interim response; the real one follows
        headers = _headers(lines[1:])
        self._judge(status)
        length = _int(headers.get("content-length"))
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self.server_chunked = ChunkedBody(0)
        elif length:
            self.server_body_left = length
        elif status not in (204, 304) and "content-length" not in headers:
            self.server_dead = True  # the body runs until the connection closes: no response follows

    def _judge(self, status: Optional[int]) -> None:
        if not self.pending:
            return
        for pending in self.pending.popleft():
            if pending.judged_by_status and status is not None:
                pending.credential.accepted = status not in (401, 407)
            self.emit(pending.credential)

    def close(self, ts: float, where: str) -> None:
        if self.client_body_open:
            self._keep_body(self.client)  # the body ran to the connection's end
        self._finish_request()
        while self.pending:
            for pending in self.pending.popleft():
                self.emit(pending.credential)


def _split_head(buf: bytes) -> tuple[Optional[bytes], bytes]:
    """(the header block before the blank line, the rest); (None, buf) while the block is incomplete."""
    end = buf.find(b"\r\n\r\n")
    return (None, buf) if end < 0 else (buf[:end], buf[end + 4:])


def _headers(lines: list[bytes]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines[:100]:
        name, sep, value = line.partition(b":")
        if sep:
            headers[text(name, 64).strip().lower()] = text(value, 2 * MAX_BEARER).strip()
    return headers


def _body_pairs(content_type: str, body: bytes) -> tuple[Optional[list[tuple[str, str]]], str]:
    """Form, multipart or JSON fields of a request body; None when the body is none of those."""
    ctype = content_type.lower()
    if "application/x-www-form-urlencoded" in ctype:
        return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True), "http-form"
    if "multipart/form-data" in ctype:
        return _multipart_pairs(body, content_type), "http-form"  # the boundary is case-sensitive
    if "json" in ctype:
        try:
            data = json.loads(body.decode("utf-8", "replace"))
            return list(_json_pairs(data)), "http-json"
        except (ValueError, RecursionError):  # RecursionError: a body nested thousands deep
            return None, ""
    if not ctype.strip() and FORM_SHAPE.match(body[:MAX_BODY_KEPT]):
        return parse_qsl(body.decode("utf-8", "replace").strip(), keep_blank_values=True), "http-form"
    if not ctype.strip() and body.lstrip()[:1] == b"{":
        return _body_pairs("application/json", body)  # an app that forgot its Content-Type
    return None, ""


def user_agent_os(user_agent: str) -> str:
    lowered = user_agent.lower()
    return next((family for fragment, family in USER_AGENT_OS if fragment in lowered), "")


def _token_field(key: str) -> bool:
    """A field that holds some token or key, bearer or not (never reported as a typed password)."""
    return "token" in re.sub(r"[^a-z0-9]", "", key) or _field_name(key) in BEARER_FIELDS


def _field_name(key: str) -> str:
    """The innermost name of a field ("data[access_token]" -> "accesstoken")."""
    last = [part for part in re.split(r"[\[\].]", key) if part]
    return re.sub(r"[^a-z0-9]", "", last[-1] if last else key)


def bearer_token(key: str, value: str) -> bool:
    """A replayable bearer credential: a bearer-named field, or a JWT or provider key in a token field."""
    value = value.strip()
    if not 8 <= len(value) <= MAX_BEARER:
        return False
    compact = re.sub(r"[^a-z0-9]", "", key)
    if any(part in compact for part in NOT_BEARER_PARTS):
        return False
    return _field_name(key) in BEARER_FIELDS or _is_jwt(value) or value.startswith(BEARER_PREFIXES)


def _is_jwt(value: str) -> bool:
    return value.startswith("eyJ") and value.count(".") == 2


def _looks_like_token(value: str) -> bool:
    """A JWT or a long unbroken base64/hex string: machine-issued, not typed."""
    value = value.strip()
    if _is_jwt(value):
        return True
    return len(value) >= 40 and re.fullmatch(r"[A-Za-z0-9_\-+/=.:]+", value) is not None


def _int(value: Optional[str]) -> Optional[int]:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _b64(value: str) -> Optional[bytes]:
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None


def _digest_user(params: str) -> str:
    match = re.search(r'username="([^"]{0,256})"', params)
    return match.group(1) if match else ""


def _field_is(key: str, names: tuple[str, ...]) -> bool:
    """True for 'password', 'user[password]', 'login_password', 'txtPwd'... on word boundaries."""
    words = re.split(r"[^a-z0-9ñ]+", key)
    return key in names or any(w in names for w in words if w) or any(
        key.endswith(n) and len(n) >= 4 for n in names
    )


def _multipart_pairs(body: bytes, ctype: str) -> list[tuple[str, str]]:
    match = re.search(r'boundary="?([^";]+)"?', ctype)
    if not match:
        return []
    pairs = []
    for part in body.split(b"--" + match.group(1).encode()):
        head, sep, value = part.partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]{1,100})"', head)
        if sep and name and b"filename=" not in head:
            pairs.append((name.group(1).decode("utf-8", "replace"),
                          value.rstrip(b"\r\n-").decode("utf-8", "replace")[:1024]))
    return pairs


def _json_pairs(data: object, depth: int = 0):
    if depth > 5:
        return
    if isinstance(data, dict):
        for key, value in list(data.items())[:200]:
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                yield str(key), str(value)
            else:
                yield from _json_pairs(value, depth + 1)
    elif isinstance(data, list):
        for item in data[:50]:
            yield from _json_pairs(item, depth + 1)


class HttpDecoder(StreamDecoder):
    name = "http"
    tcp_ports = HTTP_PORTS
    client_prefixes = METHODS

    def __init__(self, password_fields: Optional[tuple[str, ...]] = None):
        """Field names come from the settings (rules.yaml); one list, not a copy here."""
        names = password_fields if password_fields is not None else Settings().password_field_names
        self.password_fields = tuple(names)

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        """A request or status line; on an HTTP port also a flow picked up mid-session, unless it is TLS or SSH."""
        if first_client.startswith(METHODS) or first_server.startswith(b"HTTP/1."):
            return True
        head = first_client or first_server
        return not (head[:1] in (b"\x14", b"\x15", b"\x16", b"\x17") and head[1:2] == b"\x03") \
            and not head.startswith((b"SSH-", b"\x00\x00"))

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return HttpSession(ends, emit, self.password_fields)
