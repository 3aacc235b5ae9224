"""File-sharing and shadow SaaS: which hosts used which service, by which route, moving how much.

Names come from DNS questions and CNAME chains, TLS SNI (TCP and QUIC), TLS
certificates, HTTP Host and log lines. Every address -> name pair goes into the
site's directory of names (detector/site/names.py), which earlier runs of the
site filled as well; once an address stands for a service's name, the fast path
meters its traffic. A metered flow belongs to the service whose name its server
stood for during the flow, looked up in the directory, so a name learned by an
earlier run, or later in the same input, still attributes it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Optional

from detector.bounded import RecentMap
from detector.detectors.base import Detector, DetectorContext, Tally, devices, finding_id
from detector.detectors.identification import UnnamedFlows, identification, looks_like_tor
from detector.findings.filesharing import CHANNEL_SERVICES, FileMovedAttributes, ServiceUseAttributes
from detector.findings.finding import Finding
from detector.observations import (
    DnsAlias,
    DnsQuery,
    FileTransfer,
    FlowVolume,
    HttpRequest,
    Observation,
    ServiceContact,
    TlsCertificate,
    TlsClientHello,
)
from detector.policy.catalog import ServiceMatch
from detector.site.names import IDENTITY_PREFIXES, LOOKUP_SOURCES, SERVICE_PREFIX, NameSighting
from detector.times import iso

MAX_WATCHED = 100_000  # servers this detector asks the scan to meter
MAX_PENDING_FLOWS = 20_000  # metered flows whose server had no service name yet: the name may still come
MAX_HOSTS_PER_SERVICE = 5_000
MAX_TRANSFERS = 10_000
MAX_SNI_FLOWS = 20_000  # recent TLS flows whose certificate may still come (it follows the hello within seconds)
UPLOAD_METHODS = ("POST", "PUT", "PATCH")
TRACKER_PATHS = ("/announce", "/scrape", "/announce.php")
DNS_ONLY_METHODS = {"dns", "dns-cname", "dns-log"}


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class HostUse:
    """One computer's use of one service: bytes, contacts, flows."""

    bytes_up: int = 0
    bytes_down: int = 0
    contacts: int = 0  # TLS hellos, HTTP requests, log lines naming the service
    flows: int = 0  # metered flows to the service's addresses
    metered: bool = False
    upload_requests: int = 0
    upload_bytes: int = 0  # HTTP request bodies (Content-Length) sent to the service
    first: Optional[float] = None
    last: Optional[float] = None

    @property
    def connections(self) -> int:
        return self.flows or self.contacts

    @property
    def up(self) -> Optional[int]:
        """Bytes sent: metered volume, or declared HTTP bodies when no flow was metered."""
        if not self.metered and not self.upload_bytes:
            return None
        return max(self.bytes_up, self.upload_bytes)

    def seen(self, ts: float) -> None:
        if not ts:
            return
        self.first = ts if self.first is None else min(self.first, ts)
        self.last = ts if self.last is None else max(self.last, ts)


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class ServiceUse:
    """Everything seen of one service, per computer."""

    match: ServiceMatch
    domains: set[str] = field(default_factory=set)
    methods: set[str] = field(default_factory=set)
    hosts: dict[str, HostUse] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)
    upload_requests: int = 0
    processes: set[str] = field(default_factory=set)
    corroborated: bool = False  # some evidence besides a shared-infrastructure name


def is_external(address: str) -> bool:
    """A public Internet address (not private, loopback, link-local or multicast)."""
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


def host_name(host: str) -> str:
    """An HTTP Host without its port ("files.example.com:8080" -> "files.example.com"; IPv6 literals stay)."""
    name, sep, port = host.rpartition(":")
    return name if sep and port.isdigit() and ":" not in name else host


def mail_domain(address: str) -> str:
    return address.rpartition("@")[2].strip().strip(">").lower()


class FileSharingDetector(Detector):
    name = "filesharing"
    consumes = (DnsQuery, DnsAlias, TlsClientHello, TlsCertificate, HttpRequest, ServiceContact, FlowVolume,
                FileTransfer)

    def __init__(self, ctx: DetectorContext):
        super().__init__(ctx)
        self.uses: dict[tuple[str, str], ServiceUse] = {}
        self.names = ctx.names
        self.watched: set[str] = set()
        self.pending: dict[str, list[FlowVolume]] = {}  # server -> flows no valid service name attributed yet
        self.pending_flows = 0
        self.sni_flows: RecentMap[tuple[str, str, int], str] = RecentMap(MAX_SNI_FLOWS)  # flow -> its SNI
        self.unnamed = UnnamedFlows()
        self.transfers: dict[tuple, Tally] = {}
        self.transfer_info: dict[tuple, FileTransfer] = {}

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, DnsQuery):
            self._dns(obs)
        elif isinstance(obs, DnsAlias):
            self._alias(obs)
        elif isinstance(obs, TlsClientHello):
            self._hello(obs)
        elif isinstance(obs, TlsCertificate):
            self._certificate(obs)
        elif isinstance(obs, HttpRequest):
            self._http(obs)
        elif isinstance(obs, ServiceContact):
            self._contact(obs)
        elif isinstance(obs, FlowVolume):
            self._volume(obs)
        elif isinstance(obs, FileTransfer):
            self._transfer(obs)

    # ------------------------------------------------------------ names

    def recall(self) -> None:
        """Servers earlier runs named after a service are metered from the first packet and log line."""
        for sighting in self.names.sightings():
            if self._service(sighting.name) is not None:
                self._watch(sighting.address)

    def _dns(self, obs: DnsQuery) -> None:
        for address in obs.answers:
            self._learn(address, obs.qname, obs, "dns", obs.ttl)
        self._named(obs.qname, obs.client, "dns", obs, f"DNS query {obs.qname} from {obs.client}")

    def _alias(self, obs: DnsAlias) -> None:
        """A name outside the catalog whose CNAME chain leads into a service domain."""
        if self.ctx.catalog.match(obs.name):
            return  # already attributed (and its answers learned) by its own name
        for target in obs.targets:
            match = self.ctx.catalog.match(target)
            if match is None:
                continue
            self._attribute(match, obs.name, obs.client, "dns-cname", obs, f"DNS {obs.name} is an alias of {target}")
            for address in obs.answers:
                self._learn(address, target, obs, "dns-cname")
            return

    def _hello(self, obs: TlsClientHello) -> None:
        method = "quic-sni" if obs.transport == "quic" else "tls-sni"
        self.sni_flows.put((obs.client, obs.server, obs.server_port), obs.sni)
        if not obs.sni:  # a hello without a name: the server's published range, if any (TLS 1.3 shows no more)
            self._by_range(obs.server, obs.client, obs, f"TLS without SNI to {obs.server}:{obs.server_port}")
            return
        self._learn(obs.server, obs.sni, obs, method)
        label = "QUIC" if obs.transport == "quic" else "TLS"
        use = self._named(obs.sni, obs.client, method, obs, f"{label} SNI {obs.sni} to {obs.server}:{obs.server_port}")
        if use is None:
            self._by_range(obs.server, obs.client, obs, f"{label} to {obs.server}:{obs.server_port} (SNI {obs.sni})")
        else:
            self._host(use, obs.client).contacts += 1

    def _certificate(self, obs: TlsCertificate) -> None:
        """Certificate names count only for flows without SNI, and only the leaf's first matching name.

        A client's own certificate names only its software (a product's CA), never the server's service.
        """
        if obs.from_client:
            self._product_certificate(obs)
            return
        sni = self.sni_flows.get((obs.client, obs.server, obs.server_port))
        if sni:
            if looks_like_tor(sni, obs.names):
                self._unnamed("Tor Project", "heuristic", obs.server, obs.client, obs,
                              f"Tor link TLS to {obs.server}:{obs.server_port}: SNI {sni}, certificate {obs.names[0]}")
            return
        for name in obs.names:
            bare = name[2:] if name.startswith("*.") else name
            match = self.ctx.catalog.match(bare)
            if match is None:
                continue
            use = self._attribute(match, bare, obs.client, "tls-cert", obs,
                                  f"TLS certificate for {name} from {obs.server}:{obs.server_port} (no SNI)")
            self._learn(obs.server, bare, obs, "tls-cert")
            self._host(use, obs.client).contacts += 1
            return
        if not self._product_certificate(obs) and sni is None:  # a hello without SNI was looked up already
            self._by_range(obs.server, obs.client, obs, f"TLS without SNI to {obs.server}:{obs.server_port}")

    def _product_certificate(self, obs: TlsCertificate) -> bool:
        """A certificate whose subject or issuer is a product's own name (AnyDesk, a VPN provider's CA)."""
        found = self.unnamed.by_certificate(obs.names, obs.issuer)
        if found is None:
            return False
        product, name = found
        whose = "client's" if obs.from_client else "server's"
        self._unnamed(product, "signature", obs.server, obs.client, obs,
                      f"TLS {whose} certificate {name!r} of {product}, {obs.client} -> {obs.server}:{obs.server_port}")
        return True

    def _by_range(self, server: str, client: str, obs: Observation, detail: str) -> None:
        """A server no catalog name identified, in a range one service owns."""
        found = self.unnamed.by_range(server)
        if found:
            self._unnamed(found[0], "ip-range", server, client, obs, f"{detail}: {found[1]}")

    def _unnamed(self, service_name: str, method: str, server: str, client: str, obs: Observation,
                 detail: str) -> None:
        service = self.ctx.catalog.named(service_name)
        if service is None:
            return
        use = self._attribute(ServiceMatch(service, ""), "", client, method, obs, detail)
        self._learn_service(server, use.match, obs, method)
        self._host(use, client).contacts += 1

    def _http(self, obs: HttpRequest) -> None:
        self._learn(obs.server, host_name(obs.host), obs, "http-host")
        if obs.uri.split("?", 1)[0].endswith(TRACKER_PATHS) and "info_hash=" in obs.uri:
            self._tracker(obs)
            return
        use = self._named(obs.host, obs.client, "http-host", obs, f"HTTP {obs.method} {obs.host}{obs.uri[:100]}")
        if use is None:
            return
        host = self._host(use, obs.client)
        host.contacts += 1
        if obs.method in UPLOAD_METHODS and obs.content_length:
            use.upload_requests += 1
            host.upload_requests += 1
            host.upload_bytes += obs.content_length

    def _tracker(self, obs: HttpRequest) -> None:
        """An HTTP tracker announce: a torrent client started, stopped or reported progress."""
        service = self.ctx.catalog.signed("bittorrent-tracker") or self.ctx.catalog.named("BitTorrent")
        if service is None:
            return
        use = self._attribute(ServiceMatch(service, ""), obs.host, obs.client, "bittorrent", obs,
                              f"BitTorrent tracker announce to {obs.host}:{obs.server_port}{obs.uri[:120]}")
        self._learn_service(obs.server, use.match, obs, "bittorrent")
        self._host(use, obs.client).contacts += 1

    def _named(self, host: str, client: str, method: str, obs: Observation, detail: str) -> Optional[ServiceUse]:
        match = self.ctx.catalog.match(host)
        if match is None:
            return None
        return self._attribute(match, host, client, method, obs, detail)

    def _attribute(self, match: ServiceMatch, host: str, client: str, method: str, obs: Observation,
                   detail: str) -> ServiceUse:
        use = self._use(match)
        if host and len(use.domains) < 50:
            use.domains.add(host.lower()[:255])
        use.methods.add(method)
        use.corroborated = use.corroborated or not match.shared
        self._host(use, client).seen(obs.ts)
        use.tally.add(obs.ts, obs.where, detail, self.ctx.settings.max_evidence)
        return use

    def _use(self, match: ServiceMatch) -> ServiceUse:
        key = (match.service.name, match.tenant or "")
        use = self.uses.get(key)
        if use is None:
            use = self.uses[key] = ServiceUse(match)
        return use

    def _host(self, use: ServiceUse, client: str) -> HostUse:
        host = use.hosts.get(client)
        if host is None:
            if len(use.hosts) >= MAX_HOSTS_PER_SERVICE:
                host = use.hosts.setdefault("(other hosts)", HostUse())
            else:
                host = use.hosts[client] = HostUse()
        return host

    # ------------------------------------------------------------ the directory of names

    def _learn(self, address: str, name: str, obs: Observation, source: str, ttl: Optional[float] = None) -> None:
        """Record that ``address`` stood for ``name``; a service's name meters it and settles its waiting flows."""
        if not address or not name:
            return
        self.names.learn(address, name, obs.ts, source, obs.where, ttl)
        if self._service(name) is not None:
            self._watch(address)
            self._settle(address)

    def _learn_service(self, address: str, match: ServiceMatch, obs: Observation, source: str) -> None:
        """An address a service owns without a DNS name for it (a peer, a tracker, an owned range)."""
        self._learn(address, SERVICE_PREFIX + match.service.name, obs, source)

    def _service(self, name: str) -> Optional[ServiceMatch]:
        """The catalog service a directory name belongs to (a device's own host or user name is none)."""
        if name.startswith(IDENTITY_PREFIXES):
            return None
        if name.startswith(SERVICE_PREFIX):
            service = self.ctx.catalog.named(name[len(SERVICE_PREFIX):])
            return ServiceMatch(service, "") if service else None
        return self.ctx.catalog.match(name)

    def _watch(self, address: str) -> None:
        if address in self.watched or len(self.watched) >= MAX_WATCHED:
            return
        self.watched.add(address)
        self.ctx.watch_address(address)

    def _flow_service(self, obs: FlowVolume) -> Optional[tuple[ServiceMatch, str]]:
        """The service the flow's server stood for during the flow, and how the directory knew (its best source)."""
        sightings = self.names.names_during(obs.server, obs.ts, max(obs.end, obs.ts))
        found: Optional[ServiceMatch] = None
        sources: list[NameSighting] = []
        for sighting in sightings:
            match = self._service(sighting.name)
            if match is None or (found is not None and match.service.name != found.service.name):
                continue
            found = found or match
            sources.append(sighting)
        if found is None:
            return None
        connected = [s.source for s in sources if s.source not in LOOKUP_SOURCES]
        return found, connected[0] if connected else "dns-answer-ip"

    def _settle(self, address: str) -> None:
        """Flows that waited for a name of their server: attributed if the new name held during them."""
        waiting = self.pending.pop(address, None)
        if not waiting:
            return
        self.pending_flows -= len(waiting)
        for flow in waiting:
            self._volume(flow)

    # ------------------------------------------------------------ routes that already name the service

    def _contact(self, obs: ServiceContact) -> None:
        catalog = self.ctx.catalog
        match = catalog.match(obs.host) if obs.host else None
        if match is None and obs.service:
            service = catalog.named(obs.service) or catalog.signed(obs.method)
            match = ServiceMatch(service, "") if service else None
        if match is None:
            return
        use = self._attribute(match, obs.host, obs.client, obs.method, obs,
                              obs.detail or f"{obs.method} {obs.host or obs.service}")
        if obs.process and len(use.processes) < 50:
            use.processes.add(obs.process)
        host = self._host(use, obs.client)
        host.contacts += 1
        if obs.bytes_up is not None or obs.bytes_down is not None:
            host.metered = True
            host.bytes_up += obs.bytes_up or 0
            host.bytes_down += obs.bytes_down or 0
        if obs.server and obs.method == "bittorrent":  # peers' later traffic is metered (lan-sync is broadcast)
            self._learn_service(obs.server, match, obs, obs.method)
            # a peer-to-peer exchange has no server: the side that answers (a local host a remote peer dialled,
            # as a uTP SYN does) takes part as well; only the site's own addresses become devices at the end
            peer = self._host(use, obs.server)
            peer.contacts += 1
            peer.seen(obs.ts)

    def _volume(self, obs: FlowVolume) -> None:
        found = self._flow_service(obs)
        if found is None:
            self._wait_for_name(obs)
            return
        match, method = found
        use = self._use(match)
        use.methods.add(method)
        use.corroborated = use.corroborated or not match.shared
        host = self._host(use, obs.client)
        host.metered = True
        host.bytes_up += obs.bytes_up
        host.bytes_down += obs.bytes_down
        host.flows += 1
        host.seen(obs.ts)
        host.seen(obs.end)
        use.tally.add(obs.ts, obs.where,
                      f"{obs.transport} flow {obs.client} -> {obs.server}:{obs.server_port}: "
                      f"{obs.bytes_up} B up, {obs.bytes_down} B down", self.ctx.settings.max_evidence)

    def _wait_for_name(self, obs: FlowVolume) -> None:
        """A metered flow no valid name attributes yet: a DNS answer or log line later in the input may name it.

        A capture's flow records (``whole``) all wait: they are the flow records the directory is joined with.
        Of log flow records only those to servers this detector asked to meter wait: the log prefilters skip
        the others, so findings never depend on whether a prefilter ran. When too many wait, the flows of the
        server that waits longest give way (a name that comes much later would not hold for them anyway).
        """
        if not obs.whole and obs.server not in self.watched:
            return
        while self.pending_flows >= MAX_PENDING_FLOWS:
            self.pending_flows -= len(self.pending.pop(next(iter(self.pending))))
        self.pending.setdefault(obs.server, []).append(obs)
        self.pending_flows += 1

    # ------------------------------------------------------------ files sent by other channels

    def _transfer(self, obs: FileTransfer) -> None:
        if obs.protocol == "mail-log" and not self._mail_worth_reporting(obs):
            return
        key = (obs.protocol, obs.filename, obs.client, obs.server)
        tally = self.transfers.get(key)
        if tally is None:
            if len(self.transfers) >= MAX_TRANSFERS:
                return
            tally = self.transfers[key] = Tally()
            self.transfer_info[key] = obs
        tally.add(obs.ts, obs.where, f"{obs.protocol} {obs.direction} {obs.filename}", self.ctx.settings.max_evidence)

    def _mail_worth_reporting(self, obs: FileTransfer) -> bool:
        """Mail-server logs list every message: keep the large ones to personal mail domains."""
        return (obs.size or 0) >= self.ctx.settings.mail_large_bytes and bool(self._personal_recipients(obs))

    def _personal_recipients(self, obs: FileTransfer) -> list[str]:
        personal = {d.lower() for d in self.ctx.settings.personal_mail_domains}
        return [r for r in obs.recipients if mail_domain(r) in personal]

    def _external(self, obs: FileTransfer) -> bool:
        """Mail leaves the company when a recipient is at another domain or at a personal mail provider."""
        if obs.recipients:
            own = mail_domain(obs.sender) if obs.sender else ""
            return any(mail_domain(r) != own for r in obs.recipients) or bool(self._personal_recipients(obs))
        return is_external(obs.server)

    # ------------------------------------------------------------ findings

    def finish(self) -> list[Finding]:
        findings = [self._service_finding(use) for use in self.uses.values() if use.corroborated]
        findings += [self._transfer_finding(key, tally) for key, tally in self.transfers.items()]
        return findings

    def _service_finding(self, use: ServiceUse) -> Finding:
        service = use.match.service
        tenant = use.match.tenant
        hosts = {name: h for name, h in use.hosts.items() if self.ctx.is_local(name)}  # the site's devices only
        ups = [h.up for h in hosts.values() if h.up is not None]
        metered = any(h.metered for h in hosts.values())
        bytes_up = sum(ups) if ups else None
        bytes_down = sum(h.bytes_down for h in hosts.values()) if metered else None
        per_host = [self._per_host(name, h) for name, h in sorted(hosts.items())]
        identified_by, confidence = identification(use.methods)
        attributes = ServiceUseAttributes(
            service=service.name,
            service_category=service.category,
            domains=sorted(use.domains),
            methods=sorted(use.methods),
            identified_by=identified_by,
            confidence=confidence,
            bytes_up=bytes_up,
            bytes_down=bytes_down,
            connections=sum(h.connections for h in hosts.values()),
            risk=service.risk,
            vendor_url=service.vendor_url,
            per_host=per_host,
            upload_requests=use.upload_requests,
            dns_only=use.methods <= DNS_ONLY_METHODS,
            devices=len(hosts),
            processes=sorted(use.processes),
            tenant=tenant or None,
        )
        name = f"{service.name} (tenant {tenant})" if tenant else service.name
        title = f"{name} used by {len(hosts)} device(s)" if hosts else \
            f"{name} seen between addresses outside the site's networks"
        if bytes_up:
            title += f", {_human(bytes_up)} uploaded"
        return Finding(
            id=finding_id(ServiceUseAttributes.detector, service.name, tenant or ""),
            title=title,
            first_seen=use.tally.first,
            last_seen=use.tally.last,
            count=use.tally.count,
            hosts=sorted(hosts),
            attributes=attributes,
            evidence=use.tally.evidence,
            severity=self._severity(service.risk, bytes_up, use.methods <= DNS_ONLY_METHODS),
            inputs=sorted(use.tally.inputs),
        )

    @staticmethod
    def _per_host(name: str, h: HostUse) -> dict:
        return {"host": name, "bytes_up": h.up, "bytes_down": h.bytes_down if h.metered else None,
                "connections": h.connections, "upload_requests": h.upload_requests,
                "first_seen": iso(h.first), "last_seen": iso(h.last)}

    def _severity(self, risk: str, bytes_up: Optional[int], dns_only: bool) -> str:
        s = self.ctx.settings
        if bytes_up is not None and bytes_up >= s.upload_critical_bytes:
            return "critical"
        if bytes_up is not None and bytes_up >= s.upload_high_bytes:
            return "high"
        if bytes_up is not None and bytes_up >= s.upload_medium_bytes:
            return "medium"
        if dns_only:
            return "info" if risk == "low" else "low"
        return "medium" if risk == "high" else "low"

    def _transfer_finding(self, key: tuple, tally: Tally) -> Finding:
        info = self.transfer_info[key]
        moved = info.size if info.size is not None else None
        attributes = FileMovedAttributes(
            service=CHANNEL_SERVICES.get(info.protocol, info.protocol),
            service_category="file-transfer",
            bytes_up=moved if info.direction == "up" else None if moved is None else 0,
            bytes_down=moved if info.direction == "down" else None if moved is None else 0,
            protocol=info.protocol,
            filename=info.filename,
            size=info.size,
            direction=info.direction,
            sender=info.sender,
            recipients=list(info.recipients),
            client=info.client,
            server=info.server,
            external=self._external(info),
            personal_recipients=self._personal_recipients(info) if info.protocol == "mail-log" else [],
            mime_type=info.mime_type,
        )
        return Finding(
            id=finding_id(FileMovedAttributes.detector, *key),
            title=moved_title(info.filename, info.protocol, info.direction, info.server),
            first_seen=tally.first,
            last_seen=tally.last,
            count=tally.count,
            hosts=devices([info.client]),
            attributes=attributes,
            evidence=tally.evidence,
            severity="high" if info.protocol == "mail-log" else "medium",
            inputs=sorted(tally.inputs),
        )


def moved_title(filename: str, protocol: str, direction: str, server: str) -> str:
    """What happened to the file, in words: downloaded from or uploaded to a server, or mailed."""
    channel = CHANNEL_SERVICES.get(protocol, protocol)
    name = f"{filename!s:.80}"
    if protocol in ("smtp-attachment", "mail-log"):
        return f"File {name} sent as a mail attachment instead of a sanctioned share"
    where = f" {server}" if server else " a server"
    if direction == "down":
        return f"File {name} downloaded from{where} by {channel} instead of a sanctioned share"
    return f"File {name} uploaded to{where} by {channel} instead of a sanctioned share"


def _human(size: int) -> str:
    """Binary units, as the report prints them."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
