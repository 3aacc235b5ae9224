"""Attributes of file-sharing findings, one frozen class per kind (see detector.findings.attributes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from detector.findings.attributes import Attributes, attribute
from detector.findings.finding import CATEGORY_FILE_SHARING

SERVICE_CATEGORIES = ("cloud-storage", "file-transfer", "paste", "webmail", "messaging", "remote-access", "p2p",
                      "genai", "productivity", "vpn-proxy", "collaboration", "social")
SERVICE_RISKS = ("low", "medium", "high")

# The "service" of a file moved outside any catalog service: the channel it took.
CHANNEL_SERVICES = {"ftp-stor": "FTP", "ftp-retr": "FTP", "tftp-wrq": "TFTP", "tftp-rrq": "TFTP",
                    "smtp-attachment": "E-mail attachment", "mail-log": "E-mail attachment"}


@dataclass(frozen=True, kw_only=True)
class FileSharingAttributes(Attributes):
    """What every file-sharing finding says: which service, and how much left the site (not a kind itself)."""

    category = CATEGORY_FILE_SHARING

    service: str = attribute("catalog service name (`rules/services.yaml`), or the channel for a file moved by "
                             "FTP, TFTP or mail", label="Service", default="")
    service_category: str = attribute("one of " + ", ".join(f"`{c}`" for c in SERVICE_CATEGORIES),
                                      label="Service category", default="", choices=SERVICE_CATEGORIES)
    bytes_up: Optional[int] = attribute("bytes sent to the service by the site's devices", label="Uploaded",
                                        when="null when unknown")
    bytes_down: Optional[int] = attribute("bytes received from the service", label="Downloaded",
                                          when="null when unknown")


@dataclass(frozen=True, kw_only=True)
class ServiceUseAttributes(FileSharingAttributes):
    detector = "filesharing.service"
    summary = "one finding per service and tenant"
    carries_users = True

    domains: list[str] = attribute("host names seen for the service", label="Domains", factory=list)
    methods: list[str] = attribute("how it was identified: `dns`, `dns-cname`, `dns-answer-ip`, `tls-sni`, "
                                   "`quic-sni`, `tls-cert`, `http-host`, `bittorrent`, `lan-sync`, `signature`, "
                                   "`heuristic`, `ip-range`, `stun-realm`, `ids-alert`, `software`, `proxy-log`, "
                                   "`firewall-log`", label="Seen via", factory=list)
    identified_by: str = attribute("the strongest evidence: `name` > `signature` > `ip-range`",
                                   label="Identified by", default="name", choices=("name", "signature", "ip-range"))
    confidence: str = attribute("`high` (a name the client connected with, or an exact protocol signature), "
                                "`medium` (a DNS lookup only, a heuristic signature, or a range plus another "
                                "method), `low` (an address range alone), as nDPI separates DPI, partial and "
                                "match-by-IP", label="Confidence", default="high",
                          choices=("high", "medium", "low"))
    connections: int = attribute("connections (metered flows, or hellos/requests/log lines)", label="Connections",
                                 default=0)
    upload_requests: int = attribute("HTTP POST/PUT/PATCH requests to the service", label="Upload requests",
                                     default=0)
    dns_only: bool = attribute("only DNS lookups were seen (no connection)", label="DNS only", default=False)
    devices: int = attribute("client devices (addresses in `hosts`) that used the service", label="Devices",
                             default=0)
    users: list[str] = attribute("people behind those devices (Kerberos, NTLM, LDAP, DHCP, logs)", label="Users",
                                 factory=list)
    processes: list[str] = attribute("program names that proxy logs gave (never counted as devices)",
                                     label="Programs", factory=list)
    risk: str = attribute("the catalog's default risk of the service (`low`, `medium`, `high`)",
                          label="Service risk", default="", choices=SERVICE_RISKS)
    vendor_url: str = attribute("the vendor's site", label="Vendor site", default="")
    tenant: Optional[str] = attribute("the organisation's tenant (e.g. the SharePoint tenant)", label="Tenant",
                                      when="null when the service has no tenants or none was seen")
    per_host: list[dict[str, Any]] = attribute(
        "`[{host, bytes_up, bytes_down, connections, upload_requests, first_seen, last_seen}]`, measured per "
        "device", label="Per device", factory=list, structured=True)


@dataclass(frozen=True, kw_only=True)
class FileMovedAttributes(FileSharingAttributes):
    detector = "filesharing.attachment"
    summary = "one finding per file moved by FTP, TFTP or mail instead of a sanctioned share"

    protocol: str = attribute("`ftp-stor`, `ftp-retr`, `tftp-wrq`, `tftp-rrq`, `smtp-attachment`, `mail-log`",
                              label="Channel", default="", choices=tuple(CHANNEL_SERVICES))
    filename: str = attribute("file name", label="File", default="")
    size: Optional[int] = attribute("file size in bytes", label="File size", when="null when unknown")
    direction: str = attribute("`up` (left the client) or `down`", label="Direction", default="",
                               choices=("up", "down"))
    sender: str = attribute("mail sender", label="Sender", default="")
    recipients: list[str] = attribute("mail recipients", label="Recipients", factory=list)
    client: str = attribute("client device (address)", label="Client", default="")
    server: str = attribute("server address", label="Server", default="")
    external: Optional[bool] = attribute("the file left the company (a public server or another mail domain)",
                                         label="Left the company", when="null when it cannot be told")
    personal_recipients: list[str] = attribute("recipients at personal mail providers (mail logs)",
                                               label="Personal recipients", factory=list)
    mime_type: str = attribute("the attachment's MIME type, when the source gives it (Zeek files.log, EVE)",
                               label="MIME type", default="")


KINDS = (ServiceUseAttributes, FileMovedAttributes)
