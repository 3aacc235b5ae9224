"""Each finding kind's presentation: one module per family, registered on the kind's attributes class."""

from __future__ import annotations

from typing import Any

from detector.findings.finding import Finding
from reports.kinds import credentials, filesharing, wifi  # noqa: F401  (each registers its kinds)
from reports.kinds.base import PRESENTATIONS, Presentation, title_of  # noqa: F401  (title_of: for the outputs)


def presentation_of(finding: Finding[Any]) -> Presentation[Any]:
    """The presentation of the finding's kind; a kind without one is a programming error."""
    kind = type(finding.attributes)
    presentation = PRESENTATIONS.get(kind)
    if presentation is None:
        raise LookupError(f"no report presentation for {kind.__name__} ({kind.detector}); add it in reports/kinds/")
    return presentation

