"""Render one self-contained HTML risk report from one or more scans.

The file is handed to clients and auditors and opened offline, possibly
years later: CSS, SVG, the logo and the few lines of filter script are
inlined, a Content-Security-Policy forbids every network load, and everything
that came from the wire is clipped here and escaped by jinja2's autoescape.

Reading order follows what a manager needs: cover, executive summary (grade,
sub-scores, top risks, what was read, what changed), one compact row per
finding, the views per service, device and category, then the annexes
(finding detail with grouped evidence, compliance, inputs with their hashes).
Risk is never computed here: each finding's stored ``risk`` is added up by
detector.policy.risk.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from detector import __version__
from detector.findings.finding import (
    CATEGORY_CREDENTIALS,
    CATEGORY_FILE_SHARING,
    CATEGORY_WIFI,
    CATEGORY_WIFI_ATTACK,
    SEVERITIES,
    SEVERITY_RANK,
    Finding,
)
from detector.findings.result import InputRecord, ScanResult
from detector.policy.risk import GRADE_BANDS, HALVING_POINTS, SiteRisk, summarize
from detector.store.state import NOT_RECHECKED, SiteState, StoredScan, site_state
from detector.times import trusted_ts
from reports import svg
from reports.advice import Advice, advice_for
from reports.branding import Branding
from reports.cells import label_cells
from reports.changes import ScanChanges, changes_of
from reports.fmt import (
    clip,
    clip_list,
    day_text,
    decimal,
    display_zone,
    human_bytes,
    joined,
    number,
    to_timestamp,
    when,
    when_seconds,
)
from reports.i18n import (
    CATEGORY_LABELS,
    CATEGORY_OTHER,
    N_,
    SEVERITY_LABELS,
    _,
    ngettext,
    pgettext,
    severity_label,
    translations,
    use_language,
)
from reports.kinds import presentation_of, title_of
from reports.kinds.base import ServiceShare
from reports.options import ReportOptions
from reports.timeline import Timeline, build_timeline
from reports.wording import localized, rule_text

TEMPLATES = Path(__file__).parent / "templates"
SCORE_LABELS = {  # the areas graded on their own, in the order the summary lists them
    CATEGORY_FILE_SHARING: N_("File sharing"),
    CATEGORY_CREDENTIALS: N_("Clear-text credentials"),
    CATEGORY_WIFI: N_("Wi-Fi"),
    CATEGORY_WIFI_ATTACK: N_("Wi-Fi attacks"),
}
TOP_RISKS = 5
MAX_FINDINGS = 2000
MAX_ROWS_PER_VIEW = 300
MAX_EVIDENCE_GROUPS = 2
MAX_CHANGE_ROWS = 100
MAX_REFS = 12
MAX_FACTS = 16  # attributes per finding in appendix A; the JSON and CSV exports carry all of them
MAX_FACT_CHARS = 140
MAX_WARNINGS = 5
_EVIDENCE_PLACE = re.compile(r"^(?P<file>.*?):(?P<kind>frame|line|record) (?P<n>\d+)$")


class ReportError(Exception):
    """The report could not be produced."""


class ReportWriteError(ReportError, OSError):
    """The report file could not be written; an OSError so callers catching I/O errors see it."""


@dataclass
class SiteReport:
    """Everything one site's section needs; the CLI gathers it from the store."""

    result: ScanResult
    state: Optional[SiteState] = None  # the site's state as of this scan (None: this scan alone)
    history: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    compliance: Mapping[str, Any] = field(default_factory=dict)
    expired_allows: list[tuple[Any, ...]] = field(default_factory=list)  # (rule, expires, reason, owner, location)
    operator: str = ""
    generated: Optional[float] = None
    zone: Optional[tzinfo] = None  # the scan's --tz: times are shown in the site's local time
    # Known devices: {address, mac, names, users} (the scan's devices section); empty until a directory knows them.
    devices: list[Mapping[str, Any]] = field(default_factory=list)
    # Allow rules by id: (reason, owner, expires), shown beside each sanctioned finding (accepted risk).
    exceptions: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)


def exceptions_of(rules: Iterable[Any]) -> dict[str, tuple[str, str, str]]:
    """The accepted-risk record of every allow rule of a rule set (duck-typed: id, reason, owner, expires)."""
    found = {}
    for rule in rules:
        if getattr(rule, "is_allow", False):
            expires = getattr(rule, "expires", None)
            found[str(rule.id)] = (str(getattr(rule, "reason", "") or ""), str(getattr(rule, "owner", "") or ""),
                                   expires.isoformat() if hasattr(expires, "isoformat") else str(expires or ""))
    return found


# ---------------------------------------------------------------- view models


@dataclass
class FindingRow:
    """One finding as one table row; ``ref`` (F1, F2, ...) links every view to its detail."""

    ref: str
    anchor: str
    severity: str
    category: str
    sanctioned: bool
    rule: str
    label: str
    subject: str
    devices: str
    seen: str
    count: int
    risk: str
    advice: str
    stale: bool = False  # not re-checked: found by an earlier scan whose input this one did not read again


@dataclass
class FindingDetail:
    row: FindingRow
    title: str
    finding_id: str
    hosts: str
    first_seen: str
    last_seen: str
    attributes: list[tuple[str, str]]
    evidence: list[tuple[str, str, str]]
    evidence_more: int
    allow: str
    allow_expired: bool = False  # ``allow`` is an exception that has expired: the finding counts again
    evidence_omitted: int = 0  # occurrences beyond the evidence kept per finding (settings max_evidence)


@dataclass
class RuleGroup:
    rule: str
    label: str
    severity: str
    remediation: str
    details: list[FindingDetail]
    common: list[tuple[str, str]] = field(default_factory=list)  # facts every finding of the rule shares


@dataclass
class TopRisk:
    severity: str
    label: str
    category: str
    advice: str
    findings: int
    devices: int
    example: str
    points: str
    anchor: str


@dataclass
class ScoreView:
    key: str
    label: str
    score: str
    grade: str
    points: str
    findings: int


@dataclass
class CategoryView:
    key: str
    label: str
    rows: list[FindingRow]
    more: int = 0


@dataclass
class ServiceRow:
    name: str
    category: str
    sanctioned: str
    sanctioned_class: str
    service_risk: str
    points: str
    devices: int
    device_list: str
    users: str
    up: str
    down: str
    first: str
    last: str
    refs: list[tuple[str, str]]


@dataclass
class DeviceRow:
    address: str
    names: str
    mac: str
    users: str
    counts: list[tuple[str, int]]
    points: str
    refs: list[tuple[str, str]]
    refs_more: int = 0


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
    refs: list[tuple[str, str]]


@dataclass
class Coverage:
    """What was read and what could not be: the honest limits of the findings."""

    inputs: int
    records: str
    kinds: str
    period_from: str
    period_to: str
    unread: list[str]
    unread_more: int
    truncated: list[str]
    truncated_more: int
    malformed: int
    complete: bool
    networks: str = ""  # the site's networks that made addresses devices
    networks_declared: bool = False  # declared (rules file, --local-nets) rather than inferred


@dataclass
class SiteView:
    index: int
    anchor: str
    name: str
    zone: str
    risk: SiteRisk
    score_views: list[ScoreView]
    contributions: list[dict[str, Any]]
    trend: str
    trend_class: str
    counts: dict[str, int]
    total: int
    sanctioned_count: int
    top_risks: list[TopRisk]
    coverage: Coverage
    categories: list[CategoryView]
    services: list[ServiceRow]
    devices: list[DeviceRow]
    wifi: list[WifiPanel]
    timeline: Timeline
    compliance: dict[str, list[ControlView]]
    controls_without_findings: list[str]
    changes: ScanChanges
    changes_view: dict[str, list[tuple[str, str, str]]]
    severity_chart: Markup
    history_chart: Optional[Markup]
    expired_allows: list[tuple[str, str, str, str, str]]
    appendix: list[RuleGroup]
    inputs: list[dict[str, Any]]
    meta: list[tuple[str, str]]
    cover: list[tuple[str, str]]
    input_root: str = ""
    input_warnings: list[tuple[str, str]] = field(default_factory=list)


# ---------------------------------------------------------------- public API


def render_report(scans: list[SiteReport], out_path: Path | None = None,
                  options: Optional[ReportOptions] = None) -> str:
    """HTML for one site (per-site report) or several (consolidated MSP report)."""
    if not scans:
        raise ReportError("no scan to report on")
    options = options or ReportOptions()
    with use_language(options.language):
        html = _render(scans, options)
    if out_path is not None:
        _write(Path(out_path), html)
    return html


def _render(scans: list[SiteReport], options: ReportOptions) -> str:
    generated = next((s.generated for s in scans if s.generated is not None), None)
    generated = time.time() if generated is None else generated
    sites = [build_site_view(index, scan, generated, options) for index, scan in enumerate(scans, start=1)]
    script = _asset("report.js")
    branding = options.branding
    return label_cells(_environment(options.language).get_template("report.html").render(
        sites=sites,
        consolidated=len(sites) > 1,
        generated=_generated_text(scans, generated),
        tool_version=__version__,
        language=options.language,
        client=clip(branding.client, 120),
        logo=branding.logo_data_uri,
        classification=clip(branding.classification, 120),
        classification_css=css_string(clip(branding.classification, 120).upper()),
        severities=list(reversed(SEVERITIES)),
        severity_label=severity_label,
        label=label,
        category_labels={key: _(label) for key, label in CATEGORY_LABELS.items()},
        grade_bands=_grade_bands(),
        halving_points=decimal(HALVING_POINTS),
        css=Markup(_asset("report.css")),
        script=Markup(script),
        script_hash=_csp_hash(script),
    ))


def _generated_text(scans: list[SiteReport], generated: float) -> str:
    """When the report was made, in the zone the sites' pages use (UTC when the sites use different zones), so the
    first page speaks one clock."""
    zones = {scan.zone for scan in scans}
    with display_zone(zones.pop() if len(zones) == 1 else None):
        return when(generated)


def css_string(text: str) -> str:
    """Text for a CSS string in a <style> element: every character but letters, digits and space
    as a CSS hex escape, so nothing can close the string, the rule or the element."""
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch == " ") else f"\\{ord(ch):06x}" for ch in text)


def label(text: str) -> str:
    """"Text:" as the language writes it (French puts a no-break space before the colon)."""
    return Markup(escape(_("%(label)s:"))) % {"label": text}


def build_site_view(index: int, report: SiteReport, generated: float,
                    options: Optional[ReportOptions] = None) -> SiteView:
    """All the numbers and clipped texts one site section shows, in the site's time zone."""
    with display_zone(report.zone) as zone:
        return _site_view(index, report, generated, zone, options or ReportOptions())


def _site_view(index: int, report: SiteReport, generated: float, zone: str, options: ReportOptions) -> SiteView:
    result = report.result
    state = report.state or site_state([StoredScan(result)])
    stale = {f.id for f in state.with_state(NOT_RECHECKED)}
    findings = sorted(state.current[:MAX_FINDINGS], key=_rank_key)
    risk = summarize(findings)
    anchor = f"s{index}"
    numbers = _display_numbers(findings)
    rows = [_finding_row(anchor, numbers[position], f, f.id in stale) for position, f in enumerate(findings)]
    counts = Counter(_severity(f) for f in findings)
    trend, trend_class = _trend(risk, state.risk_before)
    changes = changes_of(state)
    return SiteView(
        index=index,
        anchor=anchor,
        name=clip(result.site, 80) or _("Site {number}").format(number=index),
        zone=zone,
        risk=risk,
        score_views=_score_views(findings, risk, state.areas),
        contributions=_contributions_view(risk, findings),
        trend=trend,
        trend_class=trend_class,
        counts={s: counts.get(s, 0) for s in SEVERITIES},
        total=len(state.current),
        sanctioned_count=sum(1 for f in findings if f.sanctioned),
        top_risks=_top_risks(findings, rows),
        coverage=_coverage(result),
        categories=_categories(findings, rows),
        services=_services(findings, rows),
        devices=_devices(findings, rows, report.devices or getattr(result, "devices", None) or []),
        wifi=_wifi_panels(findings, rows),
        timeline=_timeline(findings),
        compliance=_compliance(findings, rows, report.compliance),
        controls_without_findings=_unused_controls(findings, report.compliance),
        changes=changes,
        changes_view=_changes_view(changes),
        severity_chart=svg.severity_bars(dict(counts)),
        history_chart=_history_chart(report.history, result.started, dict(counts)),
        expired_allows=[_expired(entry) for entry in report.expired_allows[:200]],
        appendix=_appendix(findings, rows, report.exceptions),
        inputs=[_input_view(record, _common_root(result.inputs)) for record in result.inputs],
        input_root=clip(_common_root(result.inputs), 200),
        input_warnings=[(clip(_relative(i.path, _common_root(result.inputs)), 120), clip(localized(w), 240))
                        for i in result.inputs for w in i.warnings[:MAX_WARNINGS]][:200],
        meta=_meta(result, report, generated),
        cover=_cover(result, report, options.branding, state),
    )


def _timeline(findings: list[Finding]) -> Timeline:
    """The outage -> workaround story, only when there is an outage to tell it from."""
    timeline = build_timeline(findings)
    outage_days = {day.day for day in timeline.days if day.outages}
    # A day without any outage on site tells no workaround story: its uploads are in the services view.
    timeline.days = [day for day in timeline.days if day.day in outage_days or day.workaround]
    return timeline


def _history_chart(history: list[tuple[float, dict[str, int]]], started: float,
                   counts: dict[str, int]) -> Optional[Markup]:
    """Findings per scan over time, once there is more than this scan to show."""
    points = _history_with_current(history, started, counts)
    return svg.history_chart(points) if len(points) > 1 else None


def _history_with_current(
    history: list[tuple[float, dict[str, int]]], started: float, counts: dict[str, int]
) -> list[tuple[float, dict[str, int]]]:
    """Earlier scans plus this one, unless the caller's history already holds it."""
    points = list(history)
    if not any(number(ts) == number(started) for ts, _unused in points):
        points.append((started, counts))
    return points


# ---------------------------------------------------------------- findings


def _severity(finding: Finding) -> str:
    return finding.severity if finding.severity in SEVERITY_RANK else "info"


def _category_key(finding: Finding) -> str:
    return finding.category if finding.category in CATEGORY_LABELS else CATEGORY_OTHER


def _rank_key(finding: Finding) -> tuple[int, float, str]:
    """Most severe first, then most risk: a HIGH never sits above a CRITICAL."""
    return (-SEVERITY_RANK.get(finding.severity, 0), -finding.risk, finding.title)


def _acting_hosts(finding: Finding) -> list[str]:
    return presentation_of(finding).acting_hosts(finding)


def _subject(finding: Finding) -> str:
    return presentation_of(finding).subject(finding)


def _advice(finding: Finding) -> Advice:
    return advice_for(finding.rule or "", presentation_of(finding).advice)


def _display_numbers(findings: list[Finding]) -> list[int]:
    """F-numbers in the order the report shows the findings: category by category, then by rank within one."""
    order = list(CATEGORY_LABELS)
    shown = sorted(range(len(findings)), key=lambda i: (order.index(_category_key(findings[i])), i))
    numbers = [0] * len(findings)
    for number_, position in enumerate(shown, start=1):
        numbers[position] = number_
    return numbers


def _finding_row(site_anchor: str, position: int, finding: Finding, stale: bool = False) -> FindingRow:
    advice = _advice(finding)
    hosts = _acting_hosts(finding)
    first, last = day_text(finding.first_seen), day_text(finding.last_seen)
    return FindingRow(
        ref=f"F{position}",
        anchor=f"{site_anchor}-f{position}",
        severity=_severity(finding),
        category=_category_key(finding),
        sanctioned=bool(finding.sanctioned),
        rule=clip(finding.rule or finding.detector, 80),
        label=advice.label,
        subject=_subject(finding),
        devices=joined(hosts, max_items=3, limit=40) or "-",
        seen=first if first == last else f"{first} \u2013 {last}",
        count=int(finding.count or 0),
        risk=decimal(finding.risk, 1),
        advice=_("Allowed by the site's policy (rule {rule}): nothing to block; review the exception before it "
                 "expires.").format(rule=clip(finding.rule, 80)) if finding.sanctioned else
        " ".join(part for part in (advice.what_to_do, presentation_of(finding).advice_target(finding)) if part),
        stale=stale,
    )


def _categories(findings: list[Finding], rows: list[FindingRow]) -> list[CategoryView]:
    """One table per category that has findings; empty categories are left out."""
    groups = []
    for key, label in CATEGORY_LABELS.items():
        members = [row for finding, row in zip(findings, rows) if _category_key(finding) == key]
        if members:
            groups.append(CategoryView(key, _(label), members[:MAX_ROWS_PER_VIEW],
                                       max(0, len(members) - MAX_ROWS_PER_VIEW)))
    return groups


def _score_views(findings: list[Finding], risk: SiteRisk, assessed: Mapping[str, bool]) -> list[ScoreView]:
    """Each area's sub-score from the stored risks (detector.policy.risk): an area no input could show is
    "not assessed", one read and clean scores 100."""
    counts = Counter(f.category for f in findings)
    views = []
    for key, label in SCORE_LABELS.items():
        stored = risk.categories.get(key)
        if not assessed.get(key, True):
            views.append(ScoreView(key, _(label), _("not assessed"), "", "-", 0))
        elif stored is None:
            views.append(ScoreView(key, _(label), "100", "A", "0", 0))
        else:
            views.append(ScoreView(key, _(label), str(stored.get("score", "-")), str(stored.get("grade", "")),
                                   decimal(stored.get("points"), 1), counts.get(key, 0)))
    return views


def _top_risks(findings: list[Finding], rows: list[FindingRow]) -> list[TopRisk]:
    """One item per rule, most severe then most risk; every category with findings gets a place."""
    groups: dict[str, list[int]] = {}
    for index, finding in enumerate(findings):
        if not finding.sanctioned and finding.risk > 0:
            groups.setdefault(finding.rule or finding.detector or finding.category, []).append(index)

    def key(members: list[int]) -> tuple[int, float]:
        return (-max(SEVERITY_RANK.get(findings[i].severity, 0) for i in members),
                -sum(findings[i].risk for i in members))

    ordered = sorted(groups.values(), key=key)
    chosen: list[list[int]] = []
    for category in dict.fromkeys(_family(findings[m[0]]) for m in ordered):
        chosen.append(next(m for m in ordered if _family(findings[m[0]]) == category))
    for members in ordered:
        if len(chosen) >= TOP_RISKS:
            break
        if members not in chosen:
            chosen.append(members)
    return [_top_risk(findings, rows, members) for members in sorted(chosen, key=key)]


def _family(finding: Finding) -> str:
    return CATEGORY_WIFI if finding.category == CATEGORY_WIFI_ATTACK else finding.category


def _top_risk(findings: list[Finding], rows: list[FindingRow], members: list[int]) -> TopRisk:
    first = findings[members[0]]
    devices = {h for i in members for h in _acting_hosts(findings[i])}
    worst = max((findings[i] for i in members), key=lambda f: SEVERITY_RANK.get(f.severity, 0))
    return TopRisk(
        severity=_severity(worst),
        label=rows[members[0]].label,
        category=_(CATEGORY_LABELS[_category_key(first)]),
        advice=rows[members[0]].advice,
        findings=len(members),
        devices=len(devices),
        example=rows[members[0]].subject,
        points=decimal(sum(findings[i].risk for i in members), 1),
        anchor=rows[members[0]].anchor,
    )


# ---------------------------------------------------------------- coverage


def _coverage(result: ScanResult) -> Coverage:
    inputs = result.inputs
    starts = [i.first_ts for i in inputs if trusted_ts(number(i.first_ts), result.started)]
    ends = [i.last_ts for i in inputs if trusted_ts(number(i.last_ts), result.started)]
    unread = [clip(Path(i.path).name, 80) for i in inputs if i.records == 0]
    truncated = [clip(Path(i.path).name, 80) for i in inputs
                 if i.records and any("truncat" in w.lower() for w in i.warnings)]
    kinds = Counter(clip(i.kind, 30) for i in inputs if i.records)
    networks = getattr(result, "networks", None) or {}
    return Coverage(
        inputs=len(inputs),
        records=decimal(sum(i.records for i in inputs)),
        kinds=", ".join(f"{kind} \u00d7{count}" for kind, count in kinds.most_common(8)) or "-",
        period_from=when(min(starts)) if starts else "-",
        period_to=when(max(ends)) if ends else "-",
        unread=unread[:8],
        unread_more=max(0, len(unread) - 8),
        truncated=truncated[:8],
        truncated_more=max(0, len(truncated) - 8),
        malformed=sum(i.skipped for i in inputs),
        complete=result.complete,
        networks=joined(_shown_networks(networks), max_items=10, limit=60),
        networks_declared=networks.get("source") == "declared",
    )


def _shown_networks(networks: dict[str, Any]) -> list[str]:
    """Inferred: the prefixes that held the scan's devices (every private range says little); declared: the
    declaration."""
    observed = [f"{item.get('network')} ({item.get('devices')})" for item in networks.get("observed") or []
                if isinstance(item, dict)]
    if observed and networks.get("source") != "declared":
        return observed
    return [str(n) for n in networks.get("networks") or []]


# ---------------------------------------------------------------- services (Cloud Discovery style)


def _services(findings: list[Finding], rows: list[FindingRow]) -> list[ServiceRow]:
    """One row per service (or channel) that file-sharing findings name, unsanctioned and riskiest first."""
    grouped: dict[str, list[tuple[Finding, ServiceShare, FindingRow]]] = {}
    for finding, row in zip(findings, rows):
        share = presentation_of(finding).service_share(finding)
        if share is not None:
            grouped.setdefault(share.name, []).append((finding, share, row))
    ranked = []
    for name, members in grouped.items():
        row = _service_row(name, members)
        ranked.append((row.sanctioned_class == "sanctioned", -sum(f.risk for f, _s, _r in members), name.lower(), row))
    return [item[-1] for item in sorted(ranked, key=lambda item: item[:3])][:MAX_ROWS_PER_VIEW]


def _service_row(name: str, members: list[tuple[Finding, ServiceShare, FindingRow]]) -> ServiceRow:
    findings = [finding for finding, _share, _row in members]
    shares = [share for _finding, share, _row in members]
    up = _total(number(share.bytes_up) for share in shares)
    down = _total(number(share.bytes_down) for share in shares)
    devices = sorted({h for f in findings for h in _acting_hosts(f)})
    users = sorted({str(u) for share in shares for u in share.users})
    firsts = [f.first_seen for f in findings if f.first_seen is not None]
    lasts = [f.last_seen for f in findings if f.last_seen is not None]
    category = next((share.service_category for share in shares if share.service_category), "")
    service_risk = next((share.service_risk for share in shares if share.service_risk is not None), "")
    status, css = _sanction_label({f.sanctioned for f in findings})
    return ServiceRow(
        name=name,
        category=clip(category, 40) or "-",
        sanctioned=status,
        sanctioned_class=css,
        service_risk=severity_label(service_risk) if service_risk in SEVERITY_LABELS and not all(
            f.sanctioned for f in findings) else "-",  # a service the site sanctions is no risk to act on
        points=decimal(sum(f.risk for f in findings), 1),
        devices=len(devices),
        device_list=joined(devices, max_items=3, limit=40) or "-",
        users=joined(users, max_items=4, limit=40) or "-",
        up=human_bytes(up),
        down=human_bytes(down),
        first=day_text(min(firsts)) if firsts else "-",
        last=day_text(max(lasts)) if lasts else "-",
        refs=[(r.ref, r.anchor) for _finding, _share, r in members[:20]],
    )


def _total(values: Iterable[Optional[float]]) -> Optional[float]:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _sanction_label(values: set[bool]) -> tuple[str, str]:
    if values == {True}:
        return _("sanctioned"), "sanctioned"
    if True in values:
        return _("partly sanctioned"), "partly"
    return _("not sanctioned"), "unsanctioned"


# ---------------------------------------------------------------- devices


def _devices(findings: list[Finding], rows: list[FindingRow], directory: list[Mapping[str, Any]]) -> list[DeviceRow]:
    """Every device that did something, with the names and users a device directory knows; a device's points are
    its share of each finding's (split evenly over the finding's devices), so the devices add up to the scan."""
    known = _directory(directory)
    members: dict[str, list[int]] = {}
    shares: dict[int, int] = {}
    for index, finding in enumerate(findings):
        hosts = dict.fromkeys(_acting_hosts(finding))
        shares[index] = len(hosts)
        for host in hosts:
            members.setdefault(host, []).append(index)
    devices = []
    for host, indexes in members.items():
        entry = known.get(host.lower(), {})
        counts = Counter(_severity(findings[i]) for i in indexes)
        users = {_entry_text(u, "user") for u in entry.get("users") or []}
        users.update(u for i in indexes for u in presentation_of(findings[i]).device_users(findings[i]))
        names = [_entry_text(n, "name") for n in entry.get("names") or []] or _own_name(indexes, findings, host)
        devices.append((sum(findings[i].risk / shares[i] for i in indexes), DeviceRow(
            address=clip(entry.get("address") or host, 100),
            names=joined(names, max_items=4, limit=60),
            mac=clip(entry.get("mac"), 20),
            users=joined(sorted(users), max_items=5, limit=40),
            counts=[(s, counts[s]) for s in reversed(SEVERITIES) if counts.get(s)],
            points="",
            refs=[(rows[i].ref, rows[i].anchor) for i in indexes[:MAX_REFS]],
            refs_more=max(0, len(indexes) - MAX_REFS),
        )))
    devices.sort(key=lambda item: (-item[0], item[1].address))
    for points, device in devices:
        device.points = decimal(points, 1)
    return [device for _points, device in devices[:MAX_ROWS_PER_VIEW]]


def _entry_text(item: Any, key: str) -> str:
    """A name or user of the devices section: plain text, or a record with ``name``/``user``."""
    return str(item.get(key) or "") if isinstance(item, Mapping) else str(item)


def _own_name(indexes: list[int], findings: list[Finding], host: str) -> list[str]:
    """The name a finding itself gives its device (``host_names``) when no directory entry does."""
    for index in indexes:
        name = (getattr(findings[index], "host_names", None) or {}).get(host)
        if name:
            return [name]
    return []


def _directory(entries: list[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Device directory entries by address and by MAC (lower case)."""
    index: dict[str, Mapping[str, Any]] = {}
    for entry in entries[:10000]:
        if not isinstance(entry, Mapping):
            continue
        for key in ("address", "mac"):
            value = entry.get(key)
            if isinstance(value, str) and value:
                index.setdefault(value.lower(), entry)
    return index


# ---------------------------------------------------------------- wifi


def _wifi_panels(findings: list[Finding], rows: list[FindingRow]) -> list[WifiPanel]:
    panels = []
    for finding, row in zip(findings, rows):
        panel = presentation_of(finding).outage_panel(finding)
        if panel is None:
            continue
        panels.append(WifiPanel(
            anchor=row.anchor,
            title=f"{row.ref} {row.label}: {row.subject}",
            severity=row.severity,
            category=row.category,
            chart=panel.chart,
            outages=panel.rows,
            outages_more=panel.more,
        ))
    return panels


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
    return clip(values[0], 80), clip(values[1], 60), clip(rule_text(str(values[2] or "")), 200)


def _compliance(findings: list[Finding], rows: list[FindingRow],
                controls: Mapping[str, Any]) -> dict[str, list[ControlView]]:
    by_control: dict[str, list[FindingRow]] = {}
    for finding, row in zip(findings, rows):
        for control_id in dict.fromkeys(finding.compliance):
            by_control.setdefault(str(control_id), []).append(row)
    frameworks: dict[str, list[ControlView]] = {}
    for control_id, members in by_control.items():
        known = controls.get(control_id)
        framework, ref, title = _control_fields(known) if known is not None else ("", "", "")
        view = ControlView(ref=ref or clip(control_id, 60), title=title, control_id=clip(control_id, 60),
                           refs=[(r.ref, r.anchor) for r in members[:300]])
        frameworks.setdefault(framework or _("Unmapped control ids"), []).append(view)
    return {name: sorted(frameworks[name], key=lambda c: c.ref) for name in sorted(frameworks)}


def _unused_controls(findings: list[Finding], controls: Mapping[str, Any]) -> list[str]:
    """Controls the rules map that no finding touched: an auditor sees what was checked and found clean."""
    used = {str(c) for f in findings for c in f.compliance}
    unused = []
    for control_id in sorted(controls, key=str):
        if str(control_id) not in used:
            framework, ref, _title = _control_fields(controls[control_id])
            unused.append(f"{framework} {ref}".strip() or clip(control_id, 60))
    return unused[:300]


def _contributions_view(risk: SiteRisk, findings: list[Finding]) -> list[dict[str, Any]]:
    kinds = {}  # a contribution's rule -> the presentation of its findings' kind
    for finding in findings:
        kinds.setdefault(finding.rule or finding.detector or finding.category, presentation_of(finding))
    views = []
    for c in risk.contributions[:200]:
        if c.points <= 0:
            continue
        advice = advice_for(c.rule, kinds[c.rule].advice)
        views.append({
            "rule": clip(c.rule, 80),
            "label": advice.label,
            "severity": c.severity if c.severity in SEVERITY_RANK else "info",
            "findings": c.findings,
            "points": decimal(c.points, 1),
            "fix": advice.what_to_do,
        })
    return views


# ---------------------------------------------------------------- appendix: detail with grouped evidence


def _appendix(findings: list[Finding], rows: list[FindingRow],
              exceptions: Mapping[str, tuple[str, str, str]]) -> list[RuleGroup]:
    """Finding detail grouped by rule: the rule's remediation once, then one compact entry per finding."""
    groups: dict[str, RuleGroup] = {}
    shown = sorted(zip(findings, rows), key=lambda pair: int(pair[1].ref[1:]))
    for finding, row in shown:
        group = groups.get(row.rule)
        if group is None:  # a sanctioned finding's rule is its allow rule: it gives no advice to block
            advice = "" if finding.sanctioned else clip(rule_text(finding.remediation), 600)
            group = groups[row.rule] = RuleGroup(row.rule, row.label, row.severity, advice, [])
        group.details.append(_detail(finding, row, exceptions))
    for group in groups.values():
        _hoist_common(group)
    return list(groups.values())


def _hoist_common(group: RuleGroup) -> None:
    """Facts shared by every finding of a rule are printed once for the rule, not once per finding."""
    if len(group.details) < 2:
        return
    shared = set(group.details[0].attributes)
    for detail in group.details[1:]:
        shared &= set(detail.attributes)
    if not shared:
        return
    group.common = [pair for pair in group.details[0].attributes if pair in shared]
    for detail in group.details:
        detail.attributes = [pair for pair in detail.attributes if pair not in shared]


def _detail(finding: Finding, row: FindingRow, exceptions: Mapping[str, tuple[str, str, str]]) -> FindingDetail:
    evidence = group_evidence(finding)
    return FindingDetail(
        row=row,
        title=clip(title_of(finding), 160) or "-",
        finding_id=clip(finding.id, 80),
        hosts=joined(finding.hosts, max_items=12, limit=60) or "-",
        first_seen=when(finding.first_seen),
        last_seen=when(finding.last_seen),
        attributes=[(_(label), clip(_value(value), MAX_FACT_CHARS))
                    for label, value in presentation_of(finding).facts(finding)
                    if not (finding.sanctioned and label in _risk_labels(finding))][:MAX_FACTS],
        evidence=evidence[:MAX_EVIDENCE_GROUPS],
        evidence_more=max(0, len(evidence) - MAX_EVIDENCE_GROUPS),
        allow=_allow_text(finding, exceptions),
        allow_expired=not finding.sanctioned and bool((finding.exception or {}).get("expired")),
        evidence_omitted=max(0, int(finding.count or 0) - len(finding.evidence)),
    )


def _risk_labels(finding: Finding) -> set[str]:
    """The labels of a kind's catalog-risk attribute: a service the site sanctioned is no risk to act on."""
    return {spec.label for spec in type(finding.attributes).specs() if spec.name == "risk"}


OUR_WORDS = (N_("yes"), N_("no"), N_("unknown"))


def _value(value: str) -> str:
    """Attribute values that are words of ours (yes/no/unknown, low/medium/high) are translated; data stays."""
    return _(value) if value in OUR_WORDS or value in SEVERITY_LABELS else localized(value)


def _allow_text(finding: Finding, exceptions: Mapping[str, tuple[str, str, str]]) -> str:
    """The exception behind a sanctioned finding, or the expired one that no longer covers it: allow rule,
    reason, owner, expiry and where the rule is written."""
    stored = getattr(finding, "exception", None) or {}
    if not finding.sanctioned and not stored.get("expired"):
        return ""
    if stored:  # recorded on the finding when it was classified
        rule, reason, owner, expires, location = (str(stored.get(key) or "") for key in
                                                  ("rule", "reason", "owner", "expires", "location"))
    else:
        rule, location = finding.rule, ""
        reason, owner, expires = exceptions.get(finding.rule, ("", "", ""))
    parts = [clip(rule or finding.rule, 80), clip(reason, 200)]
    if owner:
        parts.append(_("owner: {owner}").format(owner=clip(owner, 80)))
    if expires:
        template = _("expired on {date}") if stored.get("expired") else _("until {date}")
        parts.append(template.format(date=day_text(expires)))
    if location:
        parts.append(_("rule at {location}").format(location=clip(location, 120)))
    return " \u00b7 ".join(p for p in parts if p)


def group_evidence(finding: Finding) -> list[tuple[str, str, str]]:
    """(detail, where, when) with repeated details merged: "f.pcap: frames 3, 9, 12 (+40)"."""
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for item in finding.evidence[:5000]:
        source = str(item.source or "")
        match = _EVIDENCE_PLACE.match(source)
        file, place = (match.group("file"), f"{match.group('kind')} {match.group('n')}") if match else (source, "")
        entry = grouped.setdefault((file, clip(localized(item.detail), 200)), {"places": [], "times": []})
        if place:
            entry["places"].append(match.group("n") if match else place)
            entry.setdefault("kind", match.group("kind") if match else "")
        if to_timestamp(item.time) is not None:
            entry["times"].append(to_timestamp(item.time))
    result = []
    for (file, detail), entry in grouped.items():
        places = entry["places"]
        where = clip(Path(file).name, 60) or "-"
        if places:
            shown = ", ".join(places[:4])
            more = f" (+{len(places) - 4})" if len(places) > 4 else ""
            noun = _place_noun(entry.get("kind", ""), len(places))
            where = f"{where}: {noun} {shown}{more}"
        times = entry["times"]
        moment = when_seconds(min(times)) if times else "-"
        if len(times) > 1 and max(times) != min(times):
            moment = f"{moment} \u2013 {when_seconds(max(times))}"
        result.append((detail or "-", where, moment))
    return result


def _place_noun(kind: str, count: int) -> str:
    if kind == "line":
        return ngettext("line", "lines", count)
    if kind == "record":
        return ngettext("record", "records", count)
    return ngettext("frame", "frames", count)


# ---------------------------------------------------------------- changes, trend


def _changes_view(changes: ScanChanges) -> dict[str, list[tuple[str, str, str]]]:
    def rows(items: list[Finding]) -> list[tuple[str, str, str]]:
        return [(_severity(f), f"{_advice(f).label}: {_subject(f)}",
                 joined(_acting_hosts(f), max_items=4, limit=40))
                for f in sorted(items, key=_rank_key)[:MAX_CHANGE_ROWS]]

    return {"new": rows(changes.new), "resolved": rows(changes.resolved), "persisting": rows(changes.persisting),
            "not_rechecked": rows(changes.not_rechecked)}


def _trend(risk: SiteRisk, before: Optional[SiteRisk]) -> tuple[str, str]:
    """Score change against the site state before this scan."""
    if before is None:
        return _("first scan"), "trend-none"
    delta = risk.score - before.score
    was = _("was {score}, {grade}").format(score=before.score, grade=before.grade)
    if delta > 0:
        return f"\u25b2 +{delta} ({was})", "trend-up"
    if delta < 0:
        return f"\u25bc {delta} ({was})", "trend-down"
    return _("unchanged ({score}, {grade})").format(score=before.score, grade=before.grade), "trend-flat"


# ---------------------------------------------------------------- annex, cover


def _expired(entry: Any) -> tuple[str, str, str, str, str]:
    """(rule, expired, reason, owner, where the rule is written) of an expired allow rule."""
    values = list(entry)[:5] if isinstance(entry, (list, tuple)) else [entry]
    values += [""] * (5 - len(values))
    expires = values[1]
    expires_text = when(expires) if number(expires) is not None else clip(expires, 40) or "-"
    return clip(values[0], 80), expires_text, clip(values[2], 300), clip(values[3], 80), clip(values[4], 160)


def _common_root(inputs: list[InputRecord]) -> str:
    """The folder every input sits in, printed once so each row shows a short relative path."""
    folders = [str(Path(i.path).parent) for i in inputs if i.path]
    if not folders:
        return ""
    try:
        return os.path.commonpath(folders)
    except ValueError:  # mixed absolute and relative paths
        return ""


def _relative(path: str, root: str) -> str:
    if root and path.startswith(root.rstrip("/") + "/"):
        return path[len(root.rstrip("/")) + 1:]
    return path


def _input_view(record: InputRecord, root: str = "") -> dict[str, Any]:
    warnings, more = clip_list([localized(w) for w in record.warnings], max_items=MAX_WARNINGS,
                                limit=200)
    return {
        "path": clip(_relative(record.path, root), 300),
        "full_path": clip(record.path, 300),
        "kind": clip(record.kind, 40),
        "bytes": human_bytes(record.bytes),
        "exact_bytes": decimal(record.bytes) if number(record.bytes) is not None else "-",
        "sha256": clip(record.sha256, 128),
        "records": decimal(record.records),
        "skipped": decimal(record.skipped),
        "warnings": warnings,
        "warnings_more": more,
        "first": when(record.first_ts),
        "last": when(record.last_ts),
    }


def _meta(result: ScanResult, report: SiteReport, generated: float) -> list[tuple[str, str]]:
    return [
        (_("Site"), clip(result.site, 120) or "-"),
        (_("Operator"), clip(report.operator or result.operator, 120) or "-"),
        (_("Scanning host"), clip(result.hostname, 120) or "-"),
        (_("Command line"), clip(result.argv, 600) or "-"),
        (_("Scan id"), str(result.scan_id) if result.scan_id is not None else "-"),
        (_("Scan started"), when_seconds(result.started)),
        (_("Scan finished"), when_seconds(result.finished)),
        (_("Scan complete"), _("yes") if result.complete else _("no (interrupted: findings may be partial)")),
        (_("Tool version"), clip(result.tool_version, 40) or "-"),
        (_("Rules SHA-256"), clip(result.rules_sha256, 128) or "-"),
        (_("Report generated"), when_seconds(generated)),
    ]


def _cover(result: ScanResult, report: SiteReport, branding: Branding, state: SiteState) -> list[tuple[str, str]]:
    """The cover facts; the period covered comes from trusted clocks only (never 1970 from a reset clock)."""
    start, end = state.period
    period = f"{day_text(start)} \u2013 {day_text(end)}" if start is not None and end is not None else "-"
    rules_word = _("rules")
    rows = [
        (pgettext("the audited organisation", "Client"),
         clip(branding.client, 120) or clip(result.site, 120) or "-"),
        (_("Site"), clip(result.site, 120) or "-"),
        (_("Traffic and logs covered"), period),
        (_("Scan date"), when(result.started)),
        *_window_row(state),
        (_("Operator"), clip(report.operator or result.operator, 120) or "-"),
        (_("Tool and rules"), f"shadowit {clip(result.tool_version, 40)} \u00b7 "
                              f"{rules_word} {clip(result.rules_sha256, 12) or '-'}"),
    ]
    return rows


def _window_row(state: SiteState) -> list[tuple[str, str]]:
    """The assessment window, once the state holds more than this scan."""
    if state.scans < 2:
        return []
    start = state.window_start if state.window_start is not None else state.first_started
    text = ngettext("%(num)d scan", "%(num)d scans", state.scans) % {"num": state.scans}
    return [(_("Assessment window"), f"{day_text(start)} \u2013 {day_text(state.window_end)} ({text})")]


def _grade_bands() -> list[tuple[str, str]]:
    bands = []
    upper = 100
    for grade, lowest in GRADE_BANDS:
        bands.append((grade, f"{lowest}\u2013{upper}"))
        upper = lowest - 1
    return bands


# ---------------------------------------------------------------- plumbing


@lru_cache(maxsize=4)
def _environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
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
