"""MSN Messenger switchboard (MSNP, TCP 1863): chat text scanned for pasted passwords.

``MSG <trid> <ack> <length>`` (client) and ``MSG <sender> <name> <length>``
(server) carry a MIME payload of exactly ``length`` bytes; text/plain bodies
go to the password-in-message scanner. The ``USR`` ticket is a session
cookie, not a password, and is ignored.
"""

from __future__ import annotations

from detector.observations import Emit
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession
from detector.protocols.text import text
from detector.textscan import shared_passwords

MSN_PORTS = frozenset({1863})
MAX_PAYLOAD = 64 * 1024
MAX_LINE = 4096
MAX_PEERS = 50
PEER_INDEX = {b"CAL": 2, b"JOI": 1, b"IRO": 4}  # where each command names a participant


class MsnSession(StreamSession):
    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.buffers = {True: b"", False: b""}
        self.payload_left = {True: 0, False: 0}
        self.payload_sender = {True: "", False: ""}
        self.me = ""
        self.peers: dict[str, None] = {}

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        buf = self.buffers[from_client] + data
        while buf:
            if self.payload_left[from_client]:
                size = self.payload_left[from_client]
                if len(buf) < size:
                    break
                payload, buf = buf[:size], buf[size:]
                self.payload_left[from_client] = 0
                self._message(self.payload_sender[from_client], payload, ts, where)
                continue
            end = buf.find(b"\r\n")
            if end < 0:
                if len(buf) > MAX_LINE:
                    return False
                break
            line, buf = buf[:end], buf[end + 2:]
            self._command(from_client, line.split(b" "))
        self.buffers[from_client] = buf
        return True

    def _command(self, from_client: bool, words: list[bytes]) -> None:
        verb = words[0]
        if verb == b"USR" and len(words) >= 4:
            self.me = text(words[3] if words[2] == b"OK" else words[2], 128)
        elif verb in PEER_INDEX and len(words) > PEER_INDEX[verb] and len(self.peers) < MAX_PEERS:
            peer = text(words[PEER_INDEX[verb]], 128)
            if "@" in peer:
                self.peers[peer] = None
        elif verb == b"MSG" and len(words) >= 4 and words[-1].isdigit():
            size = int(words[-1])
            if 0 < size <= MAX_PAYLOAD:
                self.payload_left[from_client] = size
                self.payload_sender[from_client] = self.me if from_client else text(words[1], 128)

    def _message(self, sender: str, payload: bytes, ts: float, where: str) -> None:
        head, _, body = payload.partition(b"\r\n\r\n")
        if b"text/plain" not in head.lower():
            return
        recipients = tuple(p for p in self.peers if p != sender) + ((self.me,) if sender != self.me and self.me
                                                                     else ())
        for obs in shared_passwords(text(body, MAX_PAYLOAD), "msn", sender, recipients, ts, where):
            self.emit(obs)


class MsnDecoder(StreamDecoder):
    name = "msnms"
    tcp_ports = MSN_PORTS

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        head = first_client or first_server
        return head[:4] in (b"USR ", b"VER ", b"ANS ", b"MSG ", b"CAL ", b"JOI ", b"CVR ", b"IRO ")

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return MsnSession(ends, emit)
