"""The one YAML loader (issue 20): every YAML input says ``file:line:col: what is wrong`` and is bounded.

The service catalog, the address ranges and the Suricata signature map read
through detector/policy/yamlsrc.py like the rule packs do, so a broken file of
any kind names the place, and alias bombs and deep nesting are refused with
one line before anything is built.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from detector.logs.sensors.eve import SignatureTableError, load_signature_table
from detector.policy import catalog as catalog_module
from detector.policy.catalog import CatalogError, load_catalog
from detector.policy.ipranges import RangeError, read_range_file
from detector.policy.yamlsrc import MAX_FILE_BYTES, YamlFileError, YList, YMap, load_file

POSITION = re.compile(r"^(?P<file>[^\n]+\.yaml):(?P<line>\d+):(?P<col>\d+): (?P<what>[^\n]+)$")


@pytest.fixture(autouse=True)
def forget_checked_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog_module, "_LAST_CHECKED", None)


def where(message: str) -> tuple[str, int, int, str]:
    """(file name, line, col, what) of a one-line ``file:line:col: what`` error."""
    found = POSITION.match(message)
    assert found, f"not file:line:col: what -- {message!r}"
    return Path(found["file"]).name, int(found["line"]), int(found["col"]), found["what"]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def bomb_text() -> str:
    """Nine levels of nine aliases each: 9**10 nodes once expanded ("billion laughs")."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        previous, name = chr(96 + level), chr(97 + level)
        lines.append(f"{name}: &{name} [" + ",".join(["*" + previous] * 9) + "]")
    return "\n".join(lines) + "\n"


SERVICE = "  - {name: A, category: paste, domains: [a.example], vendor_url: 'https://a.example'}\n"


def test_a_broken_catalog_names_file_line_col(tmp_path: Path) -> None:
    path = write(tmp_path, "services.yaml", "services:\n" + SERVICE + "  - {name: B, category: paste\n")
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert where(str(caught.value))[:2] == ("services.yaml", 4)


@pytest.mark.parametrize("entry, line, col, what", [
    ("  - {name: B, category: games, domains: [b.example], vendor_url: 'https://b.example'}\n", 3, 25,
     "service #2 (B): unknown category 'games'"),
    ("  - name: B\n    category: paste\n    domains: [b.example, '*.b.example']\n    vendor_url: 'https://b'\n",
     5, 26, "service #2 (B): bad domain '*.b.example'"),
    ("  - {name: B, category: paste, domains: [a.example], vendor_url: 'https://b.example'}\n", 3, 5,
     "domain 'a.example' listed for 'A' and 'B'"),
    ("  - just a name\n", 3, 5, "service #2: needs name and domains or ports"),
])
def test_catalog_entry_errors_point_at_the_entry(tmp_path: Path, entry: str, line: int, col: int, what: str) -> None:
    path = write(tmp_path, "services.yaml", "services:\n" + SERVICE + entry)
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert where(str(caught.value)) == ("services.yaml", line, col, what)


def test_a_catalog_with_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    """safe_load silently kept the last of two keys; the one loader refuses them."""
    path = write(tmp_path, "services.yaml", "services:\n  - name: A\n    name: B\n")
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert where(str(caught.value)) == ("services.yaml", 3, 5, "duplicate key 'name' (first at line 2)")


@pytest.mark.parametrize("name, read, error, broken, misplaced, expected", [
    ("x.yaml", read_range_file, RangeError,
     "name: X\nsource: https://x.example\ndate: 2026-11-29\nranges: [1.2.3.0/24\n",
     "name: X\nsource: https://x.example\ndate: 2026-11-29\nranges:\n  - 1.2.3.0/24\n  - nonsense\n",
     ("x.yaml", 6, 5)),
    ("sigs.yaml", load_signature_table, SignatureTableError,
     "signatures:\n  - match: dropbox\n    service: Dropbox\n  - match: [\n",
     "signatures:\n  - match: dropbox\n    service: Dropbox\n  - match: box\n",
     ("sigs.yaml", 4, 5, "signatures entry 2: needs 'match' and 'service' strings")),
], ids=["ranges", "signatures"])
def test_a_broken_data_file_names_file_line_col(tmp_path: Path, name: str, read, error, broken: str, misplaced: str,
                                                 expected: tuple) -> None:
    """A YAML syntax error names the file; an entry that parses but is wrong names its line and column."""
    path = write(tmp_path, name, broken)
    with pytest.raises(error) as caught:
        read(path)
    assert where(str(caught.value))[0] == name
    path.write_text(misplaced)
    with pytest.raises(error) as caught:
        read(path)
    assert where(str(caught.value))[:len(expected)] == expected


@pytest.mark.parametrize("read, error", [
    (load_catalog, CatalogError), (read_range_file, RangeError), (load_signature_table, SignatureTableError),
    (load_file, YamlFileError),
], ids=["catalog", "ranges", "signatures", "loader"])
@pytest.mark.parametrize("text, what", [
    (bomb_text(), "alias expansion too large"),
    ("a: " + "[" * 1000 + "]" * 1000 + "\n", "nested too deeply"),
    ("a: " + "{b: " * 100 + "1" + "}" * 100 + "\n", "nested too deeply"),
], ids=["alias-bomb", "deep-lists", "deep-maps"])
def test_bombs_and_deep_nesting_are_refused_in_one_line(tmp_path: Path, read, error, text: str, what: str) -> None:
    path = write(tmp_path, "hostile.yaml", text)
    with pytest.raises(error) as caught:
        read(path)
    assert "\n" not in str(caught.value)
    assert where(str(caught.value))[3].startswith(what)


def test_files_are_bounded_in_size(tmp_path: Path) -> None:
    path = write(tmp_path, "big.yaml", "a: " + "x" * MAX_FILE_BYTES + "\n")
    with pytest.raises(YamlFileError) as caught:
        load_file(path)
    assert where(str(caught.value)) == ("big.yaml", 1, 1, f"file is larger than {MAX_FILE_BYTES} bytes")


def test_only_safe_tags_are_built(tmp_path: Path) -> None:
    path = write(tmp_path, "tag.yaml", "a: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(YamlFileError) as caught:
        load_file(path)
    assert where(str(caught.value))[:3] == ("tag.yaml", 1, 4)


def test_values_remember_where_they_were_written(tmp_path: Path) -> None:
    document = load_file(write(tmp_path, "a.yaml", "first: 1\nlist:\n  - x\n  - {k: v}\n"))
    assert isinstance(document, YMap) and isinstance(document["list"], YList)
    assert (document.key_mark("list").line, document.value_mark("first").col) == (2, 8)
    assert document["list"].item_mark(1).line == 4 and document["list"][1].key_mark("k").col == 6
    assert document.key_mark("missing") == document.mark
