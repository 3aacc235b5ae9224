"""Every finding kind, and what is generated from the list: rule field names, CSV columns, the contract.

The kinds are classes (each family module lists its own in ``KINDS``); a kind is
looked up by its detector name only where text comes in (the store, rule
examples), and an unknown name is an error there.
"""

from __future__ import annotations

from detector.findings import credentials, filesharing, wifi
from detector.findings.attributes import Attributes, AttributeSpec

KINDS: tuple[type[Attributes], ...] = filesharing.KINDS + credentials.KINDS + wifi.KINDS
_BY_DETECTOR = {kind.detector: kind for kind in KINDS}


class UnknownKind(ValueError):
    """Text named a detector no finding kind declares (a newer version's finding, or a typo)."""


def kind_named(detector: str) -> type[Attributes]:
    """The kind whose findings the named detector makes."""
    kind = _BY_DETECTOR.get(detector)
    if kind is None:
        raise UnknownKind(f"no finding kind has the detector {detector!r} (known: {', '.join(sorted(_BY_DETECTOR))})")
    return kind


def all_specs() -> list[AttributeSpec]:
    return [spec for kind in KINDS for spec in kind.specs()]


def field_names() -> set[str]:
    """Every attribute name any finding may carry: what a rule may match on."""
    return {spec.name for spec in all_specs()}


def closed_values() -> dict[str, tuple[str, ...]]:
    """The values a rule may compare each closed field with: the kinds' detectors and categories, and every
    attribute whose declarations all give ``choices`` (a name open in any kind stays open)."""
    choices: dict[str, set[str]] = {}
    open_names: set[str] = set()
    for spec in all_specs():
        if spec.choices:
            choices.setdefault(spec.name, set()).update(spec.choices)
        else:
            open_names.add(spec.name)
    closed = {name: tuple(sorted(values)) for name, values in choices.items() if name not in open_names}
    closed["detector"] = tuple(sorted({kind.detector for kind in KINDS}))
    closed["category"] = tuple(sorted({kind.category for kind in KINDS}))
    return closed


def csv_columns() -> list[str]:
    """Flattened attribute columns in a stable order: declaration order, first occurrence wins."""
    seen: dict[str, None] = {}
    for kind in KINDS:
        for name in kind.names():
            seen.setdefault(f"attr_{name}", None)
    return list(seen)
