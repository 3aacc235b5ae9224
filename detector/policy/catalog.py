"""The service catalog (rules/services.yaml): which domains belong to which service.

Matching is on label boundaries only: ``dropbox.com`` matches ``dropbox.com``
and ``dl.dropbox.com``, never ``notdropbox.com``. The longest listed suffix
wins, so ``onedrive.live.com`` can be personal OneDrive while ``live.com``
is webmail. A ``shared_domains`` entry (a vendor's umbrella domain, a host
several services use) matches like any other, but the match says
``shared``: it attributes the service only together with another signal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from detector.data import rules_file
from detector.findings.filesharing import SERVICE_RISKS
from detector.policy.model import Mark
from detector.policy.yamlsrc import YamlFileError, YList, YMap, load_bytes, read_file

CATEGORIES = ("cloud-storage", "file-transfer", "paste", "webmail", "messaging", "remote-access", "p2p",
              "genai", "productivity", "vpn-proxy", "collaboration", "social")
PORT_SPEC = re.compile(r"^(tcp|udp)/(\d{1,5})(?:-(\d{1,5}))?$")
DOMAIN = re.compile(r"^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
MAX_HOST = 255
MAX_TENANT = 63
MAX_MATCHES = 8192  # remembered host answers; the memo starts over when full (hostile traffic: random names)


class CatalogError(Exception):
    pass


@dataclass(frozen=True)
class Service:
    """One catalog entry: the domains, ports and signatures that name a service."""

    name: str
    category: str
    domains: tuple[str, ...]
    risk: str = "medium"
    vendor_url: str = ""
    ports: tuple[str, ...] = ()  # "udp/17500", "tcp/5938", ...
    tenant_pattern: Optional[str] = None  # regex with one group: the tenant in a host name
    description: str = ""
    signatures: tuple[str, ...] = ()  # protocol fingerprints decoders report by name ("lan-sync", ...)
    shared_domains: tuple[str, ...] = ()  # shared infrastructure: counts only together with another signal


@dataclass(frozen=True)  # one answer is handed to every caller that asks about the same host
class ServiceMatch:
    """The service a host name belongs to, with the suffix that matched and any tenant."""

    service: Service
    domain: str  # the catalog domain that matched
    tenant: Optional[str] = None
    shared: bool = False  # the domain is shared infrastructure: not proof of the service on its own


@dataclass
class Catalog:
    """Every service, indexed by domain suffix, name and protocol signature."""

    services: list[Service] = field(default_factory=list)
    by_domain: dict[str, Service] = field(default_factory=dict)
    by_name: dict[str, Service] = field(default_factory=dict)
    by_signature: dict[str, Service] = field(default_factory=dict)
    shared: set[str] = field(default_factory=set)  # domain keys listed under shared_domains
    path: str = ""
    # host -> answer: every DNS query, answer, SNI and Host header asks, mostly for the same few names
    _matches: dict[str, Optional[ServiceMatch]] = field(default_factory=dict, compare=False, repr=False)

    def add(self, service: Service) -> None:
        """Index a service; a name or domain listed twice is an error, not a silent override."""
        if service.name.lower() in self.by_name:
            raise CatalogError(f"service {service.name!r} listed twice")
        for domain in service.domains + service.shared_domains:
            key = domain.lower().lstrip(".").rstrip(".")
            owner = self.by_domain.get(key)
            if owner is not None:
                raise CatalogError(f"domain {key!r} listed for {owner.name!r} and {service.name!r}")
            self.by_domain[key] = service
            if domain in service.shared_domains:
                self.shared.add(key)
        self.services.append(service)
        self.by_name[service.name.lower()] = service
        self._matches.clear()
        for signature in service.signatures:
            self.by_signature.setdefault(signature, service)

    def match(self, host: str) -> Optional[ServiceMatch]:
        """The service owning ``host`` (longest label-boundary suffix), if any."""
        try:
            return self._matches[host]
        except KeyError:
            pass
        if len(self._matches) >= MAX_MATCHES:
            self._matches.clear()
        found = self._matches[host] = self._match(host)
        return found

    def _match(self, host: str) -> Optional[ServiceMatch]:
        host = host.lower().rstrip(".")
        labels = host.split(".")
        for start in range(len(labels)):
            suffix = ".".join(labels[start:])
            service = self.by_domain.get(suffix)
            if service is not None:
                return ServiceMatch(service, suffix, _tenant(service, host), shared=suffix in self.shared)
        return None

    def named(self, name: str) -> Optional[Service]:
        return self.by_name.get(name.lower())

    def signed(self, signature: str) -> Optional[Service]:
        """The service a protocol signature ("lan-sync", "bittorrent-dht", ...) belongs to."""
        return self.by_signature.get(signature)


def _tenant(service: Service, host: str) -> Optional[str]:
    if not service.tenant_pattern:
        return None
    match = re.search(service.tenant_pattern, host[:MAX_HOST])
    return match.group(1)[:MAX_TENANT] if match and match.group(1) else None


def default_catalog_path() -> Path:
    return rules_file("services.yaml")


def load_catalog(path: Optional[Path] = None) -> Catalog:
    """Load and check the catalog; every error names ``file:line:col`` and the entry."""
    global _LAST_CHECKED
    path = path or default_catalog_path()
    try:
        data = read_file(path)
        catalog = Catalog(path=str(path))
        if _LAST_CHECKED is not None and _LAST_CHECKED[0] == str(path) and _LAST_CHECKED[1] == data:
            for service in _LAST_CHECKED[2]:
                catalog.add(service)
            return catalog
        parsed = load_bytes(data, str(path))
    except YamlFileError as exc:
        raise CatalogError(str(exc)) from exc
    entries = parsed.get("services") if isinstance(parsed, YMap) else None
    if not isinstance(entries, YList):
        where = parsed.value_mark("services") if isinstance(parsed, YMap) and "services" in parsed \
            else getattr(parsed, "mark", Mark(str(path), 1, 1))
        raise CatalogError(str(where.error("expected a mapping with a 'services:' list")))
    for index, entry in enumerate(entries):
        where = entries.item_mark(index)
        service = _service(entry, where, f"service #{index + 1}")
        try:
            catalog.add(service)
        except CatalogError as exc:
            raise CatalogError(str(where.error(str(exc)))) from exc
    _LAST_CHECKED = (str(path), data, tuple(catalog.services))
    return catalog


# The services of the last catalog file loaded and checked, with its bytes: a scan loads the catalog
# twice (rule vocabularies, then the scan). Service is frozen, so sharing the checked entries changes
# nothing, and every caller still gets a Catalog of its own.
_LAST_CHECKED: Optional[tuple[str, bytes, tuple[Service, ...]]] = None


def _fail(mark: Mark, message: str) -> CatalogError:
    return CatalogError(str(mark.error(message)))


def _check_lists(entry: YMap, what: str) -> None:
    for key in ("domains", "shared_domains"):
        items = entry.get(key) or ()
        for index, domain in enumerate(items):
            if not DOMAIN.match(str(domain).lower()):
                raise _fail(_item_mark(entry, key, index), f"{what}: bad domain {domain!r}")
    for index, spec in enumerate(entry.get("ports") or ()):
        match = PORT_SPEC.match(str(spec))
        if not match or not all(0 < int(p) < 65536 for p in match.groups()[1:] if p):
            raise _fail(_item_mark(entry, "ports", index), f"{what}: bad port {spec!r} (want tcp/N or udp/N-M)")
    if not str(entry.get("vendor_url", "")).startswith("https://"):
        raise _fail(entry.value_mark("vendor_url"), f"{what}: vendor_url must be an https:// URL")


def _item_mark(entry: YMap, key: str, index: int) -> Mark:
    """Where item ``index`` of the list under ``key`` is written (the key's value when not a list)."""
    items = entry.get(key)
    return items.item_mark(index) if isinstance(items, YList) else entry.value_mark(key)


def _service(entry: object, mark: Mark, where: str) -> Service:
    if not isinstance(entry, YMap) or not entry.get("name") or not entry.get("domains") and not entry.get("ports"):
        raise _fail(mark, f"{where}: needs name and domains or ports")
    what = f"{where} ({entry.get('name')})"
    category = entry.get("category", "")
    if category not in CATEGORIES:
        raise _fail(entry.value_mark("category"), f"{what}: unknown category {category!r}")
    risk = entry.get("risk", "medium")
    if risk not in SERVICE_RISKS:
        raise _fail(entry.value_mark("risk"), f"{what}: unknown risk {risk!r}")
    _check_lists(entry, what)
    pattern = entry.get("tenant_pattern")
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _fail(entry.value_mark("tenant_pattern"), f"{what}: bad tenant_pattern: {exc}") from exc
    return Service(
        name=str(entry["name"]),
        category=category,
        domains=tuple(str(d).lower() for d in entry.get("domains") or ()),
        risk=risk,
        vendor_url=str(entry.get("vendor_url", "")),
        ports=tuple(str(p) for p in entry.get("ports") or ()),
        tenant_pattern=pattern,
        description=str(entry.get("description", "")),
        signatures=tuple(str(s) for s in entry.get("signatures") or ()),
        shared_domains=tuple(str(d).lower() for d in entry.get("shared_domains") or ()),
    )
