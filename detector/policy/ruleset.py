"""The loaded, effective rule list and the classification of findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Optional

from detector.findings.finding import Finding
from detector.policy.examples import check_examples
from detector.policy.matcher import render_template
from detector.policy.model import DEFAULT_RULE_ID, Control, ExampleFailure, Rule
from detector.policy.settings import Settings


@dataclass
class RuleSet:
    """Rules in evaluation order (site-only rules first, then packs with site overrides in place)."""

    rules: list[Rule]
    settings: Settings = field(default_factory=Settings)
    sha256: str = ""
    files: list[Path] = field(default_factory=list)
    # the running SHA-256 behind ``sha256``: the run's policy hash goes on from it with the service catalog
    digest: Any = field(default=None, compare=False, repr=False)
    compliance: dict[str, Control] = field(default_factory=dict)
    today: date = field(default_factory=date.today)
    disabled: list[Rule] = field(default_factory=list)  # switched off with enabled: false

    @property
    def expired_allows(self) -> list[Rule]:
        """Allow rules past their ``expires`` date: they no longer sanction anything."""
        return [rule for rule in self.rules if rule.is_allow and rule.expired(self.today)]

    def get(self, rule_id: str) -> Optional[Rule]:
        return next((rule for rule in self.rules if rule.id == rule_id), None)

    def first_match(self, finding: Finding, allow: bool, include_expired: bool = False) -> Optional[Rule]:
        """The first alert (or allow) rule matching ``finding``, in evaluation order."""
        for rule in self.rules:
            if rule.is_allow != allow:
                continue
            if allow and not include_expired and rule.expired(self.today):
                continue
            if rule.matches(finding, self.settings):
                return rule
        return None

    def classify(self, finding: Finding) -> None:
        """Set rule, severity, sanctioned, compliance, remediation and tags on ``finding``.

        The first matching alert rule gives the classification even when an
        allow rule sanctions the finding, so a report can show what it would be.
        """
        alert = self.first_match(finding, allow=False)
        allow = self.first_match(finding, allow=True)
        if alert is not None:
            if alert.title_override:
                finding.title = render_template(alert.title_override, finding)
            finding.severity = alert.severity
            finding.compliance = list(alert.compliance)
            finding.remediation = alert.remediation
            finding.tags = _merged(finding.tags, alert.tags)
        if allow is not None:
            finding.tags = _merged(finding.tags, allow.tags)
        finding.sanctioned = allow is not None
        finding.rule = allow.id if allow else alert.id if alert else DEFAULT_RULE_ID
        expired = None if allow is not None else self.first_match(finding, allow=True, include_expired=True)
        finding.exception = exception_record(allow or expired, expired=allow is None and expired is not None)

    def run_examples(self, check_shadowing: bool = False) -> list[ExampleFailure]:
        """Replay every rule's embedded examples.

        With ``check_shadowing`` a ``match`` example must also be classified by
        its own rule, not by an earlier one (useful for the shipped packs, whose
        order encodes the severity ladder).
        """
        failures: list[ExampleFailure] = []
        for rule in self.rules:
            failures.extend(check_examples(rule, self.settings))
            if check_shadowing:
                failures.extend(self._shadowed(rule))
        return failures

    def _shadowed(self, rule: Rule) -> list[ExampleFailure]:
        failures = []
        for example in rule.examples:
            if not example.expect_match or not rule.matches(example.finding, self.settings):
                continue
            first = self.first_match(example.finding, allow=rule.is_allow, include_expired=True)
            if first is not None and first is not rule:
                failures.append(ExampleFailure(
                    rule.id, example.mark.file, example.mark.line,
                    f"examples.match #{example.index} is classified by earlier rule {first.id} ({first.location})",
                ))
        return failures


def exception_record(rule: Optional[Rule], expired: bool) -> Optional[dict]:
    """The allow rule behind a sanctioned finding (or the expired one that no longer sanctions it)."""
    if rule is None:
        return None
    return {"rule": rule.id, "reason": rule.reason, "owner": rule.owner,
            "expires": rule.expires.isoformat() if rule.expires else None, "expired": expired,
            "location": rule.location}


def _merged(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))
