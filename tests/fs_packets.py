"""Byte-exact packet builders for the file-sharing tests: QUIC Initials, TLS server flights, P2P signatures."""

from __future__ import annotations

import datetime as dt
import json
import struct
from pathlib import Path
from typing import Optional

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from detector.protocols.quic import VERSION_1, VERSION_2, client_initial_keys, header_mask
from detector.samples import client_hello, write_pcap

T0 = 1_793_000_000.0  # 2026-10-26, a fixed instant: tests never read the clock


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes, t: float) -> Packet:
    ip = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)
    pkt = Ether() / ip / UDP(sport=sport, dport=dport) / Raw(payload)
    pkt.time = t
    return pkt


def save(tmp_path: Path, packets: list[Packet], name: str = "t.pcap") -> Path:
    return write_pcap(tmp_path / name, packets)


# ---------------------------------------------------------------- DNS


def dns_cname_reply(client: str, server: str, name: str, chain: list[str], address: str, t: float) -> list[Packet]:
    """A query for ``name`` and its answer: CNAME records along ``chain``, then an A record."""
    query = udp(client, server, 53001, 53, bytes(DNS(id=7, rd=1, qd=DNSQR(qname=name))), t)
    records = []
    owner = name
    for target in chain:
        records.append(DNSRR(rrname=owner, type="CNAME", ttl=60, rdata=target))
        owner = target
    records.append(DNSRR(rrname=owner, type="A", ttl=60, rdata=address))
    reply = DNS(id=7, qr=1, rd=1, ra=1, qd=DNSQR(qname=name), an=records)
    return [query, udp(server, client, 53, 53001, bytes(reply), t + 0.01)]


def dns_tcp_payloads(name: str, address: str) -> tuple[bytes, bytes]:
    """Length-prefixed query and answer as sent over TCP port 53."""
    query = bytes(DNS(id=9, rd=1, qd=DNSQR(qname=name)))
    answer = bytes(DNS(id=9, qr=1, rd=1, ra=1, qd=DNSQR(qname=name),
                       an=DNSRR(rrname=name, type="A", ttl=60, rdata=address)))
    return struct.pack("!H", len(query)) + query, struct.pack("!H", len(answer)) + answer


# ---------------------------------------------------------------- TLS server flight


def certificate_der(common_name: str, san: list[str]) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(1).not_valid_before(start).not_valid_after(start + dt.timedelta(days=365)))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in san]), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.DER)


def _handshake(mtype: int, body: bytes) -> bytes:
    return bytes([mtype]) + len(body).to_bytes(3, "big") + body


def server_flight(der: bytes, tls13: bool = False) -> bytes:
    """ServerHello + Certificate + ServerHelloDone in one TLS 1.2 record (or a TLS 1.3 ServerHello)."""
    extensions = struct.pack("!HHH", 43, 2, 0x0304) if tls13 else b""
    hello = b"\x03\x03" + bytes(32) + b"\x00" + b"\xc0\x2f" + b"\x00" + struct.pack("!H", len(extensions)) + extensions
    messages = _handshake(2, hello)
    if not tls13:
        chain = len(der).to_bytes(3, "big") + der
        messages += _handshake(11, len(chain).to_bytes(3, "big") + chain) + _handshake(14, b"")
    return b"\x16\x03\x03" + struct.pack("!H", len(messages)) + messages


def client_hello_without_sni() -> bytes:
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\xc0\x2f" + b"\x01\x00" + b"\x00\x00"
    handshake = _handshake(1, body)
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


# ---------------------------------------------------------------- QUIC


def varint(value: int) -> bytes:
    if value < 0x40:
        return bytes([value])
    if value < 0x4000:
        return struct.pack("!H", 0x4000 | value)
    return struct.pack("!I", 0x80000000 | value)


def hello_message(sni: str, pad: int = 0) -> bytes:
    """The ClientHello handshake message (no TLS record header), as carried in CRYPTO frames."""
    return client_hello(sni, pad)[5:]


def quic_initial(crypto: list[tuple[int, bytes]], dcid: bytes, version: int = VERSION_1, pn: int = 0,
                 scid: bytes = b"\x01\x02\x03\x04", extra: bytes = b"") -> bytes:
    """One client Initial packet, protected as RFC 9001 5 says, padded to 1200 bytes.

    ``crypto`` is a list of (offset, data) CRYPTO frames; ``extra`` are more frames (e.g. PING, ACK).
    """
    frames = b"".join(b"\x06" + varint(off) + varint(len(data)) + data for off, data in crypto) + extra
    pn_bytes = struct.pack("!I", pn)  # 4-byte packet number
    ptype = 1 if version == VERSION_2 else 0
    first = 0xC0 | (ptype << 4) | 0x03
    head = bytes([first]) + struct.pack("!I", version) + bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid
    head += varint(0)  # token length
    room = 1200 - len(head) - 2 - len(pn_bytes) - 16
    frames += b"\x00" * max(0, room - len(frames))
    length = len(pn_bytes) + len(frames) + 16
    header = head + struct.pack("!H", 0x4000 | length) + pn_bytes
    keys = client_initial_keys(dcid, version)
    nonce = bytes(a ^ b for a, b in zip(keys.iv, pn_bytes.rjust(12, b"\x00")))
    sealed = AESGCM(keys.key).encrypt(nonce, frames, header)
    pn_offset = len(header) - len(pn_bytes)
    mask = header_mask(keys.hp, sealed[4 - len(pn_bytes):20 - len(pn_bytes)])
    protected = bytearray(header)
    protected[0] ^= mask[0] & 0x0F
    for i in range(len(pn_bytes)):
        protected[pn_offset + i] ^= mask[1 + i]
    return bytes(protected) + sealed


# ---------------------------------------------------------------- P2P and LAN sync


def bt_handshake(info_hash: bytes = bytes(range(20)), peer_id: bytes = b"-UT3550-abcdefghijkl") -> bytes:
    return b"\x13BitTorrent protocol" + bytes(8) + info_hash + peer_id


def dht_query(name: bytes = b"get_peers") -> bytes:
    return (b"d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q" + str(len(name)).encode()
            + b":" + name + b"1:t2:aa1:y1:qe")


UDP_TRACKER_CONNECT = b"\x00\x00\x04\x17\x27\x10\x19\x80" + b"\x00\x00\x00\x00" + b"\x12\x34\x56\x78"


def lan_sync_beacon(host_int: int = 123456789, namespaces: Optional[list[int]] = None) -> bytes:
    folders = namespaces if namespaces is not None else [1111, 2222]
    return json.dumps({"host_int": host_int, "version": [2, 0], "displayname": "", "port": 17500,
                       "namespaces": folders}).encode()


def tftp_request(opcode: int, filename: bytes, mode: bytes = b"octet") -> bytes:
    return struct.pack("!H", opcode) + filename + b"\x00" + mode + b"\x00"
