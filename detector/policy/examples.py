"""Embedded rule examples: finding-like samples a rule must or must not match.

Like Sigma rule tests, they keep a rule honest when it is edited: ``shadowit
rules test`` (``RuleSet.run_examples``) replays every example against its rule.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Optional

from detector.findings.attributes import AttributeTypeError, UndeclaredAttribute
from detector.findings.finding import SEVERITIES, Finding
from detector.findings.registry import UnknownKind, kind_named
from detector.policy.model import Example, ExampleFailure, Mark, RuleError
from detector.policy.yamlsrc import YList, YMap, plain

if TYPE_CHECKING:
    from detector.policy.model import Rule
    from detector.policy.settings import Settings

EXAMPLE_KEYS = (
    "id", "category", "detector", "title", "count", "hosts", "first_seen", "last_seen", "severity", "attributes",
)
_TEXT_KEYS = ("id", "category", "detector", "title")


def _timestamp(value: Any) -> Optional[float]:
    """POSIX seconds from a number, a YAML timestamp or ISO-8601 text (naive = UTC)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp()
    return None


class ExampleParser:
    """Builds Example objects from a rule's ``examples:`` block, collecting errors."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors

    def fail(self, mark: Mark, message: str) -> None:
        self.errors.append(mark.error(message))

    def parse(self, node: Any, mark: Mark, rule_id: str) -> list[Example]:
        if not isinstance(node, YMap):
            self.fail(mark, "examples must be a mapping with match: and/or nomatch: lists")
            return []
        examples: list[Example] = []
        for key, value in node.items():
            if key not in ("match", "nomatch"):
                self.fail(node.key_mark(key), f"unknown key {key!r} in examples (expected match, nomatch)")
                continue
            if not isinstance(value, YList):
                self.fail(node.value_mark(key), f"examples.{key} must be a list of findings")
                continue
            for index, item in enumerate(value):
                found = self.finding(item, value.item_mark(index), f"example:{rule_id}:{key}:{index + 1}")
                if found is not None:
                    examples.append(Example(key == "match", found, value.item_mark(index), index + 1))
        return examples

    def finding(self, node: Any, mark: Mark, example_id: str) -> Optional[Finding]:
        if not isinstance(node, YMap):
            self.fail(mark, "an example must be a mapping of finding fields")
            return None
        values: dict[str, Any] = {
            "id": example_id, "title": "", "count": 1, "hosts": [], "first_seen": None, "last_seen": None,
            "severity": "info",
        }
        ok = True
        for key, value in node.items():
            converted = self.field(key, value, node)
            if converted is _INVALID:
                ok = False
            else:
                values[key] = converted
        if not ok:
            return None
        return self._typed(values, node, mark)

    def _typed(self, values: dict[str, Any], node: YMap, mark: Mark) -> Optional[Finding]:
        """The example as a finding of the kind its ``detector`` names; an unknown kind is an error."""
        detector, category = values.pop("detector", ""), values.pop("category", None)
        if not detector:
            self.fail(mark, "an example must name its detector (the kind of finding it stands for)")
            return None
        try:
            kind = kind_named(detector)
        except UnknownKind as exc:
            self.fail(node.value_mark("detector"), str(exc))
            return None
        if category is not None and category != kind.category:
            self.fail(node.value_mark("category"), f"category {category!r} is not the category of {detector} "
                                                   f"findings ({kind.category!r})")
            return None
        try:
            attributes = kind.load(values.pop("attributes", {}), strict=True)
        except (UndeclaredAttribute, AttributeTypeError) as exc:
            self.fail(node.value_mark("attributes") if "attributes" in node else mark, str(exc))
            return None
        return Finding(attributes=attributes, **values)

    def field(self, key: str, value: Any, node: YMap) -> Any:
        """The example value converted to what a detector would emit, or _INVALID."""
        mark = node.value_mark(key)
        if key not in EXAMPLE_KEYS:
            self.fail(node.key_mark(key), f"unknown key {key!r} in example (expected {', '.join(EXAMPLE_KEYS)})")
            return _INVALID
        if key in _TEXT_KEYS:
            return value if isinstance(value, str) else self._invalid(mark, f"{key} must be text")
        if key == "severity":
            if value in SEVERITIES:
                return value
            return self._invalid(mark, f"bad severity {value!r} (expected one of {', '.join(SEVERITIES)})")
        if key == "count":
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
            return value if ok else self._invalid(mark, "count must be a whole number")
        if key == "hosts":
            ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
            return list(value) if ok else self._invalid(mark, "hosts must be a list of texts")
        if key == "attributes":
            return plain(value) if isinstance(value, dict) else self._invalid(mark, "attributes must be a mapping")
        stamp = _timestamp(value)
        if stamp is None:
            return self._invalid(mark, f"{key} must be a timestamp (seconds or ISO-8601)")
        return stamp

    def _invalid(self, mark: Mark, message: str) -> Any:
        self.fail(mark, message)
        return _INVALID


_INVALID = object()


def check_examples(rule: Rule, settings: Settings) -> list[ExampleFailure]:
    """Every example of ``rule`` whose outcome differs from what it promises."""
    failures = []
    for example in rule.examples:
        if rule.matches(example.finding, settings) == example.expect_match:
            continue
        kind = "match" if example.expect_match else "nomatch"
        verb = "did not match" if example.expect_match else "matched"
        failures.append(ExampleFailure(
            rule.id, example.mark.file, example.mark.line,
            f"examples.{kind} #{example.index} {verb}",
        ))
    return failures
