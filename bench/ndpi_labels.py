"""nDPI's labels, read the two ways they are stored, and the one table that maps them to catalog services.

* ``result/NAME.out`` beside ``pcap/NAME`` (``../shared/ndpi-more/``): nDPI's expected ``ndpiReader`` output,
  one line per flow with ``[proto: Master.App]``, ``[Confidence: ...]`` and ``[Hostname/SNI: ...]``;
* a ``MANIFEST.md`` row (``../shared/corpus/ndpi/``): "Label, Label — TCP a:p→b:p Master.App (host); ...".

A label becomes a :class:`LabelledFlow` only when its nDPI name maps to a catalog service (``NDPI_TO_CATALOG``);
every other name met in the labels must be in ``NDPI_LEFT_OUT`` with the reason, so the table stays complete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

# nDPI protocol name -> the catalog service(s) that name means. A tuple lists equally right answers
# (nDPI's Skype_TeamsCall does not say which of the two).
NDPI_TO_CATALOG: dict[str, tuple[str, ...]] = {
    "Dropbox": ("Dropbox",),
    "BitTorrent": ("BitTorrent",),
    "WhatsApp": ("WhatsApp",),
    "WhatsAppCall": ("WhatsApp",),
    "WhatsAppFiles": ("WhatsApp",),
    "Telegram": ("Telegram",),
    "TelegramVoip": ("Telegram",),
    "Discord": ("Discord",),
    "Zoom": ("Zoom",),
    "FacebookMessenger": ("Facebook Messenger",),
    "Messenger": ("Facebook Messenger",),
    "Outlook": ("Outlook.com (personal)",),
    "Hotmail": ("Outlook.com (personal)",),
    "Teams": ("Microsoft Teams (free)", "Microsoft Teams / Skype calls"),
    "Skype_Teams": ("Microsoft Teams (free)", "Skype", "Microsoft Teams / Skype calls"),
    "Skype_TeamsCall": ("Microsoft Teams / Skype calls", "Microsoft Teams (free)", "Skype"),
    "Skype": ("Skype",),
    "AppleiCloud": ("iCloud", "iCloud Drive"),
    "GMail": ("Gmail",),
    "Gmail": ("Gmail",),
    "AnyDesk": ("AnyDesk",),
    "TeamViewer": ("TeamViewer",),
    "NordVPN": ("NordVPN",),
    "ProtonVPN": ("ProtonVPN",),
    "Psiphon": ("Psiphon",),
    "Windscribe": ("Windscribe",),
    "Surfshark": ("Surfshark",),
    "HotspotShield": ("Hotspot Shield",),
    "TunnelBear": ("TunnelBear",),
    "Mullvad": ("Mullvad VPN",),
    "ExpressVPN": ("ExpressVPN",),
    "PrivateInternetAccess": ("Private Internet Access",),
    "CyberGhost": ("CyberGhost",),
    "Cloudflare_WARP": ("Cloudflare WARP (1.1.1.1 app)",),
    "OpenVPN": ("OpenVPN tunnel",),
    "WireGuard": ("WireGuard tunnel",),
    "Tor": ("Tor Project",),
    "Threema": ("Threema",),
    "Signal": ("Signal",),
    "SignalVoip": ("Signal",),
    "Line": ("LINE",),
    "LineCall": ("LINE",),
    "Viber": ("Viber",),
    "WeChat": ("WeChat",),
    "Slack": ("Slack",),
    "Box": ("Box",),
    "MEGA": ("MEGA",),
    "MS_OneDrive": ("Microsoft OneDrive (personal)",),
    "GoogleDrive": ("Google Drive",),
    "GoogleDocs": ("Google Docs",),
    "Pastebin": ("Pastebin",),
    "HuaweiCloud": ("Huawei Cloud",),
    "YandexDisk": ("Yandex Disk",),
    "YandexMail": ("Yandex Mail",),
    "Yahoo": ("Yahoo Mail",),
    "ProtonMail": ("Proton Mail",),
    "ChatGPT": ("ChatGPT",),
    "OpenAI": ("ChatGPT", "OpenAI API"),
    "Claude": ("Claude",),
    "Perplexity": ("Perplexity",),
    "GoogleGemini": ("Google Gemini",),
    "Copilot": ("Microsoft Copilot (consumer)",),
    "DeepSeek": ("DeepSeek",),
    "Anthropic": ("Claude",),
    "Webex": ("Webex",),
    "GoTo": ("LogMeIn / GoTo",),
    "Splashtop": ("Splashtop",),
    "RustDesk": ("RustDesk",),
}

_PROTOCOL = "a protocol or transport, not a service: it says how, not whose (the service comes from the app part)"
PLATFORM = "a platform, cloud, CDN, store or vendor umbrella: the catalog lists the shadow-IT services on it, not it"
_OUTSIDE = "social media, streaming, gaming, news or shopping: no catalog category (not file sharing or shadow IT)"
NOT_LISTED = ("a shadow-IT kind the catalog does not list yet (regional messenger, niche VPN or remote tool): "
               "scored once it has an entry")
_GUESS = "nDPI's own guess or test artefact (custom rule, unknown, fuzzing): no service to score"

NDPI_LEFT_OUT: dict[str, str] = {
    **dict.fromkeys((
        "HTTP", "TLS", "DNS", "QUIC", "DTLS", "STUN", "SRTP", "RTP", "RTCP", "SIP", "ICMP", "ICMPV6", "IGMP", "NFS",
        "Kerberos", "MsSQL-TDS", "FIX", "HTTP_Proxy", "HTTP_Connect", "SSDP", "RTSP", "PostgreSQL", "SOCKS",
        "NAT-PMP", "LLMNR", "NetBIOS", "SMBv1", "SMBv23", "SSH", "DHCP", "DHCPV6", "BGP", "AJP", "Teredo", "RDP",
        "LDP", "IPSec", "LDAP", "H323", "EthernetIP", "Service_Location_Protocol", "DNScrypt", "SD-RTN", "TPLINK_SHP",
        "BJNP", "HP_VIRTGRP", "VNC", "UBNTAC2", "MongoDB", "KCP", "Ceph", "Cassandra", "Whois-DAS", "WSD", "Munin",
        "Mining", "LISP", "DCERPC", "PROFINET_IO", "TiVoConnect", "TRDP", "SOMEIP", "SMTP", "SMTPS", "RTMP", "RSYNC",
        "PTPv2", "POPS", "POP3", "IMAPS", "IMAP", "FINS", "DLEP", "AFP", "iSCSI", "VRRP", "Telnet", "Syslog", "SCTP",
        "Roughtime", "Radius", "Oracle", "OSPF", "NTP", "MySQL", "MDNS", "Lustre", "LotusNotes", "JRMI",
        "IEEE-C37118", "IEC62056", "IEC60870", "Git", "GTP", "Elasticsearch", "DNP3", "sFlow", "WebSocket", "Usenet",
        "S7CommPlus", "RTPS", "PPTP", "PFCP", "OpenWire", "OpenFlow", "Modbus", "UMAS", "Memcached", "Megaco",
        "MPEG_TS", "ISO9506-1-MMS", "IRC", "IP_PIM", "IAX", "HL7", "FastCGI", "FTPS", "FTP_CONTROL", "FTP_DATA",
        "FLUTE", "EthernetGlobalData", "EtherSIO", "Ether-S-Bus", "Diameter", "DRDA", "CPHA", "CHECKMK",
        "BeckhoffADS", "BACnet", "WebDAV", "IPP", "OCSP", "DoH_DoT", "CiscoSkinny", "Targus Dataspeed",
        "TargusDataspeed", "XDMCP", "Yojimbo", "ETHEREUM", "BITCOIN", "Monero", "ICMP", "Jabber", "TFTP", "SNMP",
        "AVASTSecureDNS", "Citrix", "VMware", "Radmin", "NoMachine",
    ), _PROTOCOL),
    **dict.fromkeys((
        "Amazon", "AmazonAWS", "AmazonAlexa", "Google", "GoogleServices", "Microsoft", "Microsoft365", "Azure",
        "Apple", "AliCloud", "Alibaba", "Cloudflare", "Akamai", "ntop", "AVAST", "PlayStore", "Crashlytics",
        "Salesforce", "Huawei", "Yandex", "YandexCloud", "YandexMetrika", "YandexDirect", "Sina", "Oracle_Cloud",
    ), PLATFORM),
    **dict.fromkeys((
        "Facebook", "Instagram", "FbookReelStory", "YouTube", "YouTubeUpload", "VK", "Snapchat", "SinaWeibo",
        "Wikipedia", "Nintendo", "Starcraft", "GenshinImpact", "Activision", "Heroes_of_the_Storm", "TES_Online",
        "GaijinEntertainment", "MapleStory", "WorldOfWarcraft", "RiotGames", "Dazn", "iQIYI", "Pluralsight",
        "GeForceNow", "CryNetwork", "YandexMusic", "YandexMarket", "1kxun", "Waze", "Twitter", "TikTok", "Netflix",
        "Spotify",
    ), _OUTSIDE),
    **dict.fromkeys((
        "KakaoTalk", "KakaoTalk_Voice", "IMO", "DingTalk", "QQ", "GoogleMeet", "GoogleCall", "Softether",
        "Tailscale", "UltraSurf", "CiscoVPN", "FortiClient", "Gnutella",
    ), NOT_LISTED),
    **dict.fromkeys(("Unknown", "CustomProtocolA", "CustomProtocolB", "CustomProtocolC", "CustomProtocolD",
                     "CustomProtocolE", "CustomProtocolF", "CustomProtocolG", "CustomProtocolH",
                     "CustomProtocolI"), _GUESS),
}

# nDPI confidences that are a classification of the flow; "Match by port" and custom rules are guesses
SCORED_CONFIDENCES = {"DPI", "DPI (cache)", "DPI (partial)", "DPI (partial cache)", "DPI (aggressive)",
                      "Match by IP"}
BY_ADDRESS = "Match by IP"

FLOW_LINE = re.compile(
    r"^\s*\d+\s+(?P<transport>\S+)\s+(?P<src>\S+)\s+<?->\s+(?P<dst>\S+)\s+(?:\[VLAN: \d+\])?"
    r"\[proto: (?:[^\]/]*/)?(?P<proto>[^\]]+)\]")
CONFIDENCE = re.compile(r"\[Confidence: ([^\]]+)\]")
HOST = re.compile(r"\[Hostname/SNI: ([^\]]+)\]")
MANIFEST_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$")
MANIFEST_FLOW = re.compile(r"(?P<transport>TCP|UDP) (?P<src>\S+?)→(?P<dst>\S+) (?P<proto>[A-Za-z0-9_.]+)"
                           r"(?: \((?P<host>[^)]+)\))?")
LABEL_WORD = re.compile(r"\b(?:[A-Z][A-Za-z0-9]*\.)?([A-Z][A-Za-z0-9_]+)\b")


@dataclass(frozen=True)
class LabelledFlow:
    """One flow nDPI labels with a catalog service."""

    capture: str
    ndpi_name: str
    services: tuple[str, ...]  # equally right catalog answers
    client: Optional[str]  # None: the manifest names the label but not the flow
    server: Optional[str]
    host: str  # nDPI's host name / SNI, "" when none
    by_address: bool  # nDPI labelled it only by the server's address


def address(endpoint: str) -> str:
    """The address of an nDPI endpoint: ``1.2.3.4:80`` or ``[2001:db8::1]:443``."""
    if endpoint.startswith("["):
        return endpoint[1:endpoint.find("]")]
    return endpoint.rsplit(":", 1)[0]


def app_name(proto: str) -> str:
    """The name that says whose a flow is: the app part of ``Master.App`` when it names one, else the master."""
    proto = proto.split("/")[-1]
    parts = [part for part in proto.split(".") if part and part != "Unknown"]
    for part in reversed(parts):
        if part in NDPI_TO_CATALOG:
            return part
    return parts[-1] if parts else "Unknown"


def unlisted(proto: str) -> list[str]:
    """Names in ``proto`` that neither table lists: the table must say what becomes of them."""
    proto = proto.split("/")[-1]
    return [part for part in proto.split(".") if part and part not in NDPI_TO_CATALOG and part not in NDPI_LEFT_OUT]


def real_host(host: str) -> str:
    """nDPI prints an address where a flow had no name; that is no name."""
    host = host.strip()
    return "" if not host or re.fullmatch(r"[0-9.:a-fA-F]+", host) else host


@dataclass(frozen=True)
class NamedFlow:
    """A flow nDPI read a host name on, under whatever name it filed it (to judge a report on the same name)."""

    client: str
    server: str
    host: str
    ndpi_name: str


def result_flows(capture: str, text: str, unknown: set[str],
                 named: Optional[list[NamedFlow]] = None) -> Iterator[LabelledFlow]:
    """Labelled flows of one ``ndpiReader`` output; nDPI names neither table lists are added to ``unknown``,
    and every flow with a host name to ``named``."""
    for line in text.splitlines():
        flow = FLOW_LINE.match(line)
        if not flow:
            continue
        confidence = CONFIDENCE.search(line)
        proto = flow.group("proto")
        unknown.update(unlisted(proto))
        name = app_name(proto)
        host = HOST.search(line)
        host_name = real_host(host.group(1)) if host else ""
        client, server = address(flow.group("src")), address(flow.group("dst"))
        if named is not None and host_name:
            named.append(NamedFlow(client, server, host_name, name))
        if confidence is None or confidence.group(1) not in SCORED_CONFIDENCES or name not in NDPI_TO_CATALOG:
            continue
        yield LabelledFlow(capture, name, NDPI_TO_CATALOG[name], client, server, host_name,
                           confidence.group(1) == BY_ADDRESS)


def results_set(directory: Path) -> tuple[list[Path], list[LabelledFlow], set[str], dict[str, list[NamedFlow]]]:
    """Captures under ``directory/pcap`` with ``directory/result/NAME.out``: their labelled flows, the nDPI names
    neither table lists, and per capture every flow nDPI read a host name on."""
    captures, flows, unknown, named = [], [], set(), {}
    for path in sorted((directory / "pcap").iterdir()):
        result = directory / "result" / f"{path.name}.out"
        if path.is_file() and result.is_file():
            captures.append(path)
            text = result.read_text(encoding="utf-8", errors="replace")
            flows.extend(result_flows(path.name, text, unknown, named.setdefault(path.name, [])))
    return captures, flows, unknown, named


def find_manifest(directory: Path) -> Optional[Path]:
    for folder in (directory, *directory.parents):
        candidate = folder / "MANIFEST.md"
        if candidate.is_file():
            return candidate
    return None


def manifest_flows(capture: str, cell: str) -> list[LabelledFlow]:
    """Labelled flows of one manifest cell: the flows it lists, else one client-less flow per label it names."""
    labels, _, listed = cell.partition(" — ")
    flows = []
    for flow in MANIFEST_FLOW.finditer(listed):
        name = app_name(flow.group("proto"))
        if name in NDPI_TO_CATALOG:
            flows.append(LabelledFlow(capture, name, NDPI_TO_CATALOG[name], address(flow.group("src")),
                                      address(flow.group("dst")), flow.group("host") or "", False))
    named = {flow.ndpi_name for flow in flows}
    for word in LABEL_WORD.finditer(labels):
        name = word.group(1)
        if name in NDPI_TO_CATALOG and NDPI_TO_CATALOG[name] not in {NDPI_TO_CATALOG[n] for n in named}:
            flows.append(LabelledFlow(capture, name, NDPI_TO_CATALOG[name], None, None, "", False))
            named.add(name)
    return flows


def manifest_set(directory: Path, manifest: Path) -> tuple[list[Path], list[LabelledFlow]]:
    """Captures of ``directory`` that the manifest's ``ndpi/`` table labels, and their labelled flows."""
    root = manifest.parent
    cells = {}
    for line in manifest.read_text(encoding="utf-8").splitlines():
        row = MANIFEST_ROW.match(line)
        if row and row.group(1).startswith("ndpi/") and " — " in row.group(2):
            cells[row.group(1)] = row.group(2).rsplit("|", 1)[-1].strip()
    captures, flows = [], []
    for path in sorted(p for p in directory.rglob("ndpi_*") if p.is_file()):
        rel = str(path.relative_to(root))
        if rel in cells:
            captures.append(path)
            flows.extend(manifest_flows(path.name, cells[rel]))
    return captures, flows
