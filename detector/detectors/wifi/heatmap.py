"""Heat-map data for a pattern: drops per hour and date on its main AP, with the pattern's window marked.

The keys (ap, dates, cells, window) are part of the --json contract the report reads.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from detector.detectors.wifi.clock import LocalClock, ObservedDays
from detector.detectors.wifi.events import Drop, Pattern
from detector.detectors.wifi.recurrence import DAY_MINUTES
from detector.policy.settings import Settings

LABEL_MAX_CHARS = 60


def pattern_heatmap(drops: list[Drop], all_drops: list[Drop], pattern: Pattern, days: ObservedDays,
                    clock: LocalClock, settings: Settings) -> dict[str, Any]:
    """Hour x date counts of every drop on the pattern's main AP (or its stations), window marked."""
    aps = Counter(d.ap for d in drops if d.ap)
    if aps:
        label = aps.most_common(1)[0][0]
        chosen = [d for d in all_drops if d.ap == label]
    else:
        stations = {d.station for d in drops}
        label = ", ".join(sorted(stations))[:LABEL_MAX_CHARS]
        chosen = [d for d in all_drops if d.station in stations]
    dates = [d.isoformat() for d in days.latest(settings.wifi_heatmap_max_dates)]
    position = {day: i for i, day in enumerate(dates)}
    counts: Counter = Counter()
    for drop in chosen:
        local = clock.local(drop.ts)
        row = position.get(local.date().isoformat())
        if row is not None:
            counts[(row, local.hour)] += 1
    heatmap: dict[str, Any] = {"ap": label, "dates": dates,
                               "cells": [[row, hour, n] for (row, hour), n in sorted(counts.items())]}
    if pattern.kind != "interval":
        half = max(pattern.spread, settings.wifi_heatmap_min_half_window_minutes)
        minute = pattern.centre % DAY_MINUTES
        heatmap["window"] = [int(minute - half) % DAY_MINUTES, int(minute + half + 1) % DAY_MINUTES]
    return heatmap
