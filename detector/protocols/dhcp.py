"""DHCP client requests (RFC 2131/2132) on UDP 67/68: the LAN-side footprint of a Wi-Fi outage.

When the Wi-Fi comes back, every client that lost it asks for its address again
(DISCOVER, or REQUEST with no client address: INIT-REBOOT / SELECTING) within
seconds. Renewals from a bound lease (REQUEST with ``ciaddr`` set) are marked
so the detector can ignore them.

Who the client is: option 12 (host name), option 81 (client FQDN, RFC 4702)
and option 60 (vendor class: "MSFT 5.0", "android-dhcp-13") become a
HostIdentity for the client's MAC and, when known, its address (ciaddr or the
requested address, option 50); the server's ACK binds the MAC to the address
it handed out.
"""

from __future__ import annotations

import socket

from detector.observations import DhcpClientRequest, Emit, HostIdentity
from detector.protocols.base import Datagram, DatagramDecoder

BOOTREQUEST = 1
MAGIC = b"\x63\x82\x53\x63"
OPTIONS_AT = 240
MESSAGES = {1: "discover", 3: "request"}
OPT_PAD, OPT_HOSTNAME, OPT_MESSAGE_TYPE, OPT_END = 0, 12, 53, 255
OPT_REQUESTED_ADDRESS, OPT_VENDOR_CLASS, OPT_CLIENT_FQDN = 50, 60, 81
BOOTREPLY, DHCPACK = 2, 5
FQDN_ENCODED = 0x04  # RFC 4702 "E" flag: the name is in DNS wire format
# vendor-class prefixes -> operating-system family
VENDOR_CLASS_OS = (("msft", "Windows"), ("android-dhcp", "Android"), ("dhcpcd", "Linux"), ("udhcp", "Linux"),
                   ("ubnt", "Ubiquiti"), ("cisco", "Cisco"), ("aastra", "Aastra"), ("polycom", "Polycom"),
                   ("yealink", "Yealink"), ("hp", "HP"), ("linux", "Linux"))
MAX_OPTION_BYTES = 1500


def dhcp_options(payload: bytes) -> dict[int, bytes]:
    """Option code -> value, first occurrence wins; a bounded, defensive TLV walk."""
    options: dict[int, bytes] = {}
    pos, end = OPTIONS_AT, min(len(payload), OPTIONS_AT + MAX_OPTION_BYTES)
    while pos < end:
        code = payload[pos]
        if code == OPT_PAD:
            pos += 1
            continue
        if code == OPT_END or pos + 1 >= end:
            break
        size = payload[pos + 1]
        options.setdefault(code, payload[pos + 2:pos + 2 + size])
        pos += 2 + size
    return options


def fqdn_name(value: bytes) -> str:
    """Option 81: flags, two obsolete RCODE bytes, then the name (ASCII or DNS labels)."""
    if len(value) < 4:
        return ""
    raw = value[3:]
    if value[0] & FQDN_ENCODED:
        labels, pos = [], 0
        while pos < len(raw) and raw[pos] and len(labels) < 32:
            size = raw[pos]
            labels.append(raw[pos + 1:pos + 1 + size].decode("utf-8", "replace"))
            pos += 1 + size
        return ".".join(labels)[:255]
    return raw.decode("utf-8", "replace").rstrip("\x00.")[:255]


def vendor_os(vendor_class: str) -> str:
    lowered = vendor_class.lower()
    return next((family for prefix, family in VENDOR_CLASS_OS if lowered.startswith(prefix)), "")


def _clean(raw: bytes, limit: int = 64) -> str:
    return "".join(c for c in raw[:limit].decode("utf-8", "replace") if c.isprintable()).strip()


def client_identity(payload: bytes, options: dict[int, bytes], mac: str, ts: float, where: str
                    ) -> HostIdentity | None:
    """The names a DHCP client gave for itself, with its address when the message says it."""
    hostname = _clean(options.get(OPT_HOSTNAME, b""))
    fqdn = fqdn_name(options.get(OPT_CLIENT_FQDN, b""))
    vendor_class = _clean(options.get(OPT_VENDOR_CLASS, b""))
    if not (hostname or fqdn or vendor_class):
        return None
    requested = options.get(OPT_REQUESTED_ADDRESS, b"")
    address = payload[12:16] if payload[12:16] != b"\x00\x00\x00\x00" else requested if len(requested) == 4 else b""
    host = hostname or fqdn.split(".")[0]
    domain = fqdn.partition(".")[2] if fqdn and "." in fqdn else ""
    return HostIdentity(ts, where, socket.inet_ntoa(address) if address else "", mac, host[:64], "", domain[:255],
                        "dhcp", vendor_class, vendor_os(vendor_class))


class DhcpDecoder(DatagramDecoder):
    name = "dhcp"
    udp_ports = frozenset({67, 68})

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        payload = dgram.payload
        if len(payload) < OPTIONS_AT or payload[0] not in (BOOTREQUEST, BOOTREPLY) or payload[236:240] != MAGIC:
            return
        hlen = min(payload[2], 16) or 6
        options = dhcp_options(payload)
        kind = options.get(OPT_MESSAGE_TYPE, b"")
        client = ":".join(f"{b:02x}" for b in payload[28:28 + hlen])
        if payload[0] == BOOTREPLY:
            if kind[:1] == bytes([DHCPACK]) and payload[16:20] != b"\x00\x00\x00\x00" and hlen == 6:
                emit(HostIdentity(dgram.ts, dgram.where, socket.inet_ntoa(payload[16:20]), client,
                                  _clean(options.get(OPT_HOSTNAME, b"")), source="dhcp"))
            return
        message = MESSAGES.get(kind[0]) if kind else None
        if message is None:
            if kind[:1] == b"\x08":  # DHCPINFORM from a configured host still names itself
                found = client_identity(payload, options, client, dgram.ts, dgram.where)
                if found is not None:
                    emit(found)
            return
        bound = payload[12:16] != b"\x00\x00\x00\x00"
        hostname = options.get(OPT_HOSTNAME, b"")[:64].decode("utf-8", "replace")
        emit(DhcpClientRequest(dgram.ts, dgram.where, client, message, not bound, hostname))
        if hlen == 6:
            found = client_identity(payload, options, client, dgram.ts, dgram.where)
            if found is not None:
                emit(found)
