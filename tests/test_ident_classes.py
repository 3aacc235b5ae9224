"""Classes of issue 24 nDPI names without a host name, on scapy-built flows varied as real captures vary them:
WhatsApp's edge-routing header, AnyDesk by the client's certificate, a VPN provider by its servers' private CA,
TLS on an HTTP port."""

from __future__ import annotations

import datetime as dt
import os
import struct

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from fs_packets import T0, certificate_der, client_hello_without_sni, save, server_flight
from scanning import by_detector, scan_files

from detector.protocols.whatsapp import prologue_after_routing
from detector.samples import client_hello, tcp_session

CLIENT = "10.3.3.30"


def services(path):
    findings, _, _ = scan_files(path)
    return {f.attributes.service: f for f in by_detector(findings, "filesharing.service")}


def handshake(mtype: int, body: bytes) -> bytes:
    return bytes([mtype]) + len(body).to_bytes(3, "big") + body


def record(messages: bytes) -> bytes:
    return b"\x16\x03\x03" + struct.pack("!H", len(messages)) + messages


def certificate_message(der: bytes) -> bytes:
    chain = len(der).to_bytes(3, "big") + der
    return handshake(11, len(chain).to_bytes(3, "big") + chain)


def issued_certificate(subject_cn: str, issuer: list[tuple[x509.ObjectIdentifier, str]]) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
               .issuer_name(x509.Name([x509.NameAttribute(oid, value) for oid, value in issuer]))
               .public_key(key.public_key()).serial_number(7).not_valid_before(start)
               .not_valid_after(start + dt.timedelta(days=365)))
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.DER)


SERVER_HELLO = handshake(2, b"\x03\x03" + bytes(32) + b"\x00" + b"\xc0\x2f" + b"\x00" + b"\x00\x00")
CERTIFICATE_REQUEST = handshake(13, b"\x01\x40" + b"\x00\x02\x04\x03" + b"\x00\x00")
HELLO_DONE = handshake(14, b"")
CLIENT_KEY_EXCHANGE = handshake(16, b"\x41" + os.urandom(65))
CHANGE_CIPHER_SPEC = b"\x14\x03\x03\x00\x01\x01"


# ---------------------------------------------------------------- WhatsApp's edge-routing header


def routed_hello(routing: bytes, version: bytes = b"WA\x06\x03") -> bytes:
    return b"ED\x00\x01" + len(routing).to_bytes(3, "big") + routing + version + os.urandom(40)


@pytest.mark.parametrize("port", [5222, 443, 5228])
@pytest.mark.parametrize("routing", [b"\x08\x00", b"\x08\x01\x10\x02", bytes(range(30))])
def test_routing_header_then_prologue_is_whatsapp_on_any_port(tmp_path, port, routing):
    packets = tcp_session(CLIENT, "157.240.20.53", 49355, port, [(True, routed_hello(routing)),
                                                                 (False, os.urandom(80))], T0)
    found = services(save(tmp_path, packets))["WhatsApp"]
    assert found.attributes.identified_by == "signature" and found.attributes.confidence == "high"
    assert "after the edge-routing header" in found.evidence[0].detail


@pytest.mark.parametrize("cut", [4, 7, 9])
def test_routing_header_in_a_segment_of_its_own(tmp_path, cut):
    """The 4-byte header first, the rest in the next segment (and other cuts): the prologue is still checked."""
    hello = routed_hello(b"\x08\x00")
    packets = tcp_session(CLIENT, "157.240.20.54", 49356, 5222, [(True, hello[:cut]), (True, hello[cut:]),
                                                                 (False, os.urandom(80))], T0)
    assert "WhatsApp" in services(save(tmp_path, packets))


def test_routing_header_picked_up_without_the_syn(tmp_path):
    packets = tcp_session(CLIENT, "157.240.20.55", 49357, 5222, [(True, routed_hello(b"\x08\x00"))], T0,
                          handshake=False)
    assert "WhatsApp" in services(save(tmp_path, packets))


@pytest.mark.parametrize("after", [b"XX\x06\x03", b"<stream:stream", b"\x16\x03\x01\x02\x00"])
def test_routing_header_without_the_prologue_is_not_whatsapp(tmp_path, after):
    hello = b"ED\x00\x01\x00\x00\x02\x08\x00" + after + os.urandom(30)
    packets = tcp_session(CLIENT, "203.0.113.70", 49358, 5222, [(True, hello)], T0)
    assert "WhatsApp" not in services(save(tmp_path, packets))


def test_routing_length_is_bounded():
    assert prologue_after_routing(b"ED\x00\x01\xff\xff\xff" + b"WA\x06\x03") is False
    assert prologue_after_routing(b"ED\x00\x01\x00") is None  # not yet known


# ---------------------------------------------------------------- AnyDesk by the client's certificate


def client_certificate_session(server: str, port: int, client_der: bytes, cport: int = 54164,
                               split: bool = False) -> list:
    """The server asks for a certificate and sends none; the client answers with its own."""
    server_flight_bytes = record(SERVER_HELLO + CERTIFICATE_REQUEST + HELLO_DONE)
    client_flight = record(certificate_message(client_der) + CLIENT_KEY_EXCHANGE) + CHANGE_CIPHER_SPEC
    exchanges = [(True, client_hello_without_sni()), (False, server_flight_bytes)]
    if split:
        exchanges += [(True, client_flight[:40]), (True, client_flight[40:])]
    else:
        exchanges.append((True, client_flight))
    return tcp_session(CLIENT, server, cport, port, exchanges, T0)


@pytest.mark.parametrize("port", [7070, 443, 80, 6568])
@pytest.mark.parametrize("split", [False, True])
def test_anydesk_found_by_the_client_certificate_when_the_server_sends_none(tmp_path, port, split):
    der = certificate_der("AnyDesk Client", [])
    found = services(save(tmp_path, client_certificate_session("51.83.238.219", port, der, split=split)))
    anydesk = found["AnyDesk"]
    assert anydesk.attributes.identified_by == "signature" and CLIENT in anydesk.hosts
    assert "client's certificate 'anydesk client'" in anydesk.evidence[0].detail


def test_a_client_certificate_never_names_the_server_service(tmp_path):
    """A client certificate for a catalog host says who the client is, not where it connects."""
    der = certificate_der("www.dropbox.com", ["www.dropbox.com"])
    assert services(save(tmp_path, client_certificate_session("198.51.100.9", 443, der))) == {}


def test_tls13_client_certificate_is_encrypted_and_not_read(tmp_path):
    flight = server_flight(b"", tls13=True)
    packets = tcp_session(CLIENT, "51.83.238.220", 54165, 443,
                          [(True, client_hello_without_sni()), (False, flight),
                           (True, CHANGE_CIPHER_SPEC + b"\x17\x03\x03\x00\x20" + os.urandom(32))], T0)
    assert services(save(tmp_path, packets)) == {}


# ---------------------------------------------------------------- a VPN provider by its servers' private CA


@pytest.mark.parametrize("issuer,service", [
    ([(NameOID.COMMON_NAME, "Private Internet Access"), (NameOID.ORGANIZATION_NAME, "Private Internet Access")],
     "Private Internet Access"),
    ([(NameOID.ORGANIZATION_NAME, "Private Internet Access")], "Private Internet Access"),
    ([(NameOID.ORGANIZATION_NAME, "Windscribe"), (NameOID.COMMON_NAME, "54.153.90.230")], "Windscribe"),
])
@pytest.mark.parametrize("port", [443, 8443, 1443])
def test_vpn_server_certificate_signed_by_the_provider_ca(tmp_path, issuer, service, port):
    der = issued_certificate("newjersey402", issuer)
    packets = tcp_session(CLIENT, "143.244.45.60", 56854, port,
                          [(True, client_hello_without_sni()), (False, server_flight(der))], T0)
    found = services(save(tmp_path, packets))
    assert set(found) == {service}
    assert found[service].attributes.identified_by == "signature"


def test_public_ca_issuer_names_no_service(tmp_path):
    der = issued_certificate("newjersey402", [(NameOID.ORGANIZATION_NAME, "Let's Encrypt"),
                                              (NameOID.COMMON_NAME, "R3")])
    packets = tcp_session(CLIENT, "143.244.45.61", 56855, 443,
                          [(True, client_hello_without_sni()), (False, server_flight(der))], T0)
    assert services(save(tmp_path, packets)) == {}


# ---------------------------------------------------------------- TLS on an HTTP port


@pytest.mark.parametrize("port", [80, 8080, 3128])
def test_tls_on_an_http_port_is_read_as_tls(tmp_path, port):
    packets = tcp_session(CLIENT, "203.0.113.80", 50010, port, [(True, client_hello("www.dropbox.com"))], T0)
    assert services(save(tmp_path, packets))["Dropbox"].attributes.methods == ["tls-sni"]


def test_http_on_an_http_port_still_reaches_http(tmp_path):
    request = b"GET / HTTP/1.1\r\nHost: www.dropbox.com\r\n\r\n"
    packets = tcp_session(CLIENT, "203.0.113.81", 50011, 80, [(True, request), (False, b"HTTP/1.1 200 OK\r\n\r\n")],
                          T0)
    assert services(save(tmp_path, packets))["Dropbox"].attributes.methods == ["http-host"]


# ---------------------------------------------------------------- the VPN provider behind an OpenVPN tunnel


def ovpn_packet(opcode: int, session: bytes, auth: bytes, acks: list[int], message_id: int, tls: bytes = b"") -> bytes:
    head = bytes([opcode << 3]) + session + auth + bytes([len(acks)])
    if acks:
        head += b"".join(struct.pack("!I", a) for a in acks) + os.urandom(8)
    return head + struct.pack("!I", message_id) + tls


def ovpn_exchange(der: bytes, auth_size: int, reorder: bool = False, repeat: bool = False
                  ) -> list[tuple[bool, bytes]]:
    """Client reset, server reset, client hello, then the server's TLS flight cut into control packets."""
    auth = os.urandom(auth_size)
    client, server = os.urandom(8), os.urandom(8)
    flight = server_flight(der)
    chunks = [flight[i:i + 300] for i in range(0, len(flight), 300)]
    controls = [ovpn_packet(4, server, auth, [i] if i % 2 else [], 1 + i, chunk) for i, chunk in enumerate(chunks)]
    if reorder:
        controls[0], controls[1] = controls[1], controls[0]
    if repeat:
        controls.insert(2, controls[1])
    return ([(True, ovpn_packet(7, client, auth, [], 0)), (False, ovpn_packet(8, server, auth, [0], 0)),
             (True, ovpn_packet(4, client, auth, [0], 1, client_hello_without_sni()))]
            + [(False, packet) for packet in controls])


def udp_exchange(server: str, port: int, exchange: list[tuple[bool, bytes]]) -> list:
    from fs_packets import udp
    return [udp(CLIENT, server, 41000, port, data, T0 + i) if from_client else
            udp(server, CLIENT, port, 41000, data, T0 + i) for i, (from_client, data) in enumerate(exchange)]


NORD = "us5012.nordvpn.com"


@pytest.mark.parametrize("auth_size", [0, 28, 40, 72])
@pytest.mark.parametrize("reorder,repeat", [(False, False), (True, False), (False, True)])
def test_openvpn_udp_server_certificate_names_the_provider(tmp_path, auth_size, reorder, repeat):
    exchange = ovpn_exchange(certificate_der(NORD, [NORD]), auth_size, reorder, repeat)
    found = services(save(tmp_path, udp_exchange("185.230.124.50", 1194, exchange)))
    assert {"OpenVPN tunnel", "NordVPN"} <= set(found)
    assert found["NordVPN"].attributes.identified_by == "name" and CLIENT in found["NordVPN"].hosts


@pytest.mark.parametrize("port", [1194, 443])
@pytest.mark.parametrize("auth_size", [0, 28])
def test_openvpn_tcp_server_certificate_names_the_provider(tmp_path, port, auth_size):
    framed = [(side, len(packet).to_bytes(2, "big") + packet)
              for side, packet in ovpn_exchange(certificate_der(NORD, [NORD]), auth_size)]
    found = services(save(tmp_path, tcp_session(CLIENT, "185.230.124.51", 50020, port, framed, T0, mss=200)))
    assert {"OpenVPN tunnel", "NordVPN"} <= set(found)


def test_openvpn_provider_ca_names_the_provider(tmp_path):
    der = issued_certificate("newjersey402", [(NameOID.ORGANIZATION_NAME, "Private Internet Access")])
    found = services(save(tmp_path, udp_exchange("143.244.45.62", 1198, ovpn_exchange(der, 28))))
    assert "Private Internet Access" in found


def test_openvpn_between_private_addresses_names_nothing(tmp_path):
    exchange = ovpn_exchange(certificate_der(NORD, [NORD]), 28)
    assert services(save(tmp_path, udp_exchange("10.9.9.9", 1194, exchange))) == {}


# ---------------------------------------------------------------- Zoom media, peer to peer


def zoom_datagram(kind: int, ssrc: int, seq: int, sfu: bool = False) -> bytes:
    offset = {0x0F: 19, 0x10: 24, 0x0D: 27, 0x1E: 27}[kind]
    header = bytes([kind]) + os.urandom(offset - 1)
    rtp = struct.pack("!BBHII", 0x80, 0x80 | 98, seq, seq * 960, ssrc) + os.urandom(120)
    return (b"\x05" + os.urandom(7) if sfu else b"") + header + rtp


@pytest.mark.parametrize("kind", [0x0F, 0x10, 0x0D, 0x1E])
@pytest.mark.parametrize("peer_first", [False, True])
@pytest.mark.parametrize("ports", [(52000, 58410), (61234, 50000), (3479, 40000)])
def test_zoom_p2p_media_on_any_port(tmp_path, kind, peer_first, ports):
    from fs_packets import udp
    mine, theirs = ports
    peer = "93.45.12.7"
    packets = []
    for seq in range(3):
        if peer_first:
            packets.append(udp(peer, CLIENT, theirs, mine, zoom_datagram(kind, 0xABCD0001, seq), T0 + seq))
        else:
            packets.append(udp(CLIENT, peer, mine, theirs, zoom_datagram(kind, 0x1234, seq), T0 + seq))
    found = services(save(tmp_path, packets))
    if 3479 in ports:  # a STUN port: the STUN decoder owns it, and media there is not STUN
        assert "Zoom" not in found
        return
    zoom = found["Zoom"]
    assert zoom.attributes.identified_by == "signature" and zoom.attributes.confidence == "medium"
    assert CLIENT in zoom.hosts


def test_zoom_media_behind_an_sfu_header(tmp_path):
    from fs_packets import udp
    packets = [udp(CLIENT, "198.51.100.40", 51000, 9000, zoom_datagram(0x10, 77, seq, sfu=True), T0 + seq)
               for seq in range(2)]
    assert "Zoom" in services(save(tmp_path, packets))


@pytest.mark.parametrize("mangle", ["one packet", "ssrc changes", "rtp version 1", "static payload type"])
def test_zoom_layout_must_hold_twice_with_one_ssrc(tmp_path, mangle):
    from fs_packets import udp
    first = zoom_datagram(0x10, 5, 1)
    second = zoom_datagram(0x10, 6 if mangle == "ssrc changes" else 5, 2)
    if mangle == "rtp version 1":
        first, second = (d[:24] + bytes([0x40]) + d[25:] for d in (first, second))
    if mangle == "static payload type":
        first, second = (d[:25] + bytes([0x80]) + d[26:] for d in (first, second))
    packets = [udp(CLIENT, "198.51.100.41", 51001, 9001, first, T0)]
    if mangle != "one packet":
        packets.append(udp(CLIENT, "198.51.100.41", 51001, 9001, second, T0 + 1))
    assert "Zoom" not in services(save(tmp_path, packets))


# ---------------------------------------------------------------- DTLS certificates (WebRTC media, UDP VPNs)


def dtls_records(messages: list[tuple[int, int, bytes]], cut: int) -> list[bytes]:
    """DTLS 1.2 handshake records, each message (type, sequence, body) cut into fragments of ``cut`` bytes."""
    records = []
    for mtype, sequence, body in messages:
        for offset in range(0, max(len(body), 1), cut):
            piece = body[offset:offset + cut]
            fragment = (bytes([mtype]) + len(body).to_bytes(3, "big") + struct.pack("!H", sequence)
                        + offset.to_bytes(3, "big") + len(piece).to_bytes(3, "big") + piece)
            records.append(b"\x16\xfe\xfd" + b"\x00\x00" + (len(records)).to_bytes(6, "big")
                           + struct.pack("!H", len(fragment)) + fragment)
    return records


def dtls_server_flight(der: bytes, cut: int) -> list[bytes]:
    server_hello = b"\xfe\xfd" + bytes(32) + b"\x00" + b"\xc0\x2b" + b"\x00" + b"\x00\x00"
    chain = len(der).to_bytes(3, "big") + der
    return dtls_records([(2, 1, server_hello), (11, 2, len(chain).to_bytes(3, "big") + chain)], cut)


@pytest.mark.parametrize("cut", [200, 700, 4000])
@pytest.mark.parametrize("order", ["in order", "reversed", "repeated", "packed"])
@pytest.mark.parametrize("port", [50001, 10000, 61000])
def test_dtls_server_certificate_names_the_service(tmp_path, cut, order, port):
    from fs_packets import udp
    records = dtls_server_flight(certificate_der("*.discord.gg", ["*.discord.gg", "discord.gg"]), cut)
    if order == "reversed":
        records = records[:1] + records[1:][::-1]
    elif order == "repeated":
        records = records + records[1:2]
    datagrams = [b"".join(records)] if order == "packed" else records
    hello = dtls_records([(1, 0, b"\xfe\xfd" + bytes(32) + b"\x00" + b"\x00\x02\xc0\x2b" + b"\x01\x00")], 4000)[0]
    packets = [udp(CLIENT, "104.153.87.149", 43594, port, hello, T0)]
    packets += [udp("104.153.87.149", CLIENT, port, 43594, data, T0 + 1 + i / 100) for i, data in enumerate(datagrams)]
    found = services(save(tmp_path, packets))
    assert found["Discord"].attributes.methods == ["tls-cert"] and CLIENT in found["Discord"].hosts


def test_dtls_client_certificate_names_no_server(tmp_path):
    """WebRTC's client certificate (no ServerHello from its sender) says nothing about the peer."""
    from fs_packets import udp
    chain_der = certificate_der("www.dropbox.com", ["www.dropbox.com"])
    chain = len(chain_der).to_bytes(3, "big") + chain_der
    records = dtls_records([(11, 1, len(chain).to_bytes(3, "big") + chain)], 500)
    packets = [udp(CLIENT, "198.51.100.60", 43595, 50002, data, T0 + i) for i, data in enumerate(records)]
    assert services(save(tmp_path, packets)) == {}


# ---------------------------------------------------------------- TeamViewer off its port


def teamviewer_segments(count: int, server_side: bool = False, filler: bool = False) -> list[tuple[bool, bytes]]:
    """The client opens; the other magic segments alternate, or all come from the server."""
    segments = []
    for i in range(count):
        from_client = i == 0 or (not server_side and i % 2 == 0)
        segments.append((from_client, b"\x17\x24" + bytes([0x0A + i]) + os.urandom(40)))
        if filler:
            segments.append((True, os.urandom(200)))
    return segments


@pytest.mark.parametrize("port", [8787, 32177, 443])
@pytest.mark.parametrize("server_side,filler", [(False, False), (True, False), (False, True)])
def test_teamviewer_on_another_port_after_four_magic_segments(tmp_path, port, server_side, filler):
    packets = tcp_session(CLIENT, "37.252.250.9", 50030, port, teamviewer_segments(4, server_side, filler), T0)
    found = services(save(tmp_path, packets))
    assert found["TeamViewer"].attributes.identified_by == "signature" and CLIENT in found["TeamViewer"].hosts


def test_three_magic_segments_off_port_are_not_enough(tmp_path):
    packets = tcp_session(CLIENT, "37.252.250.10", 50031, 8787, teamviewer_segments(3), T0)
    assert "TeamViewer" not in services(save(tmp_path, packets))


# ---------------------------------------------------------------- TLS without SNI to a published range


def test_tls13_without_sni_to_a_published_range_is_attributed_by_range(tmp_path):
    packets = tcp_session(CLIENT, "149.154.167.51", 50040, 443,
                          [(True, client_hello_without_sni()), (False, server_flight(b"", tls13=True))], T0)
    telegram = services(save(tmp_path, packets))["Telegram"]
    assert (telegram.attributes.identified_by, telegram.attributes.confidence) == ("ip-range", "low")


def test_certificate_name_still_wins_over_the_range_for_a_hello_without_sni(tmp_path):
    flight = server_flight(certificate_der("web.telegram.org", ["web.telegram.org"]))
    packets = tcp_session(CLIENT, "149.154.167.52", 50041, 443, [(True, client_hello_without_sni()), (False, flight)],
                          T0)
    telegram = services(save(tmp_path, packets))["Telegram"]
    assert telegram.attributes.identified_by == "name" and telegram.attributes.connections == 1


def test_tls_without_sni_outside_any_range_names_nothing(tmp_path):
    packets = tcp_session(CLIENT, "198.51.100.70", 50042, 443,
                          [(True, client_hello_without_sni()), (False, server_flight(b"", tls13=True))], T0)
    assert services(save(tmp_path, packets)) == {}
