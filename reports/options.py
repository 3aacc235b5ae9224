"""How a report is presented: language and the consultant's branding (light: no jinja2, no Babel)."""

from __future__ import annotations

from dataclasses import dataclass, field

from reports.branding import Branding
from reports.i18n import DEFAULT_LANGUAGE


@dataclass
class ReportOptions:
    """--lang, --client, --logo and --classification, checked before any work starts."""

    language: str = DEFAULT_LANGUAGE
    branding: Branding = field(default_factory=Branding)
