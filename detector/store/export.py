"""Write a stored scan as the ``--json`` contract or as a flat CSV for spreadsheets."""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

from ..model import Finding, ScanResult, iso
from .codec import to_json
from .errors import StoreError

EXPORT_FORMATS = ("json", "csv")
CSV_COLUMNS = (
    "scan_id", "id", "rule", "category", "detector", "severity", "sanctioned", "title",
    "first_seen", "last_seen", "count", "hosts", "attributes", "compliance", "remediation",
    "tags", "risk", "evidence_count",
)
# A spreadsheet runs a cell starting with one of these as a formula; titles and
# hosts come from captured traffic, so an attacker chooses them.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def write_json(result: ScanResult, out: TextIO) -> None:
    """Exactly ``ScanResult.as_dict()`` (schema shadowit.findings/1)."""
    json.dump(result.as_dict(), out, indent=2, ensure_ascii=False)
    out.write("\n")


def neutralise_formula(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def _csv_row(scan_id: Any, finding: Finding) -> list[Any]:
    text = neutralise_formula
    return [
        scan_id,
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
        to_json(dict(finding.attributes), f"finding {finding.id} attributes"),
        text("; ".join(finding.compliance)),
        text(finding.remediation),
        text("; ".join(finding.tags)),
        finding.risk,
        len(finding.evidence),
    ]


def write_csv(result: ScanResult, out: TextIO) -> None:
    """One row per finding; lists joined with "; ", attributes as JSON text."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for finding in result.findings:
        writer.writerow(_csv_row(result.scan_id, finding))


def write_export(result: ScanResult, fmt: str, out: TextIO) -> None:
    if fmt == "json":
        write_json(result, out)
    elif fmt == "csv":
        write_csv(result, out)
    else:
        raise StoreError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
