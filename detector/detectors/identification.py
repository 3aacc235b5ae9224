"""How a service was identified and how sure that is: name > signature > address range.

nDPI reports a confidence with every classification (DPI, DPI partial,
match by IP, match by port). shadowit says the same in words an auditor can
check, from the methods that attributed the service:

* ``identified_by``: the strongest kind of evidence, ``name`` (DNS, SNI,
  certificate, HTTP Host, logs), ``signature`` (a protocol fingerprint in the
  payload) or ``ip-range`` (the server's address is in the provider's
  published prefixes);
* ``confidence``: ``high`` for a name the client connected with or an exact
  protocol signature; ``medium`` for a DNS lookup without a seen connection,
  a heuristic signature (traffic shape, encrypted-handshake sizes) or an
  address range confirmed by another method; ``low`` for an address range
  alone.

Also here: identification of flows that carry no catalog name (the TLS shape
Tor uses, owned address ranges), so the file-sharing detector only calls it.
"""

from __future__ import annotations

import re
from typing import Optional

from detector.policy.ipranges import IpRanges, default_ranges

SIGNATURE_METHODS = frozenset({"signature", "lan-sync", "bittorrent"})
HEURISTIC_METHODS = frozenset({"heuristic"})
RANGE_METHODS = frozenset({"ip-range"})
DNS_METHODS = frozenset({"dns", "dns-cname", "dns-log", "dns-answer-ip"})
# Tor's link TLS: the client asks for www.<random>.com, the relay answers with a certificate for a different
# www.<random>.net (tortls.c crypto_random_hostname: base32 labels, 4 to 32 characters seen in practice)
TOR_SNI = re.compile(r"^www\.[a-z2-7]{4,32}\.com$")
TOR_CERT = re.compile(r"^www\.[a-z2-7]{4,32}\.net$")
# certificate subject or issuer names that are a product, not a host: AnyDesk's self-signed peer and relay
# certificates and its relay CA; the private CAs VPN providers sign their servers' certificates with (issuer CN
# or O: Private Internet Access, Windscribe), as nDPI's tls.c matches the issuer against its product names
CERTIFICATE_PRODUCTS = {"anydesk client": "AnyDesk", "anynet relay": "AnyDesk", "anynet root ca": "AnyDesk",
                        "private internet access": "Private Internet Access", "windscribe": "Windscribe"}


def identification(methods: set[str]) -> tuple[str, str]:
    """(identified_by, confidence) for the set of methods that attributed one service."""
    names = methods - SIGNATURE_METHODS - HEURISTIC_METHODS - RANGE_METHODS
    if names - DNS_METHODS or methods & SIGNATURE_METHODS:
        return ("name" if names else "signature"), "high"
    if names:
        return "name", "medium"
    if methods & HEURISTIC_METHODS:
        return "signature", "medium"
    if methods & RANGE_METHODS:
        return "ip-range", "low"
    return "name", "low"


def looks_like_tor(sni: str, certificate_names: tuple[str, ...]) -> bool:
    """Tor's TLS disguise: random www.X.com asked, random www.Y.net presented, X != Y."""
    if not sni or not TOR_SNI.match(sni.lower()) or len(certificate_names) != 1:
        return False
    name = certificate_names[0].lower()
    return bool(TOR_CERT.match(name)) and name[4:-4] != sni.lower()[4:-4]


class UnnamedFlows:
    """Service of a server that no catalog name identified: Tor's TLS shape, then owned address ranges."""

    def __init__(self, ranges: Optional[IpRanges] = None):
        self.ranges = ranges or default_ranges()

    @staticmethod
    def by_certificate(names: tuple[str, ...], issuer: tuple[str, ...] = ()) -> Optional[tuple[str, str]]:
        """(service, name) when a certificate's subject or issuer is a product's own name (not a DNS name)."""
        for name in names + issuer:
            service = CERTIFICATE_PRODUCTS.get(name.lower())
            if service:
                return service, name
        return None

    def by_range(self, server: str) -> Optional[tuple[str, str]]:
        """(service, evidence) when ``server`` is in a range one service owns."""
        match = self.ranges.service_of(server)
        if match is None or match.service is None:
            return None
        return match.service, f"address in {match.range_set.name}'s published range {match.network}"
