"""File-sharing identification decoders, each fed scapy-built packets through the real pipeline."""

from __future__ import annotations

import pytest
from fs_packets import (
    T0,
    UDP_TRACKER_CONNECT,
    bt_handshake,
    certificate_der,
    client_hello_without_sni,
    dht_query,
    dns_cname_reply,
    dns_tcp_payloads,
    hello_message,
    lan_sync_beacon,
    quic_initial,
    save,
    server_flight,
    tftp_request,
    udp,
)
from scanning import by_detector, scan_files

from detector.observations import DnsAlias, DnsQuery, FileTransfer, ServiceContact, TlsCertificate, TlsClientHello
from detector.policy.catalog import load_catalog
from detector.policy.settings import Settings
from detector.protocols.base import Datagram
from detector.protocols.quic import VERSION_1, VERSION_2, QuicDecoder, client_initial_keys, hkdf_expand_label
from detector.samples import client_hello, dns_exchange, tcp_session
from detector.session.pipeline import Scan, ScanConfig


def observations(path, kind):
    """Every observation of one type the real pipeline produces for a file."""
    scan = Scan(ScanConfig(Settings(), load_catalog()))
    seen = []
    forward = scan.router.emit

    def record(obs):
        if isinstance(obs, kind):
            seen.append(obs)
        forward(obs)

    scan.dispatcher.emit = record
    scan.router.emit = record
    scan.add_file(path)
    scan.finish()
    return seen


def services(path):
    findings, _, _ = scan_files(path)
    return {f.attributes.service: f for f in by_detector(findings, "filesharing.service")}


# ---------------------------------------------------------------- DNS


def test_dns_answers_attribute_later_flows_ipv4_and_ipv6(tmp_path):
    # the IPv6 client has a unique local address: a documentation (2001:db8::) address would be a remote one
    packets = dns_exchange("10.0.0.23", "10.0.0.1", "www.dropbox.com", ["162.125.1.18"], T0)
    packets += dns_exchange("fd00::23", "fd00::1", "content.dropboxapi.com", ["2001:db8:99::7"], T0 + 1)
    packets += tcp_session("10.0.0.23", "162.125.1.18", 41000, 443, [(True, b"\x17\x03\x03" + bytes(5000))], T0 + 2)
    packets += tcp_session("fd00::23", "2001:db8:99::7", 41001, 443, [(True, bytes(3000))], T0 + 3)
    found = services(save(tmp_path, packets))["Dropbox"]
    assert found.hosts == ["10.0.0.23", "fd00::23"]
    assert "dns-answer-ip" in found.attributes.methods
    per_host = {h["host"]: h for h in found.attributes.per_host}
    assert per_host["10.0.0.23"]["bytes_up"] >= 5000
    assert per_host["fd00::23"]["bytes_up"] >= 3000


def test_cname_chain_into_a_service_domain(tmp_path):
    packets = dns_cname_reply("10.0.0.5", "10.0.0.1", "files.example.org",
                              ["edge.example.net", "contoso.sharepoint.com"], "13.107.136.9", T0)
    aliases = observations(save(tmp_path, packets), DnsAlias)
    assert aliases[0].targets == ("edge.example.net", "contoso.sharepoint.com")
    found = services(tmp_path / "t.pcap")["Microsoft OneDrive for Business"]
    assert found.attributes.tenant == "contoso"
    assert found.attributes.methods == ["dns-cname"]
    assert found.attributes.domains == ["files.example.org"]


def test_dns_over_tcp(tmp_path):
    query, answer = dns_tcp_payloads("we.tl", "52.1.2.3")
    packets = tcp_session("10.0.0.9", "10.0.0.1", 42000, 53, [(True, query), (False, answer)], T0)
    queries = observations(save(tmp_path, packets), DnsQuery)
    assert [(q.client, q.qname, q.answers) for q in queries] == [("10.0.0.9", "we.tl", ()),
                                                                  ("10.0.0.9", "we.tl", ("52.1.2.3",))]


# ---------------------------------------------------------------- TLS


def test_sni_split_across_segments_and_label_boundaries(tmp_path):
    packets = tcp_session("10.0.0.7", "93.184.216.34", 40000, 443, [(True, client_hello("notdropbox.com"))], T0)
    packets += tcp_session("10.0.0.7", "162.125.2.1", 40001, 443,
                           [(True, client_hello("uc.dropboxusercontent.com", pad=3000))], T0 + 1, mss=200)
    path = save(tmp_path, packets)
    hellos = observations(path, TlsClientHello)
    assert [h.sni for h in hellos] == ["notdropbox.com", "uc.dropboxusercontent.com"]
    assert set(services(path)) == {"Dropbox"}


def test_certificate_names_attribute_a_flow_without_sni(tmp_path):
    der = certificate_der("*.wetransfer.com", ["*.wetransfer.com", "wetransfer.com"])
    packets = tcp_session("10.0.0.8", "52.7.7.7", 40002, 443,
                          [(True, client_hello_without_sni()), (False, server_flight(der))], T0)
    path = save(tmp_path, packets)
    certs = observations(path, TlsCertificate)
    assert certs[0].names == ("*.wetransfer.com", "wetransfer.com")
    found = services(path)["WeTransfer"]
    assert found.attributes.methods == ["tls-cert"]


def test_certificate_ignored_when_sni_named_the_flow_and_tls13_hides_it(tmp_path):
    der = certificate_der("www.dropbox.com", ["www.dropbox.com"])
    packets = tcp_session("10.0.0.8", "52.7.7.8", 40003, 443,
                          [(True, client_hello("www.example.com")), (False, server_flight(der))], T0)
    packets += tcp_session("10.0.0.8", "52.7.7.9", 40004, 443,
                           [(True, client_hello_without_sni()), (False, server_flight(der, tls13=True))], T0 + 1)
    path = save(tmp_path, packets)
    assert len(observations(path, TlsCertificate)) == 1
    assert services(path) == {}


def test_certificate_with_an_impossible_version_is_a_bad_certificate_not_a_decoder_crash():
    """cryptography's InvalidVersion is no ValueError; found by the pkt_tls fuzz target (version field 10)."""
    from detector.protocols.tls import TlsError, certificate_names

    der = bytearray(certificate_der("www.dropbox.com", ["www.dropbox.com"]))
    at = der.index(b"\xa0\x03\x02\x01\x02")  # tbsCertificate's [0] EXPLICIT version v3
    der[at + 4] = 10
    body = (len(der) + 3).to_bytes(3, "big") + len(der).to_bytes(3, "big") + bytes(der)  # certificate_list
    with pytest.raises(TlsError, match="bad certificate"):
        certificate_names(body)


# ---------------------------------------------------------------- QUIC


def test_rfc9001_and_rfc9369_initial_key_vectors():
    dcid = bytes.fromhex("8394c8f03e515708")
    v1 = client_initial_keys(dcid, VERSION_1)
    assert v1.key.hex() == "1f369613dd76d5467730efcbe3b1a22d"
    assert v1.iv.hex() == "fa044b2f42a3fd3b46fb255c"
    assert v1.hp.hex() == "9f50449e04a0e810283a1e9933adedd2"
    v2 = client_initial_keys(dcid, VERSION_2)
    assert v2.key.hex() == "8b1a0bc121284290a29e0971b5cd045d"
    assert v2.iv.hex() == "91f73e2351d8fa91660e909f"
    assert v2.hp.hex() == "45b95e15235d6f45a6b19cbcb0294ba9"
    secret = bytes.fromhex("c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea")
    assert hkdf_expand_label(secret, "quic key", 16).hex() == "1f369613dd76d5467730efcbe3b1a22d"


@pytest.mark.parametrize("version", [VERSION_1, VERSION_2])
def test_quic_initial_sni(tmp_path, version):
    hello = hello_message("chatgpt.com")
    packet = quic_initial([(0, hello)], bytes.fromhex("0011223344556677"), version, extra=b"\x01")
    path = save(tmp_path, [udp("10.0.0.30", "104.18.32.47", 50000, 443, packet, T0)])
    hellos = observations(path, TlsClientHello)
    assert [(h.sni, h.transport, h.server_port) for h in hellos] == [("chatgpt.com", "quic", 443)]
    found = services(path)["ChatGPT"]
    assert found.attributes.methods == ["quic-sni"]
    assert found.attributes.service_category == "genai"


def test_quic_hello_across_packets_out_of_order():
    hello = hello_message("www.wetransfer.com", pad=1500)
    dcid = bytes.fromhex("a1a2a3a4a5a6a7a8")
    first = quic_initial([(0, hello[:900])], dcid, pn=0)
    second = quic_initial([(900, hello[900:])], dcid, pn=1)
    decoder = QuicDecoder()
    out = []
    for number, payload in enumerate((second, first)):
        decoder.decode(Datagram(T0 + number, f"f{number}", "10.0.0.31", "1.2.3.4", 51000, 443, payload), out.append)
    assert [h.sni for h in out] == ["www.wetransfer.com"]
    decoder.decode(Datagram(T0 + 3, "f3", "10.0.0.31", "1.2.3.4", 51000, 443, first), out.append)
    assert len(out) == 1  # the connection's hello is read once


def test_quic_garbage_and_server_packets_are_ignored():
    decoder = QuicDecoder()
    out = []
    good = quic_initial([(0, hello_message("mega.nz"))], b"\x09" * 8)
    tampered = good[:-1] + bytes([good[-1] ^ 1])
    for payload in (tampered, b"\xc0" + bytes(100), good[:40]):
        decoder.decode(Datagram(T0, "f", "10.0.0.32", "1.2.3.4", 51001, 443, payload), out.append)
    decoder.decode(Datagram(T0, "f", "1.2.3.4", "10.0.0.32", 443, 51001, good), out.append)  # from the server port
    assert out == []


# ---------------------------------------------------------------- P2P, LAN sync, TFTP


def test_bittorrent_peer_handshake_on_any_port(tmp_path):
    packets = tcp_session("192.168.1.3", "198.51.100.9", 50500, 60163,
                          [(True, bt_handshake()), (False, bt_handshake(peer_id=b"-TR2940-xxxxxxxxxxxx")),
                           (False, bytes(20000))], T0)
    path = save(tmp_path, packets)
    contacts = observations(path, ServiceContact)
    assert contacts[0].service == "BitTorrent" and contacts[0].method == "bittorrent"
    assert "000102030405060708090a0b0c0d0e0f10111213" in contacts[0].detail
    assert "UT3550" in contacts[0].detail
    found = services(path)["BitTorrent"]
    assert found.hosts == ["192.168.1.3"]
    assert found.attributes.service_category == "p2p"
    assert found.attributes.bytes_down >= 20000


def test_bittorrent_dht_udp_tracker_and_http_announce(tmp_path):
    packets = [udp("10.1.1.1", "203.0.113.5", 20000, 30000, dht_query(), T0),
               udp("10.1.1.2", "203.0.113.6", 6881, 1337, UDP_TRACKER_CONNECT, T0 + 1),
               udp("10.1.1.4", "203.0.113.99", 6881, 1337, b"d1:ad2:id20:not really bencode", T0 + 2)]
    announce = b"GET /announce?info_hash=%e4%be&peer_id=-DE13F0-abc&event=started HTTP/1.1\r\nHost: t.example\r\n\r\n"
    packets += tcp_session("10.1.1.3", "203.0.113.7", 40100, 6969, [(True, announce)], T0 + 3)
    path = save(tmp_path, packets)
    found = services(path)["BitTorrent"]
    assert found.hosts == ["10.1.1.1", "10.1.1.2", "10.1.1.3"]
    details = " ".join(e.detail for e in found.evidence)
    assert "DHT get_peers" in details and "UDP tracker" in details and "tracker announce" in details


def test_lan_sync_beacon_and_other_port_17500_traffic(tmp_path):
    packets = [udp("192.168.2.1", "192.168.2.255", 17500, 17500, lan_sync_beacon(), T0),
               udp("192.168.56.1", "192.168.56.101", 17500, 17500, b'\x00\x00\x01{"messageType":"UPDATE"}', T0 + 1),
               udp("192.168.2.9", "192.168.2.255", 17500, 17500, b'{"host_int": 5}', T0 + 2)]
    path = save(tmp_path, packets)
    found = services(path)["Dropbox"]
    assert found.hosts == ["192.168.2.1"]
    assert found.attributes.methods == ["lan-sync"]
    assert "2 shared folder(s)" in found.evidence[0].detail


def test_tftp_read_and_write_requests(tmp_path):
    packets = [udp("192.168.2.45", "192.168.2.200", 50001, 69, tftp_request(2, b"backup.cfg"), T0),
               udp("192.168.0.253", "192.168.0.10", 50002, 69, tftp_request(1, b"rfc1350.txt", b"netascii"), T0 + 1),
               udp("192.168.0.253", "192.168.0.10", 50003, 69, tftp_request(1, b"\x01\x02\x03\xff"), T0 + 2),
               udp("192.168.0.253", "192.168.0.10", 50004, 69, b"\x00\x05\x00\x01oops\x00", T0 + 3)]
    transfers = observations(save(tmp_path, packets), FileTransfer)
    assert [(t.protocol, t.filename, t.direction, t.client) for t in transfers] == [
        ("tftp-wrq", "backup.cfg", "up", "192.168.2.45"),
        ("tftp-rrq", "rfc1350.txt", "down", "192.168.0.253"),
        ("tftp-rrq", "(unreadable name)", "down", "192.168.0.253"),
    ]
    findings, _, _ = scan_files(tmp_path / "t.pcap")
    wrq = [f for f in by_detector(findings, "filesharing.attachment") if f.attributes.protocol == "tftp-wrq"][0]
    assert wrq.attributes.external is False


def test_hostile_bytes_never_raise():
    """Random and truncated payloads go through every file-sharing datagram decoder without an exception."""
    import random

    from detector.protocols.bittorrent import BitTorrentUdpDecoder
    from detector.protocols.dns import DnsDecoder, DnsError, parse_dns
    from detector.protocols.lansync import LanSyncDecoder
    from detector.protocols.tftp import TftpDecoder

    rng = random.Random(4)
    decoders = [(DnsDecoder(), 53), (QuicDecoder(), 443), (BitTorrentUdpDecoder(), 6881), (LanSyncDecoder(), 17500),
                (TftpDecoder(), 69)]
    good = quic_initial([(0, hello_message("mega.nz"))], b"\x07" * 8)
    samples = [bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 300))) for _ in range(200)]
    samples += [good[:n] for n in range(0, len(good), 37)] + [b"\xc3" + good[1:60] + bytes(1200)]
    samples += [b"d1:ad2:id20:" + bytes(30) + b"1:y1:qe", b"{" * 5000, b"\x00\x01" + b"a" * 600]
    out = []
    for payload in samples:
        for decoder, port in decoders:
            decoder.decode(Datagram(T0, "f", "10.0.0.1", "10.0.0.2", 40000, port, payload), out.append)
    loop = bytes(12) + b"\xc0\x0c"  # a compression pointer pointing at itself
    with pytest.raises(DnsError):
        parse_dns(b"\x00\x01\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00" + loop[12:])
    assert all(type(o).__name__ in ("DnsQuery", "DnsAlias", "ServiceContact", "FileTransfer", "TlsClientHello")
               for o in out)


def test_teamviewer_signature_on_its_port(tmp_path):
    packets = tcp_session("10.0.0.70", "37.252.250.1", 49900, 5938, [(True, b"\x17\x24\x0a\x00" + bytes(40))], T0)
    packets += tcp_session("10.0.0.71", "37.252.250.2", 49901, 5938, [(True, b"GET / HTTP/1.1\r\n\r\n")], T0 + 1)
    packets += [udp("10.0.0.72", "37.252.250.3", 49902, 5938, b"\x17\x24" + bytes(30), T0 + 2)]
    found = services(save(tmp_path, packets))["TeamViewer"]
    assert found.hosts == ["10.0.0.70", "10.0.0.72"]
    assert found.attributes.service_category == "remote-access"
    assert found.attributes.methods == ["signature"]
