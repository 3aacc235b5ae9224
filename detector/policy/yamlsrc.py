"""Line-aware YAML: plain Python values that remember where they were written.

Rule files are edited by hand, so every error must point at ``file:line:col``.
PyYAML's ``safe_load`` forgets positions and silently keeps the last of two
duplicate keys; here we ``compose`` with the SafeLoader (nodes carry marks)
and build the values ourselves, keeping the marks and rejecting duplicates
(detector/policy/yamlparse.py). Parsed trees go through the parse cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from detector.policy import parsecache
from detector.policy.model import Mark, RuleError

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_NODES = 100_000  # bounds alias expansion ("billion laughs")
MAX_DEPTH = 64
MAX_RULES = 1000  # per file; checked on the event stream before anything is built
CACHE_KIND = "rules"  # parse cache entries of this module (detector/policy/parsecache.py)


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


class _CachedYMap(YMap):
    """A YMap rebuilt from the parse cache: key and value marks are made when asked for.

    Building a Mark for every key and value of every pack costs milliseconds at
    every start; only errors, rules and examples ever ask for one.
    """

    def __init__(self, mark: Mark, file: str, positions: dict[str, tuple[int, int, int, int]]) -> None:
        dict.__init__(self)
        self.mark = mark
        self._file = file
        self._positions = positions  # key -> (key line, key col, value line, value col)

    @property  # type: ignore[override]
    def key_marks(self) -> dict[str, Mark]:
        return {key: Mark(self._file, p[0], p[1]) for key, p in self._positions.items()}

    @property  # type: ignore[override]
    def value_marks(self) -> dict[str, Mark]:
        return {key: Mark(self._file, p[2], p[3]) for key, p in self._positions.items()}

    def key_mark(self, key: str) -> Mark:
        found = self._positions.get(key)
        return self.mark if found is None else Mark(self._file, found[0], found[1])

    def value_mark(self, key: str) -> Mark:
        found = self._positions.get(key)
        return self.mark if found is None else Mark(self._file, found[2], found[3])


class _CachedYList(YList):
    """A YList rebuilt from the parse cache: item marks are made when asked for."""

    def __init__(self, mark: Mark, file: str, positions: list[tuple[int, int]]) -> None:
        list.__init__(self)
        self.mark = mark
        self._file = file
        self._positions = positions

    @property  # type: ignore[override]
    def item_marks(self) -> list[Mark]:
        return [Mark(self._file, line, col) for line, col in self._positions]

    def item_mark(self, index: int) -> Mark:
        if 0 <= index < len(self._positions):
            line, col = self._positions[index]
            return Mark(self._file, line, col)
        return self.mark


def plain(value: Any) -> Any:
    """Strip the mark-keeping containers (for values handed to other stages)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def _decode(data: bytes, file: str, errors: list[RuleError]) -> Optional[str]:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start]
        line = prefix.count(b"\n") + 1
        col = exc.start - (prefix.rfind(b"\n") + 1) + 1
        errors.append(RuleError(file, line, col, "file is not valid UTF-8"))
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


def parse_text(text: str, file: str, errors: list[RuleError]) -> Any:
    """The document in ``text`` as YMap/YList/scalars; None (and errors) when unusable."""
    from detector.policy.yamlparse import parse_text as parse  # PyYAML only when something is parsed

    return parse(text, file, errors)


def parse_bytes(data: bytes, file: str, errors: list[RuleError]) -> Any:
    """``parse_text`` of the file's bytes, through the parse cache.

    Only a document that parsed with no error is cached, so errors are
    always the parser's own; a hit rebuilds the same YMap/YList tree, with
    marks naming ``file`` (the entry is keyed by content, not by name).
    """
    def parse() -> tuple[Any, bool]:
        before = len(errors)
        text = _decode(data, file, errors)
        value = None if text is None else parse_text(text, file, errors)
        return value, value is not None and len(errors) == before

    return parsecache.cached(CACHE_KIND, data, parse, _encode_tree, lambda entry: _decode_tree(entry, file))


# ---------------------------------------------------------------- the tree as plain data (parse cache entries)
# A YMap is ("m", line, col, [key, key line, key col, value line, value col, value, ...]),
# a YList ("l", line, col, [item line, item col, item, ...]); scalars as parsecache.encode_scalar.

def _encode_tree(value: Any) -> Any:
    if isinstance(value, YMap):
        flat: list[Any] = []
        for key, item in value.items():
            key_mark, value_mark = value.key_marks[key], value.value_marks[key]
            flat += (key, key_mark.line, key_mark.col, value_mark.line, value_mark.col, _encode_tree(item))
        return ("m", value.mark.line, value.mark.col, flat)
    if isinstance(value, YList):
        flat = []
        for index, item in enumerate(value):
            mark = value.item_marks[index]
            flat += (mark.line, mark.col, _encode_tree(item))
        return ("l", value.mark.line, value.mark.col, flat)
    if isinstance(value, (dict, list)):
        raise parsecache.Unencodable(value)
    return parsecache.encode_scalar(value)


def _decode_tree(entry: Any, file: str) -> Any:
    if type(entry) is not tuple:
        if type(entry) in (dict, list):
            raise ValueError("bare container in a rules cache entry")
        return entry
    tag = entry[0]
    if tag == "m":
        flat = entry[3]
        positions = {flat[at]: (flat[at + 1], flat[at + 2], flat[at + 3], flat[at + 4])
                     for at in range(0, len(flat), 6)}
        result = _CachedYMap(Mark(file, entry[1], entry[2]), file, positions)
        for at in range(0, len(flat), 6):
            result[flat[at]] = _decode_tree(flat[at + 5], file)
        return result
    if tag == "l":
        flat = entry[3]
        result_list = _CachedYList(Mark(file, entry[1], entry[2]), file,
                                   [(flat[at], flat[at + 1]) for at in range(0, len(flat), 3)])
        for at in range(0, len(flat), 3):
            result_list.append(_decode_tree(flat[at + 2], file))
        return result_list
    return parsecache.decode_scalar(entry)
