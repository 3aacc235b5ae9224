"""Readable labels for finding attributes, and one plain sentence per finding.

Detectors put machine-friendly attributes on findings; a small-office owner
needs "1.2 GiB uploaded to Dropbox" instead. Each category lists the keys
worth showing first (with the aliases detectors may use); anything else that
is a short scalar is still shown under its own name, clipped.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from detector.model import (
    CATEGORY_CREDENTIALS,
    CATEGORY_FILE_SHARING,
    CATEGORY_WIFI,
    CATEGORY_WIFI_ATTACK,
    Finding,
    Secret,
)

from .fmt import clip, hhmm, human_bytes, joined, number, yes_no

# Keys drawn as their own tables or charts, never listed as plain attributes.
STRUCTURED_KEYS = frozenset({"heatmap", "outages", "per_host"})
MAX_EXTRA_ATTRIBUTES = 20

Formatter = Callable[[Finding], Optional[str]]


def _first(finding: Finding, *keys: str) -> Any:
    for key in keys:
        value = finding.attributes.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _text(*keys: str, limit: int = 120) -> tuple[tuple[str, ...], Formatter]:
    def show(finding: Finding) -> Optional[str]:
        value = _first(finding, *keys)
        return None if value is None else joined(value, limit=limit)

    return keys, show


def _secret_mask(finding: Finding) -> Optional[str]:
    value = _first(finding, "mask", "secret", "password_mask")
    if isinstance(value, Secret):
        return clip(value.mask, 40)
    if isinstance(value, dict):
        return clip(value.get("mask"), 40) or None
    return None if value is None else clip(value, 40)


def _fingerprint(finding: Finding) -> Optional[str]:
    value = _first(finding, "fingerprint")
    if value is None:
        secret = _first(finding, "secret")
        holder = secret if isinstance(secret, dict) else {"fingerprint": getattr(secret, "fingerprint", None)}
        value = holder.get("fingerprint")
    return None if value is None else clip(value, 80)


def _server(finding: Finding) -> Optional[str]:
    server = _first(finding, "server", "host", "server_host")
    if server is None:
        return None
    port = number(finding.attributes.get("server_port") or finding.attributes.get("port"))
    return f"{clip(server, 120)}:{int(port)}" if port else joined(server, limit=120)


def _accepted(finding: Finding) -> Optional[str]:
    if "accepted" not in finding.attributes:
        return None
    return yes_no(finding.attributes.get("accepted"))


def _weakness(finding: Finding) -> Optional[str]:
    secret = finding.attributes.get("secret")
    default = finding.attributes.get("default", getattr(secret, "default", None))
    weak = finding.attributes.get("weak", getattr(secret, "weak", None))
    if default is True:
        return "default or very common password"
    if weak is True:
        return "weak password"
    return None


def _bytes(key: str) -> tuple[tuple[str, ...], Formatter]:
    def show(finding: Finding) -> Optional[str]:
        value = finding.attributes.get(key)
        return None if number(value) is None else human_bytes(value)

    return (key,), show


def _clock(finding: Finding) -> Optional[str]:
    value = _first(finding, "time_of_day", "hhmm", "time", "centre", "center", "minute_of_day")
    return None if value is None else hhmm(value)


def _spread(finding: Finding) -> Optional[str]:
    value = _first(finding, "spread_minutes", "spread")
    amount = number(value)
    if amount is None:
        return None if value is None else clip(value, 30)
    return f"\u00b1 {amount:.0f} min"


def _days(finding: Finding) -> Optional[str]:
    seen = _first(finding, "days_seen", "days_with_drops", "days")
    total = _first(finding, "days_total", "days_observed", "days_covered")
    if seen is None:
        return None
    seen_text = str(len(seen)) if isinstance(seen, list) else clip(seen, 20)
    if total is None:
        return seen_text
    total_text = str(len(total)) if isinstance(total, list) else clip(total, 20)
    return f"{seen_text} / {total_text}"


def _count_or_list(*keys: str) -> tuple[tuple[str, ...], Formatter]:
    def show(finding: Finding) -> Optional[str]:
        value = _first(finding, *keys)
        if isinstance(value, (list, tuple, set)):
            return f"{len(value)}: {joined(value, max_items=8, limit=40)}"
        return None if value is None else clip(value, 80)

    return keys, show


CREDENTIAL_FIELDS: list[tuple[str, tuple[str, ...], Formatter]] = [
    ("Protocol", *_text("protocol", "channel")),
    ("User", *_text("user", "username", "sender", "login")),
    ("Secret (masked)", ("mask", "secret", "password_mask"), _secret_mask),
    ("Fingerprint", ("fingerprint",), _fingerprint),
    ("Server", ("server", "host", "server_host", "server_port", "port"), _server),
    ("Accepted by server", ("accepted",), _accepted),
    ("Kind", *_text("kind")),
    ("Strength", ("weak", "default"), _weakness),
    ("Recipients", *_text("recipients")),
    ("Trigger phrase", *_text("phrase")),
]

FILE_SHARING_FIELDS: list[tuple[str, tuple[str, ...], Formatter]] = [
    ("Service", *_text("service")),
    ("Service category", *_text("service_category")),
    ("Seen via", *_text("methods", "method")),
    ("Uploaded", *_bytes("bytes_up")),
    ("Downloaded", *_bytes("bytes_down")),
    ("Domains", *_text("domains", "hostnames", "sni")),
    ("Files", *_text("filenames", "filename")),
]

WIFI_FIELDS: list[tuple[str, tuple[str, ...], Formatter]] = [
    ("Pattern", *_text("pattern")),
    ("Around (HH:MM)", ("time_of_day", "hhmm", "time", "centre", "center", "minute_of_day"), _clock),
    ("Spread", ("spread_minutes", "spread"), _spread),
    ("Days with drops / observed", ("days_seen", "days_with_drops", "days", "days_total",
                                    "days_observed", "days_covered"), _days),
    ("Stations", *_count_or_list("stations", "station_count")),
    ("Access points", *_count_or_list("aps", "bssids", "ap", "bssid")),
    ("SSID", *_text("ssid", "ssids")),
    ("Likely cause", *_text("hint", "cause")),
]

FIELDS_BY_CATEGORY = {
    CATEGORY_CREDENTIALS: CREDENTIAL_FIELDS,
    CATEGORY_FILE_SHARING: FILE_SHARING_FIELDS,
    CATEGORY_WIFI: WIFI_FIELDS,
    CATEGORY_WIFI_ATTACK: WIFI_FIELDS,
}


def key_attributes(finding: Finding) -> list[tuple[str, str]]:
    """(label, text) pairs: the category's known fields first, then other short scalars."""
    rows: list[tuple[str, str]] = []
    used: set[str] = set(STRUCTURED_KEYS)
    for label, keys, show in FIELDS_BY_CATEGORY.get(finding.category, []):
        used.update(keys)
        value = show(finding)
        if value:
            rows.append((label, value))
    extras = [key for key in sorted(finding.attributes, key=str) if key not in used]
    for key in extras[:MAX_EXTRA_ATTRIBUTES]:
        value = _extra_value(finding.attributes[key])
        if value:
            rows.append((clip(key, 40).replace("_", " "), value))
    return rows


def _extra_value(value: Any) -> Optional[str]:
    if isinstance(value, Secret):
        return clip(value.mask, 40)
    if isinstance(value, bool) or value is None:
        return yes_no(value) if isinstance(value, bool) else None
    if isinstance(value, (int, float, str)):
        return clip(value, 160)
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
        return joined(value) or None
    return None


def plain_language(finding: Finding) -> str:
    """One sentence a business owner understands, built from the finding's facts."""
    hosts = len(set(finding.hosts))
    devices = f"{hosts} device{'s' if hosts != 1 else ''}"
    attrs = finding.attributes
    if finding.category == CATEGORY_FILE_SHARING:
        service = clip(attrs.get("service") or finding.title, 60)
        up = attrs.get("bytes_up")
        volume = f" {human_bytes(up)} uploaded" if number(up) else ""
        status = "an approved service" if finding.sanctioned else "a service IT has not approved"
        volume = volume or " no upload volume measured"
        return f"{devices} used {service}, {status}, for file sharing;{volume}."
    if finding.category == CATEGORY_CREDENTIALS:
        protocol = clip(attrs.get("protocol") or attrs.get("channel") or "a clear-text protocol", 40)
        if attrs.get("channel") and not attrs.get("protocol"):
            return f"A password was pasted into a message ({protocol}); anyone who sees it can log in."
        return (
            f"Passwords cross the network unencrypted ({protocol}) from {devices};"
            " anyone on the network can read them."
        )
    if finding.category == CATEGORY_WIFI:
        around = _clock(finding)
        timing = f" around {around}" if around else ""
        return f"The Wi-Fi drops out repeatedly{timing}, affecting {devices}; staff then find workarounds."
    if finding.category == CATEGORY_WIFI_ATTACK:
        return f"Devices are forced off the Wi-Fi ({devices}); this looks deliberate and needs checking."
    return clip(finding.title, 160)
