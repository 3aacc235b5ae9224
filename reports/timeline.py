"""The "why staff work around IT" timeline.

Shadow IT is often a symptom: the Wi-Fi drops, so someone mails the file to
a personal account or tethers and uploads it to a free service. Putting Wi-Fi
outages next to uploads and clear-text logins, per host and per day, lets the
report say "this followed that" instead of blaming the user.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from detector.findings.finding import Finding
from reports.events import CREDENTIAL, OUTAGE, UPLOAD, TimelineEvent
from reports.kinds import presentation_of

WORKAROUND_WINDOW_SECONDS = 24 * 3600
MAX_EVENTS = 5000
MAX_DAYS = 300


@dataclass
class Workaround:
    """An upload or clear-text login that came within the window after an outage."""

    host: str
    day: str
    outage: TimelineEvent
    event: TimelineEvent
    gap_hours: float
    same_host: bool


@dataclass
class TimelineDay:
    host: str
    day: str
    outages: list[TimelineEvent] = field(default_factory=list)
    uploads: list[TimelineEvent] = field(default_factory=list)
    credentials: list[TimelineEvent] = field(default_factory=list)
    workaround: bool = False


@dataclass
class Timeline:
    days: list[TimelineDay]
    workarounds: list[Workaround]
    truncated: bool = False


def build_timeline(findings: list[Finding], window_seconds: float = WORKAROUND_WINDOW_SECONDS) -> Timeline:
    """Events per host and day, and the workarounds that followed an outage."""
    events = collect_events(findings)
    truncated = len(events) > MAX_EVENTS
    events = sorted(events, key=lambda e: (e.ts, e.host, e.kind))[:MAX_EVENTS]
    workarounds = find_workarounds(events, window_seconds)
    days = _group_by_day(events, workarounds)
    if len(days) > MAX_DAYS:
        days, truncated = days[:MAX_DAYS], True
    return Timeline(days=days, workarounds=workarounds, truncated=truncated)


def collect_events(findings: list[Finding]) -> list[TimelineEvent]:
    """What each finding's kind puts on the timeline, one entry per minute, host and finding."""
    events: list[TimelineEvent] = []
    for index, finding in enumerate(findings):
        events.extend(presentation_of(finding).timeline_events(finding, index))
    unique: dict[tuple[str, str, str, str, int], TimelineEvent] = {}
    for event in sorted(events, key=lambda e: e.ts):  # one entry per minute is enough to read
        unique.setdefault((event.day, event.clock, event.host, event.kind, event.finding), event)
    return list(unique.values())


def find_workarounds(events: list[TimelineEvent], window_seconds: float) -> list[Workaround]:
    """For each upload/login, the latest outage before it within the window (same host first)."""
    outages = sorted((e for e in events if e.kind == OUTAGE), key=lambda e: e.ts)
    starts = [o.ts for o in outages]
    found: dict[tuple[str, str, str], Workaround] = {}
    for event in events:
        if event.kind == OUTAGE:
            continue
        before = outages[bisect_left(starts, event.ts - window_seconds):bisect_right(starts, event.ts)]
        if not before:
            continue
        same = [o for o in before if o.host == event.host]
        outage = max(same or before, key=lambda o: o.ts)
        day = event.day
        key = (event.host, day, event.kind)
        if key not in found:
            found[key] = Workaround(
                host=event.host,
                day=day,
                outage=outage,
                event=event,
                gap_hours=round((event.ts - outage.ts) / 3600, 1),
                same_host=bool(same),
            )
    return sorted(found.values(), key=lambda w: (w.day, w.host, w.event.ts))


def _group_by_day(events: list[TimelineEvent], workarounds: list[Workaround]) -> list[TimelineDay]:
    days: dict[tuple[str, str], TimelineDay] = {}
    for event in events:
        key = (event.day, event.host)
        entry = days.setdefault(key, TimelineDay(host=event.host, day=key[0]))
        lists = {OUTAGE: entry.outages, UPLOAD: entry.uploads, CREDENTIAL: entry.credentials}
        lists[event.kind].append(event)
    for workaround in workarounds:
        entry = days.get((workaround.day, workaround.host))
        if entry is not None:
            entry.workaround = True
    return [days[key] for key in sorted(days)]
