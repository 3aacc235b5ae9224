"""TCP reassembly properties, proven through the real pipeline with an FTP login.

Split commands, retransmissions, out-of-order segments, a capture without the
handshake, IPv6 and a non-standard port must all still give the one login.
"""

from __future__ import annotations

from cred_packets import CLIENT, SERVER, T0, ftp_exchange, scan
from scanning import by_detector
from scapy.layers.inet import TCP
from scapy.packet import Raw

from detector.samples import tcp_session, write_pcap

PASSWORD = "Reass3mbly!"


def ftp_logins(tmp_path, packets, name="ftp.pcap"):
    findings, _, _ = scan(write_pcap(tmp_path / name, packets))
    return sorted((f.attributes.username, f.attributes.secret_mask, f.attributes.accepted)
                  for f in by_detector(findings, "credentials.cleartext"))


EXPECTED = [("carol", "R********** (11)", True)]


def client_data(packets):
    return [i for i, p in enumerate(packets) if p.haslayer(Raw) and p[TCP].dport == 21]


def test_pass_split_across_many_segments(tmp_path):
    packets = tcp_session(CLIENT, SERVER, 42000, 21, ftp_exchange("carol", PASSWORD), T0, mss=3)
    assert len(client_data(packets)) > 8
    assert ftp_logins(tmp_path, packets) == EXPECTED


def test_retransmitted_segments_are_not_doubled(tmp_path):
    packets = tcp_session(CLIENT, SERVER, 42001, 21, ftp_exchange("carol", PASSWORD), T0, mss=4)
    for index in client_data(packets)[2:6]:
        copy = packets[index].copy()
        copy.time = packets[index].time + 0.005
        packets.append(copy)
    assert ftp_logins(tmp_path, packets) == EXPECTED


def test_overlapping_retransmission(tmp_path):
    packets = tcp_session(CLIENT, SERVER, 42002, 21, ftp_exchange("carol", PASSWORD), T0, mss=4)
    first, second = client_data(packets)[3:5]
    merged = packets[first].copy()
    merged[Raw].load = packets[first][Raw].load + packets[second][Raw].load
    del merged[TCP].chksum
    merged.time = packets[second].time + 0.001
    packets.append(merged)
    assert ftp_logins(tmp_path, packets) == EXPECTED


def test_out_of_order_segments(tmp_path):
    packets = tcp_session(CLIENT, SERVER, 42003, 21, ftp_exchange("carol", PASSWORD), T0, mss=3)
    indexes = client_data(packets)
    for a, b in ((indexes[3], indexes[5]), (indexes[6], indexes[7])):
        packets[a].time, packets[b].time = packets[b].time, packets[a].time
    assert ftp_logins(tmp_path, packets) == EXPECTED


def test_capture_started_mid_session(tmp_path):
    packets = tcp_session(CLIENT, SERVER, 42004, 21, ftp_exchange("carol", PASSWORD), T0, handshake=False)
    assert ftp_logins(tmp_path, packets) == EXPECTED


def test_capture_started_mid_session_on_a_non_standard_port(tmp_path):
    """No handshake, no banner: the client's USER command identifies FTP on port 3721."""
    exchange = ftp_exchange("carol", PASSWORD)[1:]
    packets = tcp_session(CLIENT, SERVER, 42005, 3721, exchange, T0, handshake=False)
    assert ftp_logins(tmp_path, packets) == EXPECTED


def test_ipv6_flow(tmp_path):
    packets = tcp_session("2001:db8::3", "2001:db8::21", 42006, 21, ftp_exchange("carol", PASSWORD), T0, mss=5)
    assert ftp_logins(tmp_path, packets) == EXPECTED


def test_non_standard_port_by_banner(tmp_path):
    packets = tcp_session(CLIENT, SERVER, 42007, 60021, ftp_exchange("carol", PASSWORD), T0)
    assert ftp_logins(tmp_path, packets) == EXPECTED


def test_interleaved_flows_stay_apart(tmp_path):
    one = tcp_session(CLIENT, SERVER, 42008, 21, ftp_exchange("carol", PASSWORD), T0, mss=3)
    two = tcp_session(CLIENT, SERVER, 42009, 21, ftp_exchange("dave", "Other#Pass9"), T0 + 0.001, mss=3)
    logins = ftp_logins(tmp_path, one + two)
    assert logins == sorted(EXPECTED + [("dave", "O********** (11)", True)])


def test_segment_missing_from_capture_does_not_hide_the_rest(tmp_path):
    exchange = [(False, b"220 FTP ready\r\n"), (True, b"SYST\r\n"), (False, b"215 UNIX\r\n"),
                (True, b"FEAT\r\n"), (False, b"211 no features\r\n")] + ftp_exchange("carol", PASSWORD)[1:]
    packets = tcp_session(CLIENT, SERVER, 42010, 21, exchange, T0)
    lost = client_data(packets)[1]  # "FEAT": never retransmitted in this capture
    del packets[lost]
    assert ftp_logins(tmp_path, packets) == EXPECTED


def test_first_two_segments_swapped_after_a_handshake(tmp_path):
    exchange = [(True, b"USER carol\r\n"), (False, b"331 ok\r\n"), (True, f"PASS {PASSWORD}\r\n".encode()),
                (False, b"230 ok\r\n")]
    packets = tcp_session(CLIENT, SERVER, 42011, 21, exchange, T0, mss=4)
    first, second = client_data(packets)[:2]
    packets[first].time, packets[second].time = packets[second].time, packets[first].time
    assert ftp_logins(tmp_path, packets) == EXPECTED
