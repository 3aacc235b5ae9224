"""Who is behind an address: host names, user names, MAC, vendor and OS gathered from the wire and logs.

A consultant has to tell the client *who* sent a password or uploaded files:
"LAPTOP-ANNA (anna@CORP)", not "10.0.0.23". Decoders emit ``HostIdentity``
observations (DHCP, NetBIOS, LLMNR, mDNS, Kerberos, NTLMSSP, LDAP binds,
User-Agent, server logs); the ``Directory`` keeps, per address and per MAC,
the names with the first evidence for each, bounded in size.

It is fed by a detector (``detectors/identity.py``) so it sees every
observation through the same router, yet it produces no findings of its own:
the scan asks it afterwards to ``describe`` the addresses findings mention and
to list the ``devices`` section of the JSON contract.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from detector.detectors import oui
from detector.observations import HostIdentity
from detector.site.names import HOST_PREFIX, NameDirectory, family

MAX_DEVICES = 65536
MAX_NAMES = 16  # per device and kind of name
MAX_TEXT = 128

# how much a kind of host name is trusted for the display label, best first
HOST_KINDS = ("dhcp", "netbios", "workstation", "kerberos", "llmnr", "mdns", "authlog")
# how much a source of a user name is trusted, best first
USER_SOURCES = ("kerberos", "ntlmssp-smb", "ntlmssp-http", "ldap-bind", "authlog")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


def clean(value: str) -> str:
    """Wire text made safe to keep: no control characters, bounded, trimmed."""
    return _UNPRINTABLE.sub("", value or "").strip()[:MAX_TEXT]


def mac_text(mac: str) -> str:
    mac = mac.strip().lower().replace("-", ":")
    return "" if mac in ("", "00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff") else mac


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class NameSeen:
    """A host name a device was seen using, with the protocol that said so."""

    name: str
    kind: str  # "dhcp", "netbios", "llmnr", "mdns", "workstation", "kerberos", ...
    source: str  # the protocol or log that said so
    where: str  # first evidence
    count: int = 1

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # every field, in declaration order


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class UserSeen:
    """A user name seen for a device (Kerberos, SMB, logs)."""

    user: str
    domain: str
    source: str
    where: str
    count: int = 1

    @property
    def label(self) -> str:
        return f"{self.user}@{self.domain}" if self.domain else self.user

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class Fact:
    """A value and where it was first seen."""

    value: str
    where: str


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class DeviceRecord:
    """Everything known about one address (or one MAC before its address is known)."""

    address: str = ""
    mac: Optional[Fact] = None
    names: dict[tuple[str, str], NameSeen] = field(default_factory=dict)
    users: dict[tuple[str, str], UserSeen] = field(default_factory=dict)
    os: Optional[Fact] = None
    vendor_class: Optional[Fact] = None
    domain: Optional[Fact] = None  # workgroup / Windows domain / DNS domain the device says it is in

    def add_name(self, name: str, kind: str, source: str, where: str) -> None:
        key = (name.lower(), kind)
        seen = self.names.get(key)
        if seen is not None:
            seen.count += 1
        elif sum(1 for k in self.names if k[1] == kind) < MAX_NAMES:
            self.names[key] = NameSeen(name, kind, source, where)

    def add_user(self, user: str, domain: str, source: str, where: str) -> None:
        key = (user.lower(), domain.upper())
        seen = self.users.get(key)
        if seen is not None:
            seen.count += 1
        elif len(self.users) < MAX_NAMES:
            self.users[key] = UserSeen(user, domain.upper(), source, where)


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class DeviceInfo:
    """How a finding should show one address."""

    address: str
    label: str  # "LAPTOP-ANNA (anna@CORP)", "LAPTOP-ANNA", "anna@CORP"; the address when nothing is known
    hostname: str = ""
    user: str = ""  # "anna@CORP"
    mac: str = ""
    vendor: str = ""
    os: str = ""
    domain: str = ""

    @property
    def display(self) -> str:
        """IP plus best names: "10.0.0.23 LAPTOP-ANNA (anna@CORP)"."""
        return self.address if self.label == self.address else f"{self.address} {self.label}"

    def as_dict(self) -> dict[str, Any]:
        return {"address": self.address, "label": self.label, "hostname": self.hostname, "user": self.user,
                "mac": self.mac, "vendor": self.vendor, "os": self.os, "domain": self.domain}


class Directory:
    """Bounded address -> identity table; when full, new devices are not added (first seen are kept)."""

    def __init__(self, max_devices: int = MAX_DEVICES):
        self.by_address: dict[str, DeviceRecord] = {}
        self.by_mac: dict[str, DeviceRecord] = {}  # evidence that named a MAC but no address (DHCP DISCOVER)
        self.max_devices = max_devices

    # ------------------------------------------------------------ feeding

    def add(self, obs: HostIdentity) -> None:
        address, mac = clean(obs.address), mac_text(obs.mac)
        record = self._record(address, mac, obs.where)
        if record is None:
            return
        source = clean(obs.source) or "unknown"
        if obs.hostname:
            record.add_name(clean(obs.hostname), name_kind(source), source, obs.where)
        if obs.username:
            record.add_user(clean(obs.username), clean(obs.domain), source, obs.where)
        if obs.os:
            os_name = clean(obs.os)
            if record.os is None or (os_name.startswith(record.os.value) and len(os_name) > len(record.os.value)):
                record.os = Fact(os_name, obs.where)  # "Windows 10/11" refines "Windows"
        if obs.domain and not obs.username and record.domain is None:
            record.domain = Fact(clean(obs.domain), obs.where)
        if obs.vendor_class and record.vendor_class is None:
            record.vendor_class = Fact(clean(obs.vendor_class), obs.where)

    def recall(self, address: str, names: NameDirectory, start: float, end: float) -> None:
        """Host and user names the site's directory held for ``address`` between ``start`` and ``end`` (learned
        by an earlier run, or earlier in this one), for an address this run's own evidence does not name."""
        known = self.by_address.get(address)
        if known is not None and (known.names or known.users):
            return  # what this run saw wins; the directory's windows are not even computed
        for sighting in names.names_during(address, start, end):
            prefix = family(sighting.name)
            if not prefix:
                continue
            record = self._record(address, "", sighting.where)
            if record is None:
                return
            value = sighting.name[len(prefix):]
            if prefix == HOST_PREFIX:
                record.add_name(value, name_kind(sighting.source), sighting.source, sighting.where)
            else:
                user, _, domain = value.partition("@")
                if user:
                    record.add_user(user, domain, sighting.source, sighting.where)

    def see_mac(self, address: str, mac: str, where: str) -> None:
        """An address was seen with this hardware address (ARP, DHCP ACK, Ethernet header)."""
        self._record(clean(address), mac_text(mac), where)

    def _record(self, address: str, mac: str, where: str) -> Optional[DeviceRecord]:
        if address in ("", "0.0.0.0", "::"):
            if not mac:
                return None
            return self._get(self.by_mac, mac, "", where, mac)
        record = self._get(self.by_address, address, address, where, mac)
        if record is not None and mac and record.mac is None:
            record.mac = Fact(mac, where)
        return record

    def _get(self, table: dict[str, DeviceRecord], key: str, address: str, where: str,
             mac: str) -> Optional[DeviceRecord]:
        record = table.get(key)
        if record is None:
            if len(self.by_address) + len(self.by_mac) >= self.max_devices:
                return None
            record = table[key] = DeviceRecord(address, Fact(mac, where) if mac else None)
        return record

    # ------------------------------------------------------------ asking

    def _merged(self, address: str) -> Optional[DeviceRecord]:
        """The address's record with what was learnt about its MAC before the address was known."""
        record = self.by_address.get(address)
        if record is None:
            return None
        by_mac = self.by_mac.get(record.mac.value) if record.mac else None
        if by_mac is None:
            return record
        merged = DeviceRecord(address, record.mac, dict(by_mac.names), dict(by_mac.users),
                              record.os or by_mac.os, record.vendor_class or by_mac.vendor_class,
                              record.domain or by_mac.domain)
        for key, seen in record.names.items():
            merged.names.setdefault(key, seen)
        for key, user in record.users.items():
            merged.users.setdefault(key, user)
        return merged

    def describe(self, address: str) -> DeviceInfo:
        record = self._merged(address)
        if record is None:
            return DeviceInfo(address, address)
        host = best_host(record.names.values())
        user = best_user(record.users.values())
        mac = record.mac.value if record.mac else ""
        user_label = user_labels(record.users.values()).get(user_key(user), "") if user else ""
        label = f"{host} ({user_label})" if host and user_label else host or user_label or address
        return DeviceInfo(address, label, host, user_label, mac, oui.vendor(mac) if mac else "",
                          record.os.value if record.os else "", record.domain.value if record.domain else "")

    def label(self, address: str) -> str:
        return self.describe(address).label

    def display(self, addresses: Iterable[str]) -> list[str]:
        """Finding hosts as "10.0.0.23 LAPTOP-ANNA (anna@CORP)" (the bare address when nothing is known)."""
        return [self.describe(address).display for address in addresses]

    def people(self, addresses: Iterable[str]) -> tuple[int, list[str]]:
        """(device count, user names) behind these addresses: one device per MAC when the MAC is known."""
        devices: set[str] = set()
        users: set[str] = set()
        for address in addresses:
            record = self._merged(address)
            devices.add(f"mac {record.mac.value}" if record and record.mac else f"ip {address}")
            if record:
                users.update(user_labels(record.users.values()).values())
        return len(devices), sorted(users, key=str.lower)

    def devices(self, addresses: Optional[Iterable[str]] = None) -> list[dict[str, Any]]:
        """The JSON ``devices`` section: every address with a name, user or MAC (or only ``addresses``)."""
        wanted = sorted(self.by_address) if addresses is None else sorted(set(addresses))
        out = []
        for address in wanted:
            record = self._merged(address)
            if record is None or not (record.names or record.users or record.mac):
                continue
            info = self.describe(address)
            out.append({
                "address": address,
                "label": info.label,
                "mac": info.mac,
                "vendor": info.vendor,
                "os": info.os,
                "vendor_class": record.vendor_class.value if record.vendor_class else "",
                "domain": info.domain,
                "names": [n.as_dict() for n in _ranked_names(record.names.values())],
                "users": [u.as_dict() for u in _ranked_users(record.users.values())],
                "mac_where": record.mac.where if record.mac else "",
            })
        return out

    def __len__(self) -> int:
        return len(self.by_address)


def _ranked_names(names: Iterable[NameSeen]) -> list[NameSeen]:
    def rank(seen: NameSeen) -> tuple:
        kind = HOST_KINDS.index(seen.kind) if seen.kind in HOST_KINDS else len(HOST_KINDS)
        return kind, -seen.count, seen.name.lower()
    return sorted(names, key=rank)


def _ranked_users(users: Iterable[UserSeen]) -> list[UserSeen]:
    def rank(seen: UserSeen) -> tuple:
        base = canonical_source(seen.source)
        base = "ntlmssp-smb" if base == "ntlmssp" else base
        source = USER_SOURCES.index(base) if base in USER_SOURCES else len(USER_SOURCES)
        machine = seen.user.endswith("$")  # a computer account authenticating is not a person
        return machine, source, -seen.count, seen.user.lower()
    return sorted(users, key=rank)


# what other sensors call the same evidence (Zeek and Suricata logs read by wt-zeek's decoders)
SOURCE_ALIASES = {"krb5": "kerberos", "ntlm": "ntlmssp", "smb": "ntlmssp-smb", "ldap": "ldap-bind",
                  "nbns": "netbios", "dns": "mdns"}


def canonical_source(source: str) -> str:
    """"zeek:kerberos" -> "kerberos", "suricata:krb5" -> "kerberos", "zeek:ntlm" -> "ntlmssp"."""
    base = source.rsplit(":", 1)[-1]
    return SOURCE_ALIASES.get(base, base)


def name_kind(source: str) -> str:
    base = canonical_source(source)
    if base.startswith("ntlmssp"):
        return "workstation"
    return base


def user_key(user: UserSeen) -> tuple[str, str]:
    """One person whatever form the domain took: anna@CORP (NTLM) and anna@CORP.EXAMPLE (Kerberos realm)."""
    return user.user.lower(), user.domain.split(".")[0].upper()


def user_labels(users: Iterable[UserSeen]) -> dict[tuple[str, str], str]:
    """user_key -> display label, the shortest domain form (the NetBIOS domain people know) winning."""
    labels: dict[tuple[str, str], str] = {}
    for user in users:
        key = user_key(user)
        if key not in labels or len(user.label) < len(labels[key]):
            labels[key] = user.label
    return labels


def best_host(names: Iterable[NameSeen]) -> str:
    ranked = _ranked_names(names)
    if not ranked:
        return ""
    name = ranked[0].name
    return name[:-6] if name.lower().endswith(".local") else name


def best_user(users: Iterable[UserSeen]) -> Optional[UserSeen]:
    ranked = [u for u in _ranked_users(users) if not u.user.endswith("$")]
    return ranked[0] if ranked else None
