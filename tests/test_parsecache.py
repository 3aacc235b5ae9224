"""The YAML parse cache (issue 15): used when it can be, never trusted beyond the bytes it was made from.

Rule packs, site rules, the catalogs, the address ranges and the signature map
are read at every start through the one YAML loader (detector/policy/yamlsrc.py);
their parsed form is kept under $SHADOWIT_HOME/cache (the
autouse fixture gives every test its own home). These tests prove a warm
start parses nothing, an edited file is parsed again, errors still come from
the parser, and a damaged or unwritable cache is silently bypassed.
"""

from __future__ import annotations

import marshal
import textwrap
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from detector.logs.sensors.eve import load_signature_table
from detector.policy import RuleLoadError, load_ruleset, parsecache, yamlparse
from detector.policy import catalog as catalog_module
from detector.policy.catalog import load_catalog
from detector.policy.ipranges import load_ranges
from detector.policy.yamlsrc import load_bytes, plain

SITE = """\
version: 1
settings:
  wifi_min_days: 4
rules:
  - id: site-allow-share
    title: {title}
    action: allow
    match:
      category: file-sharing
      service: Dropbox
    reason: approved by the office manager
    expires: 2030-12-31
"""


@pytest.fixture(autouse=True)
def forget_checked_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """load_catalog keeps the last file's checked services in the process: start each test without."""
    monkeypatch.setattr(catalog_module, "_LAST_CHECKED", None)


def write_site(path: Path, title: str = "The office's own share") -> Path:
    path.write_text(SITE.format(title=title), encoding="utf-8")
    return path


def site_rule(ruleset, rule_id: str = "site-allow-share"):
    return next(rule for rule in ruleset.rules if rule.id == rule_id)


def entries(home: Path) -> list[Path]:
    directory = home / "cache"
    return sorted(directory.glob("*.marshal")) if directory.is_dir() else []


def no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every YAML parse fail loudly: whatever still loads came from the cache."""
    def refuse(*args, **kwargs):
        raise AssertionError("parsed although the cache holds this document")

    monkeypatch.setattr(yamlparse, "parse_text", refuse)


def snapshot(ruleset) -> list:
    """What a load decides, with the positions errors and listings name."""
    return [(r.id, r.title, r.source, r.layer, r.action, r.severity, r.expires, r.describe(), r.tags, r.compliance,
             [(e.expect_match, e.mark, e.index) for e in r.examples])
            for r in ruleset.rules + ruleset.disabled] + [ruleset.settings, ruleset.sha256]


def test_warm_start_parses_nothing_and_loads_the_same(tmp_path: Path, private_home: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    site = write_site(tmp_path / "rules.yaml")
    cold = load_ruleset([site])
    cold_catalog = load_catalog()
    cold_ranges = load_ranges()
    cold_signatures = load_signature_table()
    kinds = {path.name.split("-")[0] for path in entries(private_home)}
    assert kinds == {"yaml"}

    no_parsing(monkeypatch)
    catalog_module._LAST_CHECKED = None  # the catalog, too, must come from the cache
    warm = load_ruleset([site])
    assert snapshot(warm) == snapshot(cold)
    assert site_rule(warm).expires == date(2030, 12, 31)
    assert warm.settings.wifi_min_days == 4
    assert load_catalog().services == cold_catalog.services
    assert load_ranges().owned_networks() == cold_ranges.owned_networks()
    assert load_signature_table() == cold_signatures


def test_an_edited_rules_file_is_parsed_again(tmp_path: Path, private_home: Path) -> None:
    site = write_site(tmp_path / "rules.yaml", "First title")
    assert site_rule(load_ruleset([site])).title == "First title"
    before = set(entries(private_home))

    write_site(site, "Second title")
    assert site_rule(load_ruleset([site])).title == "Second title"
    assert len(set(entries(private_home)) - before) == 1  # keyed by content: a new entry, the old one unused


def test_marks_name_the_file_loaded_not_the_one_cached(tmp_path: Path) -> None:
    """Entries are keyed by content; the same bytes under another name point errors at that name."""
    first = write_site(tmp_path / "a.yaml")
    second = write_site(tmp_path / "b.yaml")
    assert site_rule(load_ruleset([first])).source.file == str(first)
    assert site_rule(load_ruleset([second])).source.file == str(second)


def test_errors_come_from_the_parser_every_time(tmp_path: Path, private_home: Path) -> None:
    broken = tmp_path / "rules.yaml"
    broken.write_text("version: 1\nrules:\n  - id: a\n    id: b\n", encoding="utf-8")
    messages = []
    for _ in range(2):
        with pytest.raises(RuleLoadError) as caught:
            load_ruleset([broken])
        messages.append([str(error) for error in caught.value.errors])
    assert messages[0] == messages[1]
    assert any(f"{broken}:4:5: duplicate key 'id'" in message for message in messages[0])
    assert not any(path.read_bytes().endswith(broken.read_bytes()) for path in entries(private_home))


def sealed(value: object, version: int = parsecache.CACHE_VERSION) -> bytes:
    """An entry with a valid header and checksum around ``value``: only the decoders can refuse it."""
    payload = marshal.dumps((version, value))
    return parsecache._MAGIC + parsecache._checksum(payload) + payload


@pytest.mark.parametrize("damage", [
    b"",  # truncated to nothing
    b"not a cache file at all",
    parsecache._MAGIC + b"\x00" * 16 + marshal.dumps((parsecache.CACHE_VERSION, {})),  # checksum does not match
    parsecache._MAGIC + parsecache._checksum(b"\x00\x01garbage") + b"\x00\x01garbage",  # unreadable marshal
    sealed(("m", "x")),  # a tree of the wrong shape
    sealed(("?", 1)),  # an unknown tag
    sealed({}, version=parsecache.CACHE_VERSION + 1),  # written by another version
], ids=["empty", "foreign", "checksum", "marshal", "shape", "tag", "version"])
def test_a_damaged_cache_is_parsed_around(tmp_path: Path, private_home: Path, damage: bytes) -> None:
    site = write_site(tmp_path / "rules.yaml")
    expected = snapshot(load_ruleset([site]))
    catalog = load_catalog().services
    assert entries(private_home)
    for path in entries(private_home):
        path.write_bytes(damage)
    catalog_module._LAST_CHECKED = None
    assert snapshot(load_ruleset([site])) == expected
    assert load_catalog().services == catalog
    assert load_ranges().owned_networks()


def test_an_unwritable_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "home-is-a-file"
    blocker.write_text("x")
    monkeypatch.setenv("SHADOWIT_HOME", str(blocker))  # the cache directory cannot be created
    site = write_site(tmp_path / "rules.yaml")
    assert site_rule(load_ruleset([site])).title == "The office's own share"
    assert site_rule(load_ruleset([site])).title == "The office's own share"
    assert load_catalog().services


def test_the_cache_can_be_switched_off(tmp_path: Path, private_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parsecache.DISABLE_ENV, "1")
    load_ruleset([write_site(tmp_path / "rules.yaml")])
    assert entries(private_home) == []


def test_cache_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHADOWIT_HOME", str(tmp_path / "state"))
    assert parsecache.cache_dir() == tmp_path / "state" / "cache"
    monkeypatch.delenv("SHADOWIT_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert parsecache.cache_dir() == tmp_path / "xdg" / "shadowit"


def test_scalars_round_trip() -> None:
    values = ["é", 10**30, 1.5, float("inf"), True, None, date(2030, 12, 31), datetime(2026, 1, 2, 3, 4, 5, 6),
              datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
              datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))]
    decoded = [parsecache.decode_scalar(encoded) if type(encoded) is tuple else encoded
               for encoded in map(parsecache.encode_scalar, values)]
    assert decoded == values
    assert decoded[-1].utcoffset() == timedelta(hours=-5, minutes=-30)
    assert decoded[-2].tzinfo is timezone.utc
    with pytest.raises(parsecache.Unencodable):
        parsecache.encode_scalar({1, 2})


def test_yaml_timestamps_survive_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    text = textwrap.dedent("""\
        when: 2026-11-29T15:00:00+01:00
        day: 2026-11-29
        list: [1, {k: 2000-01-01}]
        """).encode()
    first = load_bytes(text, "a.yaml")
    no_parsing(monkeypatch)
    warm = load_bytes(text, "b.yaml")
    assert plain(warm) == plain(first)
    assert first["when"].utcoffset() == timedelta(hours=1)
    assert warm.value_mark("day").file == "b.yaml" and warm["list"].item_mark(1).line == 3


def test_an_edited_catalog_is_read_again(tmp_path: Path) -> None:
    """Neither the parse cache nor the checked services kept in the process outlive an edit."""
    path = tmp_path / "services.yaml"
    entry = "services:\n  - {{name: {name}, category: paste, domains: [a.example], vendor_url: 'https://a.example'}}\n"
    path.write_text(entry.format(name="First"), encoding="utf-8")
    first = load_catalog(path)
    assert [s.name for s in first.services] == ["First"]
    second = load_catalog(path)
    assert second is not first and second.services == first.services
    path.write_text(entry.format(name="Second"), encoding="utf-8")
    assert [s.name for s in load_catalog(path).services] == ["Second"]


def test_validation_errors_point_at_the_same_place_warm(tmp_path: Path, private_home: Path) -> None:
    """A file that parses but does not validate is cached; its errors still name file:line:col exactly."""
    bad = tmp_path / "rules.yaml"
    bad.write_text(textwrap.dedent("""\
        version: 1
        settings:
          wifi_min_dayz: 4
        rules:
          - id: site-bad
            title: Bad rule
            severity: urgent
            match:
              category: file-sharing
              colour: red
            tags: [ok, 3]
        """), encoding="utf-8")
    messages = []
    for _ in range(2):
        with pytest.raises(RuleLoadError) as caught:
            load_ruleset([bad])
        messages.append([str(error) for error in caught.value.errors])
    assert any(path.name.startswith("yaml-") for path in entries(private_home))
    assert messages[0] == messages[1]
    assert any(message.startswith(f"{bad}:3:3: unknown key 'wifi_min_dayz'") for message in messages[0])
    assert any(message.startswith(f"{bad}:7:15: unknown severity 'urgent'") for message in messages[0])
