"""The position-keeping YAML parser behind ``yamlsrc.parse_text`` (imports PyYAML).

Kept apart from ``yamlsrc`` so a start whose YAML files all come from the
parse cache (detector/policy/parsecache.py) never imports PyYAML at all.
"""

from __future__ import annotations

from typing import Any, Optional

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    ScalarEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import Reader as ReaderBase
from yaml.reader import ReaderError

from detector.policy.model import Mark, RuleError
from detector.policy.yamlsrc import MAX_DEPTH, MAX_NODES, MAX_RULES, YList, YMap

_FastLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp")}


class _TooLarge(Exception):
    pass


def mark_of(file: str, yaml_mark: Any) -> Mark:
    return Mark(file, yaml_mark.line + 1, yaml_mark.column + 1)


class _Builder:
    """Turns a composed node tree into YMap/YList/scalars, collecting errors."""

    def __init__(self, file: str, errors: list[RuleError]) -> None:
        self.file = file
        self.errors = errors
        self.nodes = 0
        self.constructor = SafeConstructor()

    def mark(self, node: Node) -> Mark:
        return mark_of(self.file, node.start_mark)

    def build(self, node: Node, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES or depth > MAX_DEPTH:
            raise _TooLarge
        if isinstance(node, MappingNode):
            return self.mapping(node, depth)
        if isinstance(node, SequenceNode):
            return self.sequence(node, depth)
        return self.scalar(node)

    def mapping(self, node: MappingNode, depth: int) -> Optional[YMap]:
        if node.tag != _TAG + "map":
            self.errors.append(self.mark(node).error(f"unsupported YAML tag {node.tag!r}"))
            return None
        result = YMap(self.mark(node))
        for key_node, value_node in node.value:
            key = self.key(key_node)
            if key is None:
                continue
            key_at, value_at = key_node.start_mark, value_node.start_mark
            if key in result.positions:
                first_line = result.positions[key][0]
                self.errors.append(self.mark(key_node).error(f"duplicate key {key!r} (first at line {first_line})"))
                continue
            result.positions[key] = (key_at.line + 1, key_at.column + 1, value_at.line + 1, value_at.column + 1)
            result[key] = self.build(value_node, depth + 1)
        return result

    def key(self, node: Node) -> Optional[str]:
        """Keys are the text as written, so ``no:`` or ``1:`` never turn into bool or int."""
        if node.tag == _TAG + "merge":
            self.errors.append(self.mark(node).error("merge keys (<<) are not supported"))
            return None
        if not isinstance(node, ScalarNode):
            self.errors.append(self.mark(node).error("mapping keys must be plain names"))
            return None
        return str(node.value)

    def sequence(self, node: SequenceNode, depth: int) -> Optional[YList]:
        if node.tag != _TAG + "seq":
            self.errors.append(self.mark(node).error(f"unsupported YAML tag {node.tag!r}"))
            return None
        result = YList(self.mark(node))
        for item in node.value:
            result.positions.append((item.start_mark.line + 1, item.start_mark.column + 1))
            result.append(self.build(item, depth + 1))
        return result

    def scalar(self, node: ScalarNode) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self.errors.append(self.mark(node).error(f"unsupported YAML tag {node.tag!r}"))
            return None
        if node.tag in (_TAG + "int", _TAG + "float") and ":" in node.value:
            return node.value  # YAML 1.1 base-60 (12:30 -> 750) is a surprise; keep the text
        try:
            return self.constructor.construct_object(node)
        except (ValueError, OverflowError, yaml.YAMLError):
            return node.value  # e.g. 2030-13-01: keep the text, the schema reports it


def _position(text: str, index: int, file: str) -> Mark:
    before = text[:index]
    line = before.count("\n") + 1
    col = index - (before.rfind("\n") + 1) + 1
    return Mark(file, line, col)


def _yaml_error(exc: yaml.YAMLError, text: str, file: str) -> RuleError:
    if isinstance(exc, yaml.MarkedYAMLError):
        where = exc.problem_mark or exc.context_mark
        mark = mark_of(file, where) if where is not None else Mark(file, 1, 1)
        message = exc.problem or "invalid YAML"
        if exc.context:
            context_line = f" at line {exc.context_mark.line + 1}" if exc.context_mark else ""
            message = f"{message} ({exc.context}{context_line})"
        return mark.error(f"invalid YAML: {message}")
    if isinstance(exc, ReaderError):
        mark = _position(text, exc.position, file)
        return mark.error(f"invalid YAML: unacceptable character #x{exc.character:04x}")
    return Mark(file, 1, 1).error(f"invalid YAML: {exc}")


_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def compose(text: str) -> Optional[Node]:
    """Compose with libyaml when PyYAML has it (10x faster: rules are read at every start).

    The pure-Python loader still handles anything libyaml rejects or the
    Python reader would reject, so errors read the same with or without it.
    """
    if _FAST_LOADER is not None and not ReaderBase.NON_PRINTABLE.search(text):
        try:
            return yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


class _Shape:
    """Depth, expanded size and rule count of a document, measured on the event stream.

    PyYAML's composer recurses once per nesting level (1,000 levels is a
    RecursionError) and aliases share nodes that the builder would expand
    (a "billion laughs" bomb). Events come from a flat state machine, so the
    document is measured here first, with libyaml when present, and refused
    before anything recursive or expanding runs.
    """

    def __init__(self) -> None:
        self.stack: list[list] = []  # [anchor, expanded size, is the top-level rules list]
        self.anchored: dict[str, int] = {}
        self.expanded = 0
        self.rules = 0
        self.last_scalar: Any = None

    def problem(self, events: Any) -> Optional[tuple[Any, str]]:
        """(yaml mark, message) for the first limit this document breaks, or None."""
        for event in events:
            size = self._size(event)
            if size is None:
                continue
            self.expanded += size
            if self.expanded > MAX_NODES:
                why = "alias expansion" if isinstance(event, AliasEvent) else "document"
                return event.start_mark, f"{why} too large (limit: {MAX_NODES} nodes; YAML alias bombs are refused)"
            if len(self.stack) > MAX_DEPTH:
                return event.start_mark, f"nested too deeply (limit: depth {MAX_DEPTH})"
            if self.rules > MAX_RULES:
                return event.start_mark, f"more than {MAX_RULES} rules in one file; split it"
        return None

    def _size(self, event: Any) -> Optional[int]:
        if isinstance(event, CollectionStartEvent):
            is_rules = (len(self.stack) == 1 and isinstance(event, SequenceStartEvent)
                        and self.last_scalar == "rules")
            if len(self.stack) == 2 and self.stack[-1][2]:
                self.rules += 1
            self.stack.append([event.anchor, 1, is_rules])
            self.last_scalar = None
            return 1
        if isinstance(event, CollectionEndEvent):
            anchor, size, _ = self.stack.pop()
            if anchor:
                self.anchored[anchor] = size
            if self.stack:
                self.stack[-1][1] += size
            return None
        if isinstance(event, (ScalarEvent, AliasEvent)):
            size = self.anchored.get(event.anchor, 1) if isinstance(event, AliasEvent) else 1
            if isinstance(event, ScalarEvent):
                if event.anchor:
                    self.anchored[event.anchor] = 1
                self.last_scalar = event.value if len(self.stack) == 1 else None
            if self.stack:
                self.stack[-1][1] += size
                if len(self.stack) == 2 and self.stack[-1][2]:
                    self.rules += 1
            return size
        return None


def _shape_problem(text: str, file: str, errors: list[RuleError]) -> bool:
    """Record an error and return True when the document breaks a size, depth or alias limit."""
    try:
        found = _Shape().problem(yaml.parse(text, Loader=_FastLoader))
    except yaml.YAMLError:
        try:  # the pure-Python parser words its errors as compose() would
            found = _Shape().problem(yaml.parse(text, Loader=yaml.SafeLoader))
        except yaml.YAMLError as exc:
            errors.append(_yaml_error(exc, text, file))
            return True
    if found is None:
        return False
    yaml_mark, message = found
    errors.append(mark_of(file, yaml_mark).error(message))
    return True


def parse_text(text: str, file: str, errors: list[RuleError]) -> Any:
    """The document in ``text`` as YMap/YList/scalars; None (and errors) when unusable."""
    if _shape_problem(text, file, errors):
        return None
    try:
        node = compose(text)
    except yaml.YAMLError as exc:
        errors.append(_yaml_error(exc, text, file))
        return None
    if node is None:
        return None
    try:
        return _Builder(file, errors).build(node)
    except _TooLarge:
        errors.append(mark_of(file, node.start_mark).error(
            f"document too large or too deeply nested (limits: {MAX_NODES} nodes, depth {MAX_DEPTH})"
        ))
        return None
