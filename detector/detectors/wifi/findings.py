"""Findings for recurring patterns and one-off outages (the wifi-drops category).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from detector.detectors.base import finding_id
from detector.detectors.wifi.events import Drop, LocalClock, ObservedDays, Outage, Pattern, duration_text, hhmm
from detector.detectors.wifi.patterns import pattern_heatmap, pattern_hint
from detector.detectors.wifi.recurrence import DAY_MINUTES
from detector.findings.finding import Evidence, Finding
from detector.findings.wifi import OutageAttributes, RecurringDropAttributes
from detector.policy.settings import Settings
from detector.times import iso

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DATES_PER_HEATMAP_ROW = 6  # dates listed per finding: this many times the heat-map rows
EVIDENCE_MAX_CHARS = 300
OUTAGE_ENTRY_APS = 10  # APs named in one outage entry


class FindingWriter:
    """Turns patterns and outages into findings; knows the scan's clock, dates and every drop."""

    def __init__(self, settings: Settings, clock: LocalClock, days: ObservedDays, all_drops: list[Drop]):
        self.settings = settings
        self.clock = clock
        self.days = days
        self.all_drops = all_drops

    def pattern_finding(self, pattern: Pattern) -> Finding:
        s = self.settings
        outages = sorted(pattern.outages, key=lambda o: o.start)
        drops = [d for o in outages for d in o.drops]
        stations = sorted({d.station for d in drops if d.station})
        aps = sorted({d.ap for d in drops if d.ap})
        dates = sorted({self.clock.date(o.start).isoformat() for o in outages})
        minute = pattern.centre % DAY_MINUTES
        at = hhmm(minute)
        reasons = Counter(d.reason for d in drops if d.reason)
        durations = sorted(o.duration for o in outages)
        typical = durations[len(durations) // 2]
        when = f"every day around {at}"
        weekday = interval_minutes = regularity = None
        if pattern.kind == "weekly":
            weekday = WEEKDAYS[int(pattern.centre // DAY_MINUTES) % 7]
            when = f"every {weekday} around {at}"
        elif pattern.kind == "interval":
            interval_minutes = round(pattern.interval_seconds / 60, 1)
            regularity = pattern.regularity
            when = f"every {duration_text(pattern.interval_seconds)} (first at {at})"
        attributes = RecurringDropAttributes(
            pattern=pattern.kind,
            time_of_day=at,
            spread_minutes=round(pattern.spread, 1),
            days_with_drop=len(dates),
            days_observed=max(len(self.days), len(dates)),
            occurrences=len(outages),
            stations=stations[:s.wifi_max_listed],
            aps=aps[:s.wifi_max_aps_listed],
            hint=pattern_hint(pattern, drops, minute, s),
            reasons={str(k): v for k, v in reasons.most_common(s.wifi_reasons_listed)},
            typical_duration_s=typical,
            dates=dates[:s.wifi_heatmap_max_dates * DATES_PER_HEATMAP_ROW],
            sources=sorted({d.source for d in drops}),
            weekday=weekday,
            interval_minutes=interval_minutes,
            regularity=regularity,
            heatmap=pattern_heatmap(drops, self.all_drops, pattern, self.days, self.clock, s),
            outages=[outage_entry(o) for o in outages[: s.wifi_max_outages_reported]],
        )
        key = ",".join(aps) or ",".join(stations)
        return Finding(
            id=finding_id(RecurringDropAttributes.detector, pattern.kind, key, at[:4], weekday or "",
                          round(pattern.interval_seconds / 600)),
            title=f"Wi-Fi drops {when} ({len(dates)} of {attributes.days_observed} days, "
                  f"{len(stations)} station(s))",
            first_seen=outages[0].start,
            last_seen=max(o.end for o in outages),
            count=len(outages),
            hosts=stations[:s.wifi_max_listed],
            attributes=attributes,
            evidence=[outage_evidence(o) for o in outages[: s.max_evidence]],
            severity="medium",
        )

    def outage_finding(self, outage: Outage) -> Finding:
        s = self.settings
        stations = sorted(outage.stations)
        aps = sorted(outage.aps)
        reasons = Counter(d.reason for d in outage.drops if d.reason)
        return Finding(
            id=finding_id(OutageAttributes.detector, ",".join(aps), round(outage.start)),
            title=f"Wi-Fi outage at {iso(outage.start)}: {len(stations)} station(s) on "
                  f"{', '.join(aps[:3]) or 'unknown AP'}",
            first_seen=outage.start,
            last_seen=outage.end,
            count=len(outage.drops),
            hosts=stations[:s.wifi_max_listed],
            attributes=OutageAttributes(
                start=iso(outage.start),
                duration_s=outage.duration,
                stations=len(stations),
                aps=aps[:s.wifi_max_aps_listed],
                reasons={str(k): v for k, v in reasons.most_common(s.wifi_reasons_listed)},
                sources=sorted({d.source for d in outage.drops}),
                outages=[outage_entry(outage)],
            ),
            evidence=[outage_evidence(outage)],
            severity="low",
        )


def outage_entry(outage: Outage) -> dict[str, Any]:
    return {"start": iso(outage.start), "duration_s": outage.duration, "stations": len(outage.stations),
            "aps": sorted(outage.aps)[:OUTAGE_ENTRY_APS]}


def outage_evidence(outage: Outage) -> Evidence:
    first = outage.drops[0]
    reason = f"reason {first.reason}" if first.reason else first.inferred or "no reason code"
    return Evidence(iso(outage.start), first.where,
                    f"{len(outage.stations)} station(s) lost Wi-Fi on {', '.join(sorted(outage.aps)) or 'an AP'}"
                    f" for ~{duration_text(outage.duration)} ({first.source}, {reason})"[:EVIDENCE_MAX_CHARS])
