"""NTLMSSP messages ([MS-NLMP] 2.2.1) wherever they are carried (HTTP, SMB2, SPNEGO).

Only the AUTHENTICATE message (Type 3) names anyone: user, domain and
workstation, next to a challenge response that can be cracked offline. The
NEGOTIATE (Type 1) and CHALLENGE (Type 2) messages carry no credential of the
client and yield nothing.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional

SIGNATURE = b"NTLMSSP\x00"
AUTHENTICATE = 3
FLAG_UNICODE = 0x00000001
FLAG_ANONYMOUS = 0x00000800  # NTLMSSP_NEGOTIATE_ANONYMOUS
MAX_FIELD = 512
MAX_SCAN = 64 * 1024


@dataclass(frozen=True)
class NtlmAuthenticate:
    """The fields of an NTLM AUTHENTICATE message that identify the login."""

    user: str
    domain: str
    workstation: str
    response: bytes  # NT (or LM) challenge response: the crackable part, never shown
    version: str  # "NTLMv2", "NTLMv1" or "anonymous"

    @property
    def anonymous(self) -> bool:
        """A null session ([MS-NLMP] 3.2.5.1.2, 3.3.1): nobody logged on, nothing to crack."""
        return self.version == "anonymous"


def find_message(data: bytes) -> Optional[bytes]:
    """The NTLMSSP message inside a blob (raw, or wrapped in SPNEGO / GSS-API)."""
    at = data.find(SIGNATURE, 0, MAX_SCAN)
    return data[at:] if at >= 0 else None


def message_type(message: bytes) -> int:
    if len(message) < 12 or not message.startswith(SIGNATURE):
        return 0
    return struct.unpack_from("<I", message, 8)[0]


def _field(message: bytes, offset: int) -> bytes:
    """A (length, max length, offset) security buffer, bounded and checked."""
    if offset + 8 > len(message):
        return b""
    length, _max, start = struct.unpack_from("<HHI", message, offset)
    if length > MAX_FIELD * 4 or start + length > len(message):
        return b""
    return message[start:start + length]


def _text(raw: bytes, unicode: bool) -> str:
    value = raw.decode("utf-16-le", "replace") if unicode else raw.decode("latin-1")
    return "".join(c for c in value if c.isprintable())[:MAX_FIELD]


def parse_authenticate(blob: bytes) -> Optional[NtlmAuthenticate]:
    """User, domain and workstation of a Type 3 message; None for Type 1/2 or anything malformed."""
    message = find_message(blob)
    if message is None or message_type(message) != AUTHENTICATE or len(message) < 64:
        return None
    flags = struct.unpack_from("<I", message, 60)[0]
    unicode = bool(flags & FLAG_UNICODE)
    lm, nt = _field(message, 12), _field(message, 20)
    domain, user, workstation = (_text(_field(message, at), unicode) for at in (28, 36, 44))
    response = nt or lm
    null_session = flags & FLAG_ANONYMOUS or not user or (not nt and lm in (b"", b"\x00"))
    version = "anonymous" if null_session else "NTLMv2" if len(nt) > 24 else "NTLMv1"
    return NtlmAuthenticate(user, domain, workstation, response, version)
