"""Typed values that travel between pipeline stages.

sources -> decoders produce Observations; detectors turn them into Findings;
rules classify Findings; store and reports consume a ScanResult.
Every type here is a plain dataclass so stages can be tested in isolation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

SEVERITIES = ("info", "low", "medium", "high", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}

CATEGORY_FILE_SHARING = "file-sharing"
CATEGORY_CREDENTIALS = "plaintext-credentials"
CATEGORY_WIFI = "wifi-drops"
CATEGORY_WIFI_ATTACK = "wifi-attack"


_ISO_SECONDS: dict[int, str] = {}  # whole second -> text: evidence of one capture shares few seconds


def iso(ts: Optional[float]) -> Optional[str]:
    """ISO-8601 UTC text for a POSIX timestamp (None, and a time no calendar can show, give None)."""
    if ts is None:
        return None
    second = int(ts) if TS_MIN <= ts < TS_MAX else None  # the text shows whole seconds: the floor of ts...
    if second is not None and ts - second >= 0.999999:
        second = None  # ...unless rounding to microseconds carries it into the next second
    if second is not None:
        text = _ISO_SECONDS.get(second)
        if text is not None:
            return text
    try:
        text = datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):  # hostile input: year 10000, NaN, 2**70
        return None
    if second is not None:
        if len(_ISO_SECONDS) >= 4096:
            _ISO_SECONDS.clear()
        _ISO_SECONDS[second] = text
    return text


TS_MIN = 0.0  # 1970-01-01T00:00:00Z
TS_MAX = 4102444800.0  # 2100-01-01T00:00:00Z


def plausible_ts(ts: Any) -> bool:
    """Whether a time read from input lies in 1970..2100; others are dropped with a warning where they enter."""
    return isinstance(ts, (int, float)) and TS_MIN <= ts < TS_MAX


# ---------------------------------------------------------------- secrets


@dataclass(frozen=True)
class Secret:
    """A password as the rest of the pipeline may see it: never the clear text.

    Built only by ``detector.secrets.protect`` (or ``protect_missing`` when a log
    hid the password); the clear value is dropped there.
    """

    mask: str
    fingerprint: str
    length: int
    weak: bool = False
    default: bool = False
    captured: bool = True  # False: the log proves a login but never held the secret (see protect_missing)

    def __str__(self) -> str:  # defensive: formatting a Secret never leaks
        return self.mask

    __repr__ = __str__


# ---------------------------------------------------------------- observations


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


@dataclass
class TlsClientHello(Observation):
    """A TLS ClientHello: the server name a client asked for in the clear."""

    client: str
    server: str
    server_port: int
    sni: str
    transport: str = "tcp"  # "tcp" or "quic"


@dataclass
class TlsCertificate(Observation):
    """Names from a server certificate seen in the clear (TLS 1.2 and older)."""

    client: str
    server: str
    server_port: int
    names: tuple[str, ...]


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


# -- plaintext-credentials observations --


# -- file-sharing observations --


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


# -- wifi observations --


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


# ---------------------------------------------------------------- findings


@dataclass
class Evidence:
    """One line of proof behind a finding, shown in every output."""

    time: Optional[str]
    source: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"time": self.time, "source": self.source, "detail": self.detail}


@dataclass
class Finding:
    """What a detector concluded; rules fill the classification fields."""

    id: str
    detector: str
    category: str
    title: str
    first_seen: Optional[float]
    last_seen: Optional[float]
    count: int
    hosts: list[str]
    attributes: dict[str, Any]
    evidence: list[Evidence] = field(default_factory=list)
    # classification, set by rules
    rule: str = ""
    severity: str = "info"
    sanctioned: bool = False
    compliance: list[str] = field(default_factory=list)
    remediation: str = ""
    tags: list[str] = field(default_factory=list)
    risk: float = 0.0  # computed once at the end of the scan (detector.risk) and stored
    exception: Optional[dict[str, Any]] = None  # the allow rule that sanctions it: {rule, reason, owner, expires}
    inputs: list[str] = field(default_factory=list)  # input files (or interfaces) that hold its evidence
    host_names: dict[str, str] = field(default_factory=dict)  # address -> "LAPTOP-ANNA (anna@CORP)" when known

    def __post_init__(self) -> None:
        from .schema import typed  # the registry imports the detectors' declarations

        self.attributes = typed(self.detector, self.attributes)

    def as_dict(self) -> dict[str, Any]:
        attributes = self.attributes.as_dict() if hasattr(self.attributes, "as_dict") else dict(self.attributes)
        return {
            "id": self.id,
            "rule": self.rule,
            "category": self.category,
            "severity": self.severity,
            "sanctioned": self.sanctioned,
            "title": self.title,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "count": self.count,
            "hosts": list(self.hosts),
            "attributes": attributes,
            "evidence": [e.as_dict() for e in self.evidence],
            "compliance": list(self.compliance),
            "remediation": self.remediation,
            "detector": self.detector,
            "risk": self.risk,
            "exception": dict(self.exception) if self.exception else None,
            "inputs": list(self.inputs),
            "host_names": dict(self.host_names),
        }


@dataclass
class InputRecord:
    """What one input was and what reading it gave: recorded with every scan."""

    path: str
    sha256: str
    bytes: int
    kind: str  # "pcap", "pcapng", "log:hostapd", ...
    records: int = 0
    warnings: list[str] = field(default_factory=list)
    first_ts: Optional[float] = None
    last_ts: Optional[float] = None
    skipped: int = 0  # malformed lines/records counted and skipped

    @property
    def usable(self) -> bool:
        """Something was read from it: a skipped, empty or unreadable input does not count."""
        return self.records > 0 and self.kind not in ("unsupported", "unknown", "log:unknown")

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "kind": self.kind,
            "records": self.records,
            "warnings": list(self.warnings),
            "skipped": self.skipped,
            "first_seen": iso(self.first_ts),
            "last_seen": iso(self.last_ts),
        }


@dataclass
class ScanResult:
    """Everything one run produced; JSON, SQLite and HTML are all written from it."""

    started: float
    finished: Optional[float]
    tool_version: str
    rules_sha256: str
    inputs: list[InputRecord]
    findings: list[Finding]
    site: str = ""
    operator: str = ""
    scan_id: Optional[int] = None
    complete: bool = True
    hostname: str = ""  # the machine that scanned
    argv: str = ""  # the command line (shadowit takes no secrets as options)
    status: str = ""  # complete, incomplete or failed (nothing usable was read)
    risk: Any = None  # detector.risk.SiteRisk, computed once when the scan ends
    devices: list[dict[str, Any]] = field(default_factory=list)  # who is behind the findings' addresses

    def as_dict(self) -> dict[str, Any]:
        risk = self.risk.as_dict() if self.risk is not None and self.status != "failed" else None
        return {
            "schema": "shadowit.findings/1",
            "scan": {
                "started": iso(self.started),
                "finished": iso(self.finished),
                "tool_version": self.tool_version,
                "rules_sha256": self.rules_sha256,
                "site": self.site,
                "inputs": [i.as_dict() for i in self.inputs],
                "operator": self.operator,
                "hostname": self.hostname,
                "command_line": self.argv,
                "status": self.status or ("complete" if self.complete else "incomplete"),
                "risk": risk,
            },
            "findings": [f.as_dict() for f in self.findings],
            "devices": [dict(d) for d in self.devices],
        }


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
