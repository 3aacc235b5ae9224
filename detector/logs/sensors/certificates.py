"""TLS sessions without a server name, named by their certificate from another log (Zeek >= 4.1 x509.log).

Since Zeek 4.1 ssl.log no longer carries the certificate subject: the session lists
its chain (``cert_chain_fps``, SHA-256 fingerprints, Zeek >= 6; ``cert_chain_fuids``,
file ids, before) and x509.log holds each certificate once (``fingerprint`` / ``id``),
and, with ``X509::log_caching``, only the first time it is seen. The two logs may come
in any order, in one file or in several of a scan, so sessions whose certificate is
not yet known wait here until the end of the run.
"""

from __future__ import annotations

from typing import Optional

from detector.bounded import RecentMap
from detector.logs.sensors.mapping import server_name
from detector.observations import Emit

MAX_CERTIFICATES = 50_000  # certificate id or fingerprint -> name
MAX_WAITING = 20_000  # sessions waiting for their certificate (the oldest go first)


class CertificateJoin:
    """Certificates by fingerprint and file id, and the TLS sessions waiting for one."""

    def __init__(self) -> None:
        self.names: RecentMap[str, str] = RecentMap(MAX_CERTIFICATES)
        self.waiting: RecentMap[tuple, tuple[str, ...]] = RecentMap(MAX_WAITING)

    def certificate(self, keys: tuple[str, ...], name: str) -> None:
        """A certificate (x509.log): its ids, and the name it gives (subject CN, else first DNS SAN)."""
        for key in keys:
            if key and name:
                self.names.put(key, name)

    def session(self, emit: Emit, ts: float, where: str, client: str, server: str, port: int,
                chain: tuple[str, ...]) -> None:
        """A TLS session without SNI whose server certificate is the first of ``chain``."""
        name = self._name(chain)
        if name:
            server_name(emit, ts, where, client, server, port, "", name)
        elif chain:
            self.waiting.put((ts, where, client, server, port), chain)

    def finish(self, emit: Emit) -> None:
        """The end of the run (or of the file, when no scan-wide join was given): name what can be named."""
        for (ts, where, client, server, port), chain in self.waiting.items.items():
            name = self._name(chain)
            if name:
                server_name(emit, ts, where, client, server, port, "", name)
        self.waiting = RecentMap(MAX_WAITING)

    def _name(self, chain: tuple[str, ...]) -> Optional[str]:
        return self.names.get(chain[0]) if chain else None
