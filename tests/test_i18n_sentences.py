"""A whole audit in German and French: no English sentence of shadowit's own is left.

The check is a round trip over every message of the catalogs and every text of the shipped rule packs: whatever
English text of ours a DE/FR report or terminal summary still shows is named. Titles, evidence lines, decoder notes
and warnings are stored in English (the contract) and rendered again in the reader's language.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from detector.cli import main
from detector.findings.filesharing import FileMovedAttributes
from detector.policy import load_ruleset, validate_files
from detector.policy.texts import translated
from detector.samples import write_demo
from reports.i18n import extract_messages, use_language
from reports.kinds import presentation_of, title_of
from reports.wording import all_sentences, localized
from tests.scanning import scan_files
from tests.test_i18n import english_left, visible

LANGUAGES = ("de", "fr")


@pytest.fixture(scope="module")
def source_messages():
    return {message.id: message for message in extract_messages() if message.id}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> list[Path]:
    return write_demo(tmp_path_factory.mktemp("demo"))


def rule_pack_texts() -> list[str]:
    """Every English rule title, remediation and control title the shipped packs give (each has translations)."""
    ruleset = load_ruleset([])
    texts = {text for rule in ruleset.rules for text in (rule.title, rule.remediation) if text}
    return sorted(texts | {control.title for control in ruleset.compliance.values()})


def audit(paths: list[Path], language: str, out: Path) -> tuple[str, str]:
    report = out / f"report-{language}.html"
    (out / "none.yaml").write_text("rules: []\n", encoding="utf-8")  # the shipped packs alone, not ./rules.yaml
    result = CliRunner().invoke(main, ["scan", *map(str, paths), "--lang", language, "--report", str(report),
                                       "--rules", str(out / "none.yaml")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return report.read_text(encoding="utf-8"), result.output


def english_of_ours(html: str, terminal: str, language: str, source_messages) -> list[str]:
    texts = visible(html) + terminal.splitlines()
    joined = "\n".join(texts)
    left = english_left(html, language, source_messages)
    left += [text for text in rule_pack_texts() if text in joined and translated(text, language) != text]
    return left


@pytest.mark.parametrize("language", LANGUAGES)
def test_demo_audit_has_no_english_of_ours(language, demo, tmp_path, source_messages):
    html, terminal = audit(demo, language, tmp_path)
    left = english_of_ours(html, terminal, language, source_messages)
    assert not left, f"English left in the {language} audit: {left}"
    assert "file-sharing" not in terminal and "plaintext-credentials" not in terminal  # categories in words
    english_html, english_terminal = audit(demo, "en", tmp_path)
    assert english_of_ours(english_html, english_terminal, language, source_messages), "the check must see English"


@pytest.mark.corpus
@pytest.mark.parametrize("language", LANGUAGES)
def test_corpus_audit_has_no_english_of_ours(language, corpus, tmp_path, source_messages):
    paths = [corpus / "credentials", corpus / "filesharing", corpus / "wifi"]
    html, terminal = audit(paths, language, tmp_path)
    left = english_of_ours(html, terminal, language, source_messages)
    assert not left, f"English left in the {language} corpus audit: {left}"


def test_every_rule_pack_text_is_translated():
    missing = [(language, text[:60]) for text in rule_pack_texts() for language in LANGUAGES
               if translated(text, language) == text]
    assert not missing, missing


def test_translated_titles_are_the_stored_titles_in_english(demo):
    """The attribute-built titles say what the detectors wrote: in English they are the stored title."""
    findings, _inputs, _scan = scan_files(*demo)
    assert findings
    with use_language("en"):
        for finding in findings:
            if isinstance(finding.attributes, FileMovedAttributes):
                continue  # the stored title names the command (ftp-stor); the shown one says FTP
            assert presentation_of(finding).title(finding) == finding.title
    with use_language("de"):
        german = [title_of(f) for f in findings]
    assert not set(german) & {f.title for f in findings}
    assert any("Klartext" in title for title in german) and any("WLAN-Ausfälle" in title for title in german)


def test_stored_sentences_keep_their_values():
    with use_language("de"):
        note = localized("SNMPv2c community in get-request, well-known default community")
        evidence = localized("ftp login anna / S***** (6) 10.0.0.5 -> 10.0.0.9:21, refused (no STARTTLS)")
        warning = localized("a FIFO (named pipe), not a regular file; skipped")
        data = localized("Dropbox-Business: quarterly upload")
    assert note == "SNMPv2c-Community in get-request, allgemein bekannte Standard-Community"
    assert evidence == "ftp-Anmeldung anna / S***** (6) 10.0.0.5 -> 10.0.0.9:21, abgelehnt (kein STARTTLS)"
    assert warning == "eine FIFO (Named Pipe), keine reguläre Datei; übersprungen"
    assert data == "Dropbox-Business: quarterly upload"  # not ours: shown as stored


def test_hostile_stored_text_is_matched_quickly():
    texts = [" -> ".join(["a"] * 100), "login " * 60, ", ".join(["x"] * 200), "{count} " * 50]
    with use_language("fr"):
        start = time.perf_counter()
        for text in texts:
            localized(text)
        assert time.perf_counter() - start < 0.5


def test_every_sentence_has_a_template_the_catalogs_translate(source_messages):
    assert set(all_sentences()) <= set(source_messages)


RULE = """rules:
  - id: site-ftp
    title: {{en: FTP in use, de: FTP in Verwendung}}
    match: {{detector: credentials.cleartext}}
    severity: high
    remediation:
{remediation}
"""


def rules_file(tmp_path: Path, remediation: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULE.format(remediation=remediation), encoding="utf-8")
    return path


def test_rule_texts_take_a_plain_string_or_a_language_map(tmp_path):
    assert validate_files([rules_file(tmp_path, "      Use SFTP.")]) == []
    path = rules_file(tmp_path, "      en: Use SFTP.\n      fr: Utilisez SFTP.")
    assert validate_files([path]) == []
    ruleset = load_ruleset([path])
    rule = next(r for r in ruleset.rules if r.id == "site-ftp")
    assert (rule.title, rule.remediation) == ("FTP in use", "Use SFTP.")
    assert translated("Use SFTP.", "fr") == "Utilisez SFTP." and translated("Use SFTP.", "de") == "Use SFTP."
    assert translated("FTP in use", "de") == "FTP in Verwendung"


@pytest.mark.parametrize(("remediation", "where", "message"), [
    ("      en: Use SFTP.\n      es: Use SFTP.", (8, 7), "unknown language 'es'"),
    ("      de: Nutzen Sie SFTP.", (7, 7), "needs its English text under 'en'"),
    ("      en: Use SFTP.\n      de: [SFTP]", (8, 11), "remediation.de must be non-empty text"),
])
def test_bad_language_maps_are_errors_with_their_place(tmp_path, remediation, where, message):
    errors = validate_files([rules_file(tmp_path, remediation)])
    assert len(errors) == 1, errors
    assert (errors[0].line, errors[0].col) == where and message in errors[0].message


def test_every_finding_kind_builds_its_title_in_the_readers_language():
    """A new kind must say how its title reads in another language, or the report shows English there."""
    from detector.findings.registry import KINDS
    from reports.kinds.base import PRESENTATIONS, Presentation

    generic = [kind.detector for kind in KINDS if type(PRESENTATIONS[kind]).title is Presentation.title]
    assert not generic, f"kinds whose report title stays English: {generic}"
