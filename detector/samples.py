"""Packet and log builders for the demo and the tests.

Everything here is crafted with scapy so the bundled sample data is
generated, byte for byte, rather than shipped as opaque captures. The
passwords in the demo are demo values; the report shows only their masks.
"""

from __future__ import annotations

import base64
import os
import random
import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Optional

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.dot11 import Dot11, Dot11AssoReq, Dot11Deauth, Dot11Disas, RadioTap
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw
from scapy.utils import PcapNgWriter, PcapWriter

CLIENT_MAC = "02:00:00:00:00:01"
SERVER_MAC = "02:00:00:00:00:02"


def client_hello(sni: str, pad: int = 0) -> bytes:
    """A minimal but well-formed TLS 1.2/1.3 ClientHello record carrying ``sni``."""
    name = sni.encode()
    server_name = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    extensions = struct.pack("!HH", 0, len(server_name)) + server_name
    extensions += struct.pack("!HH", 43, 3) + b"\x02\x03\x04"  # supported_versions: TLS 1.3
    if pad:
        extensions += struct.pack("!HH", 21, pad) + b"\x00" * pad  # padding extension
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x04\x13\x01\x13\x02" + b"\x01\x00"
    body += struct.pack("!H", len(extensions)) + extensions
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def _ip(src: str, dst: str) -> Packet:
    return IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)


def tcp_session(client: str, server: str, cport: int, sport: int, exchanges: Iterable[tuple[bool, bytes]],
                t0: float, mss: int = 1400, handshake: bool = True, close: bool = True,
                step: float = 0.01) -> list[Packet]:
    """Ethernet frames of one TCP connection with correct sequence numbers.

    ``exchanges`` is a list of (from_client, payload); payloads larger than
    ``mss`` are cut into several segments.
    """
    packets: list[Packet] = []
    cseq, sseq = 1000, 50000
    t = t0

    def frame(from_client: bool, flags: str, payload: bytes = b"") -> Packet:
        nonlocal t
        t += step
        src, dst = (client, server) if from_client else (server, client)
        sp, dp = (cport, sport) if from_client else (sport, cport)
        seq, ack = (cseq, sseq) if from_client else (sseq, cseq)
        eth = Ether(src=CLIENT_MAC, dst=SERVER_MAC) if from_client else Ether(src=SERVER_MAC, dst=CLIENT_MAC)
        pkt = eth / _ip(src, dst) / TCP(sport=sp, dport=dp, flags=flags, seq=seq, ack=ack)
        if payload:
            pkt = pkt / Raw(payload)
        pkt.time = t
        return pkt

    def three_way(client_flags: str, server_flags: str) -> None:
        """Open (S, SA) or close (FA, FA): each side's flag takes one sequence number, the client ACKs."""
        nonlocal cseq, sseq
        packets.append(frame(True, client_flags))
        cseq += 1
        packets.append(frame(False, server_flags))
        sseq += 1
        packets.append(frame(True, "A"))

    if handshake:
        three_way("S", "SA")
    for from_client, payload in exchanges:
        for start in range(0, len(payload), mss):
            piece = payload[start:start + mss]
            packets.append(frame(from_client, "PA", piece))
            if from_client:
                cseq += len(piece)
            else:
                sseq += len(piece)
    if close:
        three_way("FA", "FA")
    return packets


def dns_exchange(client: str, server: str, name: str, answers: list[str], t: float,
                 sport: int = 53000, ttl: int = 60) -> list[Packet]:
    query = Ether(src=CLIENT_MAC, dst=SERVER_MAC) / _ip(client, server) / UDP(sport=sport, dport=53)
    query = query / DNS(id=sport, rd=1, qd=DNSQR(qname=name))
    query.time = t
    records = None
    for address in answers:
        rr = DNSRR(rrname=name, type="AAAA" if ":" in address else "A", ttl=ttl, rdata=address)
        records = rr if records is None else records / rr
    answer = {"an": records} if records is not None else {}
    reply = Ether(src=SERVER_MAC, dst=CLIENT_MAC) / _ip(server, client) / UDP(sport=53, dport=sport) / DNS(
        id=sport, qr=1, rd=1, ra=1, qd=DNSQR(qname=name), **answer)
    reply.time = t + 0.02
    return [query, reply]


def deauth(bssid: str, station: str, reason: int, t: float, from_ap: bool = True,
           disassoc: bool = False) -> Packet:
    """A radiotap + 802.11 deauthentication (or disassociation) frame."""
    src, dst = (bssid, station) if from_ap else (station, bssid)
    body = Dot11Disas(reason=reason) if disassoc else Dot11Deauth(reason=reason)
    subtype = 10 if disassoc else 12
    pkt = RadioTap() / Dot11(type=0, subtype=subtype, addr1=dst, addr2=src, addr3=bssid) / body
    pkt.time = t
    return pkt


def association(bssid: str, station: str, t: float) -> Packet:
    pkt = RadioTap() / Dot11(type=0, subtype=0, addr1=bssid, addr2=station, addr3=bssid) / Dot11AssoReq()
    pkt.time = t
    return pkt


def write_pcap(path: Path, packets: list[Packet], nano: bool = False) -> Path:
    with PcapWriter(str(path), sync=False, nano=nano) as writer:
        for pkt in sorted(packets, key=lambda p: float(p.time)):
            writer.write(pkt)
    return path


def write_pcapng(path: Path, packets: list[Packet]) -> Path:
    with PcapNgWriter(str(path)) as writer:
        for pkt in sorted(packets, key=lambda p: float(p.time)):
            writer.write(pkt)
    return path


def day_at(base: datetime, day: int, hour: int, minute: int, second: int = 0) -> float:
    return (base + timedelta(days=day, hours=hour, minutes=minute, seconds=second)).timestamp()


# ---------------------------------------------------------------- the demo office


DEMO_PASSWORDS = {"ftp": "Summer2024", "http": "printer-admin-1", "form": "Summer2024"}


def office_packets(t0: float, rng: Optional[random.Random] = None) -> list[Packet]:
    """A small office morning: Dropbox upload, WeTransfer, Mega lookup, FTP and HTTP logins."""
    rng = rng or random.Random(7)
    laptop, nas, printer = "192.168.10.23", "192.168.10.5", "192.168.10.9"
    resolver, dropbox_ip, wetransfer_ip = "192.168.10.1", "162.125.66.18", "52.29.10.44"
    packets: list[Packet] = []
    packets += dns_exchange(laptop, resolver, "content.dropboxapi.com", [dropbox_ip], t0)
    upload = bytes(rng.getrandbits(8) for _ in range(64 * 1024)) * 40  # 2.5 MiB to Dropbox
    packets += tcp_session(laptop, dropbox_ip, 50123, 443,
                           [(True, client_hello("content.dropboxapi.com")), (False, b"\x16\x03\x03" + bytes(90)),
                            (True, b"\x17\x03\x03" + upload)], t0 + 1, step=0.0005)
    packets += dns_exchange(laptop, resolver, "wetransfer.com", [wetransfer_ip], t0 + 30, sport=53001)
    packets += tcp_session(laptop, wetransfer_ip, 50124, 443, [(True, client_hello("wetransfer.com"))], t0 + 31)
    packets += dns_exchange("192.168.10.31", resolver, "mega.nz", ["31.216.145.5"], t0 + 60, sport=53002)
    packets += dns_exchange("192.168.10.31", resolver, "intranet.office.lan", ["192.168.10.4"], t0 + 61,
                            sport=53003)
    ftp = [(False, b"220 NAS FTP server ready\r\n"), (True, b"USER scanner\r\n"),
           (False, b"331 Password required\r\n"), (True, f"PASS {DEMO_PASSWORDS['ftp']}\r\n".encode()),
           (False, b"230 Login successful\r\n"), (True, b"STOR invoices-2024.xlsx\r\n"),
           (False, b"150 Ok\r\n"), (True, b"QUIT\r\n"), (False, b"221 Bye\r\n")]
    packets += tcp_session(laptop, nas, 50200, 21, ftp, t0 + 90)
    basic = base64.b64encode(f"admin:{DEMO_PASSWORDS['http']}".encode()).decode()
    http = [(True, f"GET /config HTTP/1.1\r\nHost: printer.office.lan\r\nAuthorization: Basic {basic}\r\n\r\n"
             .encode()), (False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")]
    packets += tcp_session("192.168.10.31", printer, 50300, 80, http, t0 + 120)
    return packets


def wifi_packets(base: datetime, rng: Optional[random.Random] = None) -> list[Packet]:
    """Six days of monitor-mode capture: the AP drops everyone around 14:05 on five of them."""
    rng = rng or random.Random(11)
    bssid = "10:20:30:40:50:60"
    stations = ["aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02", "aa:bb:cc:00:00:03"]
    packets: list[Packet] = []
    for day in range(6):
        packets.append(association(bssid, stations[0], day_at(base, day, 8, 30)))
        if day == 3:
            continue
        start = day_at(base, day, 14, 5 + rng.randint(-3, 3), rng.randint(0, 59))
        for i, station in enumerate(stations):
            packets.append(deauth(bssid, station, 4, start + i * 0.4))
            packets.append(association(bssid, station, start + 45 + i))
    packets.append(deauth(bssid, stations[1], 3, day_at(base, 2, 10, 12), from_ap=False))
    return packets


def hostapd_lines(base: datetime) -> list[str]:
    """An AP log in syslog form: a 09:30 drop on four mornings, plus ordinary connects."""
    lines = []
    for day in range(5):
        stamp = base + timedelta(days=day)
        lines.append(f"{(stamp + timedelta(hours=8, minutes=2)).strftime('%b %e %H:%M:%S')} ap1 hostapd: "
                     "wlan0: AP-STA-CONNECTED 3c:22:fb:00:00:0a")
        if day == 2:
            continue
        drop = stamp + timedelta(hours=9, minutes=30 + day % 3)
        for station in ("3c:22:fb:00:00:0a", "3c:22:fb:00:00:0b"):
            lines.append(f"{drop.strftime('%b %e %H:%M:%S')} ap1 hostapd: wlan0: AP-STA-DISCONNECTED {station}")
        back = drop + timedelta(minutes=2)
        lines.append(f"{back.strftime('%b %e %H:%M:%S')} ap1 hostapd: wlan0: AP-STA-CONNECTED 3c:22:fb:00:00:0a")
    return lines


def write_demo(folder: Path) -> list[Path]:
    """The bundled sample data: an office capture, a Wi-Fi capture and an AP log."""
    folder.mkdir(parents=True, exist_ok=True)
    base = datetime(2026, 11, 2, tzinfo=timezone.utc)
    # the office capture starts 15 minutes after the Wi-Fi drop of 3 November: the story the report tells
    office = write_pcapng(folder / "office.pcapng", office_packets(day_at(base, 1, 14, 21)))
    wifi = write_pcap(folder / "wifi-monitor.pcap", wifi_packets(base))
    log = folder / "hostapd.log"
    log.write_text("\n".join(hostapd_lines(base)) + "\n")
    os.utime(log, (day_at(base, 6, 0, 0), day_at(base, 6, 0, 0)))
    return [office, wifi, log]
