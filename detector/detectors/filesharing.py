"""File-sharing and shadow SaaS: which hosts used which service, by which route, moving how much.

Names come from DNS questions, TLS SNI, HTTP Host and log lines; addresses
from DNS answers and from the servers those names led to. Once an address is
known to belong to a service, the fast path meters its traffic, so the finding
can say how much each host uploaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..catalog import ServiceMatch
from ..model import (
    CATEGORY_FILE_SHARING,
    DnsQuery,
    FileTransfer,
    Finding,
    FlowVolume,
    HttpRequest,
    Observation,
    ServiceContact,
    TlsClientHello,
)
from .base import Detector, DetectorContext, Tally, finding_id

MAX_ADDRESSES = 100_000
MAX_HOSTS_PER_SERVICE = 5_000
MAX_TRANSFERS = 10_000


@dataclass
class HostUse:
    bytes_up: int = 0
    bytes_down: int = 0
    contacts: int = 0  # TLS hellos, HTTP requests, log lines naming the service
    flows: int = 0  # metered flows to the service's addresses
    metered: bool = False

    @property
    def connections(self) -> int:
        return self.flows or self.contacts


@dataclass
class ServiceUse:
    match: ServiceMatch
    domains: set[str] = field(default_factory=set)
    methods: set[str] = field(default_factory=set)
    hosts: dict[str, HostUse] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)
    upload_requests: int = 0


class FileSharingDetector(Detector):
    name = "filesharing"
    consumes = (DnsQuery, TlsClientHello, HttpRequest, ServiceContact, FlowVolume, FileTransfer)

    def __init__(self, ctx: DetectorContext):
        super().__init__(ctx)
        self.uses: dict[tuple[str, str], ServiceUse] = {}
        self.addresses: dict[str, ServiceMatch] = {}
        self.transfers: dict[tuple, Tally] = {}
        self.transfer_info: dict[tuple, FileTransfer] = {}

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, DnsQuery):
            self._named(obs.qname, obs.client, "dns", obs, f"DNS query {obs.qname}")
            match = self.ctx.catalog.match(obs.qname)
            if match:
                for address in obs.answers:
                    self._learn_address(address, match)
        elif isinstance(obs, TlsClientHello):
            method = "quic-sni" if obs.transport == "quic" else "tls-sni"
            use = self._named(obs.sni, obs.client, method, obs, f"TLS SNI {obs.sni} to {obs.server}:{obs.server_port}")
            if use:
                self._learn_address(obs.server, use.match)
                use.hosts[obs.client].contacts += 1
        elif isinstance(obs, HttpRequest):
            use = self._named(obs.host, obs.client, "http-host", obs,
                              f"HTTP {obs.method} {obs.host}{obs.uri[:100]}")
            if use:
                self._learn_address(obs.server, use.match)
                use.hosts[obs.client].contacts += 1
                if obs.method in ("POST", "PUT") and obs.content_length:
                    use.upload_requests += 1
        elif isinstance(obs, ServiceContact):
            self._contact(obs)
        elif isinstance(obs, FlowVolume):
            self._volume(obs)
        elif isinstance(obs, FileTransfer):
            self._transfer(obs)

    def _named(self, host: str, client: str, method: str, obs: Observation, detail: str) -> Optional[ServiceUse]:
        match = self.ctx.catalog.match(host)
        if match is None:
            return None
        use = self._use(match)
        if len(use.domains) < 50:
            use.domains.add(host.lower())
        use.methods.add(method)
        self._host(use, client)
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
                client = "(other hosts)"
                host = use.hosts.setdefault(client, HostUse())
            else:
                host = use.hosts[client] = HostUse()
        return host

    def _learn_address(self, address: str, match: ServiceMatch) -> None:
        if address in self.addresses or len(self.addresses) >= MAX_ADDRESSES:
            return
        self.addresses[address] = match
        self.ctx.watch_address(address)

    def _contact(self, obs: ServiceContact) -> None:
        match = self.ctx.catalog.match(obs.host) if obs.host else None
        if match is None and obs.service:
            service = self.ctx.catalog.named(obs.service)
            match = ServiceMatch(service, "") if service else None
        if match is None:
            return
        use = self._use(match)
        if obs.host and len(use.domains) < 50:
            use.domains.add(obs.host.lower())
        use.methods.add(obs.method)
        host = self._host(use, obs.client)
        host.contacts += 1
        if obs.bytes_up is not None or obs.bytes_down is not None:
            host.metered = True
            host.bytes_up += obs.bytes_up or 0
            host.bytes_down += obs.bytes_down or 0
        use.tally.add(obs.ts, obs.where, obs.detail or f"{obs.method} {obs.host or obs.service}",
                      self.ctx.settings.max_evidence)

    def _volume(self, obs: FlowVolume) -> None:
        match = self.addresses.get(obs.server)
        if match is None:
            return
        use = self._use(match)
        host = self._host(use, obs.client)
        host.metered = True
        host.bytes_up += obs.bytes_up
        host.bytes_down += obs.bytes_down
        host.flows += 1
        use.tally.add(obs.ts, obs.where,
                      f"{obs.transport} flow {obs.client} -> {obs.server}:{obs.server_port}: "
                      f"{obs.bytes_up} B up, {obs.bytes_down} B down", self.ctx.settings.max_evidence)

    def _transfer(self, obs: FileTransfer) -> None:
        key = (obs.protocol, obs.filename, obs.client, obs.server)
        tally = self.transfers.get(key)
        if tally is None:
            if len(self.transfers) >= MAX_TRANSFERS:
                return
            tally = self.transfers[key] = Tally()
            self.transfer_info[key] = obs
        tally.add(obs.ts, obs.where, f"{obs.protocol} {obs.direction} {obs.filename}", self.ctx.settings.max_evidence)

    # ------------------------------------------------------------ findings

    def finish(self) -> list[Finding]:
        findings = [self._service_finding(use) for use in self.uses.values()]
        findings += [self._transfer_finding(key, tally) for key, tally in self.transfers.items()]
        return findings

    def _service_finding(self, use: ServiceUse) -> Finding:
        service = use.match.service
        tenant = use.match.tenant
        metered = any(h.metered for h in use.hosts.values())
        bytes_up = sum(h.bytes_up for h in use.hosts.values()) if metered else None
        bytes_down = sum(h.bytes_down for h in use.hosts.values()) if metered else None
        per_host = [
            {"host": host, "bytes_up": h.bytes_up if h.metered else None,
             "bytes_down": h.bytes_down if h.metered else None, "connections": h.connections}
            for host, h in sorted(use.hosts.items())
        ]
        attributes = {
            "service": service.name,
            "service_category": service.category,
            "domains": sorted(use.domains),
            "methods": sorted(use.methods),
            "bytes_up": bytes_up,
            "bytes_down": bytes_down,
            "connections": sum(h.connections for h in use.hosts.values()),
            "risk": service.risk,
            "vendor_url": service.vendor_url,
            "per_host": per_host,
            "upload_requests": use.upload_requests,
        }
        if tenant:
            attributes["tenant"] = tenant
        title = f"{service.name} used by {len(use.hosts)} host(s)"
        if tenant:
            title = f"{service.name} (tenant {tenant}) used by {len(use.hosts)} host(s)"
        return Finding(
            id=finding_id("filesharing.service", service.name, tenant or ""),
            detector="filesharing.service",
            category=CATEGORY_FILE_SHARING,
            title=title,
            first_seen=use.tally.first,
            last_seen=use.tally.last,
            count=use.tally.count,
            hosts=sorted(use.hosts),
            attributes=attributes,
            evidence=use.tally.evidence,
            severity=self._severity(service.risk, bytes_up),
        )

    def _severity(self, risk: str, bytes_up: Optional[int]) -> str:
        s = self.ctx.settings
        if bytes_up is not None and bytes_up >= s.upload_critical_bytes:
            return "critical"
        if bytes_up is not None and bytes_up >= s.upload_high_bytes:
            return "high"
        if bytes_up is not None and bytes_up >= s.upload_medium_bytes:
            return "medium"
        return "medium" if risk == "high" else "low"

    def _transfer_finding(self, key: tuple, tally: Tally) -> Finding:
        info = self.transfer_info[key]
        return Finding(
            id=finding_id("filesharing.attachment", *key),
            detector="filesharing.attachment",
            category=CATEGORY_FILE_SHARING,
            title=f"File {info.filename!s:.80} sent by {info.protocol} instead of a sanctioned share",
            first_seen=tally.first,
            last_seen=tally.last,
            count=tally.count,
            hosts=sorted({info.client, info.server} - {""}),
            attributes={
                "protocol": info.protocol,
                "filename": info.filename,
                "size": info.size,
                "direction": info.direction,
                "sender": info.sender,
                "recipients": list(info.recipients),
                "client": info.client,
                "server": info.server,
            },
            evidence=tally.evidence,
            severity="medium",
        )
