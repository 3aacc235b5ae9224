"""HTTP/1.x requests (RFC 9112): Host, method, URI, upload size, and clear credentials.

Credentials found: Authorization/Proxy-Authorization Basic (split on the first
colon), form fields and query parameters whose names look like passwords,
JSON bodies with such keys. Digest and NTLM are reported as crackable material
(kind "hash"), never as clear text. A credential is held until the server's
status line says whether it was accepted.
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

from ..model import Credential, HttpRequest
from ..secrets import protect
from ..settings import Settings
from ..textscan import shared_passwords
from .base import Emit, Endpoints, StreamDecoder, StreamSession
from .text import text

METHODS = (b"GET ", b"POST ", b"PUT ", b"HEAD ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ", b"PROPFIND ")
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


@dataclass
class PendingCredential:
    credential: Credential
    judged_by_status: bool  # Basic auth: 401/407 means refused


class HttpSession(StreamSession):
    def __init__(self, ends: Endpoints, emit: Emit, password_fields: tuple[str, ...]):
        self.ends = ends
        self.emit = emit
        self.password_fields = password_fields
        self.client = b""
        self.server = b""
        self.client_body_left = 0
        self.client_body = b""
        self.current: Optional[dict] = None
        self.pending: deque[list[PendingCredential]] = deque()
        self.server_body_left = 0
        self.server_dead = False
        self.client_dead = False

    # -------------------------------------------------- client side

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if from_client:
            if not self.client_dead:
                self._client(data, ts, where)
        elif not self.server_dead:
            self._server(data)
        return not (self.client_dead and (self.server_dead or not self.pending))

    def _client(self, data: bytes, ts: float, where: str) -> None:
        self.client += data
        while self.client and not self.client_dead:
            if self.client_body_left:
                take = self.client[:self.client_body_left]
                self.client = self.client[len(take):]
                self.client_body_left -= len(take)
                if len(self.client_body) < MAX_BODY_KEPT:
                    self.client_body += take[:MAX_BODY_KEPT - len(self.client_body)]
                if self.client_body_left:
                    return
                self._finish_request()
                continue
            head_end = self.client.find(b"\r\n\r\n")
            if head_end < 0:
                if len(self.client) > MAX_HEADER:
                    self.client_dead = True
                return
            head, self.client = self.client[:head_end], self.client[head_end + 4:]
            self._request(head, ts, where)

    def _request(self, head: bytes, ts: float, where: str) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) < 3 or not parts[2].startswith(b"HTTP/"):
            self.client_dead = True
            return
        headers = _headers(lines[1:])
        method, uri = text(parts[0], 16), text(parts[1], 2048)
        length = _int(headers.get("content-length"))
        e = self.ends
        host = headers.get("host", "").split(":")[0].strip().lower()[:255] or e.server
        request = HttpRequest(ts, where, e.client, e.server, e.server_port, method, host, uri, length,
                              headers.get("user-agent", "")[:256])
        self.emit(request)
        creds = self._header_credentials(headers, ts, where, host)
        creds += self._query_credentials(uri, ts, where, host)
        self.current = {"headers": headers, "ts": ts, "where": where, "creds": creds, "host": host,
                        "method": method}
        self.client_body = b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self.client_dead = True  # chunked uploads: body framing not followed
            self._finish_request()
        elif length:
            self.client_body_left = length
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
                    note: str = "") -> Credential:
        e = self.ends
        return Credential(ts, where, protocol, e.client, e.server, e.server_port, user[:256], secret,
                          kind=kind, note=note)

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
            elif scheme in ("digest", "ntlm", "negotiate"):
                user = _digest_user(rest) if scheme == "digest" else ""
                cred = self._credential(f"http-{scheme}", user, protect(rest.strip()), ts, where, kind="hash",
                                        note=f"{scheme.upper()} challenge response, crackable offline")
                found.append(PendingCredential(cred, True))
        return found

    def _query_credentials(self, uri: str, ts: float, where: str, host: str) -> list[PendingCredential]:
        query = urlsplit(uri).query
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
        user = next((v for k, v in lowered if _field_is(k, USER_FIELDS) and v), "")
        found = []
        for key, value in lowered:
            if _field_is(key, self.password_fields) and value.strip().lower() not in NOT_SECRET_VALUES \
                    and not any(part in key for part in NOT_PASSWORD_FIELD_PARTS):
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
            head_end = self.server.find(b"\r\n\r\n")
            if head_end < 0:
                if len(self.server) > MAX_HEADER:
                    self.server_dead = True
                return
            head, self.server = self.server[:head_end], self.server[head_end + 4:]
            self._response(head)

    def _response(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ")
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            self.server_dead = True
            return
        status = int(parts[1])
        if status < 200 and status != 101:
            return  # interim response; the real one follows
        headers = _headers(lines[1:])
        self._judge(status)
        length = _int(headers.get("content-length"))
        if length:
            self.server_body_left = length
        elif status not in (204, 304) and ("chunked" in headers.get("transfer-encoding", "").lower()
                                           or "content-length" not in headers):
            self.server_dead = True  # body until close or chunked: stop following responses

    def _judge(self, status: int) -> None:
        if not self.pending:
            return
        for pending in self.pending.popleft():
            if pending.judged_by_status:
                pending.credential.accepted = status not in (401, 407)
            self.emit(pending.credential)

    def close(self, ts: float, where: str) -> None:
        self._finish_request()
        while self.pending:
            for pending in self.pending.popleft():
                self.emit(pending.credential)


def _headers(lines: list[bytes]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in lines[:100]:
        name, sep, value = line.partition(b":")
        if sep:
            headers[text(name, 64).strip().lower()] = text(value, 4096).strip()
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
    return None, ""


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
        return first_client.startswith(METHODS) or first_server.startswith(b"HTTP/1.")

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return HttpSession(ends, emit, self.password_fields)
