"""What Zeek's logs and Suricata's EVE share: the names both use and the observations both build alike.

Each sensor module reads its own encoding and field names; where the two then
say the same thing (a DNS answer, a TLS server name, an FTP transfer or login),
the observation is built here once, so both give what the packets would.
"""

from __future__ import annotations

from typing import Optional

from detector.observations import DnsAlias, DnsQuery, Emit, FileTransfer, TlsCertificate, TlsClientHello

ANONYMOUS = {"anonymous", "ftp", "ftpuser", "guest"}  # Zeek's FTP::guest_ids
FTP_FILE_COMMANDS = {"STOR": "up", "APPE": "up", "STOU": "up", "RETR": "down"}
QTYPE_NAMES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33,
               "SVCB": 64, "HTTPS": 65, "ANY": 255}


def dns_answer(emit: Emit, ts: float, where: str, client: str, server: str, name: str, qtype: int,
               addresses: tuple[str, ...] = (), aliases: tuple[str, ...] = (), ttl: Optional[float] = None) -> None:
    """A lookup with the addresses it got (and their shortest TTL, when the log keeps it); a CNAME chain also
    ties the name to where it points."""
    emit(DnsQuery(ts, where, client, server, name, qtype, addresses, ttl))
    if aliases:
        emit(DnsAlias(ts, where, client, server, name, aliases, addresses))


def shortest_ttl(values: list[object]) -> Optional[float]:
    """The shortest of the TTLs a log gives for the address answers (text or numbers; others ignored)."""
    ttls = []
    for value in values:
        try:
            ttl = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
        if ttl >= 0 and ttl == ttl:  # not NaN
            ttls.append(ttl)
    return min(ttls) if ttls else None


def server_name(emit: Emit, ts: float, where: str, client: str, server: str, port: int, sni: str,
                certificate_name: Optional[str] = None, transport: str = "tcp") -> None:
    """The name the client asked for (SNI) or, without one, the name the server's certificate gives."""
    if sni:
        emit(TlsClientHello(ts, where, client, server, port, sni, transport=transport))
    elif certificate_name is not None:
        emit(TlsCertificate(ts, where, client, server, port, (certificate_name,)))


def ftp_transfer(ts: float, where: str, client: str, server: str, name: str, direction: str,
                 size: Optional[int] = None) -> FileTransfer:
    """A file stored (up) or retrieved (down) over FTP."""
    return FileTransfer(ts, where, client, server, "ftp-stor" if direction == "up" else "ftp-retr", name, direction,
                        size)


def ftp_login_kind(user: str) -> str:
    return "anonymous" if user.lower() in ANONYMOUS else "cleartext"
