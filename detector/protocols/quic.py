"""QUIC Initial packets (RFC 9000/9001, QUIC v2 RFC 9369): the SNI of the ClientHello inside.

Google's older QUIC (gQUIC Q035-Q046) sends its CHLO handshake message in
clear, with the server name in the SNI tag: read directly.

Initial packets are encrypted, but with keys anyone can derive from the
Destination Connection ID and a public salt (RFC 9001 5.2). We remove header
protection, decrypt with AES-128-GCM, and reassemble the CRYPTO frames of all
Initial packets of one connection (they may arrive out of order and span
several datagrams when the hello carries a large key share) until the
ClientHello is complete.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Optional

from detector.observations import Emit, TlsClientHello
from detector.protocols.base import Datagram, DatagramDecoder
from detector.protocols.tls import TlsError, client_hello_sni

VERSION_1 = 0x00000001
VERSION_2 = 0x6B3343CF
SALT_V1 = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
SALT_V2 = bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9")
SALT_DRAFT29 = bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899")
MAX_CONNECTIONS = 512  # half-read hellos kept at once (LRU)
MAX_CRYPTO_BYTES = 64 * 1024  # per connection: a ClientHello larger than this is given up on
MAX_FRAGMENTS = 64
MAX_DONE = 4096  # connections whose hello was read: later Initials are skipped cheaply
QUIC_PORTS = frozenset({443, 8443, 4433})


class QuicError(ValueError):
    pass


@dataclass(frozen=True)
class QuicVersion:
    """Per-version constants for deriving QUIC Initial keys."""

    salt: bytes
    label_prefix: str  # "quic " for v1/drafts, "quicv2 " for v2
    initial_type: int  # long-header packet type bits of an Initial packet


VERSIONS = {
    VERSION_1: QuicVersion(SALT_V1, "quic ", 0),
    VERSION_2: QuicVersion(SALT_V2, "quicv2 ", 1),
    **{0xFF000000 + draft: QuicVersion(SALT_DRAFT29, "quic ", 0) for draft in range(29, 33)},
}


# ---------------------------------------------------------------- key derivation (RFC 9001 5)


def hkdf_extract(salt: bytes, key_material: bytes) -> bytes:
    return hmac.new(salt, key_material, hashlib.sha256).digest()


def hkdf_expand_label(secret: bytes, label: str, length: int, context: bytes = b"") -> bytes:
    """TLS 1.3 HKDF-Expand-Label (RFC 8446 7.1) with SHA-256."""
    full = ("tls13 " + label).encode()
    info = struct.pack("!HB", length, len(full)) + full + bytes([len(context)]) + context
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


@dataclass(frozen=True)
class InitialKeys:
    """The packet protection keys of a QUIC Initial packet."""

    key: bytes
    iv: bytes
    hp: bytes


def client_initial_keys(dcid: bytes, version: int = VERSION_1) -> InitialKeys:
    """The client's Initial packet protection keys for a Destination Connection ID."""
    spec = VERSIONS.get(version)
    if spec is None:
        raise QuicError(f"unknown QUIC version {version:#x}")
    initial_secret = hkdf_extract(spec.salt, dcid)
    client_secret = hkdf_expand_label(initial_secret, "client in", 32)
    prefix = spec.label_prefix
    return InitialKeys(hkdf_expand_label(client_secret, prefix + "key", 16),
                       hkdf_expand_label(client_secret, prefix + "iv", 12),
                       hkdf_expand_label(client_secret, prefix + "hp", 16))


def header_mask(hp_key: bytes, sample: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # only once a QUIC Initial is seen

    encryptor = Cipher(algorithms.AES(hp_key), modes.ECB()).encryptor()
    return encryptor.update(sample) + encryptor.finalize()


# ---------------------------------------------------------------- packet parsing


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """A QUIC variable-length integer (RFC 9000 16); (value, position after it)."""
    if pos >= len(data):
        raise QuicError("varint past the end")
    first = data[pos]
    size = 1 << (first >> 6)
    if pos + size > len(data):
        raise QuicError("truncated varint")
    value = first & 0x3F
    for byte in data[pos + 1:pos + size]:
        value = (value << 8) | byte
    return value, pos + size


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class InitialPacket:
    """A decrypted QUIC Initial packet."""

    version: int
    dcid: bytes
    payload: bytes  # decrypted frames


def long_header(datagram: bytes, pos: int) -> tuple[int, bytes, int, int]:
    """(version, dcid, payload-length field end, packet end) of a long-header packet at ``pos``."""
    if pos + 7 > len(datagram) or datagram[pos] & 0xC0 != 0xC0:
        raise QuicError("not a long-header packet")
    version = int.from_bytes(datagram[pos + 1:pos + 5], "big")
    at = pos + 5
    dcid_len = datagram[at]
    if dcid_len > 20:
        raise QuicError("connection id too long")
    dcid = datagram[at + 1:at + 1 + dcid_len]
    at += 1 + dcid_len
    if at >= len(datagram) or datagram[at] > 20:
        raise QuicError("bad source connection id")
    at += 1 + datagram[at]
    return version, dcid, at, len(datagram)


def decrypt_initial(datagram: bytes, pos: int) -> tuple[Optional[InitialPacket], int]:
    """Decrypt the client Initial packet at ``pos``; (packet or None, position of the next packet)."""
    version, dcid, at, _ = long_header(datagram, pos)
    spec = VERSIONS.get(version)
    if spec is None:
        raise QuicError("unknown version")
    ptype = (datagram[pos] >> 4) & 3
    if ptype != spec.initial_type:
        if ptype == (3 if version != VERSION_2 else 0):  # Retry: no length field, fills the datagram
            return None, len(datagram)
        length, at = read_varint(datagram, at)
        return None, at + length
    token_len, at = read_varint(datagram, at)
    at += token_len
    length, pn_offset = read_varint(datagram, at)
    end = pn_offset + length
    if end > len(datagram) or length < 20:
        raise QuicError("truncated Initial packet")
    keys = client_initial_keys(dcid, version)
    mask = header_mask(keys.hp, datagram[pn_offset + 4:pn_offset + 20])
    first = datagram[pos] ^ (mask[0] & 0x0F)
    pn_len = (first & 3) + 1
    pn_bytes = bytes(b ^ m for b, m in zip(datagram[pn_offset:pn_offset + pn_len], mask[1:1 + pn_len]))
    header = bytes([first]) + datagram[pos + 1:pn_offset] + pn_bytes
    nonce = bytearray(keys.iv)
    for i, byte in enumerate(pn_bytes.rjust(12, b"\x00")):
        nonce[i] ^= byte
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        payload = AESGCM(keys.key).decrypt(bytes(nonce), datagram[pn_offset + pn_len:end], header)
    except InvalidTag:
        return None, end  # a server Initial, or not QUIC at all
    return InitialPacket(version, dcid, payload), end


def crypto_frames(payload: bytes) -> list[tuple[int, bytes]]:
    """(offset, data) of the CRYPTO frames among the frames allowed in Initial packets."""
    out = []
    pos = 0
    while pos < len(payload):
        ftype, pos = read_varint(payload, pos)
        if ftype in (0x00, 0x01):  # PADDING, PING
            continue
        if ftype == 0x06:
            offset, pos = read_varint(payload, pos)
            size, pos = read_varint(payload, pos)
            if pos + size > len(payload):
                raise QuicError("CRYPTO frame past the packet")
            out.append((offset, payload[pos:pos + size]))
            pos += size
        elif ftype in (0x02, 0x03):
            pos = _skip_ack(payload, pos, ftype == 0x03)
        elif ftype in (0x1C, 0x1D):
            break  # CONNECTION_CLOSE: nothing more of interest
        else:
            raise QuicError(f"unexpected frame type {ftype:#x} in Initial")
    return out


def _skip_ack(payload: bytes, pos: int, ecn: bool) -> int:
    _, pos = read_varint(payload, pos)  # largest acknowledged
    _, pos = read_varint(payload, pos)  # delay
    ranges, pos = read_varint(payload, pos)
    _, pos = read_varint(payload, pos)  # first range
    for _ in range(min(ranges, 256) * 2):
        _, pos = read_varint(payload, pos)
    if ecn:
        for _ in range(3):
            _, pos = read_varint(payload, pos)
    return pos


# ---------------------------------------------------------------- reassembly


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class CryptoStream:
    """CRYPTO bytes of one connection's Initial packets, held until contiguous."""

    fragments: dict[int, bytes] = field(default_factory=dict)
    held: int = 0

    def add(self, offset: int, data: bytes) -> bool:
        """Keep a fragment; False once the stream exceeds its bounds."""
        if offset + len(data) > MAX_CRYPTO_BYTES or len(self.fragments) >= MAX_FRAGMENTS:
            return False
        old = self.fragments.get(offset, b"")
        if len(data) > len(old):
            self.fragments[offset] = data
            self.held += len(data) - len(old)
        return True

    def contiguous(self) -> bytes:
        out = bytearray()
        for offset in sorted(self.fragments):
            data = self.fragments[offset]
            if offset > len(out):
                break
            out += data[len(out) - offset:]
        return bytes(out)


def hello_sni(stream: bytes) -> tuple[bool, Optional[str]]:
    """(complete, sni) for the ClientHello at the start of the CRYPTO stream."""
    if len(stream) < 4:
        return False, None
    if stream[0] != 1:
        raise TlsError("CRYPTO stream does not start with a ClientHello")
    needed = 4 + int.from_bytes(stream[1:4], "big")
    if len(stream) < needed:
        return False, None
    return True, client_hello_sni(stream[:needed])


def gquic_version(data: bytes) -> int:
    """The number of a Google QUIC version up to Q046 (CHLO in clear) in either header form, else 0.

    Q043 and older use the public header (flags with the version bit, 8-byte
    connection id, then the version); Q046 an IETF-style long header. From
    Q050 on the hello is encrypted like IETF QUIC's and is not read here.
    """
    if len(data) < 13:
        return 0
    for version, header_ok in ((data[1:5], data[0] & 0x80), (data[9:13], data[0] & 0x01)):
        if header_ok and version[:2] == b"Q0" and version[2:].isdigit() and int(version[1:]) <= 46:
            return int(version[1:])
    return 0


def gquic_sni(data: bytes) -> Optional[str]:
    """The SNI tag of a gQUIC CHLO: tag count, then (tag, end offset) pairs, then the values in order."""
    start = data.find(b"CHLO")
    if start < 0 or start + 8 > len(data):
        return None
    count = int.from_bytes(data[start + 4:start + 6], "little")
    table, values = start + 8, start + 8 + 8 * count
    if count > 64 or values > len(data):
        return None
    previous = 0
    for index in range(count):
        tag = data[table + 8 * index:table + 8 * index + 4]
        end = int.from_bytes(data[table + 8 * index + 4:table + 8 * index + 8], "little")
        if end < previous or values + end > len(data):
            return None
        if tag == b"SNI\x00":
            name = data[values + previous:values + end]
            try:
                sni = name.decode("ascii").lower()
            except UnicodeDecodeError:
                return None
            return sni if 0 < len(sni) <= 255 and all(c.isalnum() or c in ".-_" for c in sni) else None
        previous = end
    return None


class QuicDecoder(DatagramDecoder):
    """Client Initial packets to the usual QUIC ports."""

    name = "quic"
    udp_ports = QUIC_PORTS

    def __init__(self) -> None:
        self.pending: OrderedDict[tuple, CryptoStream] = OrderedDict()
        self.done: OrderedDict[tuple, None] = OrderedDict()

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        data = dgram.payload
        if dgram.dport in QUIC_PORTS and gquic_version(data):
            sni = gquic_sni(data)
            if sni:
                emit(TlsClientHello(dgram.ts, dgram.where, dgram.src, dgram.dst, dgram.dport, sni, transport="quic"))
            return
        if dgram.dport not in QUIC_PORTS or len(data) < 64 or data[0] & 0xC0 != 0xC0:
            return
        pos = 0
        while pos < len(data) and data[pos] & 0xC0 == 0xC0:
            try:
                packet, pos = decrypt_initial(data, pos)
            except QuicError:
                return
            if packet is not None:
                self._packet(packet, dgram, emit)

    def _packet(self, packet: InitialPacket, dgram: Datagram, emit: Emit) -> None:
        key = (dgram.src, dgram.sport, packet.dcid)
        if key in self.done:
            return
        stream = self.pending.get(key)
        if stream is None:
            stream = self.pending[key] = CryptoStream()
            if len(self.pending) > MAX_CONNECTIONS:
                self.pending.popitem(last=False)
        self.pending.move_to_end(key)
        try:
            for offset, chunk in crypto_frames(packet.payload):
                if not stream.add(offset, chunk):
                    self._finish(key)
                    return
            complete, sni = hello_sni(stream.contiguous())
        except (QuicError, TlsError, IndexError, struct.error):
            self._finish(key)
            return
        if not complete:
            return
        self._finish(key)
        if sni:
            emit(TlsClientHello(dgram.ts, dgram.where, dgram.src, dgram.dst, dgram.dport, sni, transport="quic"))

    def _finish(self, key: tuple) -> None:
        self.pending.pop(key, None)
        self.done[key] = None
        if len(self.done) > MAX_DONE:
            self.done.popitem(last=False)
