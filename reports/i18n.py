"""Message catalogs (gettext .po, compiled at load time) and locale-aware numbers and dates.

The .po sources under ``reports/locale/<lang>/LC_MESSAGES/shadowit.po`` are
the only translation files: Babel compiles them in memory on first use, so a
fresh ``pip install -e .`` or a wheel needs no build step and no .mo file can
go stale. Templates use jinja2's i18n extension (``{{ _("...") }}``); Python
code marks text with ``_()``/``ngettext()`` from here and ``N_()`` where the
text is only translated later. ``python -m reports.i18n`` re-extracts the
messages and updates every catalog.
"""

from __future__ import annotations

import gettext as gettext_module
import io
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from detector.findings.finding import CATEGORY_CREDENTIALS, CATEGORY_FILE_SHARING, CATEGORY_WIFI, CATEGORY_WIFI_ATTACK

LANGUAGES = ("en", "de", "fr")
DEFAULT_LANGUAGE = "en"
DOMAIN = "shadowit"
LOCALE_DIR = Path(__file__).parent / "locale"
# Python files whose _()/ngettext()/N_() texts belong to the catalog.
PYTHON_SOURCES = ("reports/*.py", "reports/kinds/*.py", "detector/cli.py", "detector/outputs/*.py")

_CURRENT: ContextVar[str] = ContextVar("report_language", default=DEFAULT_LANGUAGE)


class LanguageError(ValueError):
    """An unknown --lang value."""


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext_module.NullTranslations:
    """The compiled catalog of ``language``; English is the source text itself."""
    check_language(language)
    if language == DEFAULT_LANGUAGE:
        return gettext_module.NullTranslations()
    from babel.messages.mofile import write_mo  # Babel only when a translated report or summary is asked for
    from babel.messages.pofile import read_po

    with catalog_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext_module.GNUTranslations(buffer)


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise LanguageError(f"unknown language {language!r}; choose one of {', '.join(LANGUAGES)}")
    return language


def current_language() -> str:
    return _CURRENT.get()


@contextmanager
def use_language(language: str) -> Iterator[str]:
    """Translate ``_()`` and format numbers and dates for ``language`` inside the block."""
    token = _CURRENT.set(check_language(language))
    try:
        yield language
    finally:
        _CURRENT.reset(token)


def _(message: str) -> str:
    return translations(_CURRENT.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    return translations(_CURRENT.get()).ngettext(singular, plural, count)


def pgettext(context: str, message: str) -> str:
    """A text whose English word means two things ("Client": the audited organisation, a network client)."""
    return translations(_CURRENT.get()).pgettext(context, message)


def N_(message: str) -> str:
    """Mark for extraction only: the text is translated where it is shown."""
    return message


SEVERITY_LABELS = {
    "critical": N_("critical"), "high": N_("high"), "medium": N_("medium"), "low": N_("low"), "info": N_("info"),
}


def severity_label(severity: str) -> str:
    return _(SEVERITY_LABELS.get(severity, "info"))


CATEGORY_OTHER = "other"
CATEGORY_LABELS = {
    CATEGORY_FILE_SHARING: N_("File sharing and shadow SaaS"),
    CATEGORY_CREDENTIALS: N_("Passwords in clear text"),
    CATEGORY_WIFI: N_("Recurring Wi-Fi drops"),
    CATEGORY_WIFI_ATTACK: N_("Wi-Fi attacks"),
    CATEGORY_OTHER: N_("Other findings"),
}


def category_label(category: str) -> str:
    """A finding category (or scoring area) as the reader calls it; an unknown one is shown as stored."""
    label = CATEGORY_LABELS.get(category)
    return _(label) if label else category


# ---------------------------------------------------------------- maintenance


def extract_messages(root: Path | None = None):
    """Every message of the templates and marked Python sources, as a Babel catalog."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    root = root or Path(__file__).resolve().parent.parent
    catalog = Catalog(domain=DOMAIN, project="shadowit")
    method_map = [("reports/templates/**.html", "jinja2"), *((pattern, "python") for pattern in PYTHON_SOURCES)]
    options = {"reports/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                                             "lstrip_blocks": "true"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "pgettext": ((1, "c"), 2)}
    for filename, lineno, message, comments, context in extract_from_dir(
        str(root), method_map, options, keywords=keywords,
        callback=None, strip_comment_tags=True,
    ):
        if not _in_scope(filename):
            continue
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for label in declared_labels():
        catalog.add(label, None, [("detector/findings/*.py", 0)])
    return catalog


def declared_labels() -> list[str]:
    """The report labels of the finding attributes, from their declarations (translated like any text)."""
    from detector.findings.registry import all_specs

    return sorted({spec.label for spec in all_specs() if spec.label})


def _in_scope(filename: str) -> bool:
    return filename.startswith(("reports/", "detector/outputs/")) or filename == "detector/cli.py"


def update_catalogs() -> None:  # pragma: no cover - a maintainer's tool
    """Merge new messages into every .po (existing translations kept, new ones empty)."""
    from babel.messages.pofile import read_po, write_po

    template = extract_messages()
    for language in LANGUAGES:
        if language == DEFAULT_LANGUAGE:
            continue
        path = catalog_path(language)
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language, domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, omit_header=False, ignore_obsolete=True, sort_output=True)
        missing = [m.id for m in catalog if m.id and not m.string]
        print(f"{path}: {len(catalog)} messages, {len(missing)} untranslated")


if __name__ == "__main__":  # pragma: no cover
    update_catalogs()
