"""Telnet (RFC 854): rebuild the typed login and password after the server's prompts.

Option negotiation (IAC WILL/DO/..., sub-negotiation) is stripped from both
directions with state kept across segments. Server text is watched for a
``login:`` or ``Password:`` prompt; the client's next typed line (sent a
character at a time or at once, backspaces applied) is the user or password.
What the server prints next says whether the login was accepted.
"""

from __future__ import annotations

import re

from detector.observations import Emit
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession
from detector.protocols.clearlogin import LoginSession

IAC, SB, SE = 0xFF, 0xFA, 0xF0
NEGOTIATION = (0xFB, 0xFC, 0xFD, 0xFE)  # WILL WONT DO DONT
TELNET_PORTS = frozenset({23, 2323})
USER_PROMPT = re.compile(r"(?:login|username|user name|user|benutzername|utilisateur|usuario)\s*:\s*$")
PASSWORD_PROMPT = re.compile(r"(?:password|passwort|kennwort|mot de passe|contraseña|passcode|pass)\s*:\s*$")
FAILURE = re.compile(r"incorrect|failed|denied|invalid|bad password|falsch|refus")
SUCCESS = re.compile(r"last login|welcome|[$#>%]\s*$")
MAX_INPUT = 256
MAX_TAIL = 256
MAX_LOGINS = 100


class IacStripper:
    """Removes Telnet commands from a byte stream, keeping state across segments."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state = "data"

    def strip(self, data: bytes) -> bytes:
        if self.state == "data" and IAC not in data:
            return bytes(data)  # no command in this segment (most of them): no per-byte work
        out = bytearray()
        for byte in data:
            state = self.state
            if state == "data":
                if byte == IAC:
                    self.state = "iac"
                else:
                    out.append(byte)
            elif state == "iac":
                if byte == IAC:
                    out.append(IAC)
                    self.state = "data"
                elif byte in NEGOTIATION:
                    self.state = "option"
                elif byte == SB:
                    self.state = "sb"
                else:
                    self.state = "data"
            elif state == "option":
                self.state = "data"
            elif state == "sb":
                if byte == IAC:
                    self.state = "sb-iac"
            elif state == "sb-iac":
                self.state = "data" if byte == SE else "sb"
        return bytes(out)


class TelnetSession(LoginSession):
    protocol = "telnet"

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.client_iac = IacStripper()
        self.server_iac = IacStripper()
        self.expect = ""  # "user", "password" or "" (not at a prompt)
        self.typed = bytearray()
        self.user = ""
        self.tail = ""
        self.logins = 0

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if from_client:
            self._typed(self.client_iac.strip(data), ts, where)
        else:
            self._printed(self.server_iac.strip(data).decode("utf-8", "replace"))
        return self.logins < MAX_LOGINS

    def _printed(self, chunk: str) -> None:
        self.tail = (self.tail + chunk.replace("\x00", ""))[-MAX_TAIL:]
        lowered = self.tail.lower().rstrip("\r\n")
        if self.pending is not None:
            after = lowered.rsplit("\n", 3)[-3:]
            recent = "\n".join(after)
            if FAILURE.search(recent):
                self.judge(False)
            elif SUCCESS.search(recent) and not PASSWORD_PROMPT.search(lowered):
                self.judge(True)
        if PASSWORD_PROMPT.search(lowered):
            self._prompt("password")
        elif USER_PROMPT.search(lowered):
            self._prompt("user")

    def _prompt(self, kind: str) -> None:
        if self.expect != kind:
            self.expect = kind
            self.typed.clear()
        self.tail = ""

    def _typed(self, data: bytes, ts: float, where: str) -> None:
        for byte in data:
            if byte in (0x0D, 0x0A):
                self._line(bytes(self.typed), ts, where)
                self.typed.clear()
            elif byte in (0x08, 0x7F):
                if self.typed:
                    self.typed.pop()
            elif byte == 0x15:  # Ctrl-U erases the line
                self.typed.clear()
            elif byte and len(self.typed) < MAX_INPUT:
                self.typed.append(byte)

    def _line(self, line: bytes, ts: float, where: str) -> None:
        if not line or not self.expect:
            return
        if self.expect == "user":
            self.user = line.decode("utf-8", "replace")[:256]
        else:
            self.logins += 1
            self.offer(ts, where, self.user, line, note="typed after a Password: prompt")
            self.user = ""
        self.expect = ""
        self.tail = ""


class TelnetDecoder(StreamDecoder):
    name = "telnet"
    tcp_ports = TELNET_PORTS
    server_prefixes = (b"\xff\xfd", b"\xff\xfb")

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        head = first_client or first_server
        return head[:1] == b"\xff" or not head.startswith((b"SSH-", b"\x16\x03"))

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return TelnetSession(ends, emit)


class RloginSession(TelnetSession):
    """rlogin (RFC 1282): the user names come in the opening NUL-separated handshake; a password, when
    the server asks for one, is typed after a ``Password:`` prompt exactly as with Telnet."""

    protocol = "rlogin"

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.handshake = b""
        self.in_handshake = True

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if from_client and self.in_handshake:
            self.handshake += data
            if self.handshake.count(b"\x00") < 4 and len(self.handshake) < 1024:
                return True
            fields = self.handshake.split(b"\x00")
            self.in_handshake = False
            self.user = fields[2].decode("utf-8", "replace")[:256] if len(fields) > 2 else ""
            data = b"\x00".join(fields[4:])
        return super().feed(from_client, data, ts, where)

    def _line(self, line: bytes, ts: float, where: str) -> None:
        user = self.user
        super()._line(line, ts, where)
        self.user = self.user or user  # one rlogin session logs in one remote user


class RloginDecoder(StreamDecoder):
    name = "rlogin"
    tcp_ports = frozenset({513})

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        return first_client[:1] == b"\x00" or first_server[:1] == b"\x00"

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return RloginSession(ends, emit)
