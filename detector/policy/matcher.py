"""The ``match:`` language: compile a YAML block into conditions, test findings.

Compilation validates everything up front (operators, regexes, networks,
time windows) so a bad rule fails at load time with a line number instead
of misbehaving during a scan. Matching never raises: a value of the wrong
type, or a missing attribute, simply does not match.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from fnmatch import fnmatchcase
from typing import Any, Callable, ClassVar, Optional, Union

from detector.findings.finding import SEVERITIES, Finding
from detector.policy.model import Mark, RuleError
from detector.policy.settings import Settings
from detector.policy.yamlsrc import YList, YMap

FINDING_FIELDS = ("id", "category", "detector", "title", "count", "hosts", "first_seen", "last_seen", "severity")
OPERATORS = (
    "equals", "in", "glob", "domain", "regex", "cidr",
    "gt", "gte", "lt", "lte", "time_of_day", "exists",
)
NUMERIC_OPERATORS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
MAX_LISTED_VALUES = 16  # an unknown value with no close match lists the allowed ones up to this many
MAX_REGEX_CHARS = 1000
MAX_TEXT_CHARS = 65536  # wire-derived text a regex is run against is cut here
MAX_TEMPLATE_VALUE = 120
REGEX_TIMEOUT_SECONDS = 0.05  # per search; a rule regex can never hang a scan
REGEX_MAX_TIMEOUTS = 3  # after this many timeouts a pattern stops matching for the rest of the run

_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
_DOMAIN_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")

_MISSING = object()
Scalar = Union[str, int, float, bool]


# ---------------------------------------------------------------- field access


def canonical_path(name: str) -> str:
    """``service`` -> ``attributes.service``; finding fields stay as they are."""
    head = name.split(".", 1)[0]
    if head in FINDING_FIELDS or head == "attributes":
        return name
    return f"attributes.{name}"


def lookup(finding: Finding, path: str) -> Any:
    """The value at ``path``, or ``_MISSING`` when absent or null."""
    if path.startswith("attributes."):
        name, *inner = path[len("attributes."):].split(".")
        if name not in finding.attributes.names():  # a rule may name another kind's attribute
            return _MISSING
        value: Any = finding.attributes.value(name)
        for part in inner:
            if not isinstance(value, Mapping) or part not in value:
                return _MISSING
            value = value[part]
    else:
        value = getattr(finding, path, None)
    return _MISSING if value is None else value


def _elements(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return [item for item in value if item is not None]
    return [value]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _text(value: Any) -> Optional[str]:
    if isinstance(value, str):
        return value[:MAX_TEXT_CHARS]
    if _is_number(value):
        return str(value)
    return None


# ---------------------------------------------------------------- closed vocabularies


def unknown_value(name: str, value: Any, allowed: Sequence[str], source: str = "") -> str:
    """``unknown category 'filesharing'; did you mean 'file-sharing'?``: the closest allowed value, else the list."""
    by_fold = {item.casefold(): item for item in allowed}
    close = difflib.get_close_matches(str(value).casefold(), list(by_fold), n=1)
    if close:
        hint = f"; did you mean {by_fold[close[0]]!r}?"
    elif len(allowed) <= MAX_LISTED_VALUES:
        hint = f"; expected one of {', '.join(allowed)}"
    else:
        hint = ""
    return f"unknown {name} {value!r}{source}{hint}"


@dataclass(frozen=True)
class Vocabulary:
    """The closed set of values a field can hold; ``source`` says where it is written down."""

    values: tuple[str, ...]
    source: str = ""

    def problem(self, name: str, value: Any) -> str:
        """Why ``value`` can never match (matching is case-insensitive, so neither is this); "" when it can."""
        if isinstance(value, str) and value.casefold() in {item.casefold() for item in self.values}:
            return ""
        return unknown_value(name, value, self.values, self.source)


# ---------------------------------------------------------------- predicates


class BoundedRegex:
    """A rule regex whose cost is bounded: the ``regex`` engine with a timeout per search.

    ``(a+)+$`` over 30 wire-borne ``a``s backtracks for minutes in ``re``.
    Here a search that runs over REGEX_TIMEOUT_SECONDS counts as no match and
    is counted; after REGEX_MAX_TIMEOUTS the pattern is switched off for the
    run, so one bad rule costs at most a fraction of a second per scan.
    Input is cut to MAX_TEXT_CHARS before it is searched.
    """

    timed_out: set[str] = set()  # patterns that hit the timeout in this process, for the scan's warnings

    def __init__(self, pattern: str) -> None:
        import regex  # 15 ms to import: only when a rule uses ``regex:`` (start-up, issue 15)

        self.pattern = pattern
        self.compiled = regex.compile(pattern)
        self.timeouts = 0

    def search(self, text: str) -> bool:
        if self.timeouts >= REGEX_MAX_TIMEOUTS:
            return False
        try:
            return self.compiled.search(text[:MAX_TEXT_CHARS], timeout=REGEX_TIMEOUT_SECONDS) is not None
        except TimeoutError:
            self.timeouts += 1
            BoundedRegex.timed_out.add(self.pattern)
            return False

    def __repr__(self) -> str:
        return f"BoundedRegex({self.pattern!r})"


def _regex_error() -> type[Exception]:
    """``regex.error``; called only while an exception is being matched, so the import is lazy."""
    import regex

    return regex.error


@dataclass(frozen=True)
class SettingRef:
    """A threshold taken from Settings at match time, so ``settings:`` edits move rules too."""

    name: str

    def resolve(self, settings: Settings) -> Any:
        return getattr(settings, self.name, None)

    def __str__(self) -> str:
        return f"setting({self.name})"


def _equal(expected: Scalar, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, str):
        return isinstance(actual, str) and expected.casefold() == actual.casefold()
    return _is_number(actual) and expected == actual


def _in_domain(domain: str, actual: Any) -> bool:
    if not isinstance(actual, str):
        return False
    name = actual.strip().lower().rstrip(".")
    return name == domain or name.endswith("." + domain)


def _in_network(networks: tuple[Any, ...], actual: Any) -> bool:
    if not isinstance(actual, str):
        return False
    text = actual.strip()
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return any(address in network for network in networks)


def _minute_of_day(actual: Any) -> Optional[float]:
    """Minutes since midnight: "HH:MM" text as written, POSIX timestamps in UTC."""
    if isinstance(actual, datetime):
        actual = actual.time()
    if isinstance(actual, time):
        return actual.hour * 60 + actual.minute + actual.second / 60
    if _is_number(actual):
        try:
            moment = datetime.fromtimestamp(actual, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
        return moment.hour * 60 + moment.minute + moment.second / 60
    if isinstance(actual, str):
        found = _CLOCK.match(actual)
        if found:
            hour, minute, second = int(found[1]), int(found[2]), int(found[3] or 0)
            if hour < 24 and minute < 60 and second < 60:
                return hour * 60 + minute + second / 60
    return None


def _in_window(window: tuple[int, int], actual: Any) -> bool:
    minute = _minute_of_day(actual)
    if minute is None:
        return False
    start, end = window
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end  # wraps midnight


def _compare(op: str, bound: Any, actual: Any, settings: Settings) -> bool:
    if isinstance(bound, SettingRef):
        bound = bound.resolve(settings)
    if not _is_number(actual) or not _is_number(bound):
        return False
    if op == "gt":
        return actual > bound
    if op == "gte":
        return actual >= bound
    if op == "lt":
        return actual < bound
    return actual <= bound


@dataclass(frozen=True)
class Test:
    """One operator with its compiled argument, e.g. ``domain: dropbox.com``."""

    op: str
    arg: Any
    shown: str  # the argument as the rule wrote it, for listings

    def holds(self, actual: Any, settings: Settings) -> bool:
        """Whether this operator holds for one (non-list) value."""
        op, arg = self.op, self.arg
        if op == "equals":
            return _equal(arg, actual)
        if op == "in":
            return any(_equal(item, actual) for item in arg)
        if op == "glob":
            text = _text(actual)
            return text is not None and any(fnmatchcase(text.lower(), pattern) for pattern in arg)
        if op == "domain":
            return any(_in_domain(domain, actual) for domain in arg)
        if op == "regex":
            text = _text(actual)
            return text is not None and arg.search(text)
        if op == "cidr":
            return _in_network(arg, actual)
        if op == "time_of_day":
            return _in_window(arg, actual)
        return _compare(op, arg, actual, settings)

    def describe(self) -> str:
        if self.op == "equals":
            return f"= {self.shown}"
        if self.op in NUMERIC_OPERATORS:
            return f"{NUMERIC_OPERATORS[self.op]} {self.shown}"
        return f"{self.op} {self.shown}"


# ---------------------------------------------------------------- conditions


class Condition(ABC):
    """A node of the match tree."""

    @abstractmethod
    def matches(self, finding: Finding, settings: Settings) -> bool:
        """Whether the finding satisfies this node."""

    @abstractmethod
    def describe(self) -> str:
        """A compact one-line rendering for ``rules list``."""


@dataclass
class FieldCondition(Condition):
    """Tests on one field. With a list value, one element must pass every test."""

    path: str
    tests: list[Test]
    exists: Optional[bool] = None

    def matches(self, finding: Finding, settings: Settings) -> bool:
        value = lookup(finding, self.path)
        if self.exists is not None and (value is not _MISSING) != self.exists:
            return False
        if not self.tests:
            return True
        if value is _MISSING:
            return False
        return any(
            all(test.holds(element, settings) for test in self.tests) for element in _elements(value)
        )

    def describe(self) -> str:
        parts = [test.describe() for test in self.tests]
        if self.exists is not None:
            parts.insert(0, "exists" if self.exists else "missing")
        name = self.path[len("attributes."):] if self.path.startswith("attributes.") else self.path
        return f"{name} " + " and ".join(parts)


@dataclass
class Combined(Condition):
    """Conditions joined by one quantifier (``all`` or ``any``), described joined by its word."""

    items: list[Condition] = field(default_factory=list)
    quantifier: ClassVar[Callable[[Iterable[bool]], bool]]
    joiner: ClassVar[str]

    def matches(self, finding: Finding, settings: Settings) -> bool:
        return self.quantifier(item.matches(finding, settings) for item in self.items)

    def describe(self) -> str:
        if len(self.items) == 1:
            return self.items[0].describe()
        return self.joiner.join(_grouped(item) for item in self.items)


@dataclass
class AllOf(Combined):
    """Every condition holds."""

    quantifier = staticmethod(all)
    joiner = " AND "


@dataclass
class AnyOf(Combined):
    """At least one condition holds."""

    quantifier = staticmethod(any)
    joiner = " OR "


@dataclass
class NotOf(Condition):
    """The condition does not hold."""

    item: Condition

    def matches(self, finding: Finding, settings: Settings) -> bool:
        return not self.item.matches(finding, settings)

    def describe(self) -> str:
        return f"NOT {_grouped(self.item)}"


class Never(Condition):
    """The match of a disabled stub rule."""

    def matches(self, finding: Finding, settings: Settings) -> bool:
        return False

    def describe(self) -> str:
        return "(never)"


def _grouped(item: Condition) -> str:
    text = item.describe()
    if isinstance(item, Combined) and len(item.items) > 1:
        return f"({text})"
    return text


# ---------------------------------------------------------------- compilation


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_shown(item) for item in value) + "]"
    if isinstance(value, dict) and "setting" in value:
        return f"setting({value['setting']})"
    return str(value)


def _domain_name(text: str) -> str:
    """A rule's domain operand, normalised; ValueError says how to write it."""
    name = text.strip().lower().rstrip(".")
    if not name or not all(_DOMAIN_LABEL.match(label) for label in name.split(".")):
        raise ValueError(f"bad domain {text!r}: write a bare DNS name like dropbox.com "
                         "(no wildcards, scheme or path; subdomains match automatically)")
    return name


def _network(text: str) -> Union[ipaddress.IPv4Network, ipaddress.IPv6Network]:
    """A rule's CIDR operand; ValueError says how to write it."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(f"bad CIDR {text!r} (expected e.g. 10.0.0.0/8 or 2001:db8::/32)") from None


def parse_window(text: Any) -> Optional[tuple[int, int]]:
    """``"22:00-06:00"`` -> (1320, 360) minutes; None when malformed or empty."""
    found = _WINDOW.match(text) if isinstance(text, str) else None
    if not found:
        return None
    start_h, start_m, end_h, end_m = (int(part) for part in found.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        return None
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start == end:
        return None
    return start, end


class MatchCompiler:
    """Compiles ``match:`` blocks, appending a RuleError for every problem."""

    def __init__(self, errors: list[RuleError], known_attributes: Optional[set[str]] = None,
                 known_values: Optional[dict[str, Vocabulary]] = None) -> None:
        """``known_attributes``: the declared attribute names (None: accept any, for tests of operators);
        ``known_values``: closed vocabularies (detectors, categories, catalog services, declared choices),
        checked for equals and in; severities are always checked."""
        self.errors = errors
        self.known_attributes = known_attributes
        self.known_values = {"severity": Vocabulary(SEVERITIES), **(known_values or {})}
        self.builders: dict[str, Callable[[str, Any, Mark], Optional[Test]]] = {
            "equals": self.op_equals, "in": self.op_in, "glob": self.op_glob, "domain": self.op_domain,
            "regex": self.op_regex, "cidr": self.op_cidr, "time_of_day": self.op_time_of_day,
            **{op: self._numeric(op) for op in NUMERIC_OPERATORS},
        }

    def fail(self, mark: Mark, message: str) -> None:
        self.errors.append(mark.error(message))

    # ---- blocks

    def block(self, node: Any, mark: Mark) -> Optional[Condition]:
        """A mapping of fields and combinators, all of which must hold."""
        if not isinstance(node, YMap):
            self.fail(mark, "match must be a mapping of fields to values or operators")
            return None
        if not node:
            self.fail(mark, "match must not be empty")
            return None
        items: list[Condition] = []
        ok = True
        for key, value in node.items():
            item = self.entry(key, value, node.key_mark(key), node.value_mark(key))
            ok = ok and item is not None
            if item is not None:
                items.append(item)
        return AllOf(items) if ok else None

    def entry(self, key: str, value: Any, key_mark: Mark, value_mark: Mark) -> Optional[Condition]:
        if key in ("all", "any"):
            return self.combination(key, value, value_mark)
        if key == "not":
            inner = self.block(value, value_mark)
            return NotOf(inner) if inner is not None else None
        if key in OPERATORS and not isinstance(value, YMap):
            self.fail(key_mark, f"{key!r} is an operator, not a field; write FIELD: {{{key}: ...}} "
                                f"(or attributes.{key}: ... for an attribute of that name)")
            return None
        return self.field(key, value, key_mark, value_mark)

    def combination(self, key: str, value: Any, mark: Mark) -> Optional[Condition]:
        if not isinstance(value, YList) or not value:
            self.fail(mark, f"{key} takes a non-empty list of match blocks")
            return None
        items = [self.block(item, value.item_mark(index)) for index, item in enumerate(value)]
        if any(item is None for item in items):
            return None
        kept = [item for item in items if item is not None]
        return AllOf(kept) if key == "all" else AnyOf(kept)

    # ---- fields

    def field(self, name: str, value: Any, key_mark: Mark, value_mark: Mark) -> Optional[Condition]:
        if not _PATH.match(name) or name == "attributes":
            self.fail(key_mark, f"bad field name {name!r} (use a finding field or attributes.NAME)")
            return None
        head = name.split(".", 1)[0]
        if head in FINDING_FIELDS and "." in name:
            self.fail(key_mark, f"finding field {head!r} has no sub-fields")
            return None
        path = canonical_path(name)
        if not self._declared(path, key_mark):
            return None
        if isinstance(value, YMap):
            return self.operators(path, value, value_mark)
        if isinstance(value, YList):
            test = self.op_in(path, value, value_mark)
            return FieldCondition(path, [test]) if test else None
        if value is None:
            self.fail(value_mark, f"{name}: null never matches; use {{exists: false}} for a missing value")
            return None
        test = self.op_equals(path, value, value_mark)
        return FieldCondition(path, [test]) if test else None

    def _declared(self, path: str, mark: Mark) -> bool:
        """An attribute no finding declares would silently match nothing: an error, with a suggestion."""
        if self.known_attributes is None or not path.startswith("attributes."):
            return True
        name = path[len("attributes."):].split(".", 1)[0]
        if name in self.known_attributes:
            return True
        candidates = sorted(self.known_attributes | set(FINDING_FIELDS))
        close = difflib.get_close_matches(name, candidates, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        self.fail(mark, f"unknown field {name!r}: no finding has this attribute{hint}")
        return False

    def _vocabulary_ok(self, path: str, value: Any, mark: Mark) -> bool:
        """service: Dropbx or category: filesharing is a typo that would match nothing: check closed vocabularies
        (only a top-level attribute is closed; ``attributes.per_host.host`` is not ``host``)."""
        name = path[len("attributes."):] if path.startswith("attributes.") else path
        vocabulary = self.known_values.get(name)
        problem = vocabulary.problem(name, value) if vocabulary is not None else ""
        return self._bad(mark, problem) if problem else True

    def operators(self, path: str, node: YMap, mark: Mark) -> Optional[Condition]:
        if not node:
            self.fail(mark, "an operator mapping must not be empty")
            return None
        tests: list[Test] = []
        exists: Optional[bool] = None
        ok = True
        for op, arg in node.items():
            arg_mark = node.value_mark(op)
            if op == "exists":
                if isinstance(arg, bool):
                    exists = arg
                else:
                    ok = self._bad(arg_mark, "exists takes true or false")
                continue
            build = self.builders.get(op)
            if build is None:
                hint = f"; operators: {', '.join(OPERATORS)}"
                ok = self._bad(node.key_mark(op), f"unknown operator {op!r}{hint}")
                continue
            test = build(path, arg, arg_mark)
            ok = ok and test is not None
            if test is not None:
                tests.append(test)
        return FieldCondition(path, tests, exists) if ok else None

    def _bad(self, mark: Mark, message: str) -> bool:
        self.fail(mark, message)
        return False

    # ---- operators

    def _scalar_ok(self, path: str, value: Any, mark: Mark) -> bool:
        if not _is_scalar(value):
            return self._bad(mark, f"expected a text, number or true/false value, got {_kind(value)}")
        return True

    def op_equals(self, path: str, value: Any, mark: Mark) -> Optional[Test]:
        if not self._scalar_ok(path, value, mark) or not self._vocabulary_ok(path, value, mark):
            return None
        return Test("equals", value, _shown(value))

    def op_in(self, path: str, value: Any, mark: Mark) -> Optional[Test]:
        if not isinstance(value, YList) or not value:
            self.fail(mark, "in takes a non-empty list")
            return None
        ok = [self._scalar_ok(path, item, value.item_mark(index))
              and self._vocabulary_ok(path, item, value.item_mark(index)) for index, item in enumerate(value)]
        if not all(ok):
            return None
        return Test("in", tuple(value), _shown(list(value)))

    def _texts(self, op: str, value: Any, mark: Mark) -> Optional[list[tuple[str, Mark]]]:
        """A string or a non-empty list of strings, with the mark of each."""
        if isinstance(value, str) and value:
            return [(value, mark)]
        if isinstance(value, YList) and value and all(isinstance(item, str) and item for item in value):
            return [(item, value.item_mark(index)) for index, item in enumerate(value)]
        self.fail(mark, f"{op} takes a text or a non-empty list of texts")
        return None

    def _each_text(self, op: str, value: Any, mark: Mark, parse: Callable[[str], Any]) -> Optional[Test]:
        """A test on every text of ``value`` parsed; a text ``parse`` refuses (ValueError) fails at its own place."""
        texts = self._texts(op, value, mark)
        if texts is None:
            return None
        parsed = []
        for text, item_mark in texts:
            try:
                parsed.append(parse(text))
            except ValueError as refused:
                self.fail(item_mark, str(refused))
                return None
        return Test(op, tuple(parsed), _shown(value))

    def op_glob(self, path: str, value: Any, mark: Mark) -> Optional[Test]:
        return self._each_text("glob", value, mark, str.lower)

    def op_domain(self, path: str, value: Any, mark: Mark) -> Optional[Test]:
        return self._each_text("domain", value, mark, _domain_name)

    def op_regex(self, path: str, value: Any, mark: Mark) -> Optional[Test]:
        if not isinstance(value, str) or not value:
            self.fail(mark, "regex takes a non-empty text")
            return None
        if len(value) > MAX_REGEX_CHARS:
            self.fail(mark, f"regex longer than {MAX_REGEX_CHARS} characters")
            return None
        try:
            pattern = BoundedRegex(value)
        except (_regex_error(), re.error, ValueError, OverflowError, RecursionError) as exc:
            self.fail(mark, f"bad regex {value!r}: {exc}")
            return None
        return Test("regex", pattern, value)

    def op_cidr(self, path: str, value: Any, mark: Mark) -> Optional[Test]:
        return self._each_text("cidr", value, mark, _network)

    def op_time_of_day(self, path: str, value: Any, mark: Mark) -> Optional[Test]:
        window = parse_window(value)
        if window is None:
            self.fail(mark, f"bad time_of_day {value!r} (expected \"HH:MM-HH:MM\", e.g. \"22:00-06:00\")")
            return None
        return Test("time_of_day", window, str(value))

    def _numeric(self, op: str) -> Callable[[str, Any, Mark], Optional[Test]]:
        def build(path: str, value: Any, mark: Mark) -> Optional[Test]:
            bound = self._number_or_setting(op, value, mark)
            return None if bound is None else Test(op, bound, _shown(value))

        return build

    def _number_or_setting(self, op: str, value: Any, mark: Mark) -> Any:
        if _is_number(value):
            return value
        if isinstance(value, YMap) and set(value) == {"setting"}:
            name = value["setting"]
            default = getattr(Settings(), name, None) if isinstance(name, str) else None
            if isinstance(name, str) and name in Settings.known_keys() and _is_number(default):
                return SettingRef(name)
            self.fail(value.value_mark("setting"), f"unknown numeric setting {name!r}")
            return None
        self.fail(mark, f"{op} takes a number or {{setting: NAME}}")
        return None


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    return type(value).__name__


# ---------------------------------------------------------------- titles


def render_template(template: str, finding: Finding) -> str:
    """Fill ``{field}`` placeholders from the finding; no format-string machinery.

    Values come from the wire, so they are cut short and stripped of control
    characters; unknown placeholders render as "?".
    """

    def value_of(found: re.Match[str]) -> str:
        name = found[1].strip()
        if not _PATH.match(name):
            return found[0]
        value = lookup(finding, canonical_path(name))
        if value is _MISSING:
            return "?"
        text = ", ".join(str(item) for item in _elements(value))
        text = "".join(char for char in text if char.isprintable())
        return text[:MAX_TEMPLATE_VALUE]

    return _PLACEHOLDER.sub(value_of, template)
