"""MySQL/MariaDB client handshake: the ``mysql_clear_password`` plugin sends the password in clear.

The usual plugins (mysql_native_password, caching_sha2_password) send a
salted scramble: reported as crackable material (kind "hash"), not clear
text. An AuthSwitchRequest to mysql_clear_password makes the client's next
packet the clear password. OK (0x00) means accepted, ERR (0xff) refused; an
SSLRequest ends what can be read.
"""

from __future__ import annotations

import struct
from typing import Optional

from detector.observations import Emit
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession
from detector.protocols.clearlogin import LoginSession
from detector.protocols.text import text

MYSQL_PORTS = frozenset({3306})
CLIENT_CONNECT_WITH_DB = 0x00000008
CLIENT_SSL = 0x00000800
CLIENT_SECURE_CONNECTION = 0x00008000
CLIENT_PLUGIN_AUTH = 0x00080000
CLIENT_LENENC_AUTH = 0x00200000
CLEAR_PLUGIN = b"mysql_clear_password"
MAX_PACKET = 64 * 1024


def packets(buf: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Complete (sequence id, payload) packets at the head of ``buf`` and the remainder."""
    out = []
    while len(buf) >= 4:
        length = buf[0] | buf[1] << 8 | buf[2] << 16
        if len(buf) < 4 + length:
            break
        out.append((buf[3], buf[4:4 + length]))
        buf = buf[4 + length:]
    return out, buf


def _cstring(data: bytes, pos: int) -> tuple[bytes, int]:
    end = data.find(b"\x00", pos)
    if end < 0:
        return data[pos:], len(data)
    return data[pos:end], end + 1


def handshake_response(payload: bytes) -> Optional[tuple[str, bytes, str, bool]]:
    """(user, auth response, plugin, is SSLRequest) of a HandshakeResponse41."""
    if len(payload) < 32:
        return None
    flags = struct.unpack_from("<I", payload, 0)[0]
    if len(payload) == 32:
        return "", b"", "", bool(flags & CLIENT_SSL)
    user, pos = _cstring(payload, 32)
    if flags & CLIENT_LENENC_AUTH and pos < len(payload) and payload[pos] < 0xFB:
        size, pos = payload[pos], pos + 1
    elif flags & CLIENT_SECURE_CONNECTION and pos < len(payload):
        size, pos = payload[pos], pos + 1
    else:
        auth, pos = _cstring(payload, pos)
        size, pos = len(auth), pos - len(auth) - 1
    auth = payload[pos:pos + size]
    pos += size
    if flags & CLIENT_CONNECT_WITH_DB:
        _, pos = _cstring(payload, pos)
    plugin = _cstring(payload, pos)[0] if flags & CLIENT_PLUGIN_AUTH else b""
    return text(user, 256), auth, text(plugin, 64), False


class MysqlSession(LoginSession):
    protocol = "mysql"

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.client_buf = b""
        self.server_buf = b""
        self.user = ""
        self.state = "greeting"  # greeting -> response -> (switch) -> verdict -> done
        self.clear_next = False

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if from_client:
            found, self.client_buf = packets(self.client_buf + data)
            for _, payload in found:
                if not self._client(payload, ts, where):
                    return False
        else:
            found, self.server_buf = packets(self.server_buf + data)
            for _, payload in found:
                self._server(payload)
        if len(self.client_buf) > MAX_PACKET or len(self.server_buf) > MAX_PACKET:
            self.flush()
            return False
        return self.state != "done"

    def _client(self, payload: bytes, ts: float, where: str) -> bool:
        if self.clear_next:
            self.clear_next = False
            self.offer(ts, where, self.user, payload.rstrip(b"\x00"), note="mysql_clear_password")
            return True
        if self.state != "response":
            return True
        parsed = handshake_response(payload)
        if parsed is None:
            self.state = "done"
            return True
        self.user, auth, plugin, ssl = parsed
        if ssl:
            return False  # TLS follows
        self.state = "verdict"
        if plugin == CLEAR_PLUGIN.decode():
            self.offer(ts, where, self.user, auth.rstrip(b"\x00"), note="mysql_clear_password")
        elif auth:
            self.offer(ts, where, self.user, auth, kind="hash",
                       note=f"{plugin or 'mysql_native_password'} scramble, crackable offline")
        return True

    def _server(self, payload: bytes) -> None:
        if not payload:
            return
        marker = payload[0]
        if self.state == "greeting":
            self.state = "response" if marker == 0x0A else "done"
        elif self.state == "verdict":
            if marker == 0xFE and payload[1:].startswith(CLEAR_PLUGIN):
                self.flush()  # the scramble was not used; the clear password comes next
                self.clear_next = True
            elif marker in (0x00, 0xFF):
                self.judge(marker == 0x00)
                self.state = "done"


class MysqlDecoder(StreamDecoder):
    name = "mysql"
    tcp_ports = MYSQL_PORTS

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        return len(first_server) > 5 and first_server[4] == 0x0A if first_server else False

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return MysqlSession(ends, emit)
