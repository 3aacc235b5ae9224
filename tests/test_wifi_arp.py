"""Gratuitous ARP: hosts announcing themselves together after a drop, seen from the wired side."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from scanning import by_detector, scan_files
from scapy.layers.l2 import ARP, Ether

from detector.samples import write_pcap

BASE = datetime(2026, 11, 2, tzinfo=timezone.utc)
HOSTS = [(f"3c:22:fb:00:01:{i:02x}", f"192.168.10.{40 + i}") for i in range(4)]


def garp(mac: str, ip: str, when: datetime, reply: bool = False):
    pkt = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=2 if reply else 1, hwsrc=mac, psrc=ip, pdst=ip,
                                                        hwdst="00:00:00:00:00:00")
    pkt.time = when.timestamp()
    return pkt


def test_gratuitous_arp_is_observed_and_ordinary_arp_is_not(tmp_path):
    mac, ip = HOSTS[0]
    who_has = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac, psrc=ip, pdst="192.168.10.1")
    who_has.time = BASE.timestamp()
    probe = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=mac, psrc="0.0.0.0", pdst=ip)
    probe.time = BASE.timestamp()
    path = write_pcap(tmp_path / "arp.pcap", [who_has, probe, garp(mac, ip, BASE, reply=True)])
    _, _, scan = scan_files(path)
    assert scan.router.counts.get("GratuitousArp") == 1


def test_daily_rejoin_bursts_make_a_daily_pattern(tmp_path):
    packets = []
    for day in range(6):
        morning = BASE + timedelta(days=day, hours=8, minutes=30)
        packets += [garp(mac, ip, morning + timedelta(seconds=i * 7)) for i, (mac, ip) in enumerate(HOSTS)]
        if day == 4:
            continue
        drop = BASE + timedelta(days=day, hours=14, minutes=5 + day % 3)
        packets += [garp(mac, ip, drop + timedelta(seconds=i * 3)) for i, (mac, ip) in enumerate(HOSTS)]
    findings, _, _ = scan_files(write_pcap(tmp_path / "lan.pcap", packets))
    patterns = by_detector(findings, "wifi.recurring")
    assert len(patterns) == 1
    attributes = patterns[0].attributes
    assert attributes.pattern == "daily" and attributes.time_of_day.startswith("14:0")
    assert attributes.days_with_drop == 5
