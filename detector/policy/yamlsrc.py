"""The one YAML loader: every YAML input (rule packs, site policy, compliance and service catalogs,
address ranges, the Suricata signature map) is read here, as plain values that remember where they were written.

Files are edited by hand, so every error must read ``file:line:col: what is wrong``.
PyYAML's ``safe_load`` forgets positions and silently keeps the last of two
duplicate keys; here the SafeLoader composes (nodes carry marks) and the values
are built by us, keeping positions, rejecting duplicates, unknown tags, alias
bombs and deep nesting (detector/policy/yamlparse.py, which alone imports
PyYAML). Files are bounded in size, and parsed trees go through the parse
cache (detector/policy/parsecache.py), so a warm start parses nothing.
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
CACHE_KIND = "yaml"  # parse cache entries of this module (detector/policy/parsecache.py)


class YMap(dict):
    """A dict that remembers where it, each key and each value were written.

    Positions are kept as numbers and made into Marks when asked for: only
    errors, rules and examples ever ask, and a start builds thousands of keys.
    """

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.positions: dict[str, tuple[int, int, int, int]] = {}  # key -> key line, key col, value line, value col

    def key_mark(self, key: str) -> Mark:
        found = self.positions.get(key)
        return self.mark if found is None else Mark(self.mark.file, found[0], found[1])

    def value_mark(self, key: str) -> Mark:
        found = self.positions.get(key)
        return self.mark if found is None else Mark(self.mark.file, found[2], found[3])


class YList(list):
    """A list that remembers where it and each item were written."""

    def __init__(self, mark: Mark) -> None:
        super().__init__()
        self.mark = mark
        self.positions: list[tuple[int, int]] = []  # item line, item col

    def item_mark(self, index: int) -> Mark:
        if 0 <= index < len(self.positions):
            line, col = self.positions[index]
            return Mark(self.mark.file, line, col)
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


class YamlFileError(ValueError):
    """A YAML file that cannot be used: one ``file:line:col: what is wrong`` line per problem."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))


def read_file(path: Path) -> bytes:
    """The file's bytes, bounded in size; raises YamlFileError."""
    errors: list[RuleError] = []
    data = read_bytes(path, errors)
    if data is None:
        raise YamlFileError(errors)
    return data


def load_bytes(data: bytes, file: str) -> Any:
    """The document in ``data`` as YMap/YList/scalars (None when empty); raises YamlFileError."""
    errors: list[RuleError] = []
    document = parse_bytes(data, file, errors)
    if errors:
        raise YamlFileError(errors)
    return document


def load_file(path: Path) -> Any:
    """``load_bytes`` of a file: for the catalogs and tables that stop at their first broken file."""
    return load_bytes(read_file(path), str(path))


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
            flat += (key, *value.positions[key], _encode_tree(item))
        return ("m", value.mark.line, value.mark.col, flat)
    if isinstance(value, YList):
        flat = []
        for (line, col), item in zip(value.positions, value):
            flat += (line, col, _encode_tree(item))
        return ("l", value.mark.line, value.mark.col, flat)
    if isinstance(value, (dict, list)):
        raise parsecache.Unencodable(value)
    return parsecache.encode_scalar(value)


def _decode_tree(entry: Any, file: str) -> Any:
    if type(entry) is not tuple:
        if type(entry) in (dict, list):
            raise ValueError("bare container in a cache entry")
        return entry
    tag = entry[0]
    if tag == "m":
        flat = entry[3]
        mapping = YMap(Mark(file, entry[1], entry[2]))
        for at in range(0, len(flat), 6):
            mapping.positions[flat[at]] = (flat[at + 1], flat[at + 2], flat[at + 3], flat[at + 4])
            mapping[flat[at]] = _decode_tree(flat[at + 5], file)
        return mapping
    if tag == "l":
        flat = entry[3]
        sequence = YList(Mark(file, entry[1], entry[2]))
        for at in range(0, len(flat), 3):
            sequence.positions.append((flat[at], flat[at + 1]))
            sequence.append(_decode_tree(flat[at + 2], file))
        return sequence
    return parsecache.decode_scalar(entry)
