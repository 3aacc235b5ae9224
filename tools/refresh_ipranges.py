"""Rewrite rules/ipranges/*.yaml from the providers' public sources (run on a connected machine).

Usage:
    PYTHONPATH=. python tools/refresh_ipranges.py [--dir rules/ipranges] [--only NAME ...] [--tor] [--vpn] [--dry-run]

Each range file names its ``source``; the source's form decides the parser
(plain CIDR lines, Google's JSON, Microsoft 365's endpoint JSON, RIPEstat's
announced prefixes of an AS, an RDAP network record). ``--tor`` also writes
``tor.yaml`` from Onionoo's running relays; ``--vpn`` writes ``nordvpn.yaml``
and ``protonvpn.yaml`` from the providers' public server lists. Files whose
source has no machine-readable form (Apple's support page) are left as they
are. A fetch that fails or yields nothing leaves the old file untouched.

The tests never run this (no network); they test the parsers on samples.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import json
import re
import sys
import urllib.request
from pathlib import Path
from typing import Callable, Iterable, Optional

import yaml

from detector.policy.yamlsrc import load_file, plain

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60
MAX_BYTES = 64 * 1024 * 1024
USER_AGENT = "shadowit-refresh-ipranges/1 (+https://github.com/)"
ONIONOO = "https://onionoo.torproject.org/details?type=relay&running=true&fields=or_addresses"
NORDVPN = "https://api.nordvpn.com/v1/servers?limit=16384&fields[servers.station]"
PROTONVPN = "https://api.protonvpn.ch/vpn/logicals"
CIDR = re.compile(r"^\s*([0-9a-fA-F:.]+/\d{1,3})\s*(?:#.*)?$")


def networks(values: Iterable[str]) -> list[str]:
    """Valid, de-duplicated, sorted CIDR prefixes (host bits cleared)."""
    found = set()
    for value in values:
        try:
            found.add(ipaddress.ip_network(str(value).strip(), strict=False))
        except ValueError:
            continue
    return [str(n) for n in sorted(found, key=lambda n: (n.version, n.network_address, n.prefixlen))]


def parse_lines(body: bytes) -> list[str]:
    """Plain lists (Telegram's cidr.txt, Zoom's Zoom.txt): one prefix per line."""
    return networks(m.group(1) for line in body.decode("utf-8", "replace").splitlines() if (m := CIDR.match(line)))


def parse_google(body: bytes) -> list[str]:
    data = json.loads(body)
    return networks(p.get("ipv4Prefix") or p.get("ipv6Prefix") or "" for p in data.get("prefixes", []))


def parse_microsoft(body: bytes) -> list[str]:
    """Microsoft 365 endpoints: the Optimize/Allow sets of Exchange, SharePoint and Skype/Teams."""
    data = json.loads(body)
    return networks(ip for entry in data if entry.get("category") in ("Optimize", "Allow")
                    for ip in entry.get("ips", []))


def parse_ripestat(body: bytes) -> list[str]:
    data = json.loads(body)
    return networks(p.get("prefix", "") for p in data.get("data", {}).get("prefixes", []))


def parse_rdap(body: bytes) -> list[str]:
    data = json.loads(body)
    return networks(f"{c.get('v4prefix') or c.get('v6prefix')}/{c.get('length')}" for c in data.get("cidr0_cidrs", []))


def parse_onionoo(body: bytes) -> list[str]:
    """Relays' OR addresses ("1.2.3.4:9001", "[2001:db8::1]:443") as host prefixes."""
    data = json.loads(body)
    hosts = []
    for relay in data.get("relays", []):
        for address in relay.get("or_addresses", []):
            host = address.rsplit(":", 1)[0].strip("[]")
            hosts.append(host + ("/128" if ":" in host else "/32"))
    return networks(hosts)


def parse_nordvpn(body: bytes) -> list[str]:
    return networks(f"{s['station']}/32" for s in json.loads(body) if s.get("station"))


def parse_protonvpn(body: bytes) -> list[str]:
    data = json.loads(body)
    return networks(f"{server['EntryIP']}/32" for logical in data.get("LogicalServers", [])
                    for server in logical.get("Servers", []) if server.get("EntryIP"))


def parser_for(source: str) -> Optional[Callable[[bytes], list[str]]]:
    """The parser a range file's source calls for; None when the source is a human page."""
    if source.endswith(".txt"):
        return parse_lines
    if "gstatic.com/ipranges" in source:
        return parse_google
    if "endpoints.office.com" in source:
        return parse_microsoft
    if "stat.ripe.net" in source:
        return parse_ripestat
    if "/rdap" in source or source.startswith("https://rdap."):
        return parse_rdap
    return None


def fetch(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (https URLs from our files)
        return response.read(MAX_BYTES)


def write(path: Path, header: dict, ranges: list[str], dry_run: bool) -> None:
    document = dict(header, date=dt.date.today().isoformat(), ranges=ranges)
    text = yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=110)
    if dry_run:
        print(f"{path.name}: {len(ranges)} prefixes (dry run)")
        return
    path.write_text(f"# Refreshed by tools/refresh_ipranges.py from {header['source']}\n{text}", encoding="utf-8")
    print(f"{path.name}: {len(ranges)} prefixes")


def refresh_file(path: Path, dry_run: bool) -> bool:
    header = plain(load_file(path))  # the scanner's own loader: bounded, errors at file:line:col
    parse = parser_for(str(header.get("source", "")))
    if parse is None:
        print(f"{path.name}: source is not machine-readable, kept")
        return True
    ranges = parse(fetch(header["source"]))
    if not ranges:
        print(f"{path.name}: source gave no prefixes, kept", file=sys.stderr)
        return False
    write(path, {k: header[k] for k in ("name", "services", "shared", "source") if k in header}, ranges, dry_run)
    return True


def extra_sets(tor: bool, vpn: bool) -> list[tuple[str, dict, Callable[[bytes], list[str]]]]:
    sets = []
    if tor:
        sets.append(("tor.yaml", {"name": "Tor relays", "services": ["Tor Project"], "shared": False,
                                  "source": ONIONOO}, parse_onionoo))
    if vpn:
        sets.append(("nordvpn.yaml", {"name": "NordVPN servers", "services": ["NordVPN"], "shared": False,
                                      "source": NORDVPN}, parse_nordvpn))
        sets.append(("protonvpn.yaml", {"name": "ProtonVPN servers", "services": ["ProtonVPN"], "shared": False,
                                        "source": PROTONVPN}, parse_protonvpn))
    return sets


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "rules" / "ipranges")
    parser.add_argument("--only", nargs="*", help="file stems to refresh (default: all)")
    parser.add_argument("--tor", action="store_true", help="also write tor.yaml from Onionoo")
    parser.add_argument("--vpn", action="store_true", help="also write NordVPN and ProtonVPN server lists")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    ok = True
    for path in sorted(args.dir.glob("*.yaml")):
        if args.only and path.stem not in args.only:
            continue
        try:
            ok = refresh_file(path, args.dry_run) and ok
        except (OSError, ValueError, KeyError) as exc:
            print(f"{path.name}: {exc}; kept", file=sys.stderr)
            ok = False
    for name, header, parse in extra_sets(args.tor, args.vpn):
        try:
            ranges = parse(fetch(header["source"]))
        except (OSError, ValueError, KeyError) as exc:
            print(f"{name}: {exc}; not written", file=sys.stderr)
            ok = False
            continue
        if ranges:
            write(args.dir / name, header, ranges, args.dry_run)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
