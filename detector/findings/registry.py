"""The registry of declared finding attributes, and what is generated from it.

Detectors declare their attributes in ``detectors/*_attributes.py``; this
module collects the declarations so that findings, rules, the store, CSV and
the README's JSON contract all read the same one.
"""

from __future__ import annotations

from typing import Any, Mapping

from detector.findings import credentials as credentials_attributes
from detector.findings import filesharing as filesharing_attributes
from detector.findings import wifi as wifi_attributes
from detector.findings.attributes import Attributes, AttributeSpec, UndeclaredAttribute

DECLARATIONS: dict[str, type[Attributes]] = {
    cls.detector: cls
    for module in (filesharing_attributes, credentials_attributes, wifi_attributes)
    for cls in module.DECLARED
}


def typed(detector: str, values: Mapping[str, Any], strict: bool = True) -> Any:
    """The declared attribute object for a detector's finding (a plain dict for undeclared detectors)."""
    if isinstance(values, Attributes):
        return values
    cls = DECLARATIONS.get(detector)
    if cls is None:
        return dict(values)
    return cls.build(values) if strict else cls.load(values)


def all_specs() -> list[AttributeSpec]:
    return [spec for cls in DECLARATIONS.values() for spec in cls.specs()]


def field_names() -> set[str]:
    """Every attribute name any finding may carry: what a rule may match on."""
    return {spec.name for spec in all_specs()}


def csv_columns() -> list[str]:
    """Flattened attribute columns in a stable order: declaration order, first occurrence wins."""
    seen: dict[str, None] = {}
    for cls in DECLARATIONS.values():
        for name in cls.names():
            seen.setdefault(f"attr_{name}", None)
    return list(seen)


__all__ = ["DECLARATIONS", "UndeclaredAttribute", "all_specs", "csv_columns", "field_names", "typed"]
