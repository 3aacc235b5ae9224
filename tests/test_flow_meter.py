"""Every flow that leaves the site is metered whole, first to last packet, and attributed by the name directory.

The volume of a flow to a service must not depend on where in the capture the
name of its server was read: before the flow, between its first packets, or
after it ended. The flows vary what real traffic varies: segment sizes, which
side the capture saw first, whether the handshake was captured at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fs_packets import save
from scanning import by_detector, scan_files

from detector.capture.meter import FlowMeter
from detector.observations import FlowVolume
from detector.policy.settings import Settings
from detector.samples import dns_exchange, tcp_session, write_pcap
from detector.session.scan import ScanRequest, run_scan

T0 = 1_795_964_400.0
CLIENT, RESOLVER, DROPBOX = "10.1.0.5", "10.1.0.1", "162.125.1.1"
UPLOAD = [bytes([n]) * 3000 for n in range(6)]  # 18,000 bytes up in six writes
REPLY = b"HTTP/1.1 200 OK\r\n\r\n" + bytes(500)


def dropbox_flow(mss: int, handshake: bool = True, t0: float = T0) -> list:
    return tcp_session(CLIENT, DROPBOX, 50123, 443, [(True, chunk) for chunk in UPLOAD] + [(False, REPLY)], t0,
                       mss=mss, handshake=handshake, step=1.0)


def dropbox_service(findings):
    found = [f for f in by_detector(findings, "filesharing.service") if f.attributes.service == "Dropbox"]
    assert len(found) == 1, "one Dropbox finding"
    return found[0]


@pytest.mark.parametrize("answer_at", [-5.0, 1.5, 3.5, 9.5, 200.0], ids=["before", "after-syn", "mid-upload",
                                                                         "near-end", "after-the-flow"])
@pytest.mark.parametrize("mss", [512, 1400, 8000])
def test_the_volume_does_not_depend_on_when_the_name_was_read(tmp_path: Path, answer_at: float, mss: int) -> None:
    flow = dropbox_flow(mss)
    answer = dns_exchange(CLIENT, RESOLVER, "www.dropbox.com", [DROPBOX], T0 + answer_at)
    packets = sorted(flow + answer, key=lambda packet: float(packet.time))
    findings, _, _ = scan_files(save(tmp_path, packets), rules=False)
    found = dropbox_service(findings)
    assert found.attributes.bytes_up == sum(map(len, UPLOAD))
    assert found.attributes.bytes_down == len(REPLY)
    assert found.attributes.connections == 1
    assert found.attributes.per_host[0]["host"] == CLIENT


@pytest.mark.parametrize("start", [0, 1, 3, 5], ids=["syn", "syn-ack", "first-data", "mid-flow"])
def test_a_capture_that_starts_late_meters_what_it_saw_with_the_site_device_as_client(tmp_path: Path,
                                                                                       start: int) -> None:
    flow = dropbox_flow(1400)[start:]
    answer = dns_exchange(CLIENT, RESOLVER, "www.dropbox.com", [DROPBOX], T0 + 30)
    findings, _, _ = scan_files(save(tmp_path, flow + answer), rules=False)
    found = dropbox_service(findings)
    sent = sum(len(bytes(p["Raw"].load)) for p in flow if p.haslayer("Raw") and p["IP"].src == CLIENT)
    assert found.attributes.bytes_up == sent and found.attributes.per_host[0]["host"] == CLIENT
    assert found.attributes.bytes_down == len(REPLY)


def test_a_kernel_filtered_flow_is_measured_by_its_sequence_span(tmp_path: Path) -> None:
    """Only SYN, SYN-ACK and FINs captured (the live kernel filter): the sequence numbers give the volume."""
    flow = [p for p in dropbox_flow(1400) if p["TCP"].flags & 0x03]
    answer = dns_exchange(CLIENT, RESOLVER, "www.dropbox.com", [DROPBOX], T0 + 30)
    findings, _, _ = scan_files(save(tmp_path, flow + answer), rules=False)
    found = dropbox_service(findings)
    assert found.attributes.bytes_up == sum(map(len, UPLOAD)) and found.attributes.bytes_down == len(REPLY)


def meter_records(is_local=lambda address: address.startswith("10."), max_flows: int = 100):
    records: list[FlowVolume] = []
    return FlowMeter(records.append, is_local, max_flows), records


def key(src: bytes, dst: bytes, sport: int, dport: int) -> bytes:
    return src + dst + sport.to_bytes(2, "big") + dport.to_bytes(2, "big")


LOCAL, REMOTE, LAN_PEER = bytes([10, 1, 0, 5]), bytes([162, 125, 1, 1]), bytes([10, 1, 0, 9])


def test_the_site_device_is_the_client_and_multicast_is_no_flow() -> None:
    meter, records = meter_records()
    meter.udp(key(LOCAL, LAN_PEER, 5000, 5001), 100, T0, 1)
    meter.udp(key(LOCAL, bytes([224, 0, 0, 251]), 5353, 5353), 100, T0, 2)
    meter.udp(key(LOCAL, bytes([255, 255, 255, 255]), 68, 67), 300, T0, 3)
    meter.udp(key(REMOTE, LOCAL, 3478, 40000), 80, T0, 4)  # a remote peer spoke first
    meter.flush()
    lan, record = records
    assert (lan.client, lan.server, lan.server_port) == (ntoa(LOCAL), ntoa(LAN_PEER), 5001)  # inside: who spoke first
    assert (record.client, record.server, record.server_port) == (ntoa(LOCAL), ntoa(REMOTE), 3478)
    assert (record.bytes_up, record.bytes_down, record.whole) == (0, 80, True)


def ntoa(raw: bytes) -> str:
    return ".".join(map(str, raw))


def test_the_table_is_bounded_and_evictions_are_counted() -> None:
    meter, records = meter_records(max_flows=4)
    for port in range(10):
        meter.udp(key(LOCAL, REMOTE, 40000 + port, 443), 10, T0 + port, port + 1)
    assert meter.evicted == 6 and len(records) == 6  # the oldest flows were cut and reported so far
    assert len(meter.udp_flows) == 2 * 4
    meter.flush()
    assert sorted(r.ts for r in records) == [T0 + n for n in range(10)]


def test_an_input_that_overflows_the_table_says_so(tmp_path: Path) -> None:
    packets = []
    for n in range(6):
        packets += tcp_session(CLIENT, DROPBOX, 40000 + n, 443, [(True, b"x" * 100)], T0 + n, close=False)
    _, inputs, _ = scan_files(save(tmp_path, packets), settings=Settings(max_flows=2), rules=False)
    assert any("4 flow(s) metered in parts" in warning for warning in inputs[0].warnings)


def test_rst_and_both_fins_end_a_record_so_a_reused_port_pair_is_a_new_flow() -> None:
    meter, records = meter_records()
    k = key(LOCAL, REMOTE, 40000, 443)
    reply = key(REMOTE, LOCAL, 443, 40000)
    meter.tcp(k, 0, 100, 0x02, T0, 1)
    meter.tcp(reply, 0, 900, 0x12, T0, 2)
    meter.tcp(k, 50, 101, 0x18, T0, 3)
    meter.tcp(k, 0, 151, 0x11, T0, 4)
    meter.tcp(reply, 0, 901, 0x11, T0, 5)
    assert len(records) == 1 and records[0].bytes_up == 50
    meter.tcp(k, 0, 5000, 0x02, T0 + 1, 6)
    meter.tcp(k, 20, 5001, 0x18, T0 + 1, 7)
    meter.tcp(reply, 0, 0, 0x04, T0 + 1, 8)
    assert len(records) == 2 and records[1].bytes_up == 20 and records[1].packets == 3


# ---------------------------------------------------------------- a flow across two incremental runs


def incremental(paths: list[Path], db: Path, incremental: bool = True):
    request = ScanRequest(paths=[str(p) for p in paths], rules_files=[], db=db, incremental=incremental)
    return run_scan(request)


def test_a_flow_open_at_the_end_of_an_incremental_run_is_finished_by_the_next(tmp_path: Path) -> None:
    flow = dropbox_flow(1400)
    cut = 6  # handshake and the first uploads in the first capture, the rest (and the FINs) in the next one
    names = dns_exchange(CLIENT, RESOLVER, "www.dropbox.com", [DROPBOX], T0 - 1)
    first = write_pcap(tmp_path / "cap-00001.pcap", names + flow[:cut])
    second = write_pcap(tmp_path / "cap-00002.pcap", flow[cut:])
    db = tmp_path / "site.db"
    one = dropbox_service(incremental([first], db).result.findings)
    assert one.attributes.bytes_up is None, "the flow is still open: carried, not counted"
    two = dropbox_service(incremental([first, second], db).result.findings)
    assert two.attributes.bytes_up == sum(map(len, UPLOAD)) and two.attributes.connections == 1
    assert two.attributes.bytes_down == len(REPLY)
    whole = dropbox_service(incremental([first, second], tmp_path / "whole.db", incremental=False).result.findings)
    assert whole.attributes.bytes_up == two.attributes.bytes_up
    third = incremental([first, second], db)
    assert all(f.attributes.bytes_up is None for f in by_detector(third.result.findings, "filesharing.service")), \
        "the finished flow is not carried again"


def test_a_carried_flow_that_never_comes_back_is_counted_by_the_next_run(tmp_path: Path) -> None:
    flow = dropbox_flow(1400)
    names = dns_exchange(CLIENT, RESOLVER, "www.dropbox.com", [DROPBOX], T0 - 1)
    first = write_pcap(tmp_path / "a.pcap", names + flow[:6])
    later = write_pcap(tmp_path / "b.pcap", dns_exchange(CLIENT, RESOLVER, "example.org", ["93.184.216.34"],
                                                          T0 + 7200))
    db = tmp_path / "site.db"
    incremental([first], db)
    found = dropbox_service(incremental([later], db).result.findings)
    sent = sum(len(bytes(p["Raw"].load)) for p in flow[:6] if p.haslayer("Raw") and p["IP"].src == CLIENT)
    assert found.attributes.bytes_up == sent


def test_a_second_syn_ack_with_another_isn_does_not_stretch_the_span() -> None:
    """Seen in the wild (nDPI's KakaoTalk sample): two SYN-ACKs 16 MB apart in sequence space."""
    meter, records = meter_records()
    k, reply = key(LOCAL, REMOTE, 40000, 80), key(REMOTE, LOCAL, 80, 40000)
    meter.tcp(k, 0, 100, 0x02, T0, 1)
    meter.tcp(reply, 0, 1_000, 0x12, T0, 2)
    meter.tcp(reply, 0, 16_000_000, 0x12, T0, 3)
    meter.tcp(reply, 206, 1_001, 0x18, T0, 4)
    meter.tcp(reply, 0, 1_207, 0x11, T0, 5)
    meter.tcp(k, 0, 101, 0x11, T0, 6)
    assert records[0].bytes_down == 206


def test_segments_the_capture_missed_count_like_zeek_counts_them() -> None:
    meter, records = meter_records()
    k = key(LOCAL, REMOTE, 40000, 443)
    meter.tcp(k, 100, 5_000, 0x18, T0, 1)
    meter.tcp(k, 100, 5_900, 0x18, T0, 2)  # 800 bytes between them were not captured
    meter.tcp(k, 0, 0, 0x04, T0, 3)  # an RST with sequence 0 moves nothing
    assert records[0].bytes_up == 1_000
