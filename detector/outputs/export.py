"""Write a stored scan as the ``--json`` contract, a flat CSV, or a DNS block list.

CSV is for spreadsheets and SIEM lookups: one row per finding, the site and
scan id on every row, one column per declared attribute. The block list turns
the unsanctioned services of a scan into what a resolver or hosts file
understands, like Cloud Discovery's block scripts.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional, TextIO

from detector.findings.filesharing import FileSharingAttributes
from detector.findings.finding import Finding
from detector.findings.registry import csv_columns as schema_csv_columns
from detector.findings.result import ScanResult
from detector.store.errors import StoreError
from detector.times import iso

if TYPE_CHECKING:
    from detector.store.state import SiteState

EXPORT_FORMATS = ("json", "csv", "blocklist")
BLOCKLIST_STYLES = ("hosts", "dnsmasq", "domains")
BASE_COLUMNS = (
    "site", "scan_id", "id", "rule", "category", "detector", "severity", "sanctioned", "title",
    "first_seen", "last_seen", "count", "hosts", "compliance", "remediation",
    "tags", "risk", "evidence_count", "evidence_omitted", "inputs",
    "exception_rule", "exception_reason", "exception_owner", "exception_expires", "exception_expired",
    "exception_location",
)
# A spreadsheet runs a field starting with one of these as a formula; titles and
# hosts come from captured traffic, so an attacker chooses them. A field starts
# the cell or follows a separator some locale splits on (German and French Excel
# split on ";", others on tab) or a line break (the writer leaves a CR unquoted),
# after any spaces or an opening quote.
_FORMULA_FIELD = re.compile(r"(?:^|(?<=[,;\t\r\n]))([ \"]*)(?=[=+\-@\t\r])")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")  # a negative number is a number, not a formula: left as is
_DOMAIN = r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$"  # compiled on use


def csv_columns() -> tuple[str, ...]:
    """The fixed columns, then one ``attr_<name>`` column per declared attribute (from the declarations)."""
    return BASE_COLUMNS + tuple(schema_csv_columns())


def findings_document(result: ScanResult, state: Optional[SiteState]) -> dict[str, Any]:
    """The findings document; with a site state, each finding's ``state`` and the ``site_state`` block."""
    document = result.as_dict()
    if state is not None:
        for finding in document["findings"]:
            finding["state"] = state.of(finding["id"])
        document["site_state"] = state.as_dict()
    return document


def write_json(result: ScanResult, out: TextIO, state: Optional[SiteState] = None) -> None:
    """The ``--json`` document of a stored scan (schema shadowit.findings/1), with the site's state as of it."""
    json.dump(findings_document(result, state), out, indent=2, ensure_ascii=False)
    out.write("\n")


def neutralise_formula(text: str) -> str:
    """``text`` with ``'`` before every field a spreadsheet in any locale could read as a formula."""
    if _NUMBER.fullmatch(text):
        return text
    return _FORMULA_FIELD.sub(r"\1'", text)


def _csv_row(result: ScanResult, finding: Finding, attribute_columns: list[str]) -> list[Any]:
    text = neutralise_formula
    exception = finding.exception or {}
    flat = finding.attributes.flatten()
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
        finding.evidence_omitted,
        text("; ".join(finding.inputs)),
        text(str(exception.get("rule") or "")),
        text(str(exception.get("reason") or "")),
        text(str(exception.get("owner") or "")),
        text(str(exception.get("expires") or "")),
        "yes" if exception.get("expired") else "no" if exception else "",
        text(str(exception.get("location") or "")),
        *(text(flat.get(column, "")) for column in attribute_columns),
    ]


def write_csv(result: ScanResult, out: TextIO) -> None:
    """One row per finding, one column per declared attribute (lists joined with "; ")."""
    writer = csv.writer(out, lineterminator="\n")
    attribute_columns = schema_csv_columns()
    writer.writerow(BASE_COLUMNS + tuple(attribute_columns))
    for finding in result.findings:
        writer.writerow(_csv_row(result, finding, attribute_columns))


# ---------------------------------------------------------------- block list


@dataclass
class BlockList:
    """Domains to block per unsanctioned service, and what was left out and why."""

    services: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def domains(self) -> list[str]:
        return sorted({d for names in self.services.values() for d in names})


def blocklist(result: ScanResult, catalog: Any) -> BlockList:
    """Catalog domains of every file-sharing service seen only unsanctioned in ``result``.

    A service with any sanctioned finding (a site's own tenant, say) is left out:
    blocking its domains would block the sanctioned use too.
    """
    status: dict[str, set[bool]] = {}
    allowed_by: dict[str, set[str]] = {}
    for finding in result.findings:
        if isinstance(finding.attributes, FileSharingAttributes) and finding.attributes.service:
            status.setdefault(finding.attributes.service, set()).add(bool(finding.sanctioned))
            if finding.sanctioned:
                allowed_by.setdefault(finding.attributes.service, set()).add(finding.rule)
    block = BlockList()
    for name in sorted(status, key=str.lower):
        service = catalog.named(name) if catalog is not None else None
        if True in status[name]:
            rules = ", ".join(sorted(allowed_by[name]))
            block.skipped[name] = (f"sanctioned by the site's policy (rule {rules})" if status[name] == {True} else
                                   f"sanctioned for part of its use (rule {rules}; the rest of its use was not)")
        elif service is None:
            block.skipped[name] = "not in the service catalog"
        else:
            domains = sorted({d for d in service.domains if re.match(_DOMAIN, d)})
            if domains:
                block.services[name] = domains
            else:
                block.skipped[name] = "identified by port or signature only: block at the firewall"
    return block


def write_blocklist(result: ScanResult, out: TextIO, style: str = "hosts", catalog: Any = None) -> None:
    """hosts (``0.0.0.0 name``), dnsmasq/Pi-hole (``address=/name/0.0.0.0``) or one domain a line."""
    if style not in BLOCKLIST_STYLES:
        raise StoreError(f"unknown block-list style {style!r}; choose one of {', '.join(BLOCKLIST_STYLES)}")
    if catalog is None:
        from detector.policy.catalog import load_catalog

        catalog = load_catalog()
    block = blocklist(result, catalog)
    site = result.site.replace("\n", " ")[:120] if result.site else "-"
    out.write(f"# shadowit block list ({style}): unsanctioned services of scan {result.scan_id}, site {site}\n")
    if style == "hosts":
        out.write("# hosts files match exact names only; subdomains need a DNS-level block (dnsmasq style)\n")
    for name, reason in block.skipped.items():
        out.write(f"# not blocked: {_comment(name)}: {reason}\n")
    for name, domains in block.services.items():
        out.write(f"# {_comment(name)}\n")
        for domain in domains:
            out.write(_line(style, domain))


def _comment(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:120]


def _line(style: str, domain: str) -> str:
    if style == "hosts":
        return f"0.0.0.0 {domain}\n"
    if style == "dnsmasq":
        return f"address=/{domain}/0.0.0.0\naddress=/{domain}/::\n"
    return f"{domain}\n"


def write_export(result: ScanResult, fmt: str, out: TextIO, style: Optional[str] = None,
                 state: Optional[SiteState] = None) -> None:
    if fmt == "json":
        write_json(result, out, state)
    elif fmt == "csv":
        write_csv(result, out)
    elif fmt == "blocklist":
        write_blocklist(result, out, style or "hosts")
    else:
        raise StoreError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
