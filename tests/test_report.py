"""HTML report and risk model: content, hostile input, offline-ness, scoring rules."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from detector.findings.attributes import Attributes
from detector.findings.credentials import CleartextLoginAttributes
from detector.findings.filesharing import ServiceUseAttributes
from detector.findings.finding import (
    CATEGORY_CREDENTIALS,
    CATEGORY_FILE_SHARING,
    CATEGORY_WIFI,
    CATEGORY_WIFI_ATTACK,
    SEVERITY_RANK,
    Evidence,
    Finding,
)
from detector.findings.result import InputRecord, ScanResult
from detector.findings.wifi import DeauthFloodAttributes, RecurringDropAttributes
from detector.policy.risk import GRADE_BANDS, finding_risk, grade_for, score_findings, site_score
from detector.secrets import Secret
from detector.store.state import StoredScan, site_state
from reports.advice import Advice
from reports.changes import changes_of
from reports.kinds import presentation_of
from reports.kinds.base import Presentation, presents
from reports.render import ReportError, ReportWriteError, SiteReport, render_report
from reports.timeline import build_timeline

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
DAY = 86400.0
T0 = 1_709_280_000.0  # 2024-03-01 08:00 UTC
MIB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class OddAttributes(Attributes):
    """A kind whose category the report has no section for yet: it lands in "Other findings"."""

    detector = "test.odd"
    category = "strange-new-category"


@presents(OddAttributes)
class OddPresentation(Presentation[OddAttributes]):
    advice = Advice("Other finding", "Review this finding with IT.")


KIND_OF = {CATEGORY_FILE_SHARING: ServiceUseAttributes, CATEGORY_CREDENTIALS: CleartextLoginAttributes,
           CATEGORY_WIFI: RecurringDropAttributes, CATEGORY_WIFI_ATTACK: DeauthFloodAttributes,
           OddAttributes.category: OddAttributes}


def make_finding(fid: str, category: str, severity: str = "high", **overrides) -> Finding:
    """A finding of the category's usual kind; ``attributes`` may be given as that kind's keywords."""
    attributes = overrides.pop("attributes", {})
    values = dict(
        id=fid,
        title=f"{category} finding {fid}",
        first_seen=T0,
        last_seen=T0 + 3600,
        count=3,
        hosts=["10.0.0.5"],
        attributes=attributes if isinstance(attributes, Attributes) else KIND_OF[category](**attributes),
        rule=f"rule-{category}",
        severity=severity,
        remediation=f"Fix {category}.",
    )
    values.update(overrides)
    return Finding(**values)


def every_category(hostile: str = "") -> list[Finding]:
    """One finding per category, with ``hostile`` text in every free-text field."""
    sharing = make_finding(
        "fs1",
        CATEGORY_FILE_SHARING,
        "critical",
        title=f"Uploads to WeTransfer {hostile}",
        hosts=["10.0.0.5", f"laptop{hostile}"],
        attributes={
            "service": f"WeTransfer{hostile}",
            "service_category": "file-transfer",
            "methods": ["tls-sni", "dns"],
            "bytes_up": 3 * 1024 * MIB,
            "bytes_down": 2 * MIB,
            "domains": [f"wetransfer.com{hostile}"],
            "vendor_url": "https://wetransfer.com/",
            "per_host": [
                {"host": "10.0.0.5", "bytes_up": 2 * 1024 * MIB, "bytes_down": MIB},
                {"host": f"laptop{hostile}", "bytes_up": 1024 * MIB, "bytes_down": MIB},
            ],
        },
        evidence=[Evidence("2024-03-01T10:00:00Z", "capture.pcap:frame 12", f"SNI wetransfer.com {hostile}")],
        compliance=["iso27001-a5.14"],
        remediation="Offer a sanctioned sharing service.",
    )
    sanctioned = make_finding(
        "fs2",
        CATEGORY_FILE_SHARING,
        "low",
        title="OneDrive use",
        sanctioned=True,
        attributes={"service": "OneDrive", "service_category": "cloud-storage", "bytes_up": 10 * MIB},
    )
    credential = make_finding(
        "cr1",
        CATEGORY_CREDENTIALS,
        "high",
        title=f"FTP login in clear by {hostile}",
        first_seen=T0 + 2 * 3600,
        last_seen=T0 + 2 * 3600,
        hosts=["10.0.0.7"],
        attributes={
            "protocol": "ftp",
            "username": f"alice{hostile}",
            "secret_mask": "s******* (8)",
            "secret_fingerprint": "fp:1a2b3c4d",
            "weak": True,
            "server": "192.0.2.10",
            "server_port": 21,
            "accepted": True,
        },
        evidence=[Evidence("2024-03-01T10:00:00Z", "capture.pcap:frame 40", f"USER alice{hostile}")],
        compliance=["pci-8.3.2"],
    )
    wifi = make_finding(
        "wf1",
        CATEGORY_WIFI,
        "medium",
        title="Wi-Fi drops every day around 09:00",
        first_seen=T0 - 4 * DAY,
        last_seen=T0 + 1800,
        hosts=["aa:bb:cc:00:00:01", "10.0.0.7"],
        attributes={
            "pattern": "daily",
            "time_of_day": "09:00",
            "spread_minutes": 6.0,
            "days_with_drop": 4,
            "days_observed": 5,
            "stations": ["aa:bb:cc:00:00:01", "10.0.0.7"],
            "aps": [f"ap-office{hostile}"],
            "hint": "AP reboots on a schedule",
            "heatmap": {
                "ap": f"ap-office{hostile}",
                "dates": ["2024-02-26", "2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"],
                "cells": [[0, 9, 2], [1, 9, 3], [3, 9, 1], [4, 9, 4], [4, 14, 1], ["bad", 1, 1], [9, 99, 1]],
                "window": [530, 560],
            },
            "outages": [
                {"start": T0 + 1800 - 3600, "duration_s": 95, "stations": ["10.0.0.7"]},
                {"start": "2024-02-29T09:01:00Z", "duration_s": 60, "stations": 3},
            ],
        },
    )
    attack = make_finding(
        "wa1",
        CATEGORY_WIFI_ATTACK,
        "critical",
        title="Deauthentication flood",
        attributes={"bssid": "aa:bb:cc:dd:ee:ff", "frames": 900},
    )
    other = make_finding("ot1", "strange-new-category", "low", title=f"Odd thing {hostile}")
    return [sharing, sanctioned, credential, wifi, attack, other]


def make_scan(findings: list[Finding], site: str = "Acme Dental", started: float = T0 + DAY) -> ScanResult:
    """A scan as the app stores it: risk scored once, at the end of the scan."""
    risk = score_findings(findings)
    return ScanResult(
        started=started,
        finished=started + 60,
        tool_version="0.1.0",
        rules_sha256="ab" * 32,
        inputs=[
            InputRecord(
                path=f"/captures/office{SCRIPT}.pcap",
                sha256="cd" * 32,
                bytes=123456,
                kind="pcap",
                records=4200,
                warnings=[f"truncated frame {IMG}"],
                first_ts=T0 - 4 * DAY,
                last_ts=T0 + 7200,
            )
        ],
        findings=findings,
        site=site,
        operator="consultant",
        risk=risk,
    )


@dataclass
class Control:
    framework: str
    ref: str
    title: str


def scored(result: ScanResult) -> ScanResult:
    """Risk as the scan stores it (computed once at scan end); the report only reads it."""
    score_findings(result.findings, now=result.finished)
    return result


def site_report(findings: list[Finding], **extra) -> SiteReport:
    values = dict(
        result=make_scan(findings),
        compliance={
            "iso27001-a5.14": Control("ISO/IEC 27001:2022", "A.5.14", "Information transfer"),
            "pci-8.3.2": {"framework": "PCI DSS 4.0", "ref": "8.3.2", "title": "Strong auth crypto"},
            "unused-1": Control("NIST CSF", "PR.AA-01", "Identities managed"),
        },
        expired_allows=[("allow-dropbox", "2024-01-31", f"Pilot ended {SCRIPT}")],
        operator="J. Consultant",
        generated=T0 + 2 * DAY,
    )
    previous = extra.pop("previous", None)
    values.update(extra)
    scored(values["result"])
    if previous is not None:  # the site state of two scans, as the store computes it
        values["state"] = site_state([StoredScan(scored(previous)), StoredScan(values["result"])])
    return SiteReport(**values)


@pytest.fixture
def hostile_html() -> str:
    return render_report([site_report(every_category(SCRIPT + IMG))])


# ---------------------------------------------------------------- content


def test_report_has_every_section_and_key_content():
    html = render_report([site_report(every_category())])
    for heading in (
        "Executive summary",
        "Points by rule, and how to win them back",
        ">Findings<",
        ">Services<",
        "Devices and people",
        ">Wi-Fi<",
        "Why staff work around IT",
        "Expired allow rules",
        "Appendix A: finding detail",
        "Appendix B: compliance",
        "Appendix C: evidence",
    ):
        assert heading in html
    assert "Acme Dental" in html
    assert "3.0 GiB" in html  # humanised upload volume
    assert "s******* (8)" in html and "fp:1a2b3c4d" in html  # mask and fingerprint
    assert "192.0.2.10:21" in html
    assert "09:00" in html and "\u00b1 6 min" in html and "4 / 5" in html
    assert "heat-window" in html  # recurring window drawn on the heat map
    assert "1 min 35 s" in html  # outage duration
    assert "ISO/IEC 27001:2022" in html and "A.5.14" in html and "PCI DSS 4.0" in html
    assert "PR.AA-01" in html  # control with no finding still listed for the auditor
    assert "allow-dropbox" in html
    assert "cd" * 32 in html and "ab" * 32 in html  # input and rules hashes
    assert "J. Consultant" in html
    assert "Other findings" in html
    assert re.search(r"<svg class=\"chart\"", html)


def test_findings_grouped_by_category_with_filter_hooks():
    html = render_report([site_report(every_category())])
    for category in ("file-sharing", "plaintext-credentials", "wifi-drops", "wifi-attack", "other"):
        assert f'data-category="{category}"' in html
    assert 'data-category="strange-new-category"' not in html
    assert 'id="filters"' in html and "hidden" in html.split('id="filters"')[1][:200]


def test_sanctioned_marker_and_plain_language_top_risks():
    html = render_report([site_report(every_category())])
    assert "not sanctioned" in html
    summary = html.split("Top risks and what to do", 1)[1].split("What was read", 1)[0]
    assert "What to do" in summary and "block-list export" in summary
    assert "OneDrive" not in summary  # sanctioned: zero risk, not a top risk
    assert summary.count("<li>") <= 5


def _top_risk_labels(findings: list[Finding]) -> list[str]:
    html = render_report([site_report(findings)])
    summary = html.split('<ol class="top-risks">', 1)[1].split("</ol>", 1)[0]
    return re.findall(r"<strong>([^<]+)</strong>", summary)


def test_top_risks_one_per_rule_by_severity_then_risk_with_every_category():
    logins = [make_finding(f"rej{i}", CATEGORY_CREDENTIALS, "medium", rule="cred-rejected-login",
                           hosts=[f"10.0.1.{i}"], count=50) for i in range(12)]
    defaults = [make_finding(f"def{i}", CATEGORY_CREDENTIALS, "critical", rule="cred-default-password",
                             hosts=["10.0.0.9"], count=1) for i in range(2)]
    weak = make_finding("weak", CATEGORY_CREDENTIALS, "high", rule="cred-weak-password")
    mail = make_finding("mail", CATEGORY_CREDENTIALS, "high", rule="cred-cleartext-mail")
    db = make_finding("db", CATEGORY_CREDENTIALS, "high", rule="cred-cleartext-database")
    share = make_finding("share", CATEGORY_FILE_SHARING, "low", rule="fs-unsanctioned-service",
                         attributes={"service": "Trello"})
    labels = _top_risk_labels([*logins, *defaults, weak, mail, db, share])
    assert labels.count("Repeated failed logins") <= 1 and len(labels) == len(set(labels))
    assert labels[0] == "Default or well-known password"  # critical above every high and medium
    assert "Unapproved cloud service" in labels  # file sharing has a place although it is only low
    severities = re.findall(r'badge sev-(\w+)">', render_report([site_report(
        [*logins, *defaults, weak, mail, db, share])]).split('<ol class="top-risks">', 1)[1].split("</ol>")[0])
    ranks = [SEVERITY_RANK[s] for s in severities]
    assert ranks == sorted(ranks, reverse=True)


def test_workaround_after_outage_is_called_out():
    html = render_report([site_report(every_category())])
    assert "likely workaround" in html
    timeline = build_timeline(every_category())
    credential_workarounds = [w for w in timeline.workarounds if w.event.kind == "credential"]
    assert credential_workarounds and credential_workarounds[0].host == "10.0.0.7"
    assert credential_workarounds[0].same_host is True
    assert credential_workarounds[0].gap_hours == pytest.approx(2.5)


def test_no_workaround_when_upload_is_more_than_a_day_after_the_outage():
    outage = make_finding("w", CATEGORY_WIFI, attributes={"outages": [{"start": T0, "stations": ["h1"]}]})
    upload = make_finding("u", CATEGORY_FILE_SHARING, hosts=["h1"], first_seen=T0 + 2 * DAY,
                          last_seen=T0 + 2 * DAY)
    assert build_timeline([outage, upload]).workarounds == []
    upload.first_seen = upload.last_seen = T0 + 3600
    assert len(build_timeline([outage, upload]).workarounds) == 1


# ---------------------------------------------------------------- hostile input


class TagCollector(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def parsed_tags(html: str) -> list[tuple[str, dict[str, str]]]:
    collector = TagCollector()
    collector.feed(html)
    return collector.tags


def test_hostile_strings_are_escaped(hostile_html: str):
    assert "<script>alert" not in hostile_html
    assert "<img src=x" not in hostile_html
    tags = parsed_tags(hostile_html)
    assert not [t for t, _ in tags if t in ("img", "iframe", "object", "embed")]
    assert not [name for _, attrs in tags for name in attrs if name.startswith("on")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_html
    assert "&lt;img src=x onerror=alert(1)&gt;" in hostile_html


def test_only_our_script_runs(hostile_html: str):
    assert hostile_html.count("<script") == 1
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]+'", hostile_html)
    assert "default-src 'none'" in hostile_html


def test_no_external_resources(hostile_html: str):
    references = [
        value
        for _, attrs in parsed_tags(hostile_html)
        for name, value in attrs.items()
        if name in ("src", "href", "action", "xlink:href", "srcset", "poster", "data", "background")
    ]
    assert references, "expected at least the in-page anchors"
    for reference in references:
        assert reference.startswith("#") or reference == "data:,", reference
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", hostile_html)
    assert "@import" not in hostile_html and "url(" not in hostile_html
    assert "https://wetransfer.com/" in hostile_html  # vendor URL shown as text only


def test_long_hostile_values_are_clipped_and_bidi_is_neutralised():
    finding = make_finding("x", CATEGORY_FILE_SHARING, hosts=["h" * 5000, "invoice\u202egpj.exe\x00"],
                           attributes={"service": "S" * 10_000})
    html = render_report([site_report([finding])])
    assert "h" * 5000 not in html and "S" * 10_000 not in html
    assert "\u202e" not in html and "\x00" not in html
    assert "invoice\ufffdgpj.exe\ufffd" in html


def test_secret_objects_render_as_mask_only():
    secret = Secret(mask="p******* (9)", fingerprint="fp:99", length=9)
    finding = make_finding("c", CATEGORY_CREDENTIALS, attributes={"protocol": "pop3", "secret_mask": secret.mask,
                                                                  "secret_fingerprint": secret.fingerprint})
    html = render_report([site_report([finding])])
    assert "p******* (9)" in html and "fp:99" in html


# ---------------------------------------------------------------- consolidated report, changes


def test_consolidated_report_has_one_row_per_site_with_links():
    first = site_report(every_category(), result=make_scan(every_category(), site="Site North"))
    quiet = [make_finding("q", CATEGORY_FILE_SHARING, "low", sanctioned=True)]
    second = site_report(quiet, result=make_scan(quiet, site="Site South"))
    html = render_report([first, second])
    overview = html.split('id="overview"', 1)[1].split("</section>", 1)[0]
    assert 'href="#s1"' in overview and 'href="#s2"' in overview
    assert "Site North" in overview and "Site South" in overview
    assert 'id="s1"' in html and 'id="s2"' in html
    assert 'id="s1-f1"' in html and 'id="s2-f1"' in html  # anchors do not collide
    assert "100/100" in overview  # the quiet site only has sanctioned use


def test_changes_since_previous_scan():
    before = [make_finding("old", CATEGORY_CREDENTIALS), make_finding("fs1", CATEGORY_FILE_SHARING)]
    previous = make_scan(before, started=T0 - 7 * DAY)
    current = make_scan(every_category())
    changes = changes_of(site_state([StoredScan(previous), StoredScan(current)]))
    assert [f.id for f in changes.resolved] == ["old"]
    assert [f.id for f in changes.persisting] == ["fs1"]
    assert {f.id for f in changes.new} == {"fs2", "cr1", "wf1", "wa1", "ot1"}
    assert changes_of(site_state([StoredScan(current)])).has_previous is False
    html = render_report([site_report(every_category(), result=current, previous=previous,
                                      history=[(T0 - 7 * DAY, {"high": 2})])])
    assert "5 new, 1 resolved, 1 still present" in html
    assert "was " in html  # score trend against the previous scan


def test_write_to_path_and_error_on_bad_path(tmp_path: Path):
    out = tmp_path / "out" / "report.html"
    html = render_report([site_report(every_category())], out)
    assert out.read_text(encoding="utf-8") == html
    with pytest.raises(ReportError):
        render_report([])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReportWriteError) as caught:
        render_report([site_report([])], blocker / "report.html")
    assert isinstance(caught.value, OSError) and caught.value.strerror  # the CLI catches OSError


def test_empty_scan_renders_grade_a():
    html = render_report([site_report([])])
    assert "Score 100/100" in html and 'grade-A' in html


def test_malformed_attributes_do_not_break_rendering():
    from detector.findings.wifi import RecurringDropAttributes

    # load() is the lenient path a damaged or foreign database takes: no type checks
    finding = make_finding("m", CATEGORY_WIFI, attributes=RecurringDropAttributes.load({
        "heatmap": {"dates": "not-a-list", "cells": None},
        "outages": ["junk", {"start": "yesterday", "duration_s": "long"}],
        "time_of_day": {"x": 1},
    }))
    html = render_report([site_report([finding])])
    assert "Recurring Wi-Fi drops" in html


# ---------------------------------------------------------------- risk model


def test_more_hosts_means_more_risk():
    one = make_finding("a", CATEGORY_CREDENTIALS, hosts=["h1"])
    many = make_finding("b", CATEGORY_CREDENTIALS, hosts=["h1", "h2", "h3", "h4"])
    assert finding_risk(many, T0) > finding_risk(one, T0)


def test_more_volume_and_recency_mean_more_risk():
    small = make_finding("a", CATEGORY_FILE_SHARING, attributes={"bytes_up": MIB})
    large = make_finding("b", CATEGORY_FILE_SHARING, attributes={"bytes_up": 1024 * MIB})
    assert finding_risk(large, T0) > finding_risk(small, T0)
    recent = make_finding("c", CATEGORY_CREDENTIALS, last_seen=T0)
    old = make_finding("d", CATEGORY_CREDENTIALS, last_seen=T0 - 90 * DAY)
    assert finding_risk(recent, T0) > finding_risk(old, T0) > 0


def test_severity_order_and_sanctioned_is_zero():
    risks = [finding_risk(make_finding(s, CATEGORY_CREDENTIALS, s), T0)
             for s in ("info", "low", "medium", "high", "critical")]
    assert risks == sorted(risks) and risks[0] == 0 and len(set(risks)) == 5
    sanctioned = make_finding("s", CATEGORY_FILE_SHARING, "critical", sanctioned=True,
                              hosts=["a", "b", "c"], attributes={"bytes_up": 10**12})
    assert finding_risk(sanctioned, T0) == 0
    risk = score_findings([sanctioned], now=T0)
    assert (risk.score, risk.grade) == (100, "A")
    assert sanctioned.risk == 0


def test_score_sets_risk_and_sorts_contributions():
    findings = every_category()
    risk = score_findings(findings, now=T0 + DAY)
    assert all(f.risk >= 0 for f in findings)
    assert 0 <= risk.score <= 100
    points = [c.points for c in risk.contributions]
    assert points == sorted(points, reverse=True)
    assert sum(c.findings for c in risk.contributions) == len(findings)
    assert "log2(hosts)" in risk.formula
    assert risk.score == round(100 * 0.5 ** (sum(f.risk for f in findings) / 50))


def test_site_score_decreases_with_points_and_keeps_ranking_bad_sites():
    scores = [site_score(points) for points in (0, 5, 25, 50, 100, 150, 200)]
    assert scores[0] == 100 and scores[3] == 50
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores)


@pytest.mark.parametrize(
    "score, grade",
    [(100, "A"), (90, "A"), (89, "B"), (75, "B"), (74, "C"), (60, "C"),
     (59, "D"), (40, "D"), (39, "F"), (0, "F")],
)
def test_grade_bands(score: int, grade: str):
    assert grade_for(score) == grade
    assert [g for g, _ in GRADE_BANDS] == ["A", "B", "C", "D", "F"]


def test_score_is_deterministic_without_now():
    findings = every_category()
    assert score_findings(findings).score == score_findings(every_category()).score


# ---------------------------------------------------------------- detector attribute shapes, zones


def test_attributes_as_the_detectors_emit_them():
    credential = make_finding("c", CATEGORY_CREDENTIALS, attributes={
        "protocol": "imap", "username": "carol", "secret_mask": "h****** (7)", "secret_fingerprint": "fp:77",
        "client": "10.0.0.9", "clients": ["10.0.0.9"], "server": "192.0.2.1", "server_port": 143,
        "accepted": None, "weak": False, "default": True, "kind": "cleartext"})
    sharing = make_finding("s", CATEGORY_FILE_SHARING, attributes={
        "service": "Dropbox", "service_category": "cloud-storage", "domains": ["dropbox.com"],
        "methods": ["dns", "tls-sni"], "bytes_up": None, "bytes_down": None, "connections": 4, "risk": "high",
        "per_host": [{"host": "10.0.0.9", "bytes_up": None, "bytes_down": None, "connections": 4}]})
    wifi = make_finding("w", CATEGORY_WIFI, attributes={
        "pattern": "daily", "time_of_day": "09:05", "spread_minutes": 4.0, "days_with_drop": 4,
        "days_observed": 6, "stations": ["aa:bb"], "aps": ["cc:dd"], "reasons": {"3": 5, "8": 1},
        "typical_duration_s": 150.0})
    html = render_report([site_report([credential, sharing, wifi])])
    for text in ("carol", "h****** (7)", "fp:77", "192.0.2.1:143", "default or very common password",
                 "Dropbox", "09:05", "4 / 6", "3: 5, 8: 1", "2 min 30 s"):
        assert text in html, text
    sharing_table = html.split('-services">', 1)[1].split("</section>", 1)[0]
    assert "0 B" not in sharing_table  # unmetered stays unknown, not zero


def test_times_follow_the_site_time_zone():
    finding = make_finding("c", CATEGORY_CREDENTIALS, first_seen=T0, last_seen=T0)
    utc = render_report([site_report([finding])])
    local = render_report([site_report([finding], zone=timezone(timedelta(hours=2)))])
    assert "2024-03-01 08:00 UTC" in utc
    assert "2024-03-01 10:00 UTC+02:00" in local and "Times are UTC+02:00" in local


def test_history_holding_the_current_scan_is_not_doubled():
    findings = [make_finding("h", CATEGORY_CREDENTIALS, "high")]
    scan = make_scan(findings)
    history = [(scan.started - DAY, {"high": 2}), (scan.started, {"high": 7})]
    stored = render_report([site_report(findings, result=scan, history=history)])
    assert stored.count("high: 7</title>") == 1 and "2024-03-02 08:00 high: 1</title>" not in stored
    fresh = render_report([site_report(findings, result=scan, history=[(scan.started - DAY, {"high": 7})])])
    assert "high: 7</title>" in fresh and "2024-03-02 08:00 high: 1</title>" in fresh


def test_framework_name_is_preferred_for_grouping():
    @dataclass
    class RulesControl:
        framework: str
        ref: str
        title: str
        framework_name: str

    finding = make_finding("c", CATEGORY_CREDENTIALS, compliance=["CIS-v8:3.10"])
    controls = {"CIS-v8:3.10": RulesControl("CIS-v8", "3.10", "Encrypt data in transit", "CIS Controls v8")}
    html = render_report([site_report([finding], compliance=controls)])
    assert "<h3>CIS Controls v8</h3>" in html and "Encrypt data in transit" in html


def test_wifi_without_outage_list_counts_site_wide():
    wifi = make_finding("w", CATEGORY_WIFI, hosts=["aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02"],
                        attributes={"aps": ["cc:dd:ee:ff:00:11"]},
                        evidence=[Evidence("2024-03-01T09:00:00Z", "hostapd.log:line 3", "2 stations dropped")])
    upload = make_finding("u", CATEGORY_FILE_SHARING, hosts=["10.0.0.5"], first_seen=T0 + 3 * 3600,
                          last_seen=T0 + 3 * 3600, attributes={"service": "MEGA"})
    timeline = build_timeline([wifi, upload])
    outage_hosts = {day.host for day in timeline.days if day.outages}
    assert outage_hosts == {"Wi-Fi cc:dd:ee:ff:00:11"}  # one site-level row, not one per station
    assert [(w.host, w.same_host, w.gap_hours) for w in timeline.workarounds] == [("10.0.0.5", False, 2.0)]


def test_timeline_names_the_client_of_a_login_not_the_server() -> None:
    from reports.timeline import collect_events

    login = Finding(id="c1", title="ftp login", first_seen=1_793_700_000.0, last_seen=1_793_700_000.0, count=1,
                    hosts=["192.168.10.23", "192.168.10.5"],
                    attributes=CleartextLoginAttributes(protocol="ftp", clients=["192.168.10.23"],
                                                        server="192.168.10.5"))
    assert {event.host for event in collect_events([login])} == {"192.168.10.23"}


def test_a_login_names_its_local_server_as_the_device_to_fix() -> None:
    login = Finding(id="c2", title="ftp login", first_seen=None, last_seen=None, count=1, hosts=["10.0.0.5"],
                    rule="cred-default-password", severity="critical", risk=10.0,
                    attributes=CleartextLoginAttributes(protocol="ftp", clients=["10.0.0.2"], used_by=["10.0.0.2"],
                                                        server="10.0.0.5", server_port=21, servers=["10.0.0.5:21"]))
    assert presentation_of(login).acting_hosts(login) == ["10.0.0.5"]
    html = render_report([site_report([login])])
    assert "Server to fix: 10.0.0.5." in html and "Used by" in html


# ---------------------------------------------------------------- views, grouping, empty sections


def test_device_view_lists_every_finding_of_a_device_with_directory_names():
    findings = every_category()
    directory = [{"address": "10.0.0.7", "mac": "aa:bb:cc:00:00:07", "names": ["LAPTOP-ANNA"], "users": ["anna"]}]
    html = render_report([site_report(findings, devices=directory)])
    devices = html.split('id="s1-devices">', 1)[1].split("</section>", 1)[0]
    row = next(r for r in devices.split("<tr>") if "10.0.0.7" in r)
    assert "LAPTOP-ANNA" in row and "aa:bb:cc:00:00:07" in row and "anna" in row
    refs = re.findall(r'href="#s1-f(\d+)"', row)
    acting = [i for i, f in enumerate(sorted_by_rank(findings), start=1) if "10.0.0.7" in f.hosts]
    assert sorted(map(int, refs)) == acting  # every finding of that device, nothing else
    assert render_report([site_report(findings, devices=[])])  # the directory may be empty
    section = [{"address": "10.0.0.7", "mac": "aa:bb:cc:00:00:07", "label": "LAPTOP-ANNA",  # the scan's devices
                "names": [{"name": "LAPTOP-ANNA", "kind": "netbios", "source": "nbns", "where": "a:frame 1"}],
                "users": [{"user": "anna", "domain": "CORP", "source": "kerberos", "where": "a:frame 2"}]}]
    scan = dataclasses.replace(make_scan(findings), devices=section)
    html = render_report([site_report(findings, result=scan)])
    row = next(r for r in html.split('id="s1-devices">', 1)[1].split("<tr>") if "10.0.0.7" in r)
    assert "LAPTOP-ANNA" in row and "anna" in row and "{" not in row


def sorted_by_rank(findings: list[Finding]) -> list[Finding]:
    score_findings(findings, now=T0 + DAY + 60)
    return sorted(findings, key=lambda f: (-SEVERITY_RANK[f.severity], -f.risk, f.title))


def test_service_view_is_cloud_discovery_style():
    upload = make_finding("a", CATEGORY_FILE_SHARING, "high", hosts=["10.0.0.5", "10.0.0.6"],
                          first_seen=T0, last_seen=T0 + 2 * DAY,
                          attributes={"service": "Dropbox", "service_category": "cloud-storage", "risk": "high",
                                      "bytes_up": 5 * MIB, "bytes_down": MIB})
    sanctioned = make_finding("b", CATEGORY_FILE_SHARING, "low", sanctioned=True,
                              attributes={"service": "OneDrive for Business", "bytes_up": MIB})
    html = render_report([site_report([upload, sanctioned])])
    services = html.split('id="s1-services">', 1)[1].split("</section>", 1)[0]
    rows = services.split("<tr>")[2:]
    assert "Dropbox" in rows[0] and "OneDrive" in rows[1]  # unsanctioned first
    dropbox = rows[0]
    for text in ("cloud-storage", "service risk high", "not sanctioned", "10.0.0.5", "10.0.0.6",
                 "5.0 MiB", "1.0 MiB", "2024-03-01", "2024-03-03"):
        assert text in dropbox, text
    assert ">sanctioned<" in rows[1]


def test_appendix_prints_shared_facts_once_and_merges_repeated_evidence():
    evidence = [Evidence(T0 + i, f"cap.pcap:frame {i}", "USER bob / PASS (masked)") for i in range(1, 9)]
    logins = [make_finding(f"l{i}", CATEGORY_CREDENTIALS, "medium", rule="cred-rejected-login",
                           attributes={"protocol": "ftp", "server": "192.0.2.9", "server_port": 21,
                                       "username": f"user{i}"}, evidence=evidence) for i in range(3)]
    html = render_report([site_report(logins)])
    appendix = html.split('id="s1-detail">', 1)[1].split("</section>", 1)[0]
    assert appendix.count("192.0.2.9:21") == 1  # the shared server is printed once, for the rule
    assert "Common to these findings" in appendix and appendix.count("user1") == 1
    assert "cap.pcap: frames 1, 2, 3, 4 (+4)" in appendix
    assert appendix.count("USER bob / PASS (masked)") == 3  # once per finding, not once per frame


def test_sections_without_content_are_left_out():
    credential = make_finding("c", CATEGORY_CREDENTIALS, attributes={"protocol": "ftp"})
    html = render_report([site_report([credential], expired_allows=[])])
    for absent in ('-services"', '-wifi"', '-timeline"', '-changes"', '-allows"', "No Wi-Fi", "devices-x"):
        assert absent not in html, absent
    assert "Passwords in clear text (1)" in html and "File sharing and shadow SaaS (" not in html


def test_area_scores_are_the_stored_ones():
    from detector.policy.risk import site_score

    sharing = make_finding("s", CATEGORY_FILE_SHARING)
    login = make_finding("c", CATEGORY_CREDENTIALS)
    scored = make_scan([sharing, login])  # scored once, as the scan stores it
    sharing.risk, login.risk = 50.0, 25.0  # what the store holds is what the report shows: nothing re-scored
    result = dataclasses.replace(scored, risk=None)
    html = render_report([SiteReport(result=result)])
    table = html.split('<table class="subscores">', 1)[1].split("</table>", 1)[0]
    rows = table.split("<tr>")[2:]
    assert "File sharing" in rows[0] and f">{site_score(50.0)}<" in rows[0] and "grade-D" in rows[0]
    assert "Clear-text credentials" in rows[1] and f">{site_score(25.0)}<" in rows[1]
    assert "Wi-Fi" in rows[2] and ">100<" in rows[2]  # read by a capture, no Wi-Fi finding: clean
    assert sharing.risk == 50.0


@pytest.mark.corpus
def test_corpus_top_risks_are_deduplicated_ordered_and_cover_file_sharing(corpus, tmp_path):
    import subprocess
    import sys

    report = tmp_path / "r.html"
    subprocess.run([sys.executable, "-m", "detector.cli", "scan", str(corpus), "--report", str(report), "-q"],
                   check=True, capture_output=True, timeout=600)
    html = report.read_text(encoding="utf-8")
    top = html.split('<ol class="top-risks">', 1)[1].split("</ol>", 1)[0]
    labels = re.findall(r"</span> <strong>([^<]+)</strong>", top)
    ranks = [SEVERITY_RANK[s] for s in re.findall(r'<li><span class="badge sev-(\w+)"', top)]
    assert len(labels) == len(set(labels)) >= 3
    assert ranks == sorted(ranks, reverse=True)
    assert "File sharing and shadow SaaS" in top  # a file-sharing item has its place
