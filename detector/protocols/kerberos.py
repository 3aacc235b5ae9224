"""Kerberos (RFC 4120) on UDP and TCP 88: who logs in, from where.

The AS-REQ carries the client principal and realm in clear (``req-body``
cname/crealm), and so does the KDC's AS-REP; a principal ending in ``$`` is a
computer account, i.e. the host name of the machine. Nothing secret is read:
pre-authentication data and tickets stay encrypted.
"""

from __future__ import annotations

import struct
from typing import Optional

from detector.observations import Emit, HostIdentity
from detector.protocols.base import Datagram, DatagramDecoder, Endpoints, StreamDecoder, StreamSession
from detector.protocols.ber import TAG_INTEGER, TAG_SEQUENCE, BerError, children, element, integer

KERBEROS_PORT = 88
AS_REQ, AS_REP = 0x6A, 0x6B  # [APPLICATION 10] and [APPLICATION 11]
GENERAL_STRING = 0x1B
MAX_RECORD = 64 * 1024
NETBIOS_ADDRESS = 20


def _context(items, number: int):
    tag = 0xA0 | number
    return next((item for item in items if item.tag == tag), None)


def _clean(raw: bytes) -> str:
    return "".join(c for c in raw.decode("utf-8", "replace") if c.isprintable())[:256]


def _string(value: bytes) -> str:
    """An explicitly tagged KerberosString: the GeneralString inside the context tag."""
    return _clean(element(value, 0, GENERAL_STRING).value)


def _principal(value: bytes) -> str:
    """PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1] SEQUENCE OF KerberosString }."""
    sequence = element(value, 0, TAG_SEQUENCE)
    strings = _context(children(sequence.value, 4), 1)
    if strings is None:
        return ""
    names = children(element(strings.value, 0, TAG_SEQUENCE).value, 8)
    return "/".join(_clean(n.value) for n in names if n.tag == GENERAL_STRING)


def client_principal(message: bytes) -> Optional[tuple[str, str, str]]:
    """(user, realm, NetBIOS address name) of an AS-REQ or AS-REP; None for other messages."""
    if not message or message[0] not in (AS_REQ, AS_REP):
        return None
    outer = element(message, 0)
    body = children(element(outer.value, 0, TAG_SEQUENCE).value, 12)
    msg_type = _context(body, 2 if message[0] == AS_REQ else 1)  # KDC-REQ: pvno [1], msg-type [2]; KDC-REP: [0], [1]
    if msg_type is None or integer(element(msg_type.value, 0, TAG_INTEGER).value) not in (10, 11):
        return None
    if message[0] == AS_REP:  # crealm [3], cname [4]
        realm, cname = _context(body, 3), _context(body, 4)
        if realm is None or cname is None:
            return None
        return _principal(cname.value), _string(realm.value), ""
    req_body = _context(body, 4)
    if req_body is None:
        return None
    fields = children(element(req_body.value, 0, TAG_SEQUENCE).value, 16)
    cname, realm = _context(fields, 1), _context(fields, 2)
    if cname is None:
        return None
    return _principal(cname.value), _string(realm.value) if realm else "", _netbios_address(_context(fields, 9))


def _netbios_address(addresses) -> str:
    """HostAddresses [9]: a NetBIOS-type address is the client's 16-byte NetBIOS name."""
    if addresses is None:
        return ""
    for address in children(element(addresses.value, 0, TAG_SEQUENCE).value, 8):
        parts = children(address.value if address.tag == TAG_SEQUENCE else b"", 2)
        kind, value = _context(parts, 0), _context(parts, 1)
        if kind and value and integer(element(kind.value, 0, TAG_INTEGER).value) == NETBIOS_ADDRESS:
            raw = element(value.value, 0).value
            return raw[:15].decode("latin-1").rstrip(" \x00")
    return ""


def identity(message: bytes, client: str, ts: float, where: str) -> Optional[HostIdentity]:
    try:
        found = client_principal(message)
    except (BerError, IndexError, ValueError):
        return None
    if found is None or not found[0]:
        return None
    user, realm, netbios = found
    if user.endswith("$"):  # a computer account names the machine itself
        return HostIdentity(ts, where, client, hostname=user[:-1], domain=realm, source="kerberos")
    return HostIdentity(ts, where, client, hostname=netbios, username=user, domain=realm, source="kerberos")


class KerberosUdpDecoder(DatagramDecoder):
    name = "kerberos-udp"
    udp_ports = frozenset({KERBEROS_PORT})

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        request = dgram.dport == KERBEROS_PORT
        found = identity(dgram.payload, dgram.src if request else dgram.dst, dgram.ts, dgram.where)
        if found is not None:
            emit(found)


class KerberosSession(StreamSession):
    """Length-prefixed records (RFC 4120 7.2.2); the first exchange is all that names anyone."""

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.buffers = {True: b"", False: b""}
        self.records = 0

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        buf = self.buffers[from_client] + data
        while len(buf) >= 4:
            size = struct.unpack_from("!I", buf)[0] & 0x7FFFFFFF
            if size > MAX_RECORD:
                return False
            if len(buf) < 4 + size:
                break
            found = identity(buf[4:4 + size], self.ends.client, ts, where)
            if found is not None:
                self.emit(found)
            buf = buf[4 + size:]
            self.records += 1
        self.buffers[from_client] = buf
        return self.records < 8


class KerberosDecoder(StreamDecoder):
    name = "kerberos"
    tcp_ports = frozenset({KERBEROS_PORT})

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        head = first_client or first_server
        return len(head) >= 5 and head[4] in (AS_REQ, AS_REP, 0x6C, 0x6D, 0x7E)

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return KerberosSession(ends, emit)
