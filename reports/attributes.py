"""Readable labels for finding attributes, and one plain sentence per finding.

Detectors put machine-friendly attributes on findings; a small-office owner
needs "1.2 GiB uploaded to Dropbox" instead. Labels and order come from the
attribute declarations (detector/detectors/*_attributes.py); only the way a
value is written (bytes, durations, times) is decided here.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from detector.findings.attributes import Attributes
from detector.findings.finding import (
    CATEGORY_CREDENTIALS,
    CATEGORY_FILE_SHARING,
    CATEGORY_WIFI,
    CATEGORY_WIFI_ATTACK,
    Finding,
)
from detector.secrets import Secret
from reports.fmt import clip, hhmm, human_bytes, human_duration, joined, number, yes_no
from reports.i18n import N_, _

MAX_ROWS = 24

Formatter = Callable[[Any], Optional[str]]


def _bytes(value: Any) -> Optional[str]:
    return None if number(value) is None else human_bytes(value)


def _duration(value: Any) -> Optional[str]:
    return None if number(value) is None else human_duration(value)


def _spread(value: Any) -> Optional[str]:
    amount = number(value)
    return None if amount is None else f"\u00b1 {amount:.0f} min"


def _secrets(value: Any) -> Optional[str]:
    if not isinstance(value, list) or len(value) < 2:
        return None  # one secret is already shown as the mask
    masks = [clip(item.get("mask"), 40) for item in value[:8] if isinstance(item, dict)]
    return f"{len(value)}: {', '.join(masks)}"


# How a declared attribute is shown, by name; everything else by its value's type.
FORMATTERS: dict[str, Formatter] = {
    "bytes_up": _bytes, "bytes_down": _bytes, "size": _bytes,
    "typical_duration_s": _duration, "duration_s": _duration,
    "spread_minutes": _spread,
    "time_of_day": lambda v: hhmm(v) if v else None,
    "secrets": _secrets,
}


def _server(attrs: Attributes) -> Optional[str]:
    server, port = attrs.get("server"), attrs.get("server_port")
    if not server:
        return None
    return f"{clip(server, 120)}:{int(port)}" if number(port) else clip(server, 120)


def _days(attrs: Attributes) -> Optional[str]:
    seen, total = attrs.get("days_with_drop"), attrs.get("days_observed")
    return None if seen is None else f"{seen} / {total}" if total else str(seen)


def _strength(attrs: Attributes) -> Optional[str]:
    if attrs.get("default") is True:
        return _("default or very common password")
    return _("weak password") if attrs.get("weak") is True else None


# Declared attributes read together as one row: (names, label, how). The label is the first name's
# declared label unless given here.
COMBINED: list[tuple[tuple[str, ...], str, Callable[[Attributes], Optional[str]]]] = [
    (("server", "server_port"), "", _server),
    (("days_with_drop", "days_observed"), N_("Days with drops / observed"), _days),
    (("weak", "default"), N_("Strength"), _strength),
]


def key_attributes(finding: Finding) -> list[tuple[str, str]]:
    """(label, text) rows in declaration order, labelled by the declaration itself."""
    attributes = finding.attributes
    if not isinstance(attributes, Attributes):
        return [(clip(k, 40).replace("_", " "), text) for k, v in sorted(attributes.items(), key=str)
                if (text := _extra_value(v))][:MAX_ROWS]
    rows: list[tuple[str, str]] = []
    combined = {names[0]: (names, label, show) for names, label, show in COMBINED if names[0] in attributes.names()}
    consumed = {name for names, _, _ in combined.values() for name in names}
    for spec in type(attributes).specs():
        if spec.name in combined:
            _, label, joint = combined[spec.name]
            text = joint(attributes)
            if text:
                rows.append((label or spec.label, text))
            continue
        if spec.name in consumed or (spec.structured and spec.name not in FORMATTERS):
            continue
        value = getattr(attributes, spec.name)
        show = FORMATTERS.get(spec.name, _extra_value)
        text = show(value)
        if text:
            rows.append((spec.label, text))
    return rows[:MAX_ROWS]


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
        around = hhmm(finding.attributes.get("time_of_day")) if finding.attributes.get("time_of_day") else None
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
