"""SASL helpers shared by SMTP, POP3, IMAP and XMPP: PLAIN and LOGIN carry the password in base64.

CRAM-MD5, DIGEST-MD5, SCRAM and NTLM carry only crackable material; callers
report those as kind "hash".
"""

from __future__ import annotations

import base64
import binascii
from typing import Optional

from detector.protocols.text import text


def b64(value: bytes) -> Optional[bytes]:
    """Strict-enough base64: None when the text is not base64 at all."""
    value = value.strip()
    if not value or len(value) > 8192:
        return None
    try:
        return base64.b64decode(value + b"=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def plain(value: bytes) -> Optional[tuple[str, bytes]]:
    """(user, password) from a base64 SASL PLAIN response ``authzid NUL authcid NUL passwd``."""
    raw = b64(value)
    if raw is None or raw.count(b"\x00") < 2:
        return None
    authzid, authcid, password = raw.split(b"\x00", 2)
    user = authcid or authzid
    return text(user, 256), password
