"""Hostile bytes into every new name decoder: truncations and mutations of valid messages never raise."""

from __future__ import annotations

import base64
import random

from names_packets import dhcp_request, kerberos_as_req, nbns_registration, ntlm_authenticate, smb2_session
from scapy.layers.dns import DNS, DNSRR

from detector.protocols.base import Datagram, Endpoints
from detector.protocols.dhcp import DhcpDecoder
from detector.protocols.http import HttpSession
from detector.protocols.kerberos import KerberosSession, KerberosUdpDecoder
from detector.protocols.names import NamesDecoder
from detector.protocols.ntlmssp import parse_authenticate
from detector.protocols.smb import SmbSession

ENDS = Endpoints("10.0.0.23", "10.0.0.5", 50000, 445, "tcp")


def variants(seed: bytes, rng: random.Random, count: int = 150):
    """Every truncation length, then random byte flips, insertions and length-field damage."""
    for cut in range(0, len(seed), max(1, len(seed) // 60)):
        yield seed[:cut]
    for _ in range(count):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(len(data))
            data[at] = rng.choice((0, 0xFF, 0x7F, 0x80, 0x81, 0x84, rng.randrange(256)))
        yield bytes(data)


def test_datagram_decoders_survive_damage():
    rng = random.Random(11)
    mdns = bytes(DNS(qr=1, aa=1, an=DNSRR(rrname="pc.local", type="A", rdata="10.0.0.9")))
    cases = [
        (DhcpDecoder(), bytes(dhcp_request("aa:bb:cc:dd:ee:ff", "PC", "10.0.0.9", "MSFT 5.0",
                                           b"\x05\x00\x00\x02pc\x00", 1.0)["UDP"].payload), 68, 67),
        (NamesDecoder(), bytes(nbns_registration(b"PC-1", "10.0.0.9", 1.0)["UDP"].payload), 137, 137),
        (NamesDecoder(), mdns, 5353, 5353),
        (NamesDecoder(), mdns, 5355, 50000),
        (KerberosUdpDecoder(), kerberos_as_req(b"anna", b"CORP.EXAMPLE"), 50000, 88),
    ]
    for decoder, seed, sport, dport in cases:
        for data in variants(seed, rng):
            decoder.decode(Datagram(1.0, "fuzz", "10.0.0.9", "10.0.0.1", sport, dport, data), lambda obs: None)


def test_stream_decoders_and_ntlmssp_survive_damage():
    rng = random.Random(12)
    smb = b"".join(bytes(p["TCP"].payload) for p in smb2_session("10.0.0.23", "u", "D", "W", 1.0)
                   if p.haslayer("Raw"))
    record = kerberos_as_req(b"anna", b"CORP")
    ntlm = ntlm_authenticate("anna", "CORP", "LAPTOP")
    for data in variants(smb, rng):
        session = SmbSession(ENDS, lambda obs: None)
        session.feed(True, data, 1.0, "fuzz")
        session.feed(False, data, 1.0, "fuzz")
        session.close(1.0, "fuzz")
    for data in variants(len(record).to_bytes(4, "big") + record, rng):
        KerberosSession(ENDS, lambda obs: None).feed(True, data, 1.0, "fuzz")
    for data in variants(ntlm, rng, 400):
        parse_authenticate(data)
        header = b"GET / HTTP/1.1\r\nAuthorization: NTLM " + base64.b64encode(data) + b"\r\n\r\n"
        HttpSession(ENDS, lambda obs: None, ("password",)).feed(True, header, 1.0, "fuzz")


def test_http_stops_following_a_flow_picked_up_inside_a_long_response():
    session = HttpSession(ENDS, lambda obs: None, ("password",))
    keep = True
    for _ in range(100):
        keep = session.feed(False, bytes(1400), 1.0, "fuzz")
        if not keep:
            break
    assert keep is False
