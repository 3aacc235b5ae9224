"""IRC (RFC 2812): server ``PASS``, ``OPER``, NickServ ``IDENTIFY``, and passwords pasted into chat.

Welcome (001) after PASS means accepted, 464 refused. NickServ's notice says
whether IDENTIFY worked. Every PRIVMSG/NOTICE text, in both directions (the
server relays other people's messages), goes to the password-in-message scanner.
"""

from __future__ import annotations

from typing import Optional

from detector.observations import Emit
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession
from detector.protocols.clearlogin import LoginSession
from detector.protocols.text import text
from detector.textscan import shared_passwords

IRC_PORTS = frozenset({6667, 6668, 6669, 6660, 7000})
NICKSERV = (b"NICKSERV", b"NS")


class IrcSession(LoginSession):
    protocol = "irc"

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.nick = ""
        self.server_password: Optional[tuple[float, str, bytes]] = None
        self.waiting = ""  # "welcome" or "nickserv"

    def client_line(self, line: bytes, ts: float, where: str) -> Optional[bool]:
        verb, _, rest = line.strip().partition(b" ")
        verb = verb.upper()
        if verb == b"PASS":
            self.server_password = (ts, where, rest.lstrip(b":"))
        elif verb == b"NICK":
            self.nick = text(rest.lstrip(b":").split(b" ")[0], 64)
        elif verb == b"USER" and self.server_password is not None:
            self._offer_server_password()
        elif verb == b"OPER":
            name, _, password = rest.partition(b" ")
            self.offer(ts, where, text(name, 256), password.lstrip(b":"), note="OPER")
        elif verb in NICKSERV and rest:
            self._identify(rest.lstrip(b":"), ts, where)
        elif verb in (b"PRIVMSG", b"NOTICE"):
            target, _, message = rest.partition(b" ")
            if target.upper() in NICKSERV + (b"NICKSERV@SERVICES.DAL.NET",) or target.upper().startswith(b"NICKSERV"):
                self._identify(message.lstrip(b":"), ts, where)
            else:
                self._chat(self.nick, text(target, 128), message.lstrip(b":"), ts, where)
        return None

    def _offer_server_password(self) -> None:
        ts, where, password = self.server_password
        self.server_password = None
        self.offer(ts, where, self.nick, password, note="server PASS")
        self.waiting = "welcome"

    def _identify(self, message: bytes, ts: float, where: str) -> None:
        words = message.split()
        if len(words) < 2 or words[0].upper() != b"IDENTIFY":
            return
        account = text(words[1], 64) if len(words) > 2 else self.nick
        self.offer(ts, where, account, words[-1], note="NickServ IDENTIFY", protocol="irc-nickserv")
        self.waiting = "nickserv"

    def _chat(self, sender: str, target: str, message: bytes, ts: float, where: str) -> None:
        body = text(message, 4096)
        if body.startswith("\x01"):
            return  # CTCP
        for obs in shared_passwords(body, "irc", sender, (target,), ts, where):
            self.send(obs)

    def server_line(self, line: bytes, ts: float, where: str) -> Optional[bool]:
        prefix, command, rest = b"", line, b""
        if line.startswith(b":"):
            prefix, _, line = line[1:].partition(b" ")
        command, _, rest = line.partition(b" ")
        if self.server_password is not None and command in (b"001", b"464"):
            self._offer_server_password()
        if self.waiting == "welcome" and command in (b"001", b"464"):
            self.waiting = ""
            self.judge(command == b"001")
        elif self.waiting == "nickserv" and command == b"NOTICE" and prefix.upper().startswith(b"NICKSERV"):
            lowered = rest.lower()
            if b"identified" in lowered or b"recognized" in lowered or b"accepted" in lowered:
                self.waiting = ""
                self.judge(True)
            elif b"invalid" in lowered or b"incorrect" in lowered or b"denied" in lowered:
                self.waiting = ""
                self.judge(False)
        elif command in (b"PRIVMSG", b"NOTICE") and prefix and b"!" in prefix:
            target, _, message = rest.partition(b" ")
            sender = text(prefix.split(b"!")[0], 64)
            if not sender.lower().endswith("serv"):
                self._chat(sender, text(target, 128), message.lstrip(b":"), ts, where)
        return None

    def close(self, ts: float, where: str) -> None:
        if self.server_password is not None:
            self._offer_server_password()
        self.flush()


class IrcDecoder(StreamDecoder):
    name = "irc"
    tcp_ports = IRC_PORTS
    client_prefixes = (b"PASS ", b"NICK ", b"CAP LS")

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        if first_client:
            return first_client.upper().startswith((b"PASS ", b"NICK ", b"CAP ", b"USER "))
        return first_server.startswith(b":") or first_server.startswith(b"NOTICE ")

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return IrcSession(ends, emit)
