"""Line-aware YAML: plain Python values that remember where they were written.

Rule files are edited by hand, so every error must point at ``file:line:col``.
PyYAML's ``safe_load`` forgets positions and silently keeps the last of two
duplicate keys; here we ``compose`` with the SafeLoader (nodes carry marks)
and build the values ourselves, keeping the marks and rejecting duplicates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import Reader as ReaderBase
from yaml.reader import ReaderError

from .model import Mark, RuleError

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_NODES = 100_000  # bounds alias expansion ("billion laughs")
MAX_DEPTH = 64

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp")}


class YMap(dict):
    """A dict that remembers the position of itself, each key and each value."""

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.key_marks: dict[str, Mark] = {}
        self.value_marks: dict[str, Mark] = {}

    def key_mark(self, key: str) -> Mark:
        return self.key_marks.get(key, self.mark)

    def value_mark(self, key: str) -> Mark:
        return self.value_marks.get(key, self.mark)


class YList(list):
    """A list that remembers the position of itself and each item."""

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.item_marks: list[Mark] = []

    def item_mark(self, index: int) -> Mark:
        return self.item_marks[index] if index < len(self.item_marks) else self.mark


class _TooLarge(Exception):
    pass


def mark_of(file: str, yaml_mark: Any) -> Mark:
    return Mark(file, yaml_mark.line + 1, yaml_mark.column + 1)


def plain(value: Any) -> Any:
    """Strip the mark-keeping containers (for values handed to other stages)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


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
            key_mark = self.mark(key_node)
            key = self.key(key_node)
            if key is None:
                continue
            if key in result.key_marks:
                first = result.key_marks[key]
                self.errors.append(key_mark.error(f"duplicate key {key!r} (first at line {first.line})"))
                continue
            result.key_marks[key] = key_mark
            result.value_marks[key] = self.mark(value_node)
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
            result.item_marks.append(self.mark(item))
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


def _decode(data: bytes, file: str, errors: list[RuleError]) -> Optional[str]:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start]
        line = prefix.count(b"\n") + 1
        col = exc.start - (prefix.rfind(b"\n") + 1) + 1
        errors.append(RuleError(file, line, col, "file is not valid UTF-8"))
        return None


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


def parse_text(text: str, file: str, errors: list[RuleError]) -> Any:
    """The document in ``text`` as YMap/YList/scalars; None (and errors) when unusable."""
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


def read_bytes(path: Path, errors: list[RuleError]) -> Optional[bytes]:
    """The file's bytes, bounded in size; None (and an error) when unreadable."""
    file = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        errors.append(RuleError(file, 1, 1, f"cannot read file: {exc.strerror or exc}"))
        return None
    if len(data) > MAX_FILE_BYTES:
        errors.append(RuleError(file, 1, 1, f"file is larger than {MAX_FILE_BYTES} bytes"))
        return None
    return data


def parse_bytes(data: bytes, file: str, errors: list[RuleError]) -> Any:
    text = _decode(data, file, errors)
    return None if text is None else parse_text(text, file, errors)
