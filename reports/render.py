"""Render one self-contained HTML risk report from one or more scans.

The file is handed to clients and auditors and opened offline, possibly
years later: CSS, SVG and the few lines of filter script are inlined, a
Content-Security-Policy forbids every network load, and everything that came
from the wire is clipped here and escaped by jinja2's autoescape.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from detector import __version__
from detector.model import (
    CATEGORY_CREDENTIALS,
    CATEGORY_FILE_SHARING,
    CATEGORY_WIFI,
    CATEGORY_WIFI_ATTACK,
    SEVERITIES,
    SEVERITY_RANK,
    Finding,
    InputRecord,
    ScanResult,
)
from detector.risk import GRADE_BANDS, SiteRisk, summarize

from . import svg
from .attributes import key_attributes, plain_language
from .changes import ScanChanges, compare_scans
from .fmt import clip, clip_list, display_zone, human_bytes, human_duration, joined, number, when, when_seconds
from .timeline import Timeline, build_timeline

TEMPLATES = Path(__file__).parent / "templates"
CATEGORY_OTHER = "other"
CATEGORY_LABELS = {
    CATEGORY_FILE_SHARING: "File sharing and shadow SaaS",
    CATEGORY_CREDENTIALS: "Passwords in clear text",
    CATEGORY_WIFI: "Recurring Wi-Fi drops",
    CATEGORY_WIFI_ATTACK: "Wi-Fi attacks",
    CATEGORY_OTHER: "Other findings",
}
TOP_RISKS = 5
MAX_FINDINGS_PER_CATEGORY = 500
MAX_EVIDENCE_ROWS = 50
MAX_OUTAGE_ROWS = 100
MAX_CHANGE_ROWS = 200
MAX_WARNINGS = 20


class ReportError(Exception):
    """The report could not be produced."""


class ReportWriteError(ReportError, OSError):
    """The report file could not be written; an OSError so callers catching I/O errors see it."""


@dataclass
class SiteReport:
    """Everything one site's section needs; the CLI gathers it from the store."""

    result: ScanResult
    previous: Optional[ScanResult] = None
    history: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    compliance: Mapping[str, Any] = field(default_factory=dict)
    expired_allows: list[tuple[str, Any, str]] = field(default_factory=list)
    operator: str = ""
    generated: Optional[float] = None
    zone: Optional[tzinfo] = None  # the scan's --tz: times are shown in the site's local time


# ---------------------------------------------------------------- view models


@dataclass
class FindingView:
    anchor: str
    title: str
    severity: str
    category: str
    sanctioned: bool
    rule: str
    finding_id: str
    hosts: list[str]
    hosts_more: int
    first_seen: str
    last_seen: str
    count: int
    risk: float
    sentence: str
    attributes: list[tuple[str, str]]
    evidence: list[tuple[str, str, str]]
    evidence_more: int
    remediation: str
    compliance: list[str]
    exception: Optional[dict[str, str]] = None  # the allow rule behind "sanctioned" (or the expired one)


@dataclass
class CategoryView:
    key: str
    label: str
    findings: list[FindingView]
    more: int = 0


@dataclass
class ServiceView:
    name: str
    category: str
    sanctioned: str
    rows: list[tuple[str, str, str]]
    bytes_up: str
    bytes_down: str
    anchors: list[str]


@dataclass
class WifiPanel:
    anchor: str
    title: str
    severity: str
    category: str
    chart: Optional[Markup]
    outages: list[tuple[str, str, str]]
    outages_more: int


@dataclass
class ControlView:
    ref: str
    title: str
    control_id: str
    findings: list[FindingView]


@dataclass
class SiteView:
    index: int
    anchor: str
    name: str
    zone: str
    risk: SiteRisk
    contributions: list[dict[str, Any]]
    trend: str
    trend_class: str
    counts: dict[str, int]
    categories_count: list[tuple[str, str, int]]
    sanctioned_count: int
    total: int
    top_risks: list[FindingView]
    categories: list[CategoryView]
    services: list[ServiceView]
    wifi: list[WifiPanel]
    timeline: Timeline
    compliance: dict[str, list[ControlView]]
    controls_without_findings: list[str]
    changes: ScanChanges
    changes_view: dict[str, list[tuple[str, str, str]]]
    severity_chart: Markup
    history_chart: Optional[Markup]
    expired_allows: list[tuple[str, str, str]]
    inputs: list[dict[str, Any]]
    meta: list[tuple[str, str]]
    views_by_index: dict[int, FindingView]


# ---------------------------------------------------------------- public API


def render_report(scans: list[SiteReport], out_path: Path | None = None) -> str:
    """HTML for one site (per-site report) or several (consolidated MSP report)."""
    if not scans:
        raise ReportError("no scan to report on")
    generated = next((s.generated for s in scans if s.generated is not None), None)
    generated = time.time() if generated is None else generated
    sites = [build_site_view(index, scan, generated) for index, scan in enumerate(scans, start=1)]
    script = _asset("report.js")
    html = _environment().get_template("report.html").render(
        sites=sites,
        consolidated=len(sites) > 1,
        generated=when(generated),
        tool_version=__version__,
        severities=list(reversed(SEVERITIES)),
        category_labels=CATEGORY_LABELS,
        grade_bands=_grade_bands(),
        css=Markup(_asset("report.css")),
        script=Markup(script),
        script_hash=_csp_hash(script),
    )
    if out_path is not None:
        _write(Path(out_path), html)
    return html


def build_site_view(index: int, report: SiteReport, generated: float) -> SiteView:
    """All the numbers and clipped texts one site section shows, in the site's time zone."""
    with display_zone(report.zone) as zone:
        return _site_view(index, report, generated, zone)


def _site_view(index: int, report: SiteReport, generated: float, zone: str) -> SiteView:
    result = report.result
    findings = list(result.findings)
    risk = summarize(findings)  # stored risk, computed once at the end of the scan
    anchor = f"s{index}"
    views = {i: _finding_view(f"{anchor}-f{i}", f) for i, f in enumerate(findings)}
    ordered = sorted(range(len(findings)), key=lambda i: _rank_key(findings[i]))
    counts = Counter(_severity(f) for f in findings)
    trend, trend_class = _trend(risk, report.previous)
    changes = compare_scans(result, report.previous)
    return SiteView(
        index=index,
        anchor=anchor,
        name=clip(result.site, 80) or f"Site {index}",
        zone=zone,
        risk=risk,
        contributions=_contributions_view(risk),
        trend=trend,
        trend_class=trend_class,
        counts={s: counts.get(s, 0) for s in SEVERITIES},
        categories_count=_category_counts(findings),
        sanctioned_count=sum(1 for f in findings if f.sanctioned),
        total=len(findings),
        top_risks=[views[i] for i in ordered if findings[i].risk > 0][:TOP_RISKS],
        categories=_categories(findings, ordered, views),
        services=_services(findings, views),
        wifi=_wifi_panels(findings, views),
        timeline=build_timeline(findings),
        compliance=_compliance(findings, views, report.compliance),
        controls_without_findings=_unused_controls(findings, report.compliance),
        changes=changes,
        changes_view=_changes_view(changes),
        severity_chart=svg.severity_bars(dict(counts)),
        history_chart=svg.history_chart(_history_with_current(report.history, result.started, dict(counts))),
        expired_allows=[_expired(entry) for entry in report.expired_allows[:200]],
        inputs=[_input_view(record) for record in result.inputs],
        meta=_meta(result, report, generated),
        views_by_index=views,
    )


def _history_with_current(
    history: list[tuple[float, dict[str, int]]], started: float, counts: dict[str, int]
) -> list[tuple[float, dict[str, int]]]:
    """Earlier scans plus this one, unless the caller's history already holds it."""
    points = list(history)
    if not any(number(ts) == number(started) for ts, _ in points):
        points.append((started, counts))
    return points


# ---------------------------------------------------------------- findings


def _severity(finding: Finding) -> str:
    return finding.severity if finding.severity in SEVERITY_RANK else "info"


def _category_key(finding: Finding) -> str:
    return finding.category if finding.category in CATEGORY_LABELS else CATEGORY_OTHER


def _rank_key(finding: Finding) -> tuple[float, int, str]:
    return (-finding.risk, -SEVERITY_RANK.get(finding.severity, 0), finding.title)


def _finding_view(anchor: str, finding: Finding) -> FindingView:
    named = [f"{host} {finding.host_names[host]}" if finding.host_names.get(host) else host for host in finding.hosts]
    hosts, hosts_more = clip_list(named, max_items=30, limit=100)
    evidence = [(when_seconds(e.time), clip(e.source, 120), clip(e.detail, 300)) for e in finding.evidence]
    return FindingView(
        anchor=anchor,
        title=clip(finding.title, 160) or "(untitled finding)",
        severity=_severity(finding),
        category=_category_key(finding),
        sanctioned=bool(finding.sanctioned),
        rule=clip(finding.rule or finding.detector, 80),
        finding_id=clip(finding.id, 80),
        hosts=hosts,
        hosts_more=hosts_more,
        first_seen=when(finding.first_seen),
        last_seen=when(finding.last_seen),
        count=int(finding.count or 0),
        risk=finding.risk,
        sentence=plain_language(finding),
        attributes=key_attributes(finding),
        evidence=evidence[:MAX_EVIDENCE_ROWS],
        evidence_more=max(0, len(evidence) - MAX_EVIDENCE_ROWS),
        remediation=clip(finding.remediation, 600),
        compliance=[clip(c, 60) for c in finding.compliance[:30]],
        exception=_exception_view(finding.exception),
    )


def _exception_view(exception: Optional[dict]) -> Optional[dict[str, str]]:
    if not exception:
        return None
    return {"rule": clip(exception.get("rule"), 80), "reason": clip(exception.get("reason"), 300),
            "owner": clip(exception.get("owner"), 120) or "-", "expires": clip(exception.get("expires"), 20) or "never",
            "expired": "yes" if exception.get("expired") else ""}


def _categories(
    findings: list[Finding], ordered: list[int], views: dict[int, FindingView]
) -> list[CategoryView]:
    groups: list[CategoryView] = []
    for key, label in CATEGORY_LABELS.items():
        members = [views[i] for i in ordered if _category_key(findings[i]) == key]
        groups.append(
            CategoryView(
                key=key,
                label=label,
                findings=members[:MAX_FINDINGS_PER_CATEGORY],
                more=max(0, len(members) - MAX_FINDINGS_PER_CATEGORY),
            )
        )
    return groups


def _category_counts(findings: list[Finding]) -> list[tuple[str, str, int]]:
    counts = Counter(_category_key(f) for f in findings)
    return [(key, label, counts.get(key, 0)) for key, label in CATEGORY_LABELS.items()]


# ---------------------------------------------------------------- file sharing


def _services(findings: list[Finding], views: dict[int, FindingView]) -> list[ServiceView]:
    """One row per service with per-host volumes, so the client sees who sent what where."""
    grouped: dict[str, list[int]] = {}
    for index, finding in enumerate(findings):
        if finding.category == CATEGORY_FILE_SHARING:
            name = _service_name(finding)
            grouped.setdefault(name, []).append(index)
    services = [_service_view(name, [findings[i] for i in members], [views[i] for i in members])
                for name, members in grouped.items()]
    return sorted(services, key=lambda s: s.name.lower())[:300]


def _service_name(finding: Finding) -> str:
    """The catalog service, or the channel for direct transfers (mail attachment, FTP)."""
    attrs = finding.attributes
    if attrs.get("service"):
        return clip(attrs.get("service"), 80)
    if attrs.get("protocol"):
        return f"{clip(attrs.get('protocol'), 40)} (direct file transfer)"
    return clip(finding.title, 80)


def _service_view(name: str, members: list[Finding], views: list[FindingView]) -> ServiceView:
    volumes: dict[str, list[Optional[float]]] = {}
    for finding in members:
        for host, up, down in _host_volumes(finding):
            totals = volumes.setdefault(host, [None, None])
            totals[0] = _add(totals[0], up)
            totals[1] = _add(totals[1], down)
    sanctioned = {f.sanctioned for f in members}
    category = next((f.attributes.get("service_category") for f in members
                     if f.attributes.get("service_category")), "")
    rows = [(host, human_bytes(up), human_bytes(down))
            for host, (up, down) in sorted(volumes.items(), key=lambda item: -(item[1][0] or 0))[:100]]
    return ServiceView(
        name=name,
        category=clip(category, 60) or "-",
        sanctioned=_sanction_label(sanctioned),
        rows=rows,
        bytes_up=human_bytes(_total(v[0] for v in volumes.values())),
        bytes_down=human_bytes(_total(v[1] for v in volumes.values())),
        anchors=[v.anchor for v in views],
    )


def _add(total: Optional[float], value: Optional[float]) -> Optional[float]:
    """Unmetered volumes stay unknown ("-") instead of showing as 0 B."""
    if value is None:
        return total
    return value if total is None else total + value


def _total(values: Iterable[Optional[float]]) -> Optional[float]:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _sanction_label(values: set[bool]) -> str:
    if values == {True}:
        return "sanctioned"
    return "partly sanctioned" if True in values else "not sanctioned"


def _host_volumes(finding: Finding) -> list[tuple[str, Optional[float], Optional[float]]]:
    """Per-host volumes from ``per_host`` when given, else the finding's totals for all its hosts."""
    per_host = finding.attributes.get("per_host")
    rows = []
    if isinstance(per_host, list):
        for entry in per_host[:500]:
            if isinstance(entry, dict) and entry.get("host") not in (None, ""):
                rows.append((clip(entry.get("host"), 100), number(entry.get("bytes_up")),
                             number(entry.get("bytes_down"))))
    if rows:
        return rows
    hosts = joined(finding.hosts, max_items=5, limit=60) or "(unknown host)"
    return [(hosts, number(finding.attributes.get("bytes_up")), number(finding.attributes.get("bytes_down")))]


# ---------------------------------------------------------------- wifi


def _wifi_panels(findings: list[Finding], views: dict[int, FindingView]) -> list[WifiPanel]:
    panels = []
    for index, finding in enumerate(findings):
        if finding.category not in (CATEGORY_WIFI, CATEGORY_WIFI_ATTACK):
            continue
        chart = svg.heatmap(finding.attributes.get("heatmap"))
        outages = finding.attributes.get("outages")
        outages = outages if isinstance(outages, list) else []
        if chart is None and not outages:
            continue
        rows = [_outage_row(o) for o in outages[:MAX_OUTAGE_ROWS] if isinstance(o, dict)]
        panels.append(
            WifiPanel(
                anchor=views[index].anchor,
                title=views[index].title,
                severity=views[index].severity,
                category=views[index].category,
                chart=chart,
                outages=rows,
                outages_more=max(0, len(outages) - MAX_OUTAGE_ROWS),
            )
        )
    return panels


def _outage_row(outage: dict[str, Any]) -> tuple[str, str, str]:
    stations = outage.get("stations")
    if isinstance(stations, list):
        text = f"{len(stations)}: {joined(stations, max_items=6, limit=40)}"
    else:
        text = clip(stations, 20) if stations is not None else "-"
    return when_seconds(outage.get("start")), human_duration(outage.get("duration_s")), text


# ---------------------------------------------------------------- compliance


def _control_fields(control: Any) -> tuple[str, str, str]:
    """Duck-typed: an object with framework/ref/title attributes or a mapping.

    A long ``framework_name`` ("CIS Critical Security Controls v8") is preferred
    over the short id prefix when the control carries one.
    """
    if isinstance(control, Mapping):
        framework = control.get("framework_name") or control.get("framework")
        values = (framework, control.get("ref"), control.get("title"))
    else:
        framework = getattr(control, "framework_name", None) or getattr(control, "framework", None)
        values = (framework, getattr(control, "ref", None), getattr(control, "title", None))
    return clip(values[0], 80), clip(values[1], 60), clip(values[2], 200)


def _compliance(findings: list[Finding], views: dict[int, FindingView],
                controls: Mapping[str, Any]) -> dict[str, list[ControlView]]:
    by_control: dict[str, list[FindingView]] = {}
    for index, finding in enumerate(findings):
        for control_id in dict.fromkeys(finding.compliance):
            by_control.setdefault(str(control_id), []).append(views[index])
    frameworks: dict[str, list[ControlView]] = {}
    for control_id, members in by_control.items():
        known = controls.get(control_id)
        framework, ref, title = _control_fields(known) if known is not None else ("", "", "")
        view = ControlView(ref=ref or clip(control_id, 60), title=title, control_id=clip(control_id, 60),
                           findings=members[:200])
        frameworks.setdefault(framework or "Unmapped control ids", []).append(view)
    return {name: sorted(frameworks[name], key=lambda c: c.ref) for name in sorted(frameworks)}


def _unused_controls(findings: list[Finding], controls: Mapping[str, Any]) -> list[str]:
    used = {str(c) for f in findings for c in f.compliance}
    unused = []
    for control_id in sorted(controls, key=str):
        if str(control_id) not in used:
            framework, ref, _ = _control_fields(controls[control_id])
            unused.append(f"{framework} {ref}".strip() or clip(control_id, 60))
    return unused[:300]


def _contributions_view(risk: SiteRisk) -> list[dict[str, Any]]:
    return [
        {
            "rule": clip(c.rule, 80),
            "title": clip(c.title, 160),
            "severity": c.severity if c.severity in SEVERITY_RANK else "info",
            "findings": c.findings,
            "points": c.points,
            "remediation": clip(c.remediation, 600),
        }
        for c in risk.contributions[:200]
    ]


# ---------------------------------------------------------------- changes, trend


def _changes_view(changes: ScanChanges) -> dict[str, list[tuple[str, str, str]]]:
    def rows(items: list[Finding]) -> list[tuple[str, str, str]]:
        return [(_severity(f), clip(f.title, 160), joined(f.hosts, max_items=5, limit=60))
                for f in sorted(items, key=_rank_key)[:MAX_CHANGE_ROWS]]

    return {
        "new": rows(changes.new),
        "resolved": rows(changes.resolved),
        "persisting": rows(changes.persisting),
    }


def _trend(risk: SiteRisk, previous: Optional[ScanResult]) -> tuple[str, str]:
    """Score change against the previous scan, scored on copies so it is left untouched."""
    if previous is None:
        return "first scan", "trend-none"
    before = summarize(list(previous.findings))
    delta = risk.score - before.score
    if delta > 0:
        return f"\u25b2 +{delta} (was {before.score}, {before.grade})", "trend-up"
    if delta < 0:
        return f"\u25bc {delta} (was {before.score}, {before.grade})", "trend-down"
    return f"= unchanged ({before.score}, {before.grade})", "trend-flat"


# ---------------------------------------------------------------- annex


def _expired(entry: Any) -> tuple[str, str, str]:
    values = list(entry)[:3] if isinstance(entry, (list, tuple)) else [entry]
    values += [""] * (3 - len(values))
    expires = values[1]
    expires_text = when(expires) if number(expires) is not None else clip(expires, 40) or "-"
    return clip(values[0], 80), expires_text, clip(values[2], 300)


def _input_view(record: InputRecord) -> dict[str, Any]:
    warnings, more = clip_list(record.warnings, max_items=MAX_WARNINGS, limit=200)
    size = number(record.bytes)
    return {
        "path": clip(record.path, 300),
        "kind": clip(record.kind, 40),
        "bytes": f"{human_bytes(record.bytes)} ({int(size)} bytes)" if size is not None else "-",
        "sha256": clip(record.sha256, 128),
        "records": record.records,
        "skipped": record.skipped,
        "warnings": warnings,
        "warnings_more": more,
        "first": when_seconds(record.first_ts),
        "last": when_seconds(record.last_ts),
    }


def _meta(result: ScanResult, report: SiteReport, generated: float) -> list[tuple[str, str]]:
    return [
        ("Site", clip(result.site, 120) or "-"),
        ("Operator", clip(report.operator or result.operator, 120) or "-"),
        ("Scan id", str(result.scan_id) if result.scan_id is not None else "-"),
        ("Scan started", when_seconds(result.started)),
        ("Scan finished", when_seconds(result.finished)),
        ("Scan complete", "yes" if result.complete else "no (interrupted: findings may be partial)"),
        ("Tool version", clip(result.tool_version, 40) or "-"),
        ("Rules SHA-256", clip(result.rules_sha256, 128) or "-"),
        ("Report generated", when_seconds(generated)),
    ]


def _grade_bands() -> list[tuple[str, str]]:
    bands = []
    upper = 100
    for grade, lowest in GRADE_BANDS:
        bands.append((grade, f"{lowest}-{upper}"))
        upper = lowest - 1
    return bands


# ---------------------------------------------------------------- plumbing


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


@lru_cache(maxsize=4)
def _asset(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def _csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _write(path: Path, html: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ReportWriteError(exc.errno, exc.strerror or str(exc), str(path)) from exc
