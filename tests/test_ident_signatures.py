"""Payload signatures for traffic without a host name, each on scapy-built packets through the real pipeline."""

from __future__ import annotations

import os
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from fs_packets import T0, certificate_der, client_hello_without_sni, save, server_flight, udp
from scanning import by_detector, scan_files

from detector.protocols.base import Datagram
from detector.protocols.bittorrent import HANDSHAKE, utp_syn
from detector.protocols.quic import QuicDecoder, gquic_sni, gquic_version
from detector.protocols.stun import parse_stun, service_from_attributes
from detector.protocols.telegram import obfuscated_tag
from detector.samples import client_hello, tcp_session

CLIENT = "10.1.1.10"


def services(path):
    findings, _, _ = scan_files(path)
    return {f.attributes.service: f for f in by_detector(findings, "filesharing.service")}


def stun_message(mtype: int, attributes: list[tuple[int, bytes]]) -> bytes:
    body = b""
    for kind, value in attributes:
        body += struct.pack("!HH", kind, len(value)) + value + bytes(-len(value) % 4)
    return struct.pack("!HH", mtype, len(body)) + b"\x21\x12\xa4\x42" + os.urandom(12) + body


# ---------------------------------------------------------------- STUN/TURN


def test_stun_whatsapp_attributes_identify_a_whatsapp_call(tmp_path):
    request = stun_message(0x0003, [(0x4000, os.urandom(32)), (0x0016, bytes(8))])
    path = save(tmp_path, [udp(CLIENT, "198.51.100.9", 40000, 3478, request, T0)])
    found = services(path)["WhatsApp"]
    assert found.attributes.methods == ["signature"]
    assert found.attributes.identified_by == "signature" and found.attributes.confidence == "high"
    assert any("0x4000" in e.detail for e in found.evidence)


def test_stun_microsoft_attributes_are_teams_or_skype_calls_not_teams_free(tmp_path):
    request = stun_message(0x0001, [(0x0006, b"gppe:zWyk"), (0x8054, b"1"), (0x8070, b"\x00\x00\x00\x03")])
    path = save(tmp_path, [udp(CLIENT, "104.46.40.49", 49282, 60642, request, T0)])  # any port: STUN by shape
    found = services(path)
    assert set(found) == {"Microsoft Teams / Skype calls"}
    assert "USERNAME='gppe:zWyk'" in found["Microsoft Teams / Skype calls"].evidence[0].detail


def test_stun_to_an_owned_range_is_that_service_with_low_confidence(tmp_path):
    request = stun_message(0x0001, [(0x0006, b"E04D943F-C271"), (0x0024, b"n\x7f\x00\xff")])
    path = save(tmp_path, [udp(CLIENT, "134.224.90.111", 48854, 8801, request, T0)])
    zoom = services(path)["Zoom"]
    assert zoom.attributes.methods == ["ip-range"] and zoom.attributes.confidence == "low"


def test_stun_realm_host_name_is_matched_in_the_catalog(tmp_path):
    request = stun_message(0x0003, [(0x0014, b"turn.discord.media"), (0x0006, b"user")])
    path = save(tmp_path, [udp(CLIENT, "198.51.100.20", 40001, 3478, request, T0)])
    discord = services(path)["Discord"]
    assert discord.attributes.methods == ["stun-realm"] and discord.attributes.identified_by == "name"


def test_stun_without_vendor_attributes_or_known_network_is_nothing(tmp_path):
    request = stun_message(0x0001, [(0x0006, b"abc:def")])
    path = save(tmp_path, [udp(CLIENT, "198.51.100.30", 40002, 3478, request, T0)])
    assert services(path) == {}


def test_stun_parser_rejects_non_stun_and_reads_software():
    assert parse_stun(b"\x00\x01\x00\x00" + bytes(16)) is None  # no magic cookie
    message = stun_message(0x0001, [(0x8022, b"Signal calling 1.0")])
    mtype, attributes = parse_stun(message)
    assert mtype == 1 and service_from_attributes(attributes) == "Signal"
    assert parse_stun(message[:-3]) is None  # truncated attribute


# ---------------------------------------------------------------- Discord


def test_discord_voice_ping_and_ip_discovery(tmp_path):
    ping = udp(CLIENT, "213.179.216.242", 48526, 50004, b"\x13\x37\xca\xfe\x0a\x00\x00\x00", T0)
    request = udp(CLIENT, "192.0.2.227", 54234, 50003, b"\x00\x01\x00\x46\x00\x1a\x7e\x73" + bytes(66), T0 + 1)
    reply_payload = b"\x00\x02\x00\x46\x00\x1a\x7e\x73" + b"85.154.2.145".ljust(64, b"\x00") + b"\xd4\x04"
    reply = udp("192.0.2.228", "10.1.1.11", 50003, 54235, reply_payload, T0 + 2)
    found = services(save(tmp_path, [ping, request, reply]))["Discord"]
    assert found.hosts == [CLIENT, "10.1.1.11"] and found.attributes.confidence == "high"


def test_discord_prefix_with_wrong_length_is_not_discord(tmp_path):
    path = save(tmp_path, [udp(CLIENT, "192.0.2.5", 5000, 50004, b"\x13\x37\xca\xfe" + bytes(20), T0)])
    assert "Discord" not in services(path)


# ---------------------------------------------------------------- WhatsApp


@pytest.mark.parametrize("port", [5222, 443])
def test_whatsapp_noise_prologue_on_any_port(tmp_path, port):
    hello = b"WA\x01\x05\x00\x00\x18\xf8\x05\x01" + os.urandom(40)
    packets = tcp_session(CLIENT, "203.0.113.50", 50828, port, [(True, hello), (False, os.urandom(60))], T0)
    found = services(save(tmp_path, packets))["WhatsApp"]
    assert found.attributes.methods == ["signature"]
    assert "prologue 57410105" in found.evidence[0].detail


def test_tls_on_443_still_reaches_tls_after_the_port_multiplexer(tmp_path):
    packets = tcp_session(CLIENT, "203.0.113.51", 50000, 443, [(True, client_hello("www.dropbox.com"))], T0)
    assert services(save(tmp_path, packets))["Dropbox"].attributes.methods == ["tls-sni"]


# ---------------------------------------------------------------- Telegram


def obfuscated_init(tag: bytes = b"\xef\xef\xef\xef") -> bytes:
    """An MTProto obfuscated2 init block as a client builds it (tag encrypted at offset 56)."""
    while True:
        init = bytearray(os.urandom(64))
        if init[0] != 0xEF and bytes(init[4:8]) != bytes(4):
            break
    encryptor = Cipher(algorithms.AES(bytes(init[8:40])), modes.CTR(bytes(init[40:56]))).encryptor()
    init[56:60] = tag
    encrypted = encryptor.update(bytes(init))
    return bytes(init[:56]) + encrypted[56:64]


def test_obfuscated_tag_is_recovered_and_random_bytes_are_not():
    assert obfuscated_tag(obfuscated_init(b"\xee\xee\xee\xee")) == "intermediate"
    assert obfuscated_tag(os.urandom(64)) == ""


@pytest.mark.parametrize("server,method", [("149.154.167.51", "signature"), ("203.0.113.60", "heuristic")])
def test_telegram_obfuscated_transport_on_443(tmp_path, server, method):
    packets = tcp_session(CLIENT, server, 51000, 443, [(True, obfuscated_init() + os.urandom(40))], T0)
    telegram = services(save(tmp_path, packets))["Telegram"]
    assert telegram.attributes.methods == [method]
    assert telegram.attributes.confidence == ("high" if method == "signature" else "medium")


def test_telegram_voice_to_its_published_range_is_an_ip_range_contact(tmp_path):
    packets = [udp(CLIENT, "91.108.8.7", 23174, 521, os.urandom(80), T0 + i) for i in range(3)]
    telegram = services(save(tmp_path, packets))["Telegram"]
    assert telegram.attributes.methods == ["ip-range"] and telegram.attributes.identified_by == "ip-range"
    assert len(telegram.evidence) == 1 and "91.108.8.0/22" in telegram.evidence[0].detail


def test_shared_network_alone_names_no_service(tmp_path):
    packets = [udp(CLIENT, "157.240.20.53", 40000, 12345, os.urandom(80), T0)]  # Meta: many services
    assert services(save(tmp_path, packets)) == {}


# ---------------------------------------------------------------- VPN tunnels


def test_wireguard_handshake_to_a_public_address_only(tmp_path):
    initiation = b"\x01\x00\x00\x00" + os.urandom(144)
    packets = [udp(CLIENT, "142.93.78.79", 57636, 51820, initiation, T0),
               udp("10.9.0.1", "10.9.0.2", 43462, 51820, initiation, T0 + 1)]
    found = services(save(tmp_path, packets))
    assert found["WireGuard tunnel"].hosts == [CLIENT]
    assert found["WireGuard tunnel"].attributes.service_category == "vpn-proxy"


def openvpn_client_reset() -> bytes:
    return b"\x38" + os.urandom(8) + b"\x00" + b"\x00\x00\x00\x00"


def test_openvpn_udp_reset_answered_by_the_server(tmp_path):
    reset = openvpn_client_reset()
    answer = b"\x40" + os.urandom(8) + b"\x01" + b"\x00\x00\x00\x00" + reset[1:9] + b"\x00\x00\x00\x00"
    packets = [udp(CLIENT, "185.159.157.10", 40100, 1194, reset, T0),
               udp("185.159.157.10", CLIENT, 1194, 40100, answer, T0 + 0.1)]
    assert "OpenVPN tunnel" in services(save(tmp_path, packets))
    unanswered = [udp(CLIENT, "185.159.157.11", 40101, 1194, reset, T0)]
    assert "OpenVPN tunnel" not in services(save(tmp_path, unanswered, "u.pcap"))


def test_openvpn_over_tcp_443(tmp_path):
    reset = openvpn_client_reset()
    answer = b"\x40" + os.urandom(8) + b"\x01\x00\x00\x00\x00" + reset[1:9] + bytes(4)
    packets = tcp_session(CLIENT, "185.159.157.12", 40102, 443,
                          [(True, len(reset).to_bytes(2, "big") + reset),
                           (False, len(answer).to_bytes(2, "big") + answer)], T0)
    assert "OpenVPN tunnel" in services(save(tmp_path, packets))


# ---------------------------------------------------------------- BitTorrent


def test_bittorrent_local_service_discovery(tmp_path):
    announce = (b"BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 6881\r\n"
                b"Infohash: " + b"ab" * 20 + b"\r\n\r\n\r\n")
    found = services(save(tmp_path, [udp(CLIENT, "239.192.152.143", 6771, 6771, announce, T0)]))["BitTorrent"]
    assert found.hosts == [CLIENT] and "info_hash " + "ab" * 20 in found.evidence[0].detail


def test_utp_syn_on_a_random_port(tmp_path):
    syn = b"\x41\x00" + os.urandom(2) + os.urandom(4) + bytes(4) + b"\x00\x10\x00\x00" + os.urandom(2) + b"\x00\x00"
    assert utp_syn(syn) and not utp_syn(syn + b"x")
    assert "BitTorrent" in services(save(tmp_path, [udp(CLIENT, "198.51.100.80", 40200, 31234, syn, T0)]))


def test_encrypted_bittorrent_handshake_shape_on_a_bittorrent_port(tmp_path):
    exchanges = [(True, os.urandom(198)), (False, os.urandom(424)), (True, os.urandom(471)),
                 (False, os.urandom(240))]
    found = services(save(tmp_path, tcp_session(CLIENT, "198.51.100.81", 48987, 6881, exchanges, T0)))["BitTorrent"]
    assert found.attributes.methods == ["heuristic"] and found.attributes.confidence == "medium"


def test_mse_shape_needs_both_sides_in_the_key_exchange_size(tmp_path):
    exchanges = [(True, os.urandom(40)), (False, os.urandom(424)), (True, os.urandom(100))]
    path = save(tmp_path, tcp_session(CLIENT, "198.51.100.82", 48988, 6881, exchanges, T0))
    assert "BitTorrent" not in services(path)


def test_plain_handshake_on_6881_still_read_with_a_syn(tmp_path):
    handshake = HANDSHAKE + bytes(8) + b"\x11" * 20 + b"-UT3550-" + b"x" * 12
    packets = tcp_session(CLIENT, "198.51.100.83", 48989, 6881, [(True, handshake), (False, handshake)], T0)
    found = services(save(tmp_path, packets))["BitTorrent"]
    assert found.attributes.methods == ["bittorrent"] and "client UT3550" in found.evidence[0].detail


# ---------------------------------------------------------------- AnyDesk, gQUIC


def test_anydesk_certificate_name_without_sni(tmp_path):
    flight = server_flight(certificate_der("AnyDesk Client", []))
    packets = tcp_session("192.168.1.187", "192.168.1.178", 54164, 443,
                          [(True, client_hello_without_sni()), (False, flight)], T0)
    anydesk = services(save(tmp_path, packets))["AnyDesk"]
    assert anydesk.attributes.methods == ["signature"]


def gquic_chlo(sni: bytes, version: bytes = b"Q043") -> bytes:
    tags = [(b"PAD\x00", b"-" * 20), (b"SNI\x00", sni), (b"VER\x00", version)]
    table, values, end = b"", b"", 0
    for tag, value in tags:
        end += len(value)
        table += tag + struct.pack("<I", end)
        values += value
    message = b"CHLO" + struct.pack("<HH", len(tags), 0) + table + values
    frame = b"\xa0\x01\x00\x00" + struct.pack("<H", len(message)) + message
    return b"\x0d" + os.urandom(8) + version + b"\x01" + os.urandom(12) + frame


def test_gquic_chlo_sni_in_clear():
    packet = gquic_chlo(b"drive.google.com")
    assert gquic_version(packet) == 43 and gquic_sni(packet) == "drive.google.com"
    assert gquic_version(b"\x0d" + bytes(8) + b"Q050" + bytes(40)) == 0  # encrypted from Q050 on
    emitted = []
    QuicDecoder().decode(Datagram(T0, "t", CLIENT, "142.250.1.1", 50000, 443, packet), emitted.append)
    assert [(o.sni, o.transport) for o in emitted] == [("drive.google.com", "quic")]


def test_gquic_in_a_capture_names_the_service(tmp_path):
    path = save(tmp_path, [udp(CLIENT, "142.250.1.1", 50000, 443, gquic_chlo(b"drive.google.com"), T0)])
    assert services(path)["Google Drive"].attributes.methods == ["quic-sni"]


def test_udp_range_lookup_can_be_turned_off(tmp_path):
    from detector.policy.settings import Settings

    packets = [udp(CLIENT, "91.108.8.7", 23174, 521, os.urandom(80), T0)]
    findings, _, _ = scan_files(save(tmp_path, packets), settings=Settings(udp_range_lookup=False))
    assert by_detector(findings, "filesharing.service") == []


def test_bittorrent_handshake_on_443_reaches_the_handshake_decoder(tmp_path):
    handshake = HANDSHAKE + bytes(8) + b"\x22" * 20 + b"-qB4500-" + b"y" * 12
    packets = tcp_session(CLIENT, "198.51.100.84", 48990, 443, [(True, handshake), (False, handshake)], T0)
    assert services(save(tmp_path, packets))["BitTorrent"].attributes.methods == ["bittorrent"]


def test_binary_stun_username_is_escaped_hex_not_mojibake():
    """A USERNAME of binary bytes (ICE credentials, a fuzzer) is shown as \\xNN, never as replacement characters."""
    from detector.protocols.stun import describe

    shown = describe({0x0006: b"\x9f\xa0\x01ab:\xc3\xa9"})
    assert shown == "USERNAME='\\x9f\\xa0\\x01ab:\u00e9'" and "\ufffd" not in shown
