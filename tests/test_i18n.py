"""Languages: every catalog holds every message, and German and French reports leave nothing in English."""

from __future__ import annotations

import configparser
import re
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from click.testing import CliRunner

from detector.cli import main
from detector.samples import office_packets, write_pcapng
from reports.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalog_path, extract_messages, translations, use_language
from reports.render import ReportOptions, render_report
from tests.test_report import T0, every_category, make_scan, site_report

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [lang for lang in LANGUAGES if lang != DEFAULT_LANGUAGE]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


@pytest.fixture(scope="module")
def source_messages():
    return {message.id: message for message in extract_messages() if message.id}


def load(language: str):
    with catalog_path(language).open("rb") as handle:
        return read_po(handle, locale=language)


def test_sources_have_messages(source_messages):
    ids = {m if isinstance(m, str) else m[0] for m in source_messages}
    assert len(ids) > 200
    assert "Executive summary" in ids  # from a template
    assert "Default or well-known password" in ids  # from Python (N_)
    assert "scanned {inputs} input(s), {records} records" in ids  # the terminal summary


@pytest.mark.parametrize("language", TRANSLATED)
def test_catalog_translates_every_message(language, source_messages):
    catalog = load(language)
    problems = []
    for msgid in source_messages:
        entry = catalog.get(msgid)
        if entry is None:
            problems.append(f"missing: {msgid!r}")
            continue
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(forms) or entry.fuzzy:
            problems.append(f"untranslated or fuzzy: {msgid!r}")
            continue
        wanted = sorted(PLACEHOLDER.findall(msgid if isinstance(msgid, str) else msgid[1]))
        for form in forms:
            if sorted(set(PLACEHOLDER.findall(form))) != sorted(set(wanted)):
                problems.append(f"placeholders differ: {msgid!r} -> {form!r}")
    stale = [m.id for m in catalog if m.id and m.id not in source_messages]
    problems += [f"no longer in the sources (run python -m reports.i18n): {m!r}" for m in stale]
    assert not problems, "\n".join(problems)


class VisibleText(HTMLParser):
    """Text a reader sees: element text outside <style>/<script>, plus alt, title and aria-label."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        self.parts += [value for name, value in attrs if name in ("alt", "title", "aria-label") and value]

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(" ".join(data.split()))


def visible(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.parts


def english_left(html: str, language: str, source_messages) -> list[str]:
    """Source messages whose English text still shows in a report rendered in ``language``."""
    texts = visible(html)
    joined = "\n".join(texts)
    words = set(texts)
    gettext = translations(language)
    # German "Note" is the grade, not the English "Note": a translation is never English left over.
    translated = {gettext.gettext(m) for m in source_messages if isinstance(m, str)}
    left = []
    for msgid in source_messages:
        english = msgid if isinstance(msgid, str) else msgid[1]
        if english in translated:
            continue  # the same word in both languages ("Service", "Logo")
        fragments = [f.strip(" .,:;()") for f in PLACEHOLDER.split(english)]
        longest = max(fragments, key=len)
        if " " in longest and len(longest) >= 12 and longest in joined:
            left.append(english)
        elif " " not in english and english in words:
            left.append(english)
    return left


@pytest.mark.parametrize("language", TRANSLATED)
def test_reports_render_with_no_untranslated_string(language, source_messages):
    previous = make_scan(every_category()[:2], started=T0 - 86400)
    report = site_report(every_category(), previous=previous, history=[(T0 - 86400, {"high": 1})])
    html = render_report([report, site_report(every_category()[2:])], options=ReportOptions(language))
    assert f'<html lang="{language}">' in html
    left = english_left(html, language, source_messages)
    assert not left, f"English left in the {language} report: {left}"
    english = render_report([site_report(every_category())])
    assert english_left(english, language, source_messages), "the check must see English in an English report"


def test_dates_and_numbers_follow_the_language():
    german = render_report([site_report(every_category())], options=ReportOptions("de"))
    french = render_report([site_report(every_category())], options=ReportOptions("fr"))
    english = render_report([site_report(every_category())])
    assert "3,0 GiB" in german and "3,0 GiB" in french and "3.0 GiB" in english
    assert "01.03.2024" in german and "1 mars 2024" in french and "2024-03-01" in english


def test_unknown_language_is_refused():
    with pytest.raises(ValueError):
        with use_language("xx"):
            pass
    result = CliRunner().invoke(main, ["report", "--db", "x.db", "-o", "r.html", "--lang", "xx"])
    assert result.exit_code == 2 and "xx" in result.output


def test_terminal_summary_speaks_german(tmp_path):
    capture = write_pcapng(tmp_path / "office.pcapng",
                           office_packets(datetime(2026, 11, 2, 9, tzinfo=timezone.utc).timestamp()))
    result = CliRunner().invoke(main, ["scan", str(capture), "--lang", "de", "-q", "--report",
                                       str(tmp_path / "r.html")], catch_exceptions=False)
    assert "Eingabe(n) gelesen" in result.output and "Befund(e)" in result.output
    assert "finding(s)" not in result.output and "Bericht:" in result.output
    assert '<html lang="de">' in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_catalogs_ship_with_the_package():
    """Installed (wheel or editable) catalogs come from package_data: no build step compiles them."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    patterns = [p.strip() for p in config["options.package_data"]["reports"].split(",")]
    shipped = {path for pattern in patterns for path in (ROOT / "reports").glob(pattern)}
    for language in TRANSLATED:
        assert catalog_path(language) in shipped
    assert "babel" in config["options"]["install_requires"]
