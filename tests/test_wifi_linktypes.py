"""Prism (DLT 119) and AVS (DLT 163) monitor-mode captures decode like radiotap ones."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from scapy.layers.dns import DNS, DNSQR
from scapy.layers.dot11 import Dot11, Dot11Beacon, Dot11Deauth, Dot11Disas, Dot11Elt, PrismHeader
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import LLC, SNAP

from detector.observations import WifiDisconnect
from detector.protocols.dot11 import LINK_AVS, LINK_PRISM, capture_header_length
from tests.scanning import by_detector, scan_files

AP = "10:20:30:40:50:60"
STA = "aa:bb:cc:00:00:01"
T0 = 1_700_000_000.0


def _deauth(station: str, reason: int, from_ap: bool = True, disassoc: bool = False) -> bytes:
    src, dst = (AP, station) if from_ap else (station, AP)
    body = Dot11Disas(reason=reason) if disassoc else Dot11Deauth(reason=reason)
    return bytes(Dot11(type=0, subtype=10 if disassoc else 12, addr1=dst, addr2=src, addr3=AP) / body)


def _beacon(ssid: str, channel: int) -> bytes:
    return bytes(Dot11(type=0, subtype=8, addr1="ff:ff:ff:ff:ff:ff", addr2=AP, addr3=AP) / Dot11Beacon()
                 / Dot11Elt(ID=0, info=ssid.encode()) / Dot11Elt(ID=3, info=bytes([channel])))


def _dns_data(qname: str) -> bytes:
    return bytes(Dot11(type=2, subtype=0, FCfield=1, addr1=AP, addr2=STA, addr3="00:11:22:33:44:55")
                 / LLC() / SNAP() / IP(src="192.168.1.23", dst="192.168.1.1") / UDP(sport=53000, dport=53)
                 / DNS(rd=1, qd=DNSQR(qname=qname)))


def prism(frame: bytes, big_endian: bool = False) -> bytes:
    """A wlan-ng Prism header as scapy builds it (msglen 144), optionally written on a big-endian host."""
    header = bytes(PrismHeader(dev=b"wlan0", channel=6))
    if big_endian:
        header = header[:4] + struct.pack(">I", 144) + header[8:]
    return header + frame


def avs(frame: bytes, channel: int = 6) -> bytes:
    """An AVS capture header (version 2, 64 bytes, big-endian)."""
    header = struct.pack(">IIQQIIIIIIiiII", 0x80211002, 64, 123456, 0, 2, channel, 540, 0, 0, 1, -42, -95, 0, 0)
    assert len(header) == 64
    return header + frame


def write_capture(path: Path, linktype: int, frames: list[tuple[float, bytes]]) -> Path:
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for ts, data in frames:
            out.write(struct.pack("<IIII", int(ts), int(round((ts % 1) * 1e6)), len(data), len(data)))
            out.write(data)
    return path


def _drops(scan) -> list[WifiDisconnect]:
    (wifi,) = [d for d in scan.detectors if d.name == "wifi"]
    return wifi.disconnects


def _office_frames(wrap) -> list[tuple[float, bytes]]:
    return [(T0, wrap(_beacon("Office", 6))),
            (T0 + 1, wrap(_deauth(STA, 4))),
            (T0 + 2, wrap(_deauth(STA, 8, from_ap=False, disassoc=True))),
            (T0 + 3, wrap(_deauth("ff:ff:ff:ff:ff:ff", 7)))]


@pytest.mark.parametrize("linktype,wrap", [
    (LINK_PRISM, prism),
    (LINK_PRISM, lambda f: prism(f, big_endian=True)),
    (LINK_PRISM, avs),  # AVS headers also appear under the Prism link type
    (LINK_AVS, avs),
], ids=["prism", "prism-big-endian", "avs-in-prism", "avs"])
def test_disconnects_reasons_directions_and_ssid(tmp_path, linktype, wrap):
    path = write_capture(tmp_path / "monitor.pcap", linktype, _office_frames(wrap))
    findings, inputs, scan = scan_files(path)
    assert inputs[0].records == 4 and not inputs[0].warnings
    assert [(d.subtype, d.direction, d.reason, d.ssid) for d in _drops(scan)] == [
        ("deauth", "ap-to-sta", 4, "Office"), ("disassoc", "sta-to-ap", 8, "Office"),
        ("deauth", "broadcast", 7, "Office")]
    (summary,) = by_detector(findings, "wifi.deauth-summary")
    assert summary.attributes.deauth == 2 and summary.attributes.disassoc == 1
    assert summary.evidence[0].source.endswith("monitor.pcap:frame 2")


def test_a_prism_flood_is_an_attack(tmp_path):
    frames = [(T0 + i * 0.01, prism(_deauth("ff:ff:ff:ff:ff:ff", 7))) for i in range(200)]
    findings, _, _ = scan_files(write_capture(tmp_path / "flood.pcap", LINK_PRISM, frames))
    (flood,) = by_detector(findings, "wifi.deauth-flood")
    assert flood.attributes.frames == 200 and flood.category == "wifi-attack"


@pytest.mark.parametrize("linktype,wrap", [(LINK_PRISM, prism), (LINK_AVS, avs)], ids=["prism", "avs"])
def test_data_frames_reach_the_ip_decoders(tmp_path, linktype, wrap):
    path = write_capture(tmp_path / "data.pcap", linktype, [(T0, wrap(_dns_data("client.dropbox.com")))])
    findings, _, _ = scan_files(path)
    assert any(f.category == "file-sharing" and f.attributes.service == "Dropbox" for f in findings)


def test_broken_headers_are_skipped_without_error(tmp_path):
    frame = _deauth(STA, 4)
    huge_avs = struct.pack(">II", 0x80211001, 10_000) + bytes(56) + frame
    frames = [(T0, b"\x44\x00"), (T0 + 1, huge_avs), (T0 + 2, bytes(PrismHeader())[:100]),
              (T0 + 3, avs(frame))]
    findings, inputs, scan = scan_files(write_capture(tmp_path / "broken.pcap", LINK_AVS, frames))
    assert inputs[0].records == 4
    assert len(_drops(scan)) == 1


def test_header_length_function():
    frame = _deauth(STA, 4)
    assert capture_header_length(prism(frame), 0, len(prism(frame)), LINK_PRISM) == 144
    assert capture_header_length(avs(frame), 0, len(avs(frame)), LINK_AVS) == 64
    assert capture_header_length(avs(frame), 0, len(avs(frame)), LINK_PRISM) == 64
    assert capture_header_length(prism(frame), 0, len(prism(frame)), LINK_AVS) == -1  # no AVS version word
    assert capture_header_length(b"\x80\x21\x10\x01", 0, 4, LINK_AVS) == -1
    garbled = bytes(PrismHeader())[:4] + b"\xff\xff\xff\xff" + bytes(PrismHeader())[8:] + frame
    assert capture_header_length(garbled, 0, len(garbled), LINK_PRISM) == 144  # the fixed Prism size
