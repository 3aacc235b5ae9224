"""Rows <-> model dataclasses, with every stored column listed explicitly.

The column lists are the whole story of what reaches the disk: a finding's
own fields and nothing else (secrets only as the mask/fingerprint strings the
detectors already put in ``attributes``).
"""

from __future__ import annotations

import json
from typing import Any

from detector.findings.finding import Evidence, Finding
from detector.findings.registry import UnknownKind, kind_named
from detector.findings.result import InputRecord
from detector.store.errors import StoreError

FINDING_COLUMNS = (
    "id", "rule", "category", "detector", "severity", "sanctioned", "title", "first_seen",
    "last_seen", "count", "hosts", "attributes", "evidence", "compliance", "remediation",
    "tags", "risk", "exception", "inputs", "host_names",
)
INPUT_COLUMNS = (
    "path", "sha256", "bytes", "kind", "records", "skipped", "warnings", "first_ts", "last_ts",
)


def to_json(value: Any, what: str) -> str:
    """JSON text keeping key order (reports render in that order)."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{what} is not JSON-serialisable: {exc}") from exc


def finding_row(finding: Finding) -> dict[str, Any]:
    what = f"finding {finding.id}"
    return {
        "id": finding.id,
        "rule": finding.rule,
        "category": finding.category,
        "detector": finding.detector,
        "severity": finding.severity,
        "sanctioned": int(bool(finding.sanctioned)),
        "title": finding.title,
        "first_seen": finding.first_seen,
        "last_seen": finding.last_seen,
        "count": finding.count,
        "hosts": to_json(list(finding.hosts), what + " hosts"),
        "attributes": to_json(finding.attributes.as_dict(), what + " attributes"),
        "evidence": to_json([e.as_dict() for e in finding.evidence], what + " evidence"),
        "compliance": to_json(list(finding.compliance), what + " compliance"),
        "remediation": finding.remediation,
        "tags": to_json(list(finding.tags), what + " tags"),
        "risk": float(finding.risk),
        "exception": to_json(finding.exception, what + " exception") if finding.exception else None,
        "inputs": to_json(list(finding.inputs), what + " inputs"),
        "host_names": to_json(dict(finding.host_names), what + " host names"),
    }


def finding_from_row(row: dict[str, Any]) -> Finding:
    """The stored finding; a detector this version has no kind for is an error, never an untyped finding."""
    try:
        kind = kind_named(row["detector"])
    except UnknownKind as exc:
        raise StoreError(f"stored finding {row['id']}: {exc}") from exc
    return Finding(
        id=row["id"],
        title=row["title"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        count=row["count"],
        hosts=json.loads(row["hosts"]),
        attributes=kind.load(json.loads(row["attributes"])),
        evidence=[Evidence(**item) for item in json.loads(row["evidence"])],
        rule=row["rule"],
        severity=row["severity"],
        sanctioned=bool(row["sanctioned"]),
        compliance=json.loads(row["compliance"]),
        remediation=row["remediation"],
        tags=json.loads(row["tags"]),
        risk=row["risk"],
        exception=json.loads(row["exception"]) if row.get("exception") else None,
        inputs=json.loads(row.get("inputs") or "[]"),
        host_names=json.loads(row.get("host_names") or "{}"),
    )


def input_row(record: InputRecord) -> dict[str, Any]:
    return {
        "path": record.path,
        "sha256": record.sha256,
        "bytes": record.bytes,
        "kind": record.kind,
        "records": record.records,
        "skipped": record.skipped,
        "warnings": to_json(list(record.warnings), f"input {record.path} warnings"),
        "first_ts": record.first_ts,
        "last_ts": record.last_ts,
    }


def input_from_row(row: dict[str, Any]) -> InputRecord:
    return InputRecord(
        path=row["path"],
        sha256=row["sha256"],
        bytes=row["bytes"],
        kind=row["kind"],
        records=row["records"],
        warnings=json.loads(row["warnings"]),
        first_ts=row["first_ts"],
        last_ts=row["last_ts"],
        skipped=row["skipped"],
    )
