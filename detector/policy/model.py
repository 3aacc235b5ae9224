"""Dataclasses of the rule language: rules, errors, controls, example results.

Kept apart from parsing and matching so the CLI and reports can import them
without pulling in YAML handling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Optional

from detector.policy.settings import Settings

if TYPE_CHECKING:
    from detector.findings.finding import Finding
    from detector.policy.matcher import Condition

ACTION_ALERT = "alert"
ACTION_ALLOW = "allow"
DEFAULT_RULE_ID = "default"  # what a finding no rule matched carries in ``rule``
LAYER_PACK = "pack"
LAYER_SITE = "site"


@dataclass(frozen=True, order=True)
class RuleError:
    """One problem in a rules file, printed as ``file:line:col: message``."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class RuleLoadError(Exception):
    """Rules could not be loaded; ``errors`` lists every problem found in one pass."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = list(errors)
        count = len(self.errors)
        head = "\n".join(str(error) for error in self.errors[:20])
        more = f"\n... and {count - 20} more" if count > 20 else ""
        super().__init__(f"{count} error(s) in rules:\n{head}{more}")


@dataclass(frozen=True)
class Mark:
    """A position in a file, counted from 1 as an editor shows it."""

    file: str
    line: int
    col: int

    def error(self, message: str) -> RuleError:
        return RuleError(self.file, self.line, self.col, message)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Control:
    """One compliance control a rule can cite, e.g. ``CIS-v8:3.10``."""

    id: str
    framework: str  # the id prefix, e.g. "CIS-v8"
    ref: str  # the id within the framework, e.g. "3.10"
    title: str
    framework_name: str = ""  # e.g. "CIS Critical Security Controls v8"


@dataclass
class Example:
    """A finding-like sample a rule must (or must not) match, like a Sigma rule test."""

    expect_match: bool
    finding: Finding
    mark: Mark
    index: int  # 1-based position within its match/nomatch list


@dataclass
class ExampleFailure:
    """An embedded example that did not behave as its rule promised."""

    rule_id: str
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: rule {self.rule_id}: {self.message}"


@dataclass
class Rule:
    """A classification rule (``action: alert``) or a sanction (``action: allow``)."""

    id: str
    title: str
    match: Condition
    source: Mark
    layer: str = LAYER_PACK
    action: str = ACTION_ALERT
    severity: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    compliance: list[str] = field(default_factory=list)
    remediation: str = ""
    title_override: str = ""
    reason: str = ""
    expires: Optional[date] = None
    owner: str = ""
    enabled: bool = True
    examples: list[Example] = field(default_factory=list)

    @property
    def is_allow(self) -> bool:
        return self.action == ACTION_ALLOW

    @property
    def location(self) -> str:
        return f"{self.source.file}:{self.source.line}"

    def expired(self, today: date) -> bool:
        """An allow rule stops applying the day after its ``expires`` date."""
        return self.expires is not None and today > self.expires

    def matches(self, finding: Finding, settings: Optional[Settings] = None) -> bool:
        """Whether the ``match`` block holds for ``finding`` (expiry is not considered)."""
        return self.match.matches(finding, settings or Settings())

    def verdict(self) -> str:
        """``allow`` or the severity, for listings."""
        return ACTION_ALLOW if self.is_allow else self.severity

    def describe(self) -> str:
        """One line for ``rules list``: id, verdict, where it is defined, what it matches."""
        extra = ""
        if self.is_allow and self.expires is not None:
            extra = f" (expires {self.expires.isoformat()})"
        if not self.enabled:
            extra += " (disabled)"
        return f"{self.id}  {self.verdict()}{extra}  {self.location}  {self.match.describe()}"
