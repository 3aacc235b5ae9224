"""Seed corpora, built at run time from the tests' packet builders, the demo samples and the public corpus.

Nothing here is stored in the repository: seeds are written to the work
directory each run. The public corpus (../shared/corpus, or $SHADOWIT_CORPUS)
is read in place when present; captures are cut to their first frames.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Iterator

from .targets import DISPATCH_LINKTYPES, Target, join_stream

ROOT = Path(__file__).resolve().parent.parent
MAX_CORPUS_FRAMES = 300
MAX_SEED_BYTES = 64 * 1024
_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 9 9">'
LOGO_SEEDS = (  # a clean logo, <use> of a symbol, nesting, and the shapes of a use bomb and of entities
    _SVG + b'<g fill="#036"><rect width="9" height="4"/><text x="1" y="8">ACME</text></g></svg>',
    _SVG + b'<defs><symbol id="d"><circle r="1"/></symbol></defs><use xlink:href="#d" x="2"/><use href="#d"/></svg>',
    _SVG + b"<g>" * 40 + b'<path d="M0 0L9 9"/>' + b"</g>" * 40 + b"</svg>",
    _SVG + b'<g id="a"><rect width="1" height="1"/></g><g id="b"><use href="#a"/><use href="#a"/></g>'
           b'<use href="#b"/></svg>',
    b'<!DOCTYPE svg [<!ENTITY a "aa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
)


def corpus_dir() -> Path:
    return Path(os.environ.get("SHADOWIT_CORPUS", ROOT.parent / "shared" / "corpus"))


# ---------------------------------------------------------------- packets


def builder_packets() -> list:
    """Packets from the tests' builders (every credential protocol, file sharing, Wi-Fi) and the demo."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from datetime import datetime, timezone

    from detector import samples
    from tests import cred_packets, fs_packets, wifi_packets

    packets: list = []
    for name in dir(cred_packets):
        if name.endswith("_packets") and callable(getattr(cred_packets, name)):
            try:
                packets.extend(getattr(cred_packets, name)()[0])
            except TypeError:
                continue
    t0 = 1_793_610_000.0
    packets.extend(fs_packets.dns_cname_reply("10.0.0.5", "10.0.0.1", "www.dropbox.com",
                                              ["edge.dropbox.com"], "162.125.1.1", t0))
    packets.append(fs_packets.udp("10.0.0.5", "1.1.1.1", 50000, 6881, fs_packets.dht_query(), t0))
    packets.append(fs_packets.udp("10.0.0.5", "255.255.255.255", 17500, 17500, fs_packets.lan_sync_beacon(), t0))
    packets.append(fs_packets.udp("10.0.0.5", "10.0.0.9", 50001, 69, fs_packets.tftp_request(2, b"cfg.txt"), t0))
    packets.append(fs_packets.udp("10.0.0.5", "142.250.1.1", 50002, 443,
                                  fs_packets.quic_initial([(0, fs_packets.hello_message("drive.google.com"))],
                                                          b"\x01" * 8), t0))
    packets.extend(samples.tcp_session("10.0.0.5", "93.184.216.34", 50003, 443,
                                       [(True, samples.client_hello("www.wetransfer.com")),
                                        (False, fs_packets.server_flight(
                                            fs_packets.certificate_der("wetransfer.com", ["*.wetransfer.com"])))],
                                       t0))
    packets.extend(samples.tcp_session("10.0.0.5", "10.0.0.9", 50004, 6881, [(True, fs_packets.bt_handshake())], t0))
    schedule = wifi_packets.daily_outage(days=2)
    packets.extend(wifi_packets.to_frames(schedule)[:60])
    packets.extend(wifi_packets.dhcp_packets(schedule)[:20])
    base = datetime(2026, 11, 2, tzinfo=timezone.utc)
    packets.extend(samples.office_packets(t0))
    packets.extend(samples.wifi_packets(base)[:80])
    return packets


def corpus_packets() -> list:
    """The first frames of each public capture (scapy packets), when the corpus is present."""
    from scapy.utils import PcapReader

    packets: list = []
    folder = corpus_dir()
    if not folder.is_dir():
        return packets
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".pcap", ".pcapng", ".cap"):
            continue
        try:
            with PcapReader(str(path)) as reader:
                for number, packet in enumerate(reader):
                    if number >= MAX_CORPUS_FRAMES:
                        break
                    packets.append(packet)
        except Exception:  # noqa: BLE001 - a capture scapy cannot read is simply no seed
            continue
    return packets


def _frames(packets: list) -> Iterator[tuple[int, bytes]]:
    from scapy.layers.dot11 import RadioTap
    from scapy.layers.l2 import Ether

    for packet in packets:
        if isinstance(packet, Ether):
            yield 1, bytes(packet)
        elif isinstance(packet, RadioTap):
            yield 127, bytes(packet)
        else:
            yield 101, bytes(packet)


def _payload_seeds(packets: list, targets: dict[str, Target]) -> dict[str, list[bytes]]:
    from scapy.layers.dot11 import Dot11
    from scapy.layers.inet import TCP, UDP
    from scapy.layers.l2 import ARP

    from detector.policy.settings import Settings
    from detector.protocols import packet_decoders
    from detector.protocols.base import DatagramDecoder, StreamDecoder

    decoders = packet_decoders(Settings())
    seeds: dict[str, list[bytes]] = defaultdict(list)
    streams: dict[tuple, list[tuple[bool, bytes]]] = defaultdict(list)
    for packet in packets:
        if UDP in packet:
            payload = bytes(packet[UDP].payload)
            ports = {packet[UDP].sport, packet[UDP].dport}
            for decoder in decoders:
                if isinstance(decoder, DatagramDecoder) and (
                        ports & set(decoder.udp_ports) or any(payload.startswith(p) for p in decoder.prefixes)):
                    seeds[f"datagram:{decoder.name}"].append(payload)
        elif TCP in packet and bytes(packet[TCP].payload):
            tcp = packet[TCP]
            server_port = min(tcp.sport, tcp.dport)
            key = (tuple(sorted((tcp.sport, tcp.dport))),)
            streams[key].append((tcp.dport == server_port, bytes(tcp.payload)))
        if ARP in packet:
            seeds["ether"].append(bytes(packet[ARP]))
        if Dot11 in packet:
            seeds["dot11"].append(bytes(packet[Dot11]))
    for (ports,), chunks in streams.items():
        for decoder in decoders:
            prefixes = decoder.client_prefixes + decoder.server_prefixes if isinstance(decoder, StreamDecoder) else ()
            if isinstance(decoder, StreamDecoder) and (set(ports) & set(decoder.tcp_ports) or any(
                    c.startswith(p) for _, c in chunks[:2] for p in prefixes)):
                seeds[f"stream:{decoder.name}"].append(join_stream(chunks[:40]))
    query, answer = _dns_tcp()
    seeds["stream:dns-tcp"].append(join_stream([(True, query), (False, answer)]))
    hello = b"\x17\x24\x0a\x20" + bytes(60)
    seeds["stream:teamviewer"].append(join_stream([(True, hello), (False, b"\x17\x24" + bytes(30))]))
    seeds["datagram:teamviewer-udp"].append(b"\x17\x24\x0a\x20" + bytes(40))
    seeds["datagram:sip"].append(b"REGISTER sip:pbx.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5060\r\n"
                                 b"From: <sip:100@pbx.example.com>\r\nTo: <sip:100@pbx.example.com>\r\n"
                                 b"Authorization: Digest username=\"100\", realm=\"pbx\", nonce=\"abc\", "
                                 b"uri=\"sip:pbx.example.com\", response=\"0123456789abcdef0123456789abcdef\"\r\n"
                                 b"Content-Length: 0\r\n\r\n")
    return seeds


def _dns_tcp() -> tuple[bytes, bytes]:
    from tests.fs_packets import dns_tcp_payloads

    return dns_tcp_payloads("www.dropbox.com", "162.125.1.1")


def _dispatch_seeds(packets: list) -> list[bytes]:
    by_link: dict[int, list[bytes]] = defaultdict(list)
    for linktype, frame in _frames(packets):
        by_link[linktype].append(frame)
    seeds = []
    for linktype, frames in by_link.items():
        selector = bytes([DISPATCH_LINKTYPES.index(linktype)])
        for start in range(0, len(frames), 12):
            seeds.append(selector + b"".join(struct.pack("!H", len(f)) + f for f in frames[start:start + 12]))
    return seeds


def _capture_seeds(packets: list) -> list[bytes]:
    from scapy.utils import wrpcap, wrpcapng

    seeds = []
    with tempfile.TemporaryDirectory() as tmp:
        for start in range(0, min(len(packets), 400), 40):
            chunk = packets[start:start + 40]
            for writer, name in ((wrpcap, "a.pcap"), (wrpcapng, "a.pcapng")):
                path = Path(tmp) / name
                try:
                    writer(str(path), chunk)
                except Exception:  # noqa: BLE001 - mixed link types: pcap writer refuses, skip
                    continue
                seeds.append(path.read_bytes()[:MAX_SEED_BYTES])
    folder = corpus_dir()
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".pcap", ".pcapng", ".cap"):
                with open(path, "rb") as handle:
                    seeds.append(handle.read(MAX_SEED_BYTES))
    return seeds


# ---------------------------------------------------------------- text


def log_seeds() -> list[bytes]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from datetime import datetime, timezone

    from detector import samples
    from tests import wifi_packets

    schedule = wifi_packets.daily_outage(days=2)
    texts = [wifi_packets.hostapd_log(schedule), wifi_packets.wpa_supplicant_log(schedule),
             wifi_packets.networkmanager_log(schedule), wifi_packets.mikrotik_log(schedule),
             wifi_packets.unifi_log(schedule), samples.hostapd_lines(datetime(2026, 11, 2, tzinfo=timezone.utc))]
    texts.extend(wifi_packets.macos_logs(schedule).values())
    seeds = [("\n".join(lines[:80]) + "\n").encode() for lines in texts]
    seeds.extend(_inline_logs())
    folder = corpus_dir()
    if folder.is_dir():
        for path in sorted(folder.rglob("*.log")):
            with open(path, "rb") as handle:
                seeds.append(handle.read(16384))
    return seeds


def _inline_logs() -> list[bytes]:
    """One or two lines of each format the builders above do not cover."""
    return [
        b"1793610000.123    250 10.0.0.5 TCP_TUNNEL/200 5120 CONNECT www.dropbox.com:443 - HIER_DIRECT/162.125.1.1 -\n"
        b"1793610001.000     80 10.0.0.5 TCP_MISS/200 900 POST http://[::1]:8080/upload - HIER_DIRECT/::1 text/html\n",
        b"[11.02 09:00:00] chrome.exe - www.dropbox.com:443 open through proxy proxy:8080 HTTPS\n"
        b"[11.02 09:00:05] chrome.exe - www.dropbox.com:443 close, 5000 bytes sent, 900 bytes received, "
        b"lifetime 00:05\n",
        b'date=2026-11-02 time=09:00:00 devname="fw" eventtime=1793610000000000000 srcip=10.0.0.5 dstip=162.125.1.1 '
        b'dstport=443 hostname="www.dropbox.com" app="Dropbox" sentbyte=50000 rcvdbyte=900 action="accept"\n',
        b"Nov  2 09:00:00 mail postfix/smtp[123]: 4A1B2C3D: to=<a@wetransfer.com>, relay=mx[1.2.3.4]:25, "
        b"delay=1, status=sent (250 ok)\n",
        b'"Date","Sender","Recipient","Subject","Status","Size"\n'
        b'"2026-11-02T09:00:00Z","a@corp.example","b@gmail.com","files","Delivered","52428800"\n',
        b"02-Nov-2026 09:00:00.000 queries: info: client @0x1 10.0.0.5#50000 (www.dropbox.com): "
        b"query: www.dropbox.com IN A + (10.0.0.1)\n",
        b"[2026-11-02 09:00:00] <ann> the wifi password is Corp!2026\n",
    ]


def document_seeds() -> list[bytes]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests import evtx_writer, wifi_packets
    from tests.cred_packets import smtp_mail

    mail = smtp_mail("boss@example.com", ["new@example.com"])
    mbox = b"".join(b"From a@x.org Mon Nov  2 09:00:00 2026\n" + m + b"\n" for m in (
        b"From: a@x.org\nTo: b@x.org\nSubject: =?utf-8?B?aGk=?=\n\npw is Qwer!y2026\n",
        b"From: c@x.org\nTo: d@x.org\nSubject: =?iso-8859-1?q?r=E9set?=\nContent-Type: multipart/mixed; "
        b"boundary=XX\n\n--XX\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\ncGFzc3dvcmQ6IFgxMjM0\n"
        b"--XX--\n"))
    slack = json.dumps([{"type": "message", "user": "U2", "text": "the vpn pw is Vpn!2026ok",
                         "ts": "1793610060.000200", "user_profile": {"real_name": "Ben"}}]).encode()
    teams = json.dumps({"value": [{"id": "1", "createdDateTime": "2026-11-02T09:00:00Z",
                                   "from": {"user": {"displayName": "Cleo"}},
                                   "body": {"contentType": "html", "content": "<p>Kennwort: Dr&amp;ucker9</p>"},
                                   "chatId": "19:abc"}]}).encode()
    schedule = wifi_packets.daily_outage(days=2)
    seeds = [mail, mbox, slack, teams, wifi_packets.windows_xml(schedule).encode()[:MAX_SEED_BYTES],
             wifi_packets.windows_csv(schedule).encode()[:MAX_SEED_BYTES]]
    start = 1_793_628_310.0
    events = [(start + i, evtx_writer.windows_event("Microsoft-Windows-WLAN-AutoConfig", 8003, start + i,
                                                    {"SSID": "Office", "Reason": "driver"}, f"pc-{i}"))
              for i in range(4)]
    seeds.append(evtx_writer.evtx_file(events, 4))
    return seeds


def rules_seeds() -> list[bytes]:
    seeds = [path.read_bytes() for path in sorted((ROOT / "rules").glob("*.yaml"))]
    seeds.append((ROOT / "rules.yaml").read_bytes())
    seeds.append(b"version: 1\nrules:\n  - id: r1\n    title: t\n    severity: high\n    match:\n      all:\n"
                 b"        - user: {regex: '^a+$'}\n        - server_port: {gte: 21}\n"
                 b"        - time_of_day: '22:00-06:00'\n    examples:\n      - finding: {category: x}\n"
                 b"        expect: nomatch\n")
    seeds.append(b'a: &a ["x","x"]\nb: &b [*a,*a]\nc: [*b,*b]\n')
    return seeds


# ---------------------------------------------------------------- per target


def seeds_for(targets: Iterable[Target]) -> dict[str, list[bytes]]:
    """Seeds for each target, computed once per family."""
    targets = list(targets)
    kinds = {t.kind.split(":")[0] for t in targets}
    packets: list = []
    if kinds & {"frame", "datagram", "stream", "ether", "dot11", "capture", "gzip", "file"}:
        packets = builder_packets() + corpus_packets()
    families: dict[str, list[bytes]] = {}
    if kinds & {"datagram", "stream", "ether", "dot11"}:
        families.update(_payload_seeds(packets, {t.name: t for t in targets}))
    if "frame" in kinds:
        families["frame"] = _dispatch_seeds(packets)
    if kinds & {"capture", "gzip", "file"}:
        families["capture"] = _capture_seeds(packets)
    if kinds & {"log", "file"}:
        families["log"] = log_seeds()
    if kinds & {"doc", "file"}:
        families["doc"] = document_seeds()
    if "rules" in kinds:
        families["rules"] = rules_seeds()
    if "gzip" in kinds:
        families["gzip"] = [gzip.compress(s, 6, mtime=0) for s in families["capture"][:20]]
    if "file" in kinds:
        families["file"] = families["capture"][:20] + families["log"] + families["doc"]
    if "report" in kinds:
        families["report"] = [b"<script>alert(1)</script>" * 3, '"><img src=x onerror=alert(1)>\u202e\x1b]0;x\x07'
                              .encode(), struct.pack("<qqq", 1 << 62, -1, 1_793_610_000)]
    if "logo" in kinds:
        families["logo"] = list(LOGO_SEEDS)
    result = {}
    for target in targets:
        seeds = families.get(target.kind, [])
        result[target.name] = [s[:target.max_len] for s in seeds if s][:400]
    return result
