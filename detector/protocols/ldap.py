"""LDAP (RFC 4511) simple bind: the DN and password in BER, and the bindResponse result code.

Recognised on 389 and 3268 and, on any port, by a first client message that
parses as an LDAPMessage. Anonymous and unauthenticated binds (empty password)
and SASL binds are not clear passwords and yield nothing; a StartTLS extended
request ends what can be read.

Who binds: the bind DN (simple bind) or the NTLMSSP AUTHENTICATE inside a
SASL GSS-SPNEGO bind names a user (and domain) for the client address.
"""

from __future__ import annotations

import re

from detector.observations import Emit, HostIdentity
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession
from detector.protocols.ber import (
    TAG_ENUMERATED,
    TAG_INTEGER,
    TAG_OCTET_STRING,
    TAG_SEQUENCE,
    BerError,
    children,
    complete_length,
    element,
    header,
    integer,
)
from detector.protocols.clearlogin import LoginSession
from detector.protocols.ntlmssp import parse_authenticate
from detector.protocols.text import text
from detector.secrets import SECRET_IN_TEXT, without_secret

LDAP_PORTS = frozenset({389, 3268})
BIND_REQUEST, BIND_RESPONSE = 0x60, 0x61
EXTENDED_REQUEST, EXTENDED_RESPONSE = 0x77, 0x78
SIMPLE_AUTH = 0x80
SASL_AUTH = 0xA3
STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"
MAX_MESSAGE = 64 * 1024
MAX_BUFFER = 128 * 1024
MAX_RESYNC = 64 * 1024


def ldap_message(buf: bytes) -> tuple[int, int, bytes]:
    """(message id, protocolOp tag, protocolOp value) of one complete LDAPMessage."""
    message = element(buf, 0, TAG_SEQUENCE)
    msgid = element(message.value, 0, TAG_INTEGER)
    op = element(message.value, msgid.end)
    return integer(msgid.value), op.tag, op.value


class LdapSession(LoginSession):
    protocol = "ldap"

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.buffers = {True: b"", False: b""}
        self.bind_ids: dict[int, None] = {}
        self.skipped = 0  # bytes skipped over malformed messages
        self.tls_id = -1

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        buf = self.buffers[from_client] + data
        while buf:
            try:
                size = complete_length(buf)
            except BerError:
                size = MAX_MESSAGE + 1
            if size is not None and size > MAX_MESSAGE:  # one malformed message: skip to the next one
                buf = self._resync(buf)
                if self.skipped > MAX_RESYNC:
                    return self._give_up()
                continue
            if size is None or size > len(buf):
                break
            message, buf = buf[:size], buf[size:]
            try:
                keep = self._client(message, ts, where) if from_client else self._server(message)
            except BerError:
                keep = True
            if not keep:
                return False
        self.buffers[from_client] = buf[-MAX_BUFFER:]
        return True

    def _resync(self, buf: bytes) -> bytes:
        """The buffer from the next byte that starts something shaped like an LDAPMessage (or its last bytes)."""
        at = buf.find(b"\x30", 1)
        while at >= 0 and len(buf) - at >= 8 and not looks_like_ldap(buf[at:at + 64]):
            at = buf.find(b"\x30", at + 1)
        if at < 0:
            at = len(buf)
        self.skipped += at
        return buf[at:]

    def _give_up(self) -> bool:
        self.flush()
        return False

    def _client(self, message: bytes, ts: float, where: str) -> bool:
        msgid, tag, value = ldap_message(message)
        if tag == EXTENDED_REQUEST and STARTTLS_OID in value:
            self.tls_id = msgid
        if tag != BIND_REQUEST:
            return True
        parts = children(value, 3)
        if len(parts) < 3 or parts[1].tag != TAG_OCTET_STRING:
            return True
        name, auth = parts[1].value, parts[2]
        if auth.tag == SASL_AUTH:
            ntlm = parse_authenticate(auth.value)
            if ntlm is not None and not ntlm.anonymous:
                self.emit(HostIdentity(ts, where, self.ends.client, hostname=ntlm.workstation, username=ntlm.user,
                                       domain=ntlm.domain, source="ldap-bind"))
        if auth.tag != SIMPLE_AUTH or not auth.value or not name.strip():
            return True  # SASL, anonymous (no DN) or unauthenticated (no password) bind: no clear password
        user, domain = bind_user(without_secret(text(name, 256), auth.value))
        if user and SECRET_IN_TEXT not in user:
            self.emit(HostIdentity(ts, where, self.ends.client, username=user, domain=domain, source="ldap-bind"))
        if len(self.bind_ids) < 64:
            self.bind_ids[msgid] = None
        self.offer(ts, where, text(name, 256), auth.value, note="simple bind")
        return True

    def _server(self, message: bytes) -> bool:
        msgid, tag, value = ldap_message(message)
        if tag == BIND_RESPONSE and msgid in self.bind_ids:
            del self.bind_ids[msgid]
            result = element(value, 0, TAG_ENUMERATED)
            self.judge(integer(result.value) == 0)
        elif tag == EXTENDED_RESPONSE and msgid == self.tls_id:
            result = element(value, 0, TAG_ENUMERATED)
            return integer(result.value) != 0
        return True


def bind_user(name: str) -> tuple[str, str]:
    """(user, domain) of a bind name: a DN (first RDN value, DC components), a UPN or DOMAIN\\user."""
    name = name.strip()
    if "\\" in name and "=" not in name:
        domain, _, user = name.partition("\\")
        return user, domain
    if "@" in name and "=" not in name:
        user, _, domain = name.partition("@")
        return user, domain
    if "=" not in name:
        return name, ""
    rdns = [part.strip() for part in re.split(r"(?<!\\),", name) if "=" in part]
    if not rdns:
        return "", ""
    user = rdns[0].split("=", 1)[1].strip()
    components = [p.split("=", 1)[1].strip() for p in rdns if p.lower().startswith("dc=")]
    return user, ".".join(components)


def looks_like_ldap(head: bytes) -> bool:
    """A BER SEQUENCE holding an INTEGER message id and an application-class operation."""
    if head[:1] != b"\x30":
        return False
    try:
        found = header(head, 0)
        if found is None:
            return False
        msgid = element(head, found[1], TAG_INTEGER)
    except BerError:
        return False
    return len(head) > msgid.end and head[msgid.end] & 0xE0 in (0x60, 0x40)


class LdapDecoder(StreamDecoder):
    name = "ldap"
    tcp_ports = LDAP_PORTS
    client_prefixes = (b"\x30",)

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        return looks_like_ldap(first_client or first_server)

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return LdapSession(ends, emit)
