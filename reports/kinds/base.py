"""What the report asks of a finding kind, and the registry of each kind's answer.

A kind's presentation (``reports/kinds/<family>.py``) is registered on its
attributes class: the report never switches on a detector or category string
for what differs between kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Optional, Sequence, TypeVar

from markupsafe import Markup

from detector.findings.attributes import Attributes
from detector.findings.finding import Finding
from reports.advice import Advice
from reports.attributes import Combined, fact_rows
from reports.events import TimelineEvent
from reports.fmt import clip
from reports.i18n import DEFAULT_LANGUAGE, current_language

A = TypeVar("A", bound=Attributes)


@dataclass
class ServiceShare:
    """What one file-sharing finding adds to the services view."""

    name: str
    service_category: str = ""
    service_risk: Optional[str] = None
    bytes_up: Optional[int] = None
    bytes_down: Optional[int] = None
    users: list[str] = field(default_factory=list)


@dataclass
class OutagePanel:
    """A Wi-Fi finding's heat map and outage rows (start, duration, stations), drawn beside the findings."""

    chart: Optional[Markup]
    rows: list[tuple[str, str, str]]
    more: int  # outages not listed


class Presentation(Generic[A]):
    """How the report shows one finding kind; the defaults show what every finding has."""

    advice: ClassVar[Advice]  # short name and action (untranslated) when no rule's advice fits
    combined: ClassVar[Sequence[Combined]] = ()  # attributes that read together as one detail row

    def title(self, finding: Finding[A]) -> str:
        """The title in the current language, from the attributes; the stored title is the English contract."""
        return finding.title

    def subject(self, finding: Finding[A]) -> str:
        """The facts that tell two findings of one rule apart (service, protocol, user, server, network)."""
        return clip(title_of(finding), 120)

    def acting_hosts(self, finding: Finding[A]) -> list[str]:
        """The devices that did the thing (never a server they reached)."""
        return [str(h) for h in finding.hosts]

    def advice_target(self, finding: Finding[A]) -> str:
        """The box the advice is about when it is not the device that did the thing (a login's server)."""
        return ""

    def facts(self, finding: Finding[A]) -> list[tuple[str, str]]:
        """(label, text) rows of the detail panel, in declaration order."""
        return fact_rows(finding.attributes, self.combined)

    def timeline_events(self, finding: Finding[A], index: int) -> list[TimelineEvent]:
        """What the finding puts on the workaround timeline (``index``: its place in the scan, for links)."""
        return []

    def service_share(self, finding: Finding[A]) -> Optional[ServiceShare]:
        """Its row of the services view, for file-sharing kinds."""
        return None

    def outage_panel(self, finding: Finding[A]) -> Optional[OutagePanel]:
        """Its heat map and outages, for Wi-Fi kinds that have them."""
        return None

    def device_users(self, finding: Finding[A]) -> list[str]:
        """People the finding names, listed beside its devices (login user names)."""
        return []


PRESENTATIONS: dict[type[Attributes], Presentation[Any]] = {}


def presents(*kinds: type[Attributes]):
    """Class decorator: register one presentation for these kinds."""

    def register(cls: type[Presentation[Any]]) -> type[Presentation[Any]]:
        for kind in kinds:
            PRESENTATIONS[kind] = cls()
        return cls

    return register


def title_of(finding: Finding[Any]) -> str:
    """The finding's title as the reader reads it: stored (English), or rebuilt from its attributes in another
    language so the values stay and the words translate."""
    if current_language() == DEFAULT_LANGUAGE:
        return finding.title
    presentation = PRESENTATIONS.get(type(finding.attributes))
    return (presentation.title(finding) if presentation else "") or finding.title
