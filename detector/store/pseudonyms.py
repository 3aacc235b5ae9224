"""Stable keyed pseudonyms for the people and machines a scan names (``--pseudonymize``).

A report that puts "anna@CORP" beside "uses WeTransfer" is personal data; a works council asks that
management sees "user-3f9a0c21d4@CORP" instead. Every user name, host name and MAC address in a
scan's findings and device directory is replaced by an HMAC of it under the site's key, which only
the database keeps: the same person gets the same pseudonym in every scan of the site, nobody without
the database can turn it back, and ``shadowit reveal`` can (the mapping is a table of the database).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Callable

from detector.findings.finding import Finding
from detector.findings.result import ScanResult
from detector.secrets import keyed_fingerprint
from detector.store import codec

KIND_USER, KIND_HOST, KIND_MAC = "user", "host", "mac"
PSEUDONYM = re.compile(r"\b(?:user|host|mac)-[0-9a-f]{10}\b")
_HEX = "[0-9A-Fa-f]"
_NOT_AFTER = r"(?![0-9A-Fa-f-])(?![:.][0-9A-Fa-f])"  # "MAC: text" ends a MAC, "MAC:ff" continues something else
_NOT_BEFORE = r"(?<![0-9A-Fa-f-])(?<![0-9A-Fa-f][:.])(?<!::)"  # not inside an IPv6 address or a longer hex run
MAC = re.compile(rf"{_NOT_BEFORE}{_HEX}{{2}}([:-]){_HEX}{{2}}(?:\1{_HEX}{{2}}){{4}}{_NOT_AFTER}"
                 rf"|{_NOT_BEFORE}{_HEX}{{4}}\.{_HEX}{{4}}\.{_HEX}{{4}}{_NOT_AFTER}")
NOT_PERSONAL_MACS = frozenset({"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"})
# account names that are a protocol's convention, not a person (RFC 1635 anonymous FTP)
NOT_PERSONAL_USERS = frozenset({"anonymous", "ftp"})
# attributes (of any finding kind) and device fields whose values are user names, mail addresses or host names
USER_FIELDS = frozenset({"users", "user", "username", "usernames", "accepted_usernames", "sender", "recipients",
                         "personal_recipients"})
HOST_FIELDS = frozenset({"workstation", "hostname"})
# the finding columns that carry data from the wire (rule texts, ids and input paths are the tool's own)
DATA_COLUMNS = ("title", "hosts", "attributes", "evidence", "host_names")


def user_part(value: str) -> str:
    """The personal part of a user name: ``anna`` of ``anna@CORP``, ``CORP\\anna`` or ``anna@example.org``."""
    value = value.strip().rsplit("\\", 1)[-1]
    return value.rsplit("@", 1)[0] if "@" in value else value


def mac_key(text: str) -> str:
    """A MAC address in one spelling (lower case, colons), whatever form the source wrote it in."""
    digits = re.sub(r"[^0-9a-f]", "", text.lower())
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


@dataclass
class Pseudonymizer:
    """Pseudonyms under one site's key; remembers every pseudonym it issued (``issued``) for ``reveal``."""

    key: bytes
    issued: dict[str, tuple[str, str]] = field(default_factory=dict)  # pseudonym -> (kind, real name)

    def pseudonym(self, kind: str, real: str) -> str:
        normal = mac_key(real) if kind == KIND_MAC else real.lower()
        name = f"{kind}-{keyed_fingerprint(f'{kind}:{normal}'.encode('utf-8', 'replace'), self.key)[:10]}"
        self.issued.setdefault(name, (kind, normal if kind == KIND_MAC else real))
        return name

    def result(self, result: ScanResult) -> ScanResult:
        """The scan with every name replaced: findings (titles, attributes, evidence, host names) and devices."""
        names = _Names(self)
        names.collect(result.findings, result.devices)
        findings = [names.finding(finding) for finding in result.findings]
        devices = [names.walk(device) for device in result.devices]
        return dataclasses.replace(result, findings=findings, devices=devices, pseudonymized=True)


class _Names:
    """The names of one scan and the one substitution that replaces them in any text."""

    def __init__(self, pseudonyms: Pseudonymizer):
        self.pseudonyms = pseudonyms
        self.by_name: dict[str, str] = {}  # lower-case real name -> pseudonym
        self.pattern: re.Pattern[str] | None = None

    def add(self, kind: str, value: Any) -> None:
        if not isinstance(value, str):
            return
        real = user_part(value) if kind == KIND_USER else value.strip()
        if not real or PSEUDONYM.fullmatch(real) or real.lower() in NOT_PERSONAL_USERS:
            return
        self.by_name.setdefault(real.lower(), self.pseudonyms.pseudonym(kind, real))

    def collect(self, findings: Iterable[Finding], devices: Iterable[dict[str, Any]]) -> None:
        for device in devices:
            self._collect_record(device)
        for finding in findings:
            self._collect_record(finding.attributes.as_dict())
        longest_first = sorted((name for name in self.by_name if len(name) > 1), key=len, reverse=True)
        if longest_first:
            self.pattern = re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, longest_first)) + r")(?![\w-])",
                                      re.IGNORECASE)

    def _collect_record(self, record: dict[str, Any]) -> None:
        for key, value in record.items():
            kind = KIND_USER if key in USER_FIELDS else KIND_HOST if key in HOST_FIELDS else None
            if kind is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                self.add(kind, item)

    def text(self, text: str) -> str:
        if self.pattern is not None:
            text = self.pattern.sub(lambda m: self.by_name.get(m.group(0).lower(), m.group(0)), text)
        return MAC.sub(self._mac, text)

    def _mac(self, match: re.Match[str]) -> str:
        key = mac_key(match.group(0))
        return match.group(0) if key in NOT_PERSONAL_MACS else self.pseudonyms.pseudonym(KIND_MAC, key)

    def walk(self, value: Any) -> Any:
        return _walk(value, self.text)

    def finding(self, finding: Finding) -> Finding:
        row = codec.finding_row(finding)
        for column in DATA_COLUMNS:
            value = row[column]
            row[column] = self.text(value) if column == "title" else json.dumps(self.walk(json.loads(value)))
        return codec.finding_from_row(row)


def _walk(value: Any, text: Callable[[str], str]) -> Any:
    """Every string in a JSON value (mapping keys too: per-station tables are keyed by MAC) through ``text``."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, list):
        return [_walk(item, text) for item in value]
    if isinstance(value, dict):
        return {text(key) if isinstance(key, str) else key: _walk(item, text) for key, item in value.items()}
    return value
