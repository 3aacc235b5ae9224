"""Write a stored scan as the ``--json`` contract or as a flat CSV for spreadsheets."""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

from ..model import Finding, ScanResult, iso
from ..schema import csv_columns as schema_csv_columns
from .errors import StoreError

EXPORT_FORMATS = ("json", "csv")
BASE_COLUMNS = (
    "site", "scan_id", "id", "rule", "category", "detector", "severity", "sanctioned", "title",
    "first_seen", "last_seen", "count", "hosts", "compliance", "remediation",
    "tags", "risk", "evidence_count", "inputs",
    "exception_rule", "exception_reason", "exception_owner", "exception_expires", "exception_expired",
)
# A spreadsheet runs a cell starting with one of these as a formula; titles and
# hosts come from captured traffic, so an attacker chooses them.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_columns() -> tuple[str, ...]:
    """The fixed columns, then one ``attr_<name>`` column per declared attribute (from the declarations)."""
    return BASE_COLUMNS + tuple(schema_csv_columns())


def write_json(result: ScanResult, out: TextIO) -> None:
    """Exactly ``ScanResult.as_dict()`` (schema shadowit.findings/1)."""
    json.dump(result.as_dict(), out, indent=2, ensure_ascii=False)
    out.write("\n")


def neutralise_formula(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def _csv_row(result: ScanResult, finding: Finding, attribute_columns: list[str]) -> list[Any]:
    text = neutralise_formula
    exception = finding.exception or {}
    flat = finding.attributes.flatten() if hasattr(finding.attributes, "flatten") else {}
    return [
        text(result.site),
        result.scan_id,
        text(finding.id),
        text(finding.rule),
        text(finding.category),
        text(finding.detector),
        text(finding.severity),
        "yes" if finding.sanctioned else "no",
        text(finding.title),
        iso(finding.first_seen) or "",
        iso(finding.last_seen) or "",
        finding.count,
        text("; ".join(finding.hosts)),
        text("; ".join(finding.compliance)),
        text(finding.remediation),
        text("; ".join(finding.tags)),
        finding.risk,
        len(finding.evidence),
        text("; ".join(finding.inputs)),
        text(str(exception.get("rule") or "")),
        text(str(exception.get("reason") or "")),
        text(str(exception.get("owner") or "")),
        text(str(exception.get("expires") or "")),
        "yes" if exception.get("expired") else "no" if exception else "",
        *(text(flat.get(column, "")) for column in attribute_columns),
    ]


def write_csv(result: ScanResult, out: TextIO) -> None:
    """One row per finding, one column per declared attribute (lists joined with "; ")."""
    writer = csv.writer(out, lineterminator="\n")
    attribute_columns = schema_csv_columns()
    writer.writerow(BASE_COLUMNS + tuple(attribute_columns))
    for finding in result.findings:
        writer.writerow(_csv_row(result, finding, attribute_columns))


def write_export(result: ScanResult, fmt: str, out: TextIO) -> None:
    if fmt == "json":
        write_json(result, out)
    elif fmt == "csv":
        write_csv(result, out)
    else:
        raise StoreError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
