"""Flow volume for watched services: from payload seen, or from TCP sequence numbers alone."""

from __future__ import annotations

from datetime import datetime, timezone

from scanning import by_detector, scan_files

from detector.samples import client_hello, dns_exchange, tcp_session, write_pcap

T0 = datetime(2026, 11, 3, 10, tzinfo=timezone.utc).timestamp()
UPLOAD = bytes(range(256)) * 4000  # 1,024,000 bytes


def upload_packets():
    packets = dns_exchange("10.0.0.23", "10.0.0.1", "upload.wetransfer.com", ["52.29.10.44"], T0)
    packets += tcp_session("10.0.0.23", "52.29.10.44", 51000, 443,
                           [(True, client_hello("upload.wetransfer.com")), (True, UPLOAD),
                            (False, b"\x17\x03\x03" + bytes(500))], T0 + 1, step=0.0001)
    return packets


def wetransfer(findings):
    return [f for f in by_detector(findings, "filesharing.service") if f.attributes.service == "WeTransfer"][0]


def test_upload_volume_per_host(tmp_path):
    findings, _, _ = scan_files(write_pcap(tmp_path / "up.pcap", upload_packets()))
    finding = wetransfer(findings)
    hello = len(client_hello("upload.wetransfer.com"))
    assert finding.attributes.bytes_up == len(UPLOAD) + hello
    assert finding.attributes.bytes_down == 503
    host = finding.attributes.per_host[0]
    assert host["host"] == "10.0.0.23" and host["bytes_up"] == len(UPLOAD) + hello and host["connections"] == 1


def test_volume_from_sequence_numbers_when_payload_was_filtered(tmp_path):
    """A kernel filter that keeps only handshakes, teardowns and the hello still measures the upload."""
    kept = []
    for pkt in upload_packets():
        tcp = pkt.getlayer("TCP")
        if tcp is None or tcp.flags & 0x07 or bytes(tcp.payload)[:1] == b"\x16":
            kept.append(pkt)
    findings, _, _ = scan_files(write_pcap(tmp_path / "filtered.pcap", kept))
    finding = wetransfer(findings)
    hello = len(client_hello("upload.wetransfer.com"))
    assert finding.attributes.bytes_up == len(UPLOAD) + hello
    assert finding.attributes.bytes_down == 503
