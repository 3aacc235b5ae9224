"""Readable rows for finding attributes: the facts of a finding's detail panel.

Detectors put machine-friendly attributes on findings; a small-office owner
needs "1.2 GiB uploaded to Dropbox" instead. Labels and order come from the
kind's declaration (detector/findings/<family>.py); the way a value is written
(bytes, durations, times) is decided here, and which attributes read together
as one row by the kind's presentation (reports/kinds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from detector.findings.attributes import Attributes
from detector.secrets import Secret
from reports.fmt import clip, hhmm, human_bytes, human_duration, joined, number, yes_no
from reports.i18n import _

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


def server_text(server: str, port: Optional[int] = None) -> Optional[str]:
    """``server:port`` as one row (the port only when known)."""
    if not server:
        return None
    return f"{clip(server, 120)}:{int(port)}" if number(port) else clip(server, 120)


def strength_text(weak: bool, default: bool = False) -> Optional[str]:
    if default is True:
        return _("default or very common password")
    return _("weak password") if weak is True else None


@dataclass(frozen=True)
class Combined:
    """Declared attributes read together as one row; the label is the first name's declared label unless given."""

    names: tuple[str, ...]
    show: Callable[[Any], Optional[str]]
    label: str = ""


def fact_rows(attributes: Attributes, combined: Sequence[Combined] = ()) -> list[tuple[str, str]]:
    """(label, text) rows in declaration order, labelled by the declaration itself."""
    rows: list[tuple[str, str]] = []
    joint_rows = {joint.names[0]: joint for joint in combined}
    consumed = {name for joint in combined for name in joint.names}
    for spec in type(attributes).specs():
        if spec.name in joint_rows:
            joint = joint_rows[spec.name]
            text = joint.show(attributes)
            if text:
                rows.append((joint.label or spec.label, text))
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
