"""Capture readers and link layers: every format and link type reaches the decoders."""

from __future__ import annotations

import gzip
import struct

import pytest
from pcapfiles import write_pcapng
from scanning import scan_files
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.dot11 import Dot11, Dot11Deauth, RadioTap
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Dot1Q, Ether, Loopback

from detector.capture.pcap import read_capture
from detector.capture.records import ReadStats
from detector.inputs import sniff_kind
from detector.observations import DnsQuery

NAME = "files.dropbox.com"


def dns_query(ip_layer=None):
    return (ip_layer or IP(src="10.0.0.2", dst="10.0.0.1")) / UDP(sport=5000, dport=53) / DNS(qd=DNSQR(qname=NAME))


def write_raw(path, frames, linktype, endianness="<", nano=False):
    """A classic pcap written byte by byte (scapy's writer cannot do link type 0)."""
    order = endianness or "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)]
    for i, frame in enumerate(frames):
        data = bytes(frame)
        out.append(struct.pack(order + "IIII", 1700000000 + i, 123, len(data), len(data)) + data)
    path.write_bytes(b"".join(out))
    return path


def dns_names(path):
    findings, inputs, scan = scan_files(path)
    return scan.router.counts.get("DnsQuery", 0), inputs[0]


LINK_CASES = {
    "ethernet": (1, Ether() / dns_query()),
    "vlan": (1, Ether() / Dot1Q(vlan=10) / dns_query()),
    "qinq": (1, Ether(type=0x88A8) / Dot1Q(vlan=20) / Dot1Q(vlan=10) / dns_query()),
    "sll": (113, CookedLinux(proto=0x0800) / dns_query()),
    "sll2": (276, CookedLinuxV2(proto=0x0800) / dns_query()),
    "raw": (101, dns_query()),
    "raw-ipv4-228": (228, dns_query()),
    "bsd-loopback": (0, Loopback(type=2) / dns_query()),
    "ipv6": (1, Ether() / dns_query(IPv6(src="2001:db8::2", dst="2001:db8::1"))),
    "raw-ipv6": (101, dns_query(IPv6(src="2001:db8::2", dst="2001:db8::1"))),
}


@pytest.mark.parametrize("case", sorted(LINK_CASES))
def test_every_link_type_reaches_dns_decoder(tmp_path, case):
    linktype, frame = LINK_CASES[case]
    path = write_raw(tmp_path / f"{case}.pcap", [frame, frame], linktype)
    count, record = dns_names(path)
    assert count == 2
    assert record.kind == "pcap" and record.records == 2 and record.warnings == []


@pytest.mark.parametrize("endianness,nano", [("<", False), (">", False), ("<", True), (">", True)])
def test_classic_pcap_byte_orders_and_resolutions(tmp_path, endianness, nano):
    path = write_raw(tmp_path / "x.pcap", [Ether() / dns_query()], 1, endianness, nano)
    stats = ReadStats()
    seen = []
    with open(path, "rb") as handle:
        read_capture(handle, lambda buf, off, n, ts, lt, no: seen.append((ts, lt, bytes(buf[off:off + n]))), stats)
    assert len(seen) == 1
    ts, linktype, data = seen[0]
    assert linktype == 1 and data == bytes(Ether() / dns_query())
    expected = 1700000000 + (123e-9 if nano else 123e-6)
    assert ts == pytest.approx(expected, abs=1e-9)


def test_pcapng_several_interfaces_and_link_types(tmp_path):
    eth = Ether() / dns_query()
    wifi = RadioTap() / Dot11(type=0, subtype=12, addr1="aa:bb:cc:dd:ee:01", addr2="02:00:00:00:00:aa",
                              addr3="02:00:00:00:00:aa") / Dot11Deauth(reason=7)
    path = write_pcapng(tmp_path / "multi.pcapng", [1, 127],
                        [(0, 1700000000.5, bytes(eth)), (1, 1700000001.25, bytes(wifi)), (0, 1700000002.0, bytes(eth))],
                        tsresol=9)
    findings, inputs, scan = scan_files(path)
    assert inputs[0].kind == "pcapng" and inputs[0].records == 3
    assert scan.router.counts["DnsQuery"] == 2
    assert scan.router.counts["WifiDisconnect"] == 1
    assert inputs[0].first_ts == pytest.approx(1700000000.5)


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    plain = write_raw(tmp_path / "a.pcap", [Ether() / dns_query()] * 3, 1)
    packed = tmp_path / "capture.bin"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    count, record = dns_names(packed)
    assert count == 3 and record.kind == "pcap+gzip"
    import hashlib

    assert record.sha256 == hashlib.sha256(packed.read_bytes()).hexdigest()


def test_truncated_pcap_keeps_frames_before_the_cut(tmp_path):
    path = write_raw(tmp_path / "t.pcap", [Ether() / dns_query()] * 5, 1)
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    count, record = dns_names(path)
    assert count == 4
    assert any("truncated" in w and "after 4 frames" in w for w in record.warnings)


def test_big_endian_pcapng(tmp_path):
    path = write_pcapng(tmp_path / "be.pcapng", [1], [(0, 1700000000.0, bytes(Ether() / dns_query()))], order=">")
    count, record = dns_names(path)
    assert count == 1 and record.warnings == []


def test_truncated_pcapng_and_gzip(tmp_path):
    frame = bytes(Ether() / dns_query())
    path = write_pcapng(tmp_path / "t.pcapng", [1], [(0, 1700000000.0 + i, frame) for i in range(4)])
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(path.read_bytes()[:-7])
    count, record = dns_names(cut)
    assert count == 3 and any("truncated" in w for w in record.warnings)
    many = write_pcapng(tmp_path / "many.pcapng", [1],
                        [(0, 1700000000.0 + i, bytes(Ether() / dns_query()) + bytes([i % 256]) * 3)
                         for i in range(300)])
    gz = tmp_path / "cut.pcap.gz"
    packed = gzip.compress(many.read_bytes())
    gz.write_bytes(packed[: len(packed) // 2])
    count, record = dns_names(gz)
    assert 50 < count < 300
    assert any("compressed data ends early" in w for w in record.warnings)


def test_corrupt_record_length_stops_with_warning(tmp_path):
    path = write_raw(tmp_path / "c.pcap", [Ether() / dns_query()] * 3, 1)
    data = bytearray(path.read_bytes())
    first_len = struct.unpack_from("<I", data, 24 + 8)[0]
    second = 24 + 16 + first_len
    struct.pack_into("<I", data, second + 8, 0x7FFFFFFF)
    path.write_bytes(bytes(data))
    count, record = dns_names(path)
    assert count == 1
    assert any("corrupt" in w for w in record.warnings)


def test_sniffing_by_content():
    assert sniff_kind(b"\xd4\xc3\xb2\xa1rest") == "pcap"
    assert sniff_kind(b"\x0a\x0d\x0d\x0a....") == "pcapng"
    assert sniff_kind(b"Jun  3 14:05:01 ap hostapd: wlan0: AP-STA-CONNECTED") == "text"
    assert sniff_kind(b"\x00\x01\x02\x03garbage\x00") == "binary"


def test_unsupported_and_empty_inputs_do_not_crash(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01" * 100)
    empty = tmp_path / "empty.log"
    empty.write_text("")
    findings, inputs, _ = scan_files(junk, empty)
    assert inputs[0].kind == "unsupported" and inputs[0].warnings
    assert inputs[1].kind.startswith("log:")


def test_ipv4_fragments_and_padding(tmp_path):
    frame = Ether() / dns_query()
    padded = bytes(frame) + b"\x00" * 20  # Ethernet trailer padding must not reach DNS
    fragment = Ether() / IP(src="10.0.0.2", dst="10.0.0.1", frag=10, proto=17) / (b"x" * 40)
    path = write_raw(tmp_path / "p.pcap", [padded, fragment], 1)
    findings, inputs, scan = scan_files(path)
    assert scan.router.counts.get("DnsQuery") == 1
    assert DnsQuery  # the observation type the count refers to


DEAUTH = Dot11(type=0, subtype=12, addr1="aa:bb:cc:dd:ee:01", addr2="02:00:00:00:00:aa",
               addr3="02:00:00:00:00:aa") / Dot11Deauth(reason=3)
PPI_HEADER = struct.pack("<BBHI", 0, 0, 8, 105)  # version, flags, length, DLT of what follows (802.11)


@pytest.mark.parametrize("linktype,frame", [(105, bytes(DEAUTH)), (127, bytes(RadioTap() / DEAUTH)),
                                            (192, PPI_HEADER + bytes(DEAUTH))], ids=["raw-80211", "radiotap", "ppi"])
def test_wireless_link_types_reach_the_dot11_decoder(tmp_path, linktype, frame):
    path = write_raw(tmp_path / "w.pcap", [frame], linktype)
    findings, inputs, scan = scan_files(path)
    assert scan.router.counts.get("WifiDisconnect") == 1
    assert inputs[0].warnings == []
