"""Rule texts in several languages: ``remediation: {en: ..., de: ..., fr: ...}`` beside a plain string.

A finding stores the English text of its rule (the ``--json`` contract); the
report asks here for the same text in its language. Every rule file loaded in
this process registers its translations, and the shipped packs are loaded on
first use when no rule file was (a report rendered from a stored scan), so a
user rule written as a plain string simply stays as written.
"""

from __future__ import annotations

from typing import Mapping

LANGUAGES = ("en", "de", "fr")
SOURCE_LANGUAGE = "en"
TRANSLATABLE_KEYS = ("title", "description", "remediation")

_TRANSLATIONS: dict[str, dict[str, str]] = {}  # English text -> {language: text}
_PACKS_LOADED = False


def register(translations: Mapping[str, str]) -> None:
    """Remember a text's translations (``translations`` holds the English text under ``en``)."""
    english = translations.get(SOURCE_LANGUAGE, "")
    others = {lang: text for lang, text in translations.items() if lang != SOURCE_LANGUAGE and text}
    if english and others:
        _TRANSLATIONS.setdefault(english, {}).update(others)


def translated(english: str, language: str) -> str:
    """``english`` (a rule's title, remediation, ...) in ``language``; the English text when it has none."""
    if language == SOURCE_LANGUAGE or not english:
        return english
    _load_packs_once()
    return _TRANSLATIONS.get(english, {}).get(language, english)


def mark_packs_loaded() -> None:
    global _PACKS_LOADED
    _PACKS_LOADED = True


def _load_packs_once() -> None:
    """The shipped packs' translations, for a report drawn from a database without loading any rules."""
    if _PACKS_LOADED:
        return
    from detector.policy import load_ruleset  # the loader registers while it reads

    try:
        load_ruleset([])
    except Exception:  # noqa: BLE001 - a broken pack is reported by the scan; the report then shows English
        mark_packs_loaded()
