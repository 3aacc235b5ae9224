"""What the inputs saw: typed observations, the one currency between readers and detectors.

Packet protocols, log formats and documents each emit these; detectors
subscribe to the types they consume. Plain dataclasses, so every stage can be
tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from detector.secrets import Secret


@dataclass
class Observation:
    """Something a decoder saw once. ``where`` is "file:frame N" or "file:line N"."""

    ts: float
    where: str


@dataclass
class DnsQuery(Observation):
    """A DNS question (or answered query) a client asked a server."""

    client: str
    server: str
    qname: str
    qtype: int = 1
    answers: tuple[str, ...] = ()  # A/AAAA addresses in the response
    ttl: Optional[float] = None  # the shortest TTL of those answers: how long the server said they hold


@dataclass
class TlsClientHello(Observation):
    """A TLS ClientHello: the server name a client asked for in the clear ("" when it asked for none)."""

    client: str
    server: str
    server_port: int
    sni: str
    transport: str = "tcp"  # "tcp" or "quic"


@dataclass
class TlsCertificate(Observation):
    """Names from a certificate seen in the clear (TLS 1.2 and older): the server's, or the client's own."""

    client: str
    server: str
    server_port: int
    names: tuple[str, ...]  # subject CN and SAN DNS names
    issuer: tuple[str, ...] = ()  # issuer CN and organisation: a product's private CA names the product
    from_client: bool = False  # the client presented it: it names the client's software, never the server


@dataclass
class HttpRequest(Observation):
    """One clear-text HTTP request: host, method, path and body size."""

    client: str
    server: str
    server_port: int
    method: str
    host: str
    uri: str
    content_length: Optional[int] = None
    user_agent: str = ""


@dataclass
class ServiceContact(Observation):
    """A client reached a named service by a route other than DNS/TLS/HTTP.

    Used for log lines (proxy, firewall, DNS server) and protocol signatures
    (BitTorrent, Dropbox LAN sync) where the decoder already knows the service
    name or the host name.
    """

    client: str
    host: str = ""  # a DNS name, when the route names one
    service: str = ""  # a catalog service name, when the decoder knows it
    method: str = ""  # "proxy-log", "lan-sync", "bittorrent", ...
    server: str = ""
    server_port: int = 0
    bytes_up: Optional[int] = None
    bytes_down: Optional[int] = None
    detail: str = ""
    process: str = ""  # the program, when a client-side log names it (never a device)


@dataclass
class FileTransfer(Observation):
    """A file moved by a channel that bypasses sanctioned sharing (mail, FTP, TFTP)."""

    client: str
    server: str
    protocol: str  # "smtp-attachment", "ftp-stor", "ftp-retr", "tftp-wrq", ...
    filename: str
    direction: str  # "up" or "down"
    size: Optional[int] = None
    sender: str = ""
    recipients: tuple[str, ...] = ()
    mime_type: str = ""  # when the source says (Zeek files.log, mail parts)


@dataclass
class Credential(Observation):
    """A login seen in the clear: who, where, and whether it was accepted."""

    protocol: str
    client: str
    server: str
    server_port: int
    username: str
    secret: Secret
    kind: str = "cleartext"  # "cleartext" or "hash" (crackable material)
    accepted: Optional[bool] = None  # None: the protocol did not say
    note: str = ""
    starttls: Optional[bool] = None  # True: STARTTLS was tried first; False: never tried; None: n/a
    domain: str = ""  # NTLM / Kerberos domain or realm of the user
    workstation: str = ""  # NTLM AUTHENTICATE workstation name


@dataclass
class SharedPassword(Observation):
    """A password pasted into message text (mail body, chat, paste site)."""

    channel: str
    sender: str
    recipients: tuple[str, ...]
    secret: Secret
    score: float
    phrase: str  # the keyword that triggered the hit, never the secret


@dataclass
class FlowVolume(Observation):
    """Bytes moved by one finished (or evicted) flow; ``ts`` is its start."""

    client: str
    server: str
    server_port: int
    transport: str
    bytes_up: int
    bytes_down: int
    packets: int
    end: float
    whole: bool = False  # a capture's record of the whole flow, first to last packet: a later name may claim it


@dataclass
class WifiDisconnect(Observation):
    """A station left an access point (deauth, disassoc or a log line saying so)."""

    station: str
    bssid: str
    reason: int = 0
    subtype: str = "deauth"  # "deauth", "disassoc", "log"
    direction: str = ""  # "ap-to-sta", "sta-to-ap", "broadcast", "" when unknown
    ssid: str = ""
    origin: str = "802.11"  # "802.11", "hostapd", "wpa_supplicant", ...
    ap_initiated: bool = False  # the AP itself went down (restart/shutdown)
    channel: int = 0  # 802.11 channel when known (beacon DS parameter set, controller log)


@dataclass
class WifiConnect(Observation):
    """A station joined an access point; ends the outage a disconnect began."""

    station: str
    bssid: str
    ssid: str = ""
    origin: str = "802.11"


@dataclass
class WifiApEvent(Observation):
    """What an access point logs about itself or a station's login: ``psk-mismatch`` (a station's 4-way
    handshake failed on the passphrase: hostapd AP-STA-POSSIBLE-PSK-MISMATCH), ``ap-enabled`` (the AP
    (re)started: AP-ENABLED), ``ap-disabled`` (it stopped: AP-DISABLED, CTRL-EVENT-TERMINATING)."""

    ap: str
    event: str
    station: str = ""
    origin: str = "hostapd"


@dataclass
class DnsAlias(Observation):
    """A DNS answer's CNAME chain: ``name`` is an alias of ``targets`` (in chain order).

    Lets a lookup of a neutral name (files.example.com) be attributed to the
    service its alias points into (example.sharepoint.com).
    """

    client: str
    server: str
    name: str
    targets: tuple[str, ...]
    answers: tuple[str, ...] = ()


@dataclass
class WifiBeaconGap(Observation):
    """An AP went silent for ``gap_seconds`` and came back; ``ts`` is its last beacon before the gap."""

    bssid: str
    gap_seconds: float
    ssid: str = ""
    channel: int = 0
    interval_ms: float = 102.4  # the AP's advertised beacon interval


@dataclass
class DhcpClientRequest(Observation):
    """A DHCP DISCOVER or REQUEST: clients re-asking at once is an outage seen from the LAN."""

    client: str  # hardware address
    message: str  # "discover" or "request"
    initial: bool = True  # the client had no address (not a renewal from a bound lease)
    hostname: str = ""


@dataclass
class GratuitousArp(Observation):
    """A host announcing its own address: what a laptop does when it rejoins the network after a drop."""

    client: str  # hardware address
    address: str


@dataclass
class HostIdentity(Observation):
    """Who is behind an address: a name, user or hardware address the wire or a log gave for it.

    ``source`` says which protocol said so ("dhcp", "netbios", "llmnr", "mdns", "kerberos",
    "ntlmssp-http", "ntlmssp-smb", "ldap-bind", "http-user-agent", "authlog", ...).
    """

    address: str = ""
    mac: str = ""
    hostname: str = ""
    username: str = ""
    domain: str = ""
    source: str = ""
    vendor_class: str = ""  # DHCP option 60 ("MSFT 5.0", "android-dhcp-13")
    os: str = ""  # operating-system family ("Windows", "macOS", "Android", ...)


Emit = Callable[[Observation], None]  # where a reader sends what it saw
