"""TLS ClientHello server name (RFC 8446 4.1.2, RFC 6066 3) and TLS 1.2 server certificate names.

The hello is collected across TCP segments and TLS records before parsing, so
a hello split by the network or by a large post-quantum key share still
yields its SNI. Up to TLS 1.2 the server's Certificate message is in clear;
its subject CN and SAN DNS names name the service when the client sent no SNI,
and its issuer's CN and organisation name a product that signs its own
certificates (a VPN provider's or AnyDesk's private CA). A client that answers
a CertificateRequest sends its own Certificate in clear too: AnyDesk's peers
and relays identify the client by it while the server may send none (nDPI's
tls.c reads both directions' certificates).
"""

from __future__ import annotations

import struct
from typing import NamedTuple, Optional

from detector.observations import Emit, TlsCertificate, TlsClientHello
from detector.protocols.base import Endpoints, StreamDecoder, StreamSession

MAX_HELLO = 64 * 1024
MAX_SERVER_FLIGHT = 96 * 1024  # ServerHello + Certificate chain
MAX_CERT_NAMES = 32
TLS13 = 0x0304
TLS_PORTS = frozenset({443, 8443, 465, 993, 995, 636, 853, 5223, 5061})


class TlsError(ValueError):
    pass


def handshake_bytes(stream: bytes) -> tuple[bytes, bool]:
    """Concatenate handshake-record payloads; (bytes, complete-records-only)."""
    out = bytearray()
    pos = 0
    while pos + 5 <= len(stream):
        ctype, _major, _minor, length = struct.unpack_from("!BBBH", stream, pos)
        if ctype != 22:
            raise TlsError("not a handshake record")
        if pos + 5 + length > len(stream):
            return bytes(out), False
        out += stream[pos + 5:pos + 5 + length]
        pos += 5 + length
    return bytes(out), pos == len(stream)


def client_hello_sni(handshake: bytes) -> Optional[str]:
    """The server_name of a complete ClientHello message, or None if it has none."""
    if len(handshake) < 4 or handshake[0] != 1:
        raise TlsError("not a ClientHello")
    body_len = int.from_bytes(handshake[1:4], "big")
    body = handshake[4:4 + body_len]
    if len(body) < body_len:
        raise TlsError("incomplete ClientHello")
    pos = 2 + 32  # version, random
    pos += 1 + body[pos]  # session id
    pos += 2 + int.from_bytes(body[pos:pos + 2], "big")  # cipher suites
    pos += 1 + body[pos]  # compression methods
    if pos + 2 > len(body):
        return None
    end = min(len(body), pos + 2 + int.from_bytes(body[pos:pos + 2], "big"))
    pos += 2
    while pos + 4 <= end:
        etype, elen = struct.unpack_from("!HH", body, pos)
        pos += 4
        if etype == 0:
            return _server_name(body[pos:pos + elen])
        pos += elen
    return None


def _server_name(ext: bytes) -> Optional[str]:
    pos = 2
    while pos + 3 <= len(ext):
        kind, size = ext[pos], int.from_bytes(ext[pos + 1:pos + 3], "big")
        name = ext[pos + 3:pos + 3 + size]
        if kind == 0 and name:
            return name.decode("ascii", "replace").lower().rstrip(".")[:255]
        pos += 3 + size
    return None


def hello_length(handshake: bytes) -> Optional[int]:
    if len(handshake) < 4:
        return None
    return 4 + int.from_bytes(handshake[1:4], "big")


def flight_handshake(stream: bytes) -> tuple[bytes, bool]:
    """Handshake bytes of one side's clear-text flight; (bytes, flight over: a non-handshake record came)."""
    out = bytearray()
    pos = 0
    while pos + 5 <= len(stream):
        ctype, major, _minor, length = struct.unpack_from("!BBBH", stream, pos)
        if major != 3 or ctype not in (20, 21, 22, 23):
            raise TlsError("not a TLS record")
        if ctype != 22:
            return bytes(out), True
        if pos + 5 + length > len(stream):
            break
        out += stream[pos + 5:pos + 5 + length]
        pos += 5 + length
    return bytes(out), False


def handshake_messages(handshake: bytes) -> list[tuple[int, bytes]]:
    """Complete (type, body) handshake messages; a trailing partial message is left out."""
    out = []
    pos = 0
    while pos + 4 <= len(handshake):
        size = int.from_bytes(handshake[pos + 1:pos + 4], "big")
        if pos + 4 + size > len(handshake):
            break
        out.append((handshake[pos], handshake[pos + 4:pos + 4 + size]))
        pos += 4 + size
    return out


def server_hello_is_tls13(body: bytes) -> bool:
    """A ServerHello that selects TLS 1.3 (certificates follow encrypted)."""
    pos = 2 + 32
    if pos >= len(body):
        raise TlsError("short ServerHello")
    pos += 1 + body[pos] + 2 + 1  # session id, cipher suite, compression
    end = min(len(body), pos + 2 + int.from_bytes(body[pos:pos + 2], "big"))
    pos += 2
    while pos + 4 <= end:
        etype, elen = struct.unpack_from("!HH", body, pos)
        if etype == 43 and elen == 2:
            return int.from_bytes(body[pos + 4:pos + 6], "big") == TLS13
        pos += 4 + elen
    return False


class CertificateNames(NamedTuple):
    subject: tuple[str, ...]  # subject CN and SAN DNS names
    issuer: tuple[str, ...]  # issuer CN and organisation


def _clean(names: list[str]) -> tuple[str, ...]:
    clean: list[str] = []
    for name in names:
        name = name.lower().strip().rstrip(".")[:255]
        if name and name not in clean and len(clean) < MAX_CERT_NAMES:
            clean.append(name)
    return tuple(clean)


def certificate_names(body: bytes) -> CertificateNames:
    """Subject and issuer names of the leaf (first) certificate of a Certificate message."""
    if len(body) < 6:
        raise TlsError("short Certificate message")
    size = int.from_bytes(body[3:6], "big")
    der = body[6:6 + size]
    if len(der) < size:
        raise TlsError("truncated certificate")
    from cryptography import x509  # only when a certificate is seen in clear (TLS 1.2 and older)
    from cryptography.x509.oid import ExtensionOID, NameOID

    try:
        cert = x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion) as exc:  # InvalidVersion is no ValueError: a version field of 10
        raise TlsError(f"bad certificate: {exc}") from exc
    names: list[str] = []
    issuer: list[str] = []
    for part, oid, into in (("subject", NameOID.COMMON_NAME, names), ("issuer", NameOID.COMMON_NAME, issuer),
                            ("issuer", NameOID.ORGANIZATION_NAME, issuer)):
        try:  # cryptography parses names lazily: a hostile string tag is a KeyError here, not at load time
            into += [str(a.value) for a in getattr(cert, part).get_attributes_for_oid(oid)]
        except (ValueError, KeyError, TypeError, UnicodeError):
            pass
    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
        names += [str(n) for n in san.get_values_for_type(x509.DNSName)]
    except (x509.ExtensionNotFound, ValueError, KeyError, TypeError, UnicodeError):
        pass
    return CertificateNames(_clean(names), _clean(issuer))


class TlsSession(StreamSession):
    """Follows the client's hello and, up to TLS 1.2, the server's certificate and the client's own."""

    def __init__(self, ends: Endpoints, emit: Emit):
        super().__init__(ends, emit)
        self.buf = b""
        self.server_buf = b""
        self.client_flight = b""  # the client's second flight: its Certificate, when the server asked for one
        self.client_done = False
        self.server_done = False
        self.client_certificate_done = False

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if from_client and not self.client_done:
            self.client_done = self._client(data, ts, where)
        elif from_client and not self.client_certificate_done:
            self.client_certificate_done = self._client_certificate(data, ts, where)
        elif not from_client and not self.server_done:
            self.server_done = self._server(data, ts, where)
        return not (self.client_done and self.server_done and self.client_certificate_done)

    def _client(self, data: bytes, ts: float, where: str) -> bool:
        """Consume client bytes; True once the hello was read or given up on."""
        self.buf += data
        if len(self.buf) > MAX_HELLO:
            self.server_done = self.client_certificate_done = True
            return True
        try:
            handshake, _ = handshake_bytes(self.buf)
            needed = hello_length(handshake)
            if needed is None or len(handshake) < needed:
                return False
            sni = client_hello_sni(handshake[:needed])
        except (TlsError, IndexError, struct.error):
            self.server_done = self.client_certificate_done = True  # not TLS: follow neither side further
            return True
        self.buf = b""
        e = self.ends  # a hello without SNI too: the server's published range may still say whose it is
        self.emit(TlsClientHello(ts, where, e.client, e.server, e.server_port, sni or ""))
        return True

    def _server(self, data: bytes, ts: float, where: str) -> bool:
        """Consume server bytes; True once the certificate was read or cannot be."""
        self.server_buf += data
        if len(self.server_buf) > MAX_SERVER_FLIGHT:
            return True
        try:
            handshake, over = flight_handshake(self.server_buf)
            for mtype, body in handshake_messages(handshake):
                if mtype == 2 and server_hello_is_tls13(body):
                    self.client_certificate_done = True  # TLS 1.3 encrypts the client's certificate too
                    return True
                if mtype == 11:
                    self._certificate(body, ts, where, from_client=False)
                    return True
                if mtype in (12, 14):  # ServerKeyExchange / ServerHelloDone without a certificate
                    return True
        except (TlsError, IndexError, struct.error):
            return True
        if over:
            return True
        return False

    def _client_certificate(self, data: bytes, ts: float, where: str) -> bool:
        """Consume the client's bytes after its hello; True once its Certificate was read or cannot come."""
        self.client_flight += data
        if len(self.client_flight) > MAX_SERVER_FLIGHT:
            return True
        try:
            handshake, over = flight_handshake(self.client_flight)
            for mtype, body in handshake_messages(handshake):
                if mtype == 11:
                    self._certificate(body, ts, where, from_client=True)
                return True  # the client's Certificate, if any, is the first message of its second flight
        except (TlsError, IndexError, struct.error):
            return True
        return over

    def _certificate(self, body: bytes, ts: float, where: str, from_client: bool) -> None:
        names = certificate_names(body)
        if names.subject or names.issuer:
            e = self.ends
            self.emit(TlsCertificate(ts, where, e.client, e.server, e.server_port, names.subject, names.issuer,
                                     from_client))


class StartTlsSession(StreamSession):
    """A clear-text session that may upgrade to TLS (STARTTLS, STLS, AUTH TLS): the certificate after it is read."""

    def __init__(self, inner: StreamSession):
        super().__init__(inner.ends, inner.emit)
        self.inner = inner
        self.tls: Optional[TlsSession] = None

    def feed(self, from_client: bool, data: bytes, ts: float, where: str) -> bool:
        if self.tls is not None:
            return self.tls.feed(from_client, data, ts, where)
        if self.inner.feed(from_client, data, ts, where):
            return True
        if not self.inner.tls_started:
            return False
        self.tls = TlsSession(self.ends, self.emit)
        return True

    def close(self, ts: float, where: str) -> None:
        if self.tls is None:
            self.inner.close(ts, where)


class TlsDecoder(StreamDecoder):
    name = "tls"
    tcp_ports = TLS_PORTS
    client_prefixes = (b"\x16\x03\x01", b"\x16\x03\x03", b"\x16\x03\x00", b"\x16\x03\x02")

    def accepts(self, first_client: bytes, first_server: bytes) -> bool:
        return first_client.startswith(self.client_prefixes)

    def session(self, ends: Endpoints, emit: Emit) -> StreamSession:
        return TlsSession(ends, emit)
