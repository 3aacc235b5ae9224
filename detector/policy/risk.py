"""Turn classified findings into risk points and one site grade.

A business owner reads a grade, an auditor reads the formula: both come from
here so the report can show exactly how the number was reached. The model is
deliberately simple and monotonic (more hosts, more volume, more recent, more
severe never lowers the risk) so that nobody has to trust a black box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

from detector.findings.filesharing import FileSharingAttributes
from detector.findings.finding import SEVERITY_RANK, Finding
from detector.times import trusted_ts

SEVERITY_POINTS = {"info": 0.0, "low": 2.0, "medium": 5.0, "high": 10.0, "critical": 20.0}

# Lowest score (inclusive) that earns each grade, best first.
GRADE_BANDS = (("A", 90), ("B", 75), ("C", 60), ("D", 40), ("F", 0))

BREADTH_WEIGHT = 0.5  # x1 for one host, x1.5 for two, x2 for four, ...
RECENCY_HALF_LIFE_DAYS = 30.0  # a finding last seen a month before the end of the assessment window counts half
RECENCY_FLOOR = 0.25  # old findings never vanish: the workaround may still be in place
VOLUME_WEIGHT = 0.1  # x1.1 for one event or 1 MiB, x2 for ~1000 events or ~1 GiB
VOLUME_CAP = 2.5
# Every HALVING_POINTS of summed risk halves the score. A capped "100 - sum" would
# put every badly exposed site at 0, and an MSP could no longer rank them.
HALVING_POINTS = 50.0
MIB = 1024 * 1024

FORMULA = (
    "risk per finding = severity points (info 0, low 2, medium 5, high 10, critical 20)"
    " x breadth (1 + 0.5 x log2(hosts))"
    " x recency (0.5 ^ (whole days between last seen and the end of the assessment window / 30), at least 0.25;"
    " 1 when the record's clock cannot be trusted)"
    " x volume (1 + 0.1 x log2(1 + MiB uploaded for file sharing, or events otherwise), at most 2.5);"
    " sanctioned findings score 0."
    " Site score = 100 x 0.5 ^ (sum of finding risks / 50): every 50 points halve the score."
    " Grades: A >= 90, B >= 75, C >= 60, D >= 40, F below 40."
)


@dataclass
class RuleContribution:
    """How much one rule took off the site score, and how to win it back."""

    rule: str
    title: str
    points: float
    remediation: str
    findings: int
    severity: str = "info"
    category: str = ""


@dataclass
class SiteRisk:
    """The site's one score and grade, with what each rule contributed."""

    score: int
    grade: str
    formula: str
    contributions: list[RuleContribution] = field(default_factory=list)
    total_points: float = 0.0
    categories: dict[str, dict[str, Any]] = field(default_factory=dict)  # category -> {score, grade, points}

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "grade": self.grade, "points": self.total_points,
                "categories": {k: dict(v) for k, v in self.categories.items()}}


def severity_points(severity: str) -> float:
    return SEVERITY_POINTS.get(severity, 0.0)


def breadth_factor(host_count: int) -> float:
    """Log-scaled so that one noisy subnet does not drown every other finding."""
    return 1.0 + BREADTH_WEIGHT * math.log2(max(1, host_count))


def recency_factor(last_seen: Optional[float], reference: Optional[float]) -> float:
    """Halves every RECENCY_HALF_LIFE_DAYS before the end of the assessment window, down to a floor.

    Whole days, so two runs of the same scan on the same day agree; a clock before 2000 or ahead of the
    reference says nothing about age and counts in full.
    """
    if reference is None or not trusted_ts(last_seen, reference):
        return 1.0
    age_days = math.floor(max(0.0, reference - float(last_seen or 0.0)) / 86400.0)
    return max(RECENCY_FLOOR, 0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS))


def volume_units(finding: Finding) -> float:
    """MiB uploaded for file sharing (what left the site), events otherwise."""
    if isinstance(finding.attributes, FileSharingAttributes):
        bytes_up = _as_number(finding.attributes.bytes_up)
        if bytes_up is not None:
            return bytes_up / MIB
    return float(max(0, finding.count or 0))


def volume_factor(units: float) -> float:
    return min(VOLUME_CAP, 1.0 + VOLUME_WEIGHT * math.log2(1.0 + max(0.0, units)))


def finding_risk(finding: Finding, reference: Optional[float]) -> float:
    """Risk points for one finding; sanctioned use is accepted risk and scores 0."""
    if finding.sanctioned:
        return 0.0
    points = (
        severity_points(finding.severity)
        * breadth_factor(len(set(finding.hosts)))
        * recency_factor(finding.last_seen, reference)
        * volume_factor(volume_units(finding))
    )
    return round(points, 2)


def site_score(total_points: float) -> int:
    """0..100, 100 = no risk; strictly lower as points grow until rounding reaches 0."""
    return int(round(100.0 * 0.5 ** (max(0.0, total_points) / HALVING_POINTS)))


def grade_for(score: float) -> str:
    for grade, lowest in GRADE_BANDS:
        if score >= lowest:
            return grade
    return GRADE_BANDS[-1][0]


def score_findings(findings: list[Finding], now: float | None = None) -> SiteRisk:
    """Set ``finding.risk`` on each finding and sum them into a SiteRisk.

    This is the one place risk is computed: at the end of a scan (or when stored
    findings are re-classified, or a site state is graded). Every output then shows
    the stored value, read back through ``summarize``. ``now`` is the end of the
    assessment window (the scan's own time), so adding unrelated newer inputs never
    ages a finding; without it, the latest trusted ``last_seen``.
    """
    reference = now if now is not None else _latest_seen(findings)
    for finding in findings:
        finding.risk = finding_risk(finding, reference)
    return summarize(findings)


def summarize(findings: list[Finding]) -> SiteRisk:
    """The site score from the findings' stored risk (no re-scoring): every output agrees."""
    total = round(sum(f.risk for f in findings), 2)
    score = site_score(total)
    categories: dict[str, dict[str, Any]] = {}
    for category in sorted({f.category for f in findings}):
        points = round(sum(f.risk for f in findings if f.category == category), 2)
        sub = site_score(points)
        categories[category] = {"score": sub, "grade": grade_for(sub), "points": points}
    return SiteRisk(
        score=score,
        grade=grade_for(score),
        formula=FORMULA,
        contributions=_contributions(findings),
        total_points=total,
        categories=categories,
    )


def _contributions(findings: list[Finding]) -> list[RuleContribution]:
    by_rule: dict[str, RuleContribution] = {}
    for finding in sorted(findings, key=lambda f: -f.risk):
        rule = finding.rule or finding.detector or finding.category
        entry = by_rule.get(rule)
        if entry is None:
            entry = RuleContribution(
                rule=rule,
                title=finding.title,
                points=0.0,
                remediation=finding.remediation,
                findings=0,
                severity=finding.severity,
                category=finding.category,
            )
            by_rule[rule] = entry
        entry.points = round(entry.points + finding.risk, 2)
        entry.findings += 1
        entry.remediation = entry.remediation or finding.remediation
        if SEVERITY_RANK.get(finding.severity, 0) > SEVERITY_RANK.get(entry.severity, 0):
            entry.severity = finding.severity
    return sorted(by_rule.values(), key=lambda c: (-c.points, c.rule))


def _latest_seen(findings: list[Finding]) -> Optional[float]:
    seen = [f.last_seen for f in findings if trusted_ts(f.last_seen, None)]
    return max(seen) if seen else None


def _as_number(value: object) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None
