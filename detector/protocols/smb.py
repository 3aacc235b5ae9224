"""SMB session setup (MS-SMB2 2.2.5/2.2.6, MS-SMB 2.2.4.6) on TCP 445 and 139: who logged on to a file share.

The client's SESSION_SETUP request carries an SPNEGO token; when it is an
NTLMSSP AUTHENTICATE (Type 3) it names the user, domain and workstation and
holds a challenge response that can be cracked offline (kind "hash"). The
server's SESSION_SETUP response status says whether it was accepted. Kerberos
session setups name nobody in clear and yield nothing here.
"""

from __future__ import annotations

import re
import struct
from typing import Optional

from detector.observations import Credential, Emit, HostIdentity
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession
from detector.protocols.ntlmssp import parse_authenticate
from detector.secrets import protect

SMB_PORTS = frozenset({445, 139})
SMB2_MAGIC, SMB1_MAGIC = b"\xfeSMB", b"\xffSMB"
SMB2_SESSION_SETUP, SMB1_SESSION_SETUP_ANDX = 0x0001, 0x73
STATUS_SUCCESS, STATUS_MORE_PROCESSING = 0, 0xC0000016
MAX_MESSAGE = 128 * 1024
NETBIOS_TYPES = (0x00, 0x81, 0x82, 0x83, 0x85)  # session message, request, positive/negative reply, keep-alive
MAX_RESYNC = 256 * 1024
SMB_FRAME = re.compile(rb"\x00[\x00-\x01][\x00-\xff]{2}[\xfe\xff]SMB")  # session message <= 128 KiB + magic
MAX_MESSAGES = 64  # session setup happens at the start; the rest of the flow is file traffic


class SmbSession(StreamSession):
    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.buffers = {True: b"", False: b""}
        self.messages = 0
        self.skipped = 0  # bytes skipped over malformed frames
        self.pending: Optional[Credential] = None

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        buf = self.buffers[from_client] + data
        while len(buf) >= 4:
            kind = buf[0]
            size = int.from_bytes(buf[1:4], "big")
            if kind not in NETBIOS_TYPES or size > MAX_MESSAGE:  # one bad frame: skip to the next SMB header
                buf = self._resync(buf)
                if self.skipped > MAX_RESYNC:
                    return self._stop()
                continue
            if len(buf) < 4 + size:
                break
            message, buf = buf[4:4 + size], buf[4 + size:]
            self.messages += 1
            if kind == 0x00:
                self._message(from_client, message, ts, where)
        self.buffers[from_client] = buf[-MAX_MESSAGE:]
        return self.messages < MAX_MESSAGES or self.pending is not None

    def _resync(self, buf: bytes) -> bytes:
        """The buffer from the next NetBIOS session message that holds an SMB header (or its last 7 bytes)."""
        at = next((m.start() for m in SMB_FRAME.finditer(buf, 1)), max(1, len(buf) - 7))
        self.skipped += at
        return buf[at:]

    def _message(self, from_client: bool, message: bytes, ts: float, where: str) -> None:
        if message.startswith(SMB2_MAGIC) and len(message) >= 64:
            command = struct.unpack_from("<H", message, 12)[0]
            status = struct.unpack_from("<I", message, 8)[0]
            is_setup = command == SMB2_SESSION_SETUP
        elif message.startswith(SMB1_MAGIC) and len(message) >= 32:
            is_setup = message[4] == SMB1_SESSION_SETUP_ANDX
            status = struct.unpack_from("<I", message, 5)[0]
        else:
            return
        if not is_setup:
            return
        if from_client:
            self._request(message, ts, where)
        elif status != STATUS_MORE_PROCESSING and self.pending is not None:
            self.pending.accepted = status == STATUS_SUCCESS
            self._flush()

    def _request(self, message: bytes, ts: float, where: str) -> None:
        auth = parse_authenticate(message)
        if auth is None or auth.anonymous:
            return
        self._flush()
        e = self.ends
        self.emit(HostIdentity(ts, where, e.client, hostname=auth.workstation, username=auth.user,
                               domain=auth.domain, source="ntlmssp-smb"))
        self.pending = Credential(ts, where, "smb-ntlm", e.client, e.server, e.server_port, auth.user[:256],
                                  protect(auth.response), kind="hash",
                                  note=f"{auth.version} response, crackable offline", domain=auth.domain[:256],
                                  workstation=auth.workstation[:256])

    def _flush(self) -> None:
        if self.pending is not None:
            self.emit(self.pending)
            self.pending = None

    def _stop(self) -> bool:
        self._flush()
        return False

    def close(self, ts: float, where: str) -> None:
        self._flush()


class SmbDecoder(StreamDecoder):
    name = "smb"
    tcp_ports = SMB_PORTS

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        head = first_client or first_server
        return len(head) >= 8 and head[0] in (0x00, 0x85) and head[4:8] in (SMB2_MAGIC, SMB1_MAGIC) \
            or head[:1] in (b"\x81", b"\x82", b"\x83")  # NetBIOS session request/response on 139

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return SmbSession(ends, emit)
