"""PostgreSQL wire protocol v3: the cleartext PasswordMessage, MD5 responses as crackable material.

The client's StartupMessage names the user; the server's Authentication
request says which kind of password follows (3 = cleartext, 5 = MD5, 10 =
SASL/SCRAM which yields nothing). AuthenticationOk means accepted, an
ErrorResponse refused. An accepted SSLRequest ends what can be read.
"""

from __future__ import annotations

import struct

from detector.observations import Emit
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession
from detector.protocols.clearlogin import LoginSession
from detector.protocols.text import text

PG_PORTS = frozenset({5432})
PROTOCOL_V3 = 196608
SSL_REQUEST = 80877103
GSS_REQUEST = 80877104
MAX_MESSAGE = 64 * 1024
AUTH_OK, AUTH_CLEARTEXT, AUTH_MD5 = 0, 3, 5


class PostgresSession(LoginSession):
    protocol = "postgresql"

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.client_buf = b""
        self.server_buf = b""
        self.started = False
        self.ssl_asked = False
        self.user = ""
        self.database = ""
        self.auth_kind = -1
        self.waiting = False
        self.client_done = False  # past the login: queries are not read

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if from_client:
            if self.client_done:
                return self.waiting
            self.client_buf += data
            return self._client(ts, where)
        if self.ssl_asked and not self.server_buf and data[:1] in (b"S", b"N"):
            self.ssl_asked = False
            if data[:1] == b"S":
                return False
            data = data[1:]
        self.server_buf += data
        return self._server()

    def _client(self, ts: float, where: str) -> bool:
        while True:
            if not self.started:
                if len(self.client_buf) < 8:
                    return True
                length, code = struct.unpack("!II", self.client_buf[:8])
                if length < 8 or length > MAX_MESSAGE:
                    return False
                if len(self.client_buf) < length:
                    return True
                body, self.client_buf = self.client_buf[8:length], self.client_buf[length:]
                if code in (SSL_REQUEST, GSS_REQUEST):
                    self.ssl_asked = True
                    continue
                if code != PROTOCOL_V3:
                    return False
                self.started = True
                self._startup(body)
                continue
            if len(self.client_buf) < 5:
                return True
            kind = self.client_buf[:1]
            length = struct.unpack("!I", self.client_buf[1:5])[0]
            if length < 4 or length > MAX_MESSAGE:
                return False
            if len(self.client_buf) < 1 + length:
                return True
            body, self.client_buf = self.client_buf[5:1 + length], self.client_buf[1 + length:]
            if kind == b"p" and self.auth_kind in (AUTH_CLEARTEXT, AUTH_MD5):
                self._password(body.rstrip(b"\x00"), ts, where)
            elif kind != b"p":
                self.client_done, self.client_buf = True, b""
                return True  # queries follow: nothing more to learn

    def _startup(self, body: bytes) -> None:
        fields = body.split(b"\x00")
        for key, value in zip(fields[0::2], fields[1::2]):
            if key == b"user":
                self.user = text(value, 256)
            elif key == b"database":
                self.database = text(value, 256)

    def _password(self, password: bytes, ts: float, where: str) -> None:
        note = f"database {self.database}" if self.database else ""
        if self.auth_kind == AUTH_MD5:
            self.offer(ts, where, self.user, password, kind="hash", note=("MD5 response, crackable offline; " + note)
                       .strip("; "))
        else:
            self.offer(ts, where, self.user, password, note=note)
        self.waiting = True

    def _server(self) -> bool:
        while len(self.server_buf) >= 5:
            kind = self.server_buf[:1]
            length = struct.unpack("!I", self.server_buf[1:5])[0]
            if length < 4 or length > MAX_MESSAGE:
                return False
            if len(self.server_buf) < 1 + length:
                break
            body, self.server_buf = self.server_buf[5:1 + length], self.server_buf[1 + length:]
            if kind == b"R" and len(body) >= 4:
                code = struct.unpack("!I", body[:4])[0]
                if code == AUTH_OK and self.waiting:
                    self.waiting = False
                    self.judge(True)
                else:
                    self.auth_kind = code
            elif kind == b"E" and self.waiting:
                self.waiting = False
                self.judge(False)
        return True


class PostgresDecoder(StreamDecoder):
    name = "postgresql"
    tcp_ports = PG_PORTS

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        if first_client:
            return len(first_client) >= 8 and struct.unpack("!I", first_client[4:8])[0] in (
                PROTOCOL_V3, SSL_REQUEST, GSS_REQUEST)
        return first_server[:1] in (b"R", b"S", b"N", b"E")

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return PostgresSession(ends, emit)
