"""How a report is presented: language and the consultant's branding (light: no jinja2, no Babel)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reports.branding import Branding
from reports.i18n import DEFAULT_LANGUAGE, LANGUAGES

# what a scan stores of its presentation (``report`` reuses it unless the command line says otherwise)
SETTING_KEYS = ("language", "client", "classification", "logo_data_uri")


@dataclass
class ReportOptions:
    """--lang, --client, --logo and --classification, checked before any work starts."""

    language: str = DEFAULT_LANGUAGE
    branding: Branding = field(default_factory=Branding)

    def settings(self) -> dict[str, Any]:
        """The presentation as stored with a scan."""
        return {"language": self.language, "client": self.branding.client,
                "classification": self.branding.classification, "logo_data_uri": self.branding.logo_data_uri}

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> ReportOptions:
        """Stored settings (with the command line's over them) back as options; unknown values fall back."""
        def text(key: str) -> str:
            value = settings.get(key)
            return value if isinstance(value, str) else ""

        language = text("language") if text("language") in LANGUAGES else DEFAULT_LANGUAGE
        logo = text("logo_data_uri") if text("logo_data_uri").startswith("data:image/") else ""
        return cls(language, Branding(text("client"), logo, text("classification")))
