"""SIP over UDP (RFC 3261): Digest ``Authorization`` headers in REGISTER/INVITE requests.

A Digest response is not a clear password but can be cracked offline with the
realm and nonce seen on the wire, so it is reported as kind "hash" (info).
"""

from __future__ import annotations

import re

from detector.observations import Credential, Emit
from detector.protocols.base import Datagram, DatagramDecoder
from detector.protocols.text import text
from detector.secrets import protect

SIP_PORTS = frozenset({5060})
METHODS = (b"REGISTER ", b"INVITE ", b"SUBSCRIBE ", b"OPTIONS ", b"BYE ", b"MESSAGE ", b"PUBLISH ")
AUTH_HEADER = re.compile(rb"^(?:proxy-)?authorization:\s*digest\s+(.{1,2048})$", re.IGNORECASE | re.MULTILINE)
PARAM = r'\b{name}\s*=\s*"?([^",\r\n]{{0,256}})"?'


def digest_param(params: bytes, name: str) -> str:
    match = re.search(PARAM.format(name=name).encode(), params, re.IGNORECASE)
    return text(match.group(1), 256) if match else ""


class SipDecoder(DatagramDecoder):
    name = "sip"
    udp_ports = SIP_PORTS
    prefixes = METHODS

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        payload = dgram.payload[:8192]
        if not payload.startswith(METHODS):
            return
        method = text(payload.split(b" ", 1)[0], 16)
        for match in AUTH_HEADER.finditer(payload):
            params = match.group(1).rstrip(b"\r")
            response = digest_param(params, "response")
            if not response:
                continue
            user, realm = digest_param(params, "username"), digest_param(params, "realm")
            emit(Credential(dgram.ts, dgram.where, "sip", dgram.src, dgram.dst, dgram.dport, user, protect(response),
                            kind="hash", note=f"SIP {method} digest response (realm {realm[:60]}), crackable offline"))
