"""Redis (RESP): ``AUTH [user] password`` and ``HELLO n AUTH user password``, inline or as RESP arrays.

The first ``+`` or ``-`` reply after the command says whether it was accepted.
"""

from __future__ import annotations

from typing import Optional

from detector.observations import Emit
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession
from detector.protocols.clearlogin import LoginSession
from detector.protocols.text import text

REDIS_PORTS = frozenset({6379})
MAX_ARGS = 16


class RedisSession(LoginSession):
    protocol = "redis"

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.array_left = 0
        self.expect_bulk = False
        self.args: list[bytes] = []
        self.waiting_reply = False

    def client_line(self, line: bytes, ts: float, where: str) -> Optional[bool]:
        if self.expect_bulk:
            self.expect_bulk = False
            self.args.append(line)
            self.array_left -= 1
            if self.array_left <= 0:
                self._command(self.args, ts, where)
            return None
        if line.startswith(b"*") and line[1:].isdigit():
            self.array_left = min(int(line[1:]), MAX_ARGS)
            self.args = []
            if self.array_left == 0:
                return None
        elif line.startswith(b"$") and self.array_left:
            self.expect_bulk = True
        elif line and not self.array_left:
            self._command(line.split()[:MAX_ARGS], ts, where)
        return None

    def _command(self, args: list[bytes], ts: float, where: str) -> None:
        self.array_left = 0
        if not args:
            return
        verb = args[0].upper()
        if verb == b"AUTH" and len(args) in (2, 3):
            user = text(args[1], 256) if len(args) == 3 else ""
            self.offer(ts, where, user, args[-1], note="AUTH")
            self.waiting_reply = True
        elif verb == b"HELLO":
            upper = [a.upper() for a in args]
            if b"AUTH" in upper:
                at = upper.index(b"AUTH")
                if len(args) > at + 2:
                    self.offer(ts, where, text(args[at + 1], 256), args[at + 2], note="HELLO AUTH")
                    self.waiting_reply = True

    def server_line(self, line: bytes, ts: float, where: str) -> Optional[bool]:
        if self.waiting_reply and line[:1] in (b"+", b"-", b"%", b"*"):
            self.waiting_reply = False
            self.judge(line[:1] != b"-")
        return None


class RedisDecoder(StreamDecoder):
    name = "redis"
    tcp_ports = REDIS_PORTS
    client_prefixes = (b"*2\r\n$4\r\nAUTH", b"*3\r\n$4\r\nAUTH", b"*2\r\n$4\r\nauth", b"*3\r\n$4\r\nauth")

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        return first_client[:1] in (b"*", b"") or first_client[:4].upper() in (b"AUTH", b"PING", b"HELL", b"INFO")

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return RedisSession(ends, emit)
