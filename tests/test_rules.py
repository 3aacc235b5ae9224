"""Rule language: operators, precedence, allow/expiry, settings, validation, shipped packs."""

from __future__ import annotations

import hashlib
import textwrap
from dataclasses import make_dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from detector.findings.attributes import Attributes
from detector.findings.credentials import CleartextLoginAttributes
from detector.findings.filesharing import ServiceUseAttributes
from detector.findings.finding import SEVERITIES, Finding
from detector.policy import DEFAULT_RULE_ID, RuleLoadError, default_packs_dir, load_ruleset, pack_files, validate_files
from detector.policy.matcher import MatchCompiler, render_template
from detector.policy.settings import Settings
from detector.policy.yamlsrc import parse_text

REPO = Path(__file__).resolve().parents[1]

CATALOG = """\
version: 1
frameworks:
  CIS-v8:
    name: CIS Critical Security Controls v8
    controls:
      3.10: Encrypt Sensitive Data in Transit
      5.2: Use Unique Passwords
  NIST-CSF-2.0:
    name: NIST Cybersecurity Framework 2.0
    controls:
      PR.DS-02: The confidentiality, integrity, and availability of data-in-transit are protected
"""


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def packs(tmp_path: Path) -> Path:
    """A packs directory holding only a small compliance catalog."""
    directory = tmp_path / "packs"
    directory.mkdir()
    write(directory / "compliance.yaml", CATALOG)
    return directory


# A kind for operator tests: any value of any type under these names.
OperatorAttributes = make_dataclass(
    "OperatorAttributes",
    [(name, Any, None) for name in ("service", "connections", "external", "filename", "username", "server",
                                    "server_port", "bytes_up", "time_of_day", "detector_hint", "nested", "sizes")],
    bases=(Attributes,), namespace={"detector": "test.operators", "category": "test"}, frozen=True, kw_only=True)


def finding(kind: type[Attributes] = ServiceUseAttributes, **attributes: Any) -> Finding:
    return Finding(
        id="f1", title="Detector title", first_seen=None, last_seen=None, count=1, hosts=["192.168.1.20"],
        attributes=kind(**attributes), severity="low",
    )


def any_finding(**attributes: Any) -> Finding:
    """A finding of the operator-test kind: any attribute value and type."""
    return finding(OperatorAttributes, **attributes)


def compile_match(text: str):
    errors: list = []
    node = parse_text(textwrap.dedent(text), "m.yaml", errors)
    condition = MatchCompiler(errors).block(node, node.mark)
    assert errors == []
    return condition


def matches(match_text: str, item: Finding, settings: Settings | None = None) -> bool:
    return compile_match(match_text).matches(item, settings or Settings())


def match_errors(text: str) -> list[str]:
    errors: list = []
    node = parse_text(textwrap.dedent(text), "m.yaml", errors)
    MatchCompiler(errors).block(node, node.mark)
    return [f"{error.line}: {error.message}" for error in errors]


# ---------------------------------------------------------------- operators


def test_plain_scalar_equals_is_case_insensitive_for_text() -> None:
    assert matches("service: dropbox", finding(service="Dropbox"))
    assert not matches("service: dropbox", finding(service="Dropbox Paper"))


def test_equals_keeps_numbers_and_booleans_apart() -> None:
    assert matches("connections: 3", any_finding(connections=3))
    assert matches("connections: 3", any_finding(connections=3.0))
    assert not matches("connections: 1", any_finding(connections=True))
    assert matches("external: true", any_finding(external=True))
    assert not matches("external: true", any_finding(external=1))
    assert not matches("connections: 3", any_finding(connections="3"))


def test_explicit_equals_operator() -> None:
    assert matches("service: {equals: Box}", finding(service="box"))
    assert not matches("service: {equals: Box}", finding(service="Dropbox"))


def test_in_operator_and_list_shorthand() -> None:
    assert matches("service_category: {in: [p2p, remote-access]}", finding(service_category="p2p"))
    assert matches("username: {in: [admin, root]}", any_finding(username="ADMIN"))  # text compares caseless
    assert not matches("service_category: {in: [p2p, remote-access]}", finding(service_category="paste"))
    assert matches("service_category: [p2p, remote-access]", finding(service_category="remote-access"))


def test_glob_operator() -> None:
    assert matches("filename: {glob: '*.ZIP'}", any_finding(filename="backup-2024.zip"))
    assert matches("filename: {glob: ['*.7z', 'export-*']}", any_finding(filename="export-clients.csv"))
    assert not matches("filename: {glob: '*.zip'}", any_finding(filename="backup.zip.txt"))


def test_domain_operator_matches_on_label_boundaries() -> None:
    rule = "domains: {domain: dropbox.com}"
    assert matches(rule, finding(domains=["dropbox.com"]))
    assert matches(rule, finding(domains=["dl.x.DROPBOX.com."]))
    assert not matches(rule, finding(domains=["notdropbox.com"]))
    assert not matches(rule, finding(domains=["dropbox.com.evil.net"]))
    assert matches("domains: {domain: [box.com, dropbox.com]}", finding(domains=["app.box.com"]))


def test_regex_operator_searches_text_and_numbers() -> None:
    assert matches("username: {regex: '^adm(in)?$'}", any_finding(username="admin"))
    assert not matches("username: {regex: '^adm(in)?$'}", any_finding(username="administrator"))
    assert matches("server_port: {regex: '^80(80)?$'}", any_finding(server_port=8080))
    assert not matches("username: {regex: 'x'}", any_finding(username=["a", "b"]))


def test_cidr_operator_for_ipv4_ipv6_and_non_addresses() -> None:
    assert matches("hosts: {cidr: 192.168.0.0/16}", any_finding())
    assert not matches("hosts: {cidr: 10.0.0.0/8}", any_finding())
    assert matches("server: {cidr: '2001:db8::/32'}", any_finding(server="2001:db8::5"))
    assert matches("server: {cidr: [10.0.0.0/8, '2001:db8::/32']}", any_finding(server="[2001:db8::5]:443"))
    assert not matches("server: {cidr: 10.0.0.0/8}", any_finding(server="2001:db8::5"))
    assert not matches("server: {cidr: 10.0.0.0/8}", any_finding(server="files.example.com"))


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [("gt", 10, False), ("gt", 9, True), ("gte", 10, True), ("gte", 11, False),
     ("lt", 10, False), ("lt", 11, True), ("lte", 10, True), ("lte", 9, False)],
)
def test_numeric_operators(operator: str, value: int, expected: bool) -> None:
    assert matches(f"bytes_up: {{{operator}: {value}}}", finding(bytes_up=10)) is expected


def test_numeric_operators_ignore_non_numbers() -> None:
    assert not matches("bytes_up: {gte: 0}", any_finding(bytes_up=None))
    assert not matches("bytes_up: {gte: 0}", any_finding(bytes_up="100"))
    assert not matches("bytes_up: {gte: 0}", any_finding(bytes_up=True))


def test_numeric_bound_can_come_from_settings() -> None:
    rule = "bytes_up: {gt: {setting: upload_high_bytes}}"
    big = finding(bytes_up=150 * 1024 * 1024)
    assert matches(rule, big)
    assert not matches(rule, big, Settings().updated({"upload_high_bytes": 200 * 1024 * 1024}))


def test_time_of_day_on_text_attribute_and_across_midnight() -> None:
    assert matches("time_of_day: {time_of_day: '12:00-13:00'}", any_finding(time_of_day="12:30"))
    assert not matches("time_of_day: {time_of_day: '12:00-13:00'}", any_finding(time_of_day="13:00"))
    assert matches("time_of_day: {time_of_day: '22:00-06:00'}", any_finding(time_of_day="23:10"))
    assert matches("time_of_day: {time_of_day: '22:00-06:00'}", any_finding(time_of_day="05:59"))
    assert not matches("time_of_day: {time_of_day: '22:00-06:00'}", any_finding(time_of_day="06:00"))
    assert not matches("time_of_day: {time_of_day: '22:00-06:00'}", any_finding(time_of_day="noon"))


def test_time_of_day_on_timestamps_uses_utc() -> None:
    item = finding()
    item.first_seen = datetime(2024, 3, 4, 23, 30, tzinfo=timezone.utc).timestamp()
    assert matches("first_seen: {time_of_day: '22:00-06:00'}", item)
    assert not matches("first_seen: {time_of_day: '08:00-18:00'}", item)
    assert not matches("last_seen: {time_of_day: '00:00-24:00'}", item)  # last_seen is None


def test_exists_true_and_false() -> None:
    assert matches("tenant: {exists: true}", finding(tenant="contoso"))
    assert not matches("tenant: {exists: true}", finding())
    assert matches("tenant: {exists: false}", finding())
    assert matches("tenant: {exists: false}", finding(tenant=None))
    assert not matches("tenant: {exists: false}", finding(tenant="contoso"))


def test_missing_attribute_never_matches_other_operators() -> None:
    item = any_finding()
    for rule in ("service: Box", "service: {glob: '*'}", "bytes_up: {gte: 0}", "service: {regex: '.*'}"):
        assert not matches(rule, item)


def test_field_paths_bare_names_are_attributes() -> None:
    item = any_finding(service="Box", detector_hint="x", nested={"inner": "yes"})
    assert matches("attributes.service: Box", item)
    assert matches("service: Box", item)
    assert matches("detector: test.operators", item)  # a finding field, not an attribute
    assert matches("attributes.nested.inner: 'yes'", item)
    assert matches("count: 1", item)
    assert matches("severity: low", item)
    assert matches("title: detector TITLE", item)


def test_list_values_match_when_any_element_matches() -> None:
    item = finding(methods=["dns", "tls-sni"])
    assert matches("methods: tls-sni", item)
    assert matches("methods: {in: [quic-sni, dns]}", item)
    assert not matches("methods: bittorrent", item)
    assert matches("hosts: 192.168.1.20", item)


def test_several_operators_on_one_field_must_hold_for_the_same_element() -> None:
    assert matches("sizes: {gte: 10, lt: 100}", any_finding(sizes=[5, 50]))
    assert not matches("sizes: {gte: 10, lt: 100}", any_finding(sizes=[5, 500]))


def test_all_any_not_combinators() -> None:
    item = finding(service="Box", risk="high")
    assert matches("all: [{service: Box}, {risk: high}]", item)
    assert not matches("all: [{service: Box}, {risk: low}]", item)
    assert matches("any: [{service: Dropbox}, {risk: high}]", item)
    assert not matches("any: [{service: Dropbox}, {risk: low}]", item)
    assert matches("not: {service: Dropbox}", item)
    assert not matches("not: {service: Box}", item)
    assert matches("not: {accepted: false}", item)  # missing attribute: the inner test fails
    nested = "any: [{all: [{service: Box}, {not: {risk: low}}]}, {service: MEGA}]"
    assert matches(nested, item)


def test_title_template_renders_fields_without_format_strings() -> None:
    item = finding(service="Dropbox", domains=["dropbox.com", "db.tt"])
    text = render_template("{service} via {domains} ({count}) {missing} {0.__class__}", item)
    assert text == "Dropbox via dropbox.com, db.tt (1) ? {0.__class__}"


# ---------------------------------------------------------------- validation


ACCEPTANCE = """\
rules:
  - id: r1
    title: First
    match: {detector: wifi.outage}
    severity: low
  - id: r1
    title: Duplicate of an earlier id
    match: {detector: wifi.recurring}
    severity: low
  - id: r2
    title: Bad regex
    match: {service: {regex: "(unclosed"}}
    severity: low
  - id: r3
    title: Unknown key
    colour: red
    match: {detector: wifi.deauth-flood}
    severity: low
  - id: r4
    title: Bad severity
    match: {detector: credentials.reuse}
    severity: catastrophic
"""


def test_acceptance_four_errors_with_their_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "site.yaml", ACCEPTANCE)
    errors = validate_files([path])
    assert [f"{error.file}:{error.line}" for error in errors] == [
        f"{path}:6", f"{path}:12", f"{path}:16", f"{path}:22",
    ]
    assert str(errors[0]).startswith(f"{path}:6:")
    assert "duplicate rule id 'r1'" in errors[0].message
    assert "bad regex" in errors[1].message
    assert "colour" in errors[2].message
    assert "catastrophic" in errors[3].message


def test_load_ruleset_raises_with_all_errors(tmp_path: Path, packs: Path) -> None:
    path = write(tmp_path / "site.yaml", ACCEPTANCE)
    with pytest.raises(RuleLoadError) as caught:
        load_ruleset([path], packs_dir=packs)
    assert [error.line for error in caught.value.errors] == [6, 12, 16, 22]
    assert f"{path}:22:" in str(caught.value)


@pytest.mark.parametrize(("extra", "place", "message"), [
    ("severity: high", (6, 5), "duplicate key 'severity'"),
    ("compliance: [CIS-v8:3.10, CIS-v8:3.11]", (6, 31), "unknown compliance control 'CIS-v8:3.11'"),
], ids=["duplicate-key", "unknown-compliance-id"])
def test_an_error_in_a_rule_names_its_line_and_column(tmp_path: Path, packs: Path, extra: str,
                                                       place: tuple[int, int], message: str) -> None:
    path = write(tmp_path / "site.yaml", f"""\
        rules:
          - id: r1
            title: One
            match: {{detector: wifi.outage}}
            severity: low
            {extra}
        """)
    errors = validate_files([path], packs_dir=packs)
    assert [(error.line, error.col) for error in errors] == [place]
    assert message in errors[0].message


def test_invalid_yaml_reports_the_parser_mark(tmp_path: Path, packs: Path) -> None:
    path = write(tmp_path / "site.yaml", "rules:\n  - id: r1\n    title: [unclosed\n    severity: low\n")
    errors = validate_files([path], packs_dir=packs)
    assert len(errors) == 1
    assert errors[0].line == 4
    assert errors[0].message.startswith("invalid YAML:")


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("  - title: No id\n    match: {aps: 1}\n    severity: low\n", 2, "missing required key 'id'"),
        ("  - id: r1\n    match: {aps: 1}\n    severity: low\n", 2, "missing required key 'title'"),
        ("  - id: r1\n    title: t\n    severity: low\n", 2, "missing required key 'match'"),
        ("  - id: r1\n    title: t\n    match: {aps: 1}\n", 2, "missing required key 'severity'"),
        ("  - id: r1\n    title: t\n    action: allow\n    match: {aps: 1}\n", 2, "missing required key 'reason'"),
        ("  - id: r1\n    title: t\n    action: allow\n    reason: ok\n    match: {aps: 1}\n    expires: 2030-02-30\n",
         7, "bad date"),
        ("  - id: r1\n    title: t\n    action: ignore\n    match: {aps: 1}\n", 4, "bad action"),
        ("  - id: default\n    title: t\n    match: {aps: 1}\n    severity: low\n", 2, "reserved"),
        ("  - id: r1\n    title: t\n    match: {aps: 1}\n    severity: low\n    reason: why\n", 6, "only valid with"),
        ("  - id: r1\n    title: t\n    match: {aps: 1}\n    severity: low\n    examples: {match: [{colour: 1}]}\n",
         6, "unknown key 'colour' in example"),
        ("  - id: r1\n    title: t\n    match: {aps: 1}\n    severity: low\n    examples: {match: [{count: 2}]}\n",
         6, "an example must name its detector"),
        ("  - id: r1\n    title: t\n    match: {aps: 1}\n    severity: low\n"
         "    examples: {match: [{detector: wifi.recurent}]}\n", 6, "no finding kind has the detector 'wifi.recurent'"),
        ("  - id: r1\n    title: t\n    match: {aps: 1}\n    severity: low\n"
         "    examples: {match: [{detector: wifi.outage, category: wifi-attack}]}\n", 6, "is not the category of"),
        ("  - id: r1\n    title: t\n    match: {aps: 1}\n    severity: low\n"
         "    examples: {match: [{detector: wifi.outage, attributes: {ap: x}}]}\n", 6, "ap not declared"),
    ],
)
def test_rule_validation_errors(tmp_path: Path, packs: Path, body: str, line: int, fragment: str) -> None:
    assert_one_error(write(tmp_path / "site.yaml", "rules:\n" + body), packs, line, fragment)


@pytest.mark.parametrize(("match", "fragment"), [
    ("{aps: {regexp: x}}", "unknown operator 'regexp'"),
    ("{regex: x}", "is an operator, not a field"),
    ("{aps: {cidr: 10.0.0.1/33}}", "bad CIDR"),
    ("{aps: {domain: 'https://x.com/'}}", "bad domain"),
    ("{aps: {time_of_day: '8-18'}}", "bad time_of_day"),
    ("{aps: {gt: ten}}", "gt takes a number"),
    ("{aps: {gt: {setting: nope}}}", "unknown numeric"),
    ("{aps: null}", "exists: false"),
    ("{severity: urgent}", "unknown severity 'urgent'"),
    ("{}", "must not be empty"),
])
def test_match_errors_point_at_the_match_line(tmp_path: Path, packs: Path, match: str, fragment: str) -> None:
    path = write(tmp_path / "site.yaml", f"rules:\n  - id: r1\n    title: t\n    match: {match}\n    severity: low\n")
    assert_one_error(path, packs, 4, fragment)


def assert_one_error(path: Path, packs: Path, line: int, fragment: str) -> None:
    errors = validate_files([path], packs_dir=packs)
    assert len(errors) == 1, [str(error) for error in errors]
    assert errors[0].line == line
    assert fragment in errors[0].message


def test_top_level_keys_and_settings_are_checked(tmp_path: Path, packs: Path) -> None:
    path = write(tmp_path / "site.yaml", """\
        version: 1
        description: test
        colour: red
        settings:
          wifi_min_days: three
          upload_high_bytes: -1
          no_such_setting: 1
          password_field_names: [pwd, 3]
        rules: []
        """)
    errors = validate_files([path], packs_dir=packs)
    assert [error.line for error in errors] == [3, 5, 6, 7, 8]
    assert "unknown key 'colour'" in errors[0].message


def test_unsafe_tags_are_rejected(tmp_path: Path, packs: Path) -> None:
    path = write(tmp_path / "site.yaml", "rules:\n  - !!python/object:os.system {id: x}\n")
    errors = validate_files([path], packs_dir=packs)
    assert errors and "unsupported YAML tag" in errors[0].message


def test_alias_bombs_are_bounded(tmp_path: Path, packs: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, 9)]
    path = write(tmp_path / "site.yaml", "\n".join(lines) + "\n")
    errors = validate_files([path], packs_dir=packs)
    assert len(errors) == 1 and "too large" in errors[0].message


def test_base60_looking_times_stay_text() -> None:
    errors: list = []
    assert parse_text("t: 12:30\n", "x", errors) == {"t": "12:30"}


# ---------------------------------------------------------------- closed values (issue 25)


@pytest.mark.parametrize(("match", "col", "message"), [
    ("{category: filesharing}", 23, "unknown category 'filesharing'; did you mean 'file-sharing'?"),
    ("{detector: filesharing.attachments}", 23,
     "unknown detector 'filesharing.attachments'; did you mean 'filesharing.attachment'?"),
    ("{severity: hihg}", 23, "unknown severity 'hihg'; did you mean 'high'?"),
    ("{identified_by: ip_range}", 28, "unknown identified_by 'ip_range'; did you mean 'ip-range'?"),
    ("{confidence: hihg}", 25, "unknown confidence 'hihg'; did you mean 'high'?"),
    ("{kind: tokn}", 19, "unknown kind 'tokn'; did you mean 'token'?"),
    ("{direction: upp}", 24, "unknown direction 'upp'; did you mean 'up'?"),
    ("{pattern: dialy}", 22, "unknown pattern 'dialy'; did you mean 'daily'?"),
    ("{risk: hihg}", 19, "unknown risk 'hihg'; did you mean 'high'?"),
    ("{service_category: cloud-storag}", 31, "unknown service_category 'cloud-storag'; did you mean 'cloud-storage'?"),
    ("{category: {in: [wifi-drops, wifi-atack]}}", 41, "unknown category 'wifi-atack'; did you mean 'wifi-attack'?"),
    ("{detector: [wifi.outage, wifi.recurent]}", 37,
     "unknown detector 'wifi.recurent'; did you mean 'wifi.recurring'?"),
    ("{not: {detector: wifi.outag}}", 29, "unknown detector 'wifi.outag'; did you mean 'wifi.outage'?"),
    ("{any: [{confidence: low}, {confidence: lo}]}", 51, "unknown confidence 'lo'; did you mean 'low'?"),
    ("{category: 3}", 23, "unknown category 3; expected one of file-sharing, plaintext-credentials, wifi-attack, "
                          "wifi-drops"),
], ids=lambda value: value if isinstance(value, str) and value.startswith("{") else None)
def test_a_wrong_closed_value_is_refused_at_its_place(tmp_path: Path, match: str, col: int, message: str) -> None:
    from click.testing import CliRunner

    from detector.cli import main

    path = write(tmp_path / "site.yaml", f"rules:\n  - id: r1\n    title: t\n    match: {match}\n    severity: low\n")
    result = CliRunner().invoke(main, ["rules", "validate", str(path)], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"{path}:4:{col}: {message}"]


def test_closed_values_match_case_insensitively_as_matching_does(tmp_path: Path, packs: Path) -> None:
    path = write(tmp_path / "site.yaml", "rules:\n  - id: r1\n    title: t\n"
                                          "    match: {category: File-Sharing, confidence: {in: [LOW, medium]}}\n"
                                          "    severity: low\n")
    assert validate_files([path], packs_dir=packs) == []


def test_the_rule_severity_key_is_checked_like_the_match(tmp_path: Path, packs: Path) -> None:
    path = write(tmp_path / "site.yaml", "rules:\n  - {id: r1, title: t, match: {aps: 1}, severity: hihg}\n")
    assert [str(error) for error in validate_files([path], packs_dir=packs)] == [
        f"{path}:2:51: unknown severity 'hihg'; did you mean 'high'?"]


def test_declared_choices_are_the_values_their_docs_list() -> None:
    """The declaration is the one source: each choice is written in its attribute's documentation."""
    from detector.findings.registry import all_specs, closed_values

    closed = closed_values()
    for spec in all_specs():
        for choice in spec.choices:
            assert f"`{choice}`" in spec.doc, (spec.owner, spec.name, choice)
    assert {"identified_by", "confidence", "kind", "direction", "risk", "pattern", "service_category"} <= set(closed)
    assert "ssh" not in closed["protocol"] and {"ftp", "snmp", "http-basic", "ftp-retr"} <= set(closed["protocol"])
    assert "wifi-drops" in closed["category"] and "filesharing.attachment" in closed["detector"]


def test_a_finding_cannot_carry_a_value_outside_its_declared_choices() -> None:
    """Rules are validated against the declared choices, so a detector may not emit anything else."""
    from detector.findings.attributes import AttributeTypeError
    from detector.findings.credentials import CleartextLoginAttributes

    assert CleartextLoginAttributes(protocol="imap").protocol == "imap"
    with pytest.raises(AttributeTypeError, match="protocol='ssh' is not one of the declared choices"):
        CleartextLoginAttributes(protocol="ssh")


def test_a_rule_naming_an_undeclared_protocol_is_refused_with_its_place(tmp_path: Path, packs: Path) -> None:
    path = write(tmp_path / "site.yaml", "rules:\n  - {id: r1, title: t, match: {protocol: telnett}, severity: high}\n")
    (error,) = validate_files([path], packs_dir=packs)
    assert str(error).startswith(f"{path}:2:") and "unknown protocol 'telnett'; did you mean 'telnet'?" in str(error)


def test_errors_are_collected_across_files(tmp_path: Path, packs: Path) -> None:
    first = write(tmp_path / "one.yaml", "rules:\n  - {id: r1, title: t, match: {aps: 1}, severity: bad}\n")
    second = write(tmp_path / "two.yaml", "rules: {}\n")
    errors = validate_files([first, second], packs_dir=packs)
    assert [(Path(error.file).name, error.line) for error in errors] == [("one.yaml", 2), ("two.yaml", 1)]


def test_unreadable_file_is_an_error(tmp_path: Path, packs: Path) -> None:
    errors = validate_files([tmp_path / "missing.yaml"], packs_dir=packs)
    assert len(errors) == 1 and errors[0].line == 1 and "cannot read" in errors[0].message


def test_duplicate_ids_across_files_of_one_layer(tmp_path: Path, packs: Path) -> None:
    rule = "rules:\n  - {id: same, title: t, match: {aps: 1}, severity: low}\n"
    write(packs / "a.yaml", rule)
    write(packs / "b.yaml", rule)
    with pytest.raises(RuleLoadError) as caught:
        load_ruleset([], packs_dir=packs)
    assert [(Path(error.file).name, error.line) for error in caught.value.errors] == [("b.yaml", 2)]
    site_one = write(tmp_path / "s1.yaml", rule.replace("same", "mine"))
    site_two = write(tmp_path / "s2.yaml", rule.replace("same", "mine"))
    (packs / "b.yaml").unlink()
    with pytest.raises(RuleLoadError) as caught:
        load_ruleset([site_one, site_two], packs_dir=packs)
    assert [Path(error.file).name for error in caught.value.errors] == ["s2.yaml"]


def test_unknown_compliance_id_in_catalog_free_load_is_error_when_catalog_missing(tmp_path: Path) -> None:
    empty = tmp_path / "empty-packs"
    empty.mkdir()
    with pytest.raises(RuleLoadError) as caught:
        load_ruleset([], packs_dir=empty)
    assert "compliance.yaml" in caught.value.errors[0].file


# ---------------------------------------------------------------- precedence and classification


PACK_A = """\
rules:
  - id: pack-big-upload
    title: Big upload
    match: {detector: filesharing.service, bytes_up: {gt: 100}}
    severity: high
    compliance: [CIS-v8:3.10]
    remediation: Ask what was uploaded.
    tags: [exfil]
  - id: pack-any-service
    title: Any service
    match: {detector: filesharing.service}
    severity: low
    remediation: Review.
"""
PACK_B = """\
rules:
  - id: pack-wifi
    title: Wi-Fi
    match: {detector: wifi.recurring}
    severity: medium
"""


@pytest.fixture
def two_packs(packs: Path) -> Path:
    write(packs / "b-second.yaml", PACK_B)
    write(packs / "a-first.yaml", PACK_A)
    write(packs / "services.yaml", "services: [this is not a rule pack]\n")
    return packs


def test_packs_load_in_file_name_order_without_catalogs(two_packs: Path) -> None:
    assert [path.name for path in pack_files(two_packs)] == ["a-first.yaml", "b-second.yaml"]
    ruleset = load_ruleset([], packs_dir=two_packs)
    assert [rule.id for rule in ruleset.rules] == ["pack-big-upload", "pack-any-service", "pack-wifi"]
    assert [path.name for path in ruleset.files] == ["compliance.yaml", "a-first.yaml", "b-second.yaml"]


def test_first_matching_rule_classifies(two_packs: Path) -> None:
    ruleset = load_ruleset([], packs_dir=two_packs)
    item = finding(bytes_up=500)
    ruleset.classify(item)
    assert (item.rule, item.severity, item.sanctioned) == ("pack-big-upload", "high", False)
    assert item.compliance == ["CIS-v8:3.10"] and item.remediation == "Ask what was uploaded."
    assert item.tags == ["exfil"] and item.title == "Detector title"
    small = finding(bytes_up=5)
    ruleset.classify(small)
    assert (small.rule, small.severity) == ("pack-any-service", "low")


def test_unmatched_finding_keeps_detector_defaults(two_packs: Path) -> None:
    ruleset = load_ruleset([], packs_dir=two_packs)
    item = finding(CleartextLoginAttributes)
    item.severity = "critical"
    ruleset.classify(item)
    assert (item.rule, item.severity, item.sanctioned) == (DEFAULT_RULE_ID, "critical", False)


def test_site_rule_replaces_pack_rule_in_place(tmp_path: Path, two_packs: Path) -> None:
    site = write(tmp_path / "site.yaml", """\
        rules:
          - id: pack-any-service
            title: Any service, site view
            match: {detector: filesharing.service}
            severity: medium
        """)
    ruleset = load_ruleset([site], packs_dir=two_packs)
    assert [rule.id for rule in ruleset.rules] == ["pack-big-upload", "pack-any-service", "pack-wifi"]
    assert ruleset.rules[1].layer == "site" and ruleset.rules[1].severity == "medium"
    item = finding(bytes_up=500)
    ruleset.classify(item)
    assert item.rule == "pack-big-upload"  # the override kept the pack's position
    small = finding(bytes_up=5)
    ruleset.classify(small)
    assert (small.rule, small.severity) == ("pack-any-service", "medium")


def test_new_site_rules_are_evaluated_before_packs_in_file_order(tmp_path: Path, two_packs: Path) -> None:
    first = write(tmp_path / "1.yaml", """\
        rules:
          - {id: site-box, title: Box, match: {service: Box}, severity: critical}
        """)
    second = write(tmp_path / "2.yaml", """\
        rules:
          - {id: site-any, title: Any, match: {detector: filesharing.service}, severity: info}
        """)
    ruleset = load_ruleset([first, second], packs_dir=two_packs)
    assert [rule.id for rule in ruleset.rules][:3] == ["site-box", "site-any", "pack-big-upload"]
    box = finding(service="Box", bytes_up=500)
    ruleset.classify(box)
    assert (box.rule, box.severity) == ("site-box", "critical")
    other = finding(service="MEGA", bytes_up=500)
    ruleset.classify(other)
    assert (other.rule, other.severity) == ("site-any", "info")


def test_allow_rule_sanctions_but_keeps_classification(tmp_path: Path, two_packs: Path) -> None:
    site = write(tmp_path / "site.yaml", """\
        rules:
          - id: allow-box
            title: Box is sanctioned
            action: allow
            match: {service: Box, tenant: contoso}
            reason: Company account
            owner: it
            expires: 2025-06-30
            tags: [sanctioned]
        """)
    ruleset = load_ruleset([site], packs_dir=two_packs, today=date(2025, 6, 30))
    item = finding(service="Box", tenant="Contoso", bytes_up=500)
    ruleset.classify(item)
    assert (item.rule, item.sanctioned, item.severity) == ("allow-box", True, "high")
    assert item.compliance == ["CIS-v8:3.10"] and item.tags == ["exfil", "sanctioned"]
    assert ruleset.expired_allows == []
    personal = finding(service="Box", bytes_up=500)
    ruleset.classify(personal)
    assert (personal.rule, personal.sanctioned) == ("pack-big-upload", False)


def test_expired_allow_rule_stops_applying_and_is_reported(tmp_path: Path, two_packs: Path) -> None:
    site = write(tmp_path / "site.yaml", """\
        rules:
          - {id: allow-box, title: Box, action: allow, match: {service: Box}, reason: pilot, expires: 2025-06-30}
          - {id: allow-mega, title: Mega, action: allow, match: {service: MEGA}, reason: forever}
        """)
    ruleset = load_ruleset([site], packs_dir=two_packs, today=date(2025, 7, 1))
    assert [rule.id for rule in ruleset.expired_allows] == ["allow-box"]
    item = finding(service="Box", bytes_up=500)
    ruleset.classify(item)
    assert (item.rule, item.sanctioned, item.severity) == ("pack-big-upload", False, "high")
    mega = finding(service="MEGA")
    ruleset.classify(mega)
    assert (mega.rule, mega.sanctioned) == ("allow-mega", True)


def test_allowed_finding_without_alert_rule_keeps_defaults(tmp_path: Path, packs: Path) -> None:
    site = write(tmp_path / "site.yaml", """\
        rules:
          - {id: allow-all, title: All, action: allow, match: {category: file-sharing}, reason: lab}
        """)
    ruleset = load_ruleset([site], packs_dir=packs)
    item = finding()
    ruleset.classify(item)
    assert (item.rule, item.sanctioned, item.severity) == ("allow-all", True, "low")


def test_title_override_only_when_set(tmp_path: Path, packs: Path) -> None:
    site = write(tmp_path / "site.yaml", """\
        rules:
          - id: named
            title: Rule title is not the finding title
            title_override: "{service} used by {hosts}"
            match: {service: Box}
            severity: low
          - {id: plain, title: Plain rule title, match: {service: MEGA}, severity: low}
        """)
    ruleset = load_ruleset([site], packs_dir=packs)
    box, mega = finding(service="Box"), finding(service="MEGA")
    for each in (box, mega):
        ruleset.classify(each)
    assert box.title == "Box used by 192.168.1.20"
    assert mega.title == "Detector title"


def test_disabled_stub_switches_a_pack_rule_off(tmp_path: Path, two_packs: Path) -> None:
    site = write(tmp_path / "site.yaml", "rules:\n  - {id: pack-any-service, enabled: false}\n")
    ruleset = load_ruleset([site], packs_dir=two_packs)
    assert "pack-any-service" not in [rule.id for rule in ruleset.rules]
    assert [rule.id for rule in ruleset.disabled] == ["pack-any-service"]


def test_settings_merge_in_load_order(tmp_path: Path, packs: Path) -> None:
    write(packs / "a.yaml", "settings: {wifi_min_days: 4, max_flows: 10}\n")
    first = write(tmp_path / "1.yaml", "settings: {wifi_min_days: 5, wifi_window_minutes: 20}\n")
    second = write(tmp_path / "2.yaml", "settings: {wifi_window_minutes: 7.5, password_field_names: [pin]}\n")
    settings = load_ruleset([first, second], packs_dir=packs).settings
    assert settings.wifi_min_days == 5
    assert settings.max_flows == 10
    assert settings.wifi_window_minutes == 7.5
    assert settings.password_field_names == ["pin"]
    assert settings.upload_high_bytes == Settings().upload_high_bytes


def test_sha256_covers_every_loaded_file_in_order(tmp_path: Path, two_packs: Path) -> None:
    site = write(tmp_path / "site.yaml", "rules: []\n")
    ruleset = load_ruleset([site], packs_dir=two_packs)
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in ruleset.files)).hexdigest()
    assert ruleset.sha256 == digest
    assert ruleset.files[0].name == "compliance.yaml" and ruleset.files[-1] == site
    write(site, "rules: []  # edited\n")
    assert load_ruleset([site], packs_dir=two_packs).sha256 != digest


def test_describe_names_the_rule_and_its_source(two_packs: Path) -> None:
    rule = load_ruleset([], packs_dir=two_packs).get("pack-big-upload")
    text = rule.describe()
    assert text.startswith("pack-big-upload  high  ")
    assert "a-first.yaml:2" in text and "bytes_up > 100" in text


def test_compliance_catalog_is_exposed(two_packs: Path) -> None:
    control = load_ruleset([], packs_dir=two_packs).compliance["CIS-v8:3.10"]
    assert (control.framework, control.ref, control.title) == ("CIS-v8", "3.10", "Encrypt Sensitive Data in Transit")


# ---------------------------------------------------------------- examples


def test_run_examples_reports_wrong_examples(tmp_path: Path, packs: Path) -> None:
    site = write(tmp_path / "site.yaml", """\
        rules:
          - id: r1
            title: Box
            match: {service: Box}
            severity: low
            examples:
              match:
                - {detector: filesharing.service, attributes: {service: box}}
                - {detector: filesharing.service, attributes: {service: MEGA}}
              nomatch:
                - {detector: filesharing.service, attributes: {service: BOX}}
        """)
    failures = load_ruleset([site], packs_dir=packs).run_examples()
    assert [(failure.line, failure.rule_id) for failure in failures] == [(9, "r1"), (11, "r1")]
    assert "match #2 did not match" in failures[0].message
    assert "nomatch #1 matched" in str(failures[1])


def test_run_examples_can_check_shadowing(tmp_path: Path, packs: Path) -> None:
    site = write(tmp_path / "site.yaml", """\
        rules:
          - {id: broad, title: All, match: {category: file-sharing}, severity: low}
          - id: narrow
            title: Box
            match: {service: Box}
            severity: high
            examples: {match: [{detector: filesharing.service, category: file-sharing, attributes: {service: Box}}]}
        """)
    ruleset = load_ruleset([site], packs_dir=packs)
    assert ruleset.run_examples() == []
    failures = ruleset.run_examples(check_shadowing=True)
    assert len(failures) == 1 and "earlier rule broad" in failures[0].message


def test_example_timestamps_accept_iso_text(tmp_path: Path, packs: Path) -> None:
    site = write(tmp_path / "site.yaml", """\
        rules:
          - id: night
            title: Night
            match: {first_seen: {time_of_day: "22:00-06:00"}}
            severity: low
            examples:
              match: [{detector: wifi.outage, first_seen: "2024-05-01T23:30:00Z"},
                      {detector: wifi.outage, first_seen: 2024-05-02 01:00:00}]
              nomatch: [{detector: wifi.outage, first_seen: 1714564800}]
        """)
    assert load_ruleset([site], packs_dir=packs).run_examples() == []


# ---------------------------------------------------------------- shipped packs


FRAMEWORKS = ("CIS-v8", "NIST-CSF-2.0", "ISO27001-2022", "PCI-DSS-4.0", "HIPAA")


@pytest.fixture(scope="module")
def shipped():
    return load_ruleset([], packs_dir=default_packs_dir(), today=date(2025, 1, 1))


def test_shipped_packs_validate(shipped) -> None:
    paths = pack_files(default_packs_dir())
    assert {path.name for path in paths} >= {"filesharing.yaml", "credentials.yaml", "wifi.yaml"}
    assert validate_files(paths) == []
    assert len(shipped.rules) >= 30


def test_shipped_examples_pass_without_shadowing(shipped) -> None:
    assert [str(failure) for failure in shipped.run_examples(check_shadowing=True)] == []


def test_every_shipped_rule_is_documented_and_cites_three_frameworks(shipped) -> None:
    for rule in shipped.rules:
        assert rule.severity in SEVERITIES and rule.remediation and rule.description, rule.id
        assert rule.examples and any(example.expect_match for example in rule.examples), rule.id
        frameworks = {control.split(":", 1)[0] for control in rule.compliance}
        assert len(frameworks) >= 3, rule.id
        assert frameworks <= set(FRAMEWORKS), rule.id


def test_compliance_catalog_covers_the_five_frameworks(shipped) -> None:
    assert {control.framework for control in shipped.compliance.values()} == set(FRAMEWORKS)
    for control_id, control in shipped.compliance.items():
        assert control_id == f"{control.framework}:{control.ref}" and control.title


@pytest.mark.parametrize(
    ("attributes", "rule_id", "severity"),
    [
        ({"service": "Dropbox", "service_category": "cloud-storage", "methods": ["dns"]}, "fs-dns-only", "low"),
        ({"service": "Dropbox", "methods": ["tls-sni"], "bytes_up": 11 * 2**20}, "fs-upload-medium", "medium"),
        ({"service": "Dropbox", "methods": ["tls-sni"], "bytes_up": 101 * 2**20}, "fs-upload-high", "high"),
        ({"service": "Dropbox", "methods": ["tls-sni"], "bytes_up": 2**30 + 1}, "fs-upload-critical", "critical"),
        ({"service": "TeamViewer", "service_category": "remote-access", "methods": ["dns"]},
         "fs-remote-access", "medium"),
        ({"service": "qBittorrent", "service_category": "p2p", "methods": ["dns"]}, "fs-p2p", "medium"),
    ],
)
def test_shipped_filesharing_ladder(shipped, attributes: dict, rule_id: str, severity: str) -> None:
    item = finding(**attributes)
    shipped.classify(item)
    assert (item.rule, item.severity) == (rule_id, severity)


def test_shipped_thresholds_follow_site_settings(tmp_path: Path) -> None:
    site = write(tmp_path / "site.yaml", "settings: {upload_medium_bytes: 1000}\n")
    ruleset = load_ruleset([site], packs_dir=default_packs_dir())
    item = finding(service="Box", methods=["tls-sni"], bytes_up=5000)
    ruleset.classify(item)
    assert (item.rule, item.severity) == ("fs-upload-medium", "medium")


def test_repository_site_template_validates() -> None:
    template = REPO / "rules.yaml"
    assert validate_files([template]) == []
    ruleset = load_ruleset([template], today=date(2026, 1, 1))
    allows = [rule for rule in ruleset.rules if rule.is_allow]
    assert allows and all(rule.reason and rule.expires for rule in allows)
    assert ruleset.run_examples(check_shadowing=True) == []
