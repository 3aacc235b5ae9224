"""The "why staff work around IT" timeline.

Shadow IT is often a symptom: the Wi-Fi drops, so someone mails the file to
a personal account or tethers and uploads it to a free service. Putting Wi-Fi
outages next to uploads and clear-text logins, per host and per day, lets the
report say "this followed that" instead of blaming the user.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from detector.findings.finding import (
    CATEGORY_CREDENTIALS,
    CATEGORY_FILE_SHARING,
    CATEGORY_WIFI,
    CATEGORY_WIFI_ATTACK,
    Finding,
)
from reports.fmt import clip, clock, day_of, human_bytes, human_duration, joined, number, to_timestamp
from reports.i18n import _, ngettext

OUTAGE = "outage"
UPLOAD = "upload"
CREDENTIAL = "credential"
WORKAROUND_WINDOW_SECONDS = 24 * 3600
MAX_EVENTS = 5000
MAX_HOSTS_PER_EVENT = 20
MAX_DAYS = 300


@dataclass
class TimelineEvent:
    ts: float
    host: str
    kind: str
    label: str
    finding: int  # index into the scan's findings, for links
    clock: str = ""  # filled at construction, in the report's display zone
    day: str = ""

    def __post_init__(self) -> None:
        self.clock = self.clock or clock(self.ts)
        self.day = self.day or day_of(self.ts)


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
    events: list[TimelineEvent] = []
    for index, finding in enumerate(findings):
        if finding.category in (CATEGORY_WIFI, CATEGORY_WIFI_ATTACK):
            events.extend(_outage_events(finding, index))
        elif finding.sanctioned:
            continue
        elif finding.category == CATEGORY_FILE_SHARING and _per_host_rows(finding):
            events.extend(_per_host_events(finding, index))
        elif finding.category == CATEGORY_FILE_SHARING:
            events.extend(_simple_events(finding, index, UPLOAD, _upload_label(finding), _actors(finding)))
        elif finding.category == CATEGORY_CREDENTIALS:
            events.extend(_simple_events(finding, index, CREDENTIAL, _credential_label(finding),
                                         _actors(finding)))
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


def _outage_events(finding: Finding, index: int) -> list[TimelineEvent]:
    outages = finding.attributes.get("outages")
    events: list[TimelineEvent] = []
    for outage in outages if isinstance(outages, list) else []:
        if not isinstance(outage, dict):
            continue
        ts = to_timestamp(outage.get("start"))
        if ts is None:
            continue
        stations = outage.get("stations")
        hosts = stations if isinstance(stations, list) and stations else finding.hosts
        label = _outage_label(outage)
        events.extend(TimelineEvent(ts, clip(h, 80), OUTAGE, label, index) for h in _bounded(hosts))
    if events:
        return events
    # Without per-outage station lists, one site-level row per day reads better
    # than one row per station; workarounds then match any host on the site.
    aps = finding.attributes.get("aps") or finding.attributes.get("bssid")
    where = f"Wi-Fi {joined(aps, max_items=3, limit=40)}" if aps else _("Wi-Fi (site-wide)")
    return _simple_events(finding, index, OUTAGE, _("Wi-Fi outage"), [where])


def _actors(finding: Finding) -> list[str]:
    """The hosts that did it (the client of a login or transfer), not the servers they reached."""
    clients = finding.attributes.get("clients")
    if isinstance(clients, list) and clients:
        return _bounded(clients)
    client = finding.attributes.get("client") or finding.attributes.get("sender")
    return _bounded([client]) if isinstance(client, str) and client else _bounded(finding.hosts)


def _simple_events(
    finding: Finding, index: int, kind: str, label: str, hosts: Optional[list[str]] = None
) -> list[TimelineEvent]:
    times = [to_timestamp(e.time) for e in finding.evidence]
    stamps = sorted({t for t in times if t is not None})
    if not stamps:
        stamps = sorted({t for t in (finding.first_seen, finding.last_seen) if t is not None})
    hosts = hosts or _bounded(finding.hosts) or [_("(unknown host)")]
    return [TimelineEvent(ts, clip(host, 80), kind, label, index) for ts in stamps for host in hosts]


def _bounded(hosts: Iterable[Any]) -> list[str]:
    return [str(h) for h in list(hosts)[:MAX_HOSTS_PER_EVENT] if h not in (None, "")]


def _outage_label(outage: dict[str, Any]) -> str:
    stations = outage.get("stations")
    count = len(stations) if isinstance(stations, list) else number(stations)
    parts = [f"{_('Wi-Fi outage')} {human_duration(outage.get('duration_s'))}"]
    if count is not None:
        parts.append(ngettext("%(num)d station", "%(num)d stations", int(count)) % {"num": int(count)})
    return ", ".join(parts)


def _per_host_rows(finding: Finding) -> list[dict[str, Any]]:
    rows = finding.attributes.get("per_host") if finding.detector == "filesharing.service" else None
    return [r for r in rows if isinstance(r, dict) and r.get("host")] if isinstance(rows, list) else []


def _per_host_events(finding: Finding, index: int) -> list[TimelineEvent]:
    """Each device's own use of the service, with its own upload: never the service total copied to everyone."""
    service = clip(finding.attributes.get("service") or finding.title, 60)
    events = []
    for row in _per_host_rows(finding)[:MAX_HOSTS_PER_EVENT]:
        up = row.get("bytes_up")
        label = f"upload to {service}" + (f" ({human_bytes(up)} up)" if number(up) is not None else "")
        stamps = sorted({t for t in (to_timestamp(row.get("first_seen")), to_timestamp(row.get("last_seen")))
                         if t is not None})
        events.extend(TimelineEvent(ts, clip(row["host"], 80), UPLOAD, label, index) for ts in stamps)
    return events


def _upload_label(finding: Finding) -> str:
    attrs = finding.attributes
    if finding.detector == "filesharing.attachment" or (not attrs.get("service") and attrs.get("filename")):
        return _("file {name} sent by {channel}").format(name=clip(attrs.get("filename"), 50),
                                                         channel=clip(attrs.get("protocol"), 30) or "-")
    service = attrs.get("service") or finding.title
    up = attrs.get("bytes_up")
    text = _("upload to {service}").format(service=clip(service, 60))
    return f"{text} ({human_bytes(up)} ↑)" if number(up) is not None else text


def _credential_label(finding: Finding) -> str:
    protocol = finding.attributes.get("protocol") or finding.attributes.get("channel")
    if protocol:
        return _("password in clear ({protocol})").format(protocol=clip(protocol, 30))
    return _("password in clear")
