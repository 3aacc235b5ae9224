"""MAC address -> hardware vendor (IEEE OUI), for telling a client which device an address is.

Sources, best first, loaded once on the first lookup (a scan that never asks pays nothing):
1. the system's Wireshark ``manuf`` file (kept current by the distribution's wireshark-common);
2. the copy of the same file that ships inside scapy (``scapy.libs.manuf``, a runtime dependency);
3. a small shipped table of common office vendors (``oui_fallback.tsv``) when neither is there.
Longer registrations (MA-M /28, MA-S /36) win over the /24 block they sit in, as in Wireshark.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from detector.data import package_file

SYSTEM_MANUF = (Path("/usr/share/wireshark/manuf"), Path("/usr/local/share/wireshark/manuf"))
FALLBACK = package_file("oui_fallback.tsv")
MAX_VENDOR = 64
_HEX = re.compile(r"[0-9a-fA-F]{2}")


class OuiTable:
    """Prefix tables keyed by bit length (24, 28, 36): one dict lookup per length, no scan."""

    def __init__(self, source: str = "") -> None:
        self.by_bits: dict[int, dict[int, str]] = {}
        self.source = source

    def add(self, prefix: str, vendor: str) -> None:
        """One manuf entry: "00:50:56", "70:B3:D5:00:00:00/36" or "00-1B-63"."""
        address, _, bits_text = prefix.strip().partition("/")
        octets = _HEX.findall(address)
        if len(octets) < 3 or not vendor:
            return
        bits = int(bits_text) if bits_text.isdigit() else 24
        if bits < 24 or bits > 48 or bits > len(octets) * 8:
            bits = 24
        value = int("".join(octets), 16) >> (len(octets) * 8 - bits)
        self.by_bits.setdefault(bits, {})[value] = vendor[:MAX_VENDOR]

    def lookup(self, mac: str) -> str:
        octets = _HEX.findall(mac)
        if len(octets) != 6:
            return ""
        number = int("".join(octets), 16)
        for bits in sorted(self.by_bits, reverse=True):
            vendor = self.by_bits[bits].get(number >> (48 - bits))
            if vendor:
                return vendor
        return ""

    def __len__(self) -> int:
        return sum(len(t) for t in self.by_bits.values())


def parse_manuf(lines: Iterable[str], source: str = "") -> OuiTable:
    """Wireshark manuf format: prefix, short name, long name, tab-separated; '#' comments.

    The common "XX:XX:XX<tab>" /24 rows take a fast path (the file has ~50,000 of them).
    """
    table = OuiTable(source)
    plain = table.by_bits.setdefault(24, {})
    for line in lines:
        if not line or line[0] == "#":
            continue
        fields = [f.strip() for f in line.split("\t") if f.strip()]
        if len(fields) < 2:
            continue
        vendor = (fields[2] if len(fields) >= 3 else fields[1])[:MAX_VENDOR]
        prefix = fields[0]
        if len(prefix) == 8 and prefix[2] in ":-" and prefix[5] in ":-":
            try:
                plain[int(prefix[0:2] + prefix[3:5] + prefix[6:8], 16)] = vendor
                continue
            except ValueError:
                pass
        table.add(prefix, vendor)
    return table


def _load() -> OuiTable:
    for path in SYSTEM_MANUF:
        try:
            with path.open(encoding="utf-8", errors="replace") as handle:
                table = parse_manuf(handle, str(path))
        except OSError:
            continue
        if len(table):
            return table
    try:
        from scapy.libs.manuf import DATA  # the Wireshark file as scapy ships it
    except Exception:  # noqa: BLE001 - any failure of an optional source falls back to the shipped table
        DATA = ""
    if DATA:
        table = parse_manuf(DATA.splitlines(), "scapy.libs.manuf")
        if len(table):
            return table
    return fallback_table()


def fallback_table() -> OuiTable:
    """The small table shipped with shadowit (common laptops, phones, printers, virtual machines)."""
    return parse_manuf(FALLBACK.read_text(encoding="utf-8").splitlines(), str(FALLBACK))


@lru_cache(maxsize=1)
def table() -> OuiTable:
    return _load()


def vendor(mac: str) -> str:
    """The registered vendor of a MAC address, "" when unknown, random or locally administered."""
    octets = _HEX.findall(mac)
    if len(octets) != 6:
        return ""
    first = int(octets[0], 16)
    if first & 0x01:
        return ""  # multicast / broadcast
    if first & 0x02:
        return "(randomised or locally administered)"
    return table().lookup(mac)
