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

from .fmt import clip, hhmm, human_bytes, human_duration, joined, number, yes_no
from .i18n import N_, _

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
    value = _first(finding, "secret_mask", "mask", "secret", "password_mask")
    if isinstance(value, Secret):
        return clip(value.mask, 40)
    if isinstance(value, dict):
        return clip(value.get("mask"), 40) or None
    return None if value is None else clip(value, 40)


def _fingerprint(finding: Finding) -> Optional[str]:
    value = _first(finding, "secret_fingerprint", "fingerprint")
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


def _flag(key: str) -> tuple[tuple[str, ...], Formatter]:
    def show(finding: Finding) -> Optional[str]:
        return yes_no(finding.attributes.get(key)) if key in finding.attributes else None

    return (key,), show


def _weakness(finding: Finding) -> Optional[str]:
    secret = finding.attributes.get("secret")
    default = finding.attributes.get("default", getattr(secret, "default", None))
    weak = finding.attributes.get("weak", getattr(secret, "weak", None))
    if default is True:
        return _("default or very common password")
    if weak is True:
        return _("weak password")
    return None


def _duration(key: str) -> tuple[tuple[str, ...], Formatter]:
    def show(finding: Finding) -> Optional[str]:
        value = finding.attributes.get(key)
        return None if number(value) is None else human_duration(value)

    return (key,), show


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
    seen = _first(finding, "days_with_drop", "days_seen", "days_with_drops", "days")
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
    (N_("Protocol"), *_text("protocol", "channel")),
    (N_("User"), *_text("user", "username", "usernames", "sender", "login")),
    (N_("Secret (masked)"), ("secret_mask", "mask", "secret", "password_mask"), _secret_mask),
    (N_("Fingerprint"), ("secret_fingerprint", "fingerprint"), _fingerprint),
    (N_("Server"), ("server", "host", "server_host", "server_port", "port"), _server),
    (N_("Accepted by server"), *_flag("accepted")),
    (N_("STARTTLS tried first"), *_flag("starttls")),
    (N_("Kind"), *_text("kind")),
    (N_("Note"), *_text("note")),
    (N_("Strength"), ("weak", "default"), _weakness),
    (N_("Clients"), *_text("clients", "client")),
    (N_("Services"), *_text("services")),
    (N_("Recipients"), *_text("recipients")),
    (N_("Trigger phrase"), *_text("phrase")),
    (N_("Detection confidence"), *_text("score")),
]

FILE_SHARING_FIELDS: list[tuple[str, tuple[str, ...], Formatter]] = [
    (N_("Service"), *_text("service")),
    (N_("Tenant"), *_text("tenant")),
    (N_("Service category"), *_text("service_category")),
    (N_("Service risk"), *_text("risk")),
    (N_("Seen via"), *_text("methods", "method", "protocol")),
    (N_("Uploaded"), *_bytes("bytes_up")),
    (N_("Downloaded"), *_bytes("bytes_down")),
    (N_("Connections"), *_text("connections")),
    (N_("Upload requests"), *_text("upload_requests")),
    (N_("Domains"), *_text("domains", "hostnames", "sni")),
    (N_("Files"), *_text("filenames", "filename")),
    (N_("File size"), *_bytes("size")),
    (N_("Direction"), *_text("direction")),
    (N_("Sender"), *_text("sender")),
    (N_("Recipients"), *_text("recipients")),
    (N_("Client"), *_text("client")),
    (N_("Server"), *_text("server")),
    (N_("Vendor site"), *_text("vendor_url")),
]

WIFI_FIELDS: list[tuple[str, tuple[str, ...], Formatter]] = [
    (N_("Pattern"), *_text("pattern")),
    (N_("Around (HH:MM)"), ("time_of_day", "hhmm", "time", "centre", "center", "minute_of_day"), _clock),
    (N_("Spread"), ("spread_minutes", "spread"), _spread),
    (N_("Days with drops / observed"), ("days_seen", "days_with_drops", "days", "days_total",
                                    "days_observed", "days_covered"), _days),
    (N_("Occurrences"), *_text("occurrences")),
    (N_("Typical outage"), *_duration("typical_duration_s")),
    (N_("Stations"), *_count_or_list("stations", "station_count")),
    (N_("Access points"), *_count_or_list("aps", "bssids", "ap", "bssid")),
    (N_("SSID"), *_text("ssid", "ssids")),
    (N_("Frames"), *_text("frames")),
    (N_("Peak frames per second"), *_text("peak_per_second")),
    (N_("Reason codes"), ("reasons",), lambda f: _mapping_text(f.attributes.get("reasons"))),
    (N_("Likely cause"), *_text("hint", "cause")),
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


def _mapping_text(value: Any) -> Optional[str]:
    """{"3": 5, "7": 2} -> "3: 5, 7: 2" (scalar values only, bounded)."""
    if not isinstance(value, dict) or not value:
        return None
    pairs = [f"{clip(k, 30)}: {clip(v, 30)}" for k, v in list(value.items())[:12]
             if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
    return ", ".join(pairs) or None


def _extra_value(value: Any) -> Optional[str]:
    if isinstance(value, dict):
        return _mapping_text(value)
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
    clients = finding.attributes.get("clients")
    acting = clients if isinstance(clients, list) and clients else finding.hosts  # a login's server is no culprit
    hosts = len(set(acting))
    devices = f"{hosts} device{'s' if hosts != 1 else ''}"
    if finding.category == CATEGORY_FILE_SHARING:
        return _sharing_sentence(finding, devices)
    if finding.category == CATEGORY_CREDENTIALS:
        return _credential_sentence(finding, devices)
    if finding.category == CATEGORY_WIFI:
        around = _clock(finding)
        timing = f" around {around}" if around else ""
        return f"The Wi-Fi drops out repeatedly{timing}, affecting {devices}; staff then find workarounds."
    if finding.category == CATEGORY_WIFI_ATTACK:
        return f"Devices are forced off the Wi-Fi ({devices}); this looks deliberate and needs checking."
    return clip(finding.title, 160)


def _sharing_sentence(finding: Finding, devices: str) -> str:
    attrs = finding.attributes
    if not attrs.get("service") and attrs.get("filename"):
        size = f", {human_bytes(attrs.get('size'))}" if number(attrs.get("size")) is not None else ""
        channel = clip(attrs.get("protocol") or "another channel", 30)
        return f"A file ({clip(attrs.get('filename'), 60)}{size}) left by {channel} instead of a sanctioned share."
    service = clip(attrs.get("service") or finding.title, 60)
    up = attrs.get("bytes_up")
    volume = f"{human_bytes(up)} uploaded" if number(up) is not None else "upload volume not measured"
    status = "an approved service" if finding.sanctioned else "a service IT has not approved"
    return f"{devices} used {service}, {status}, for file sharing; {volume}."


def _credential_sentence(finding: Finding, devices: str) -> str:
    attrs = finding.attributes
    if attrs.get("channel") and not attrs.get("protocol"):
        channel = clip(attrs.get("channel"), 40)
        return f"A password was pasted into a message ({channel}); anyone who reads it can log in."
    if attrs.get("protocol"):
        return (
            f"Passwords cross the network unencrypted ({clip(attrs.get('protocol'), 40)}) from {devices};"
            " anyone on the network can read them."
        )
    users = attrs.get("usernames")
    if isinstance(users, list) and users:
        return f"One password is reused by {len(users)} account(s); one leak opens all of them."
    return clip(finding.title, 160)
