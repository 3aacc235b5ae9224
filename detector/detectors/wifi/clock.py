"""Local time for time-of-day patterns, and the span of dates a scan observed.

The observed span is kept as its first and last date, never as a list of
every day in between: one absurd timestamp must not cost millions of dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Iterable, Optional

from detector.detectors.wifi.recurrence import DAY_MINUTES


def iso_week(day: date) -> tuple[int, int]:
    iso_date = day.isocalendar()
    return iso_date[0], iso_date[1]


class LocalClock:
    """POSIX timestamps as wall-clock time in the scan's zone (--tz)."""

    def __init__(self, zone: Optional[tzinfo] = None):
        self.zone = zone or timezone.utc  # a named zone (zoneinfo) keeps summer time right

    def local(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, tz=self.zone)

    def date(self, ts: float) -> date:
        return self.local(ts).date()

    def minute(self, ts: float) -> float:
        """Minute of the day, with seconds as a fraction."""
        local = self.local(ts)
        return local.hour * 60 + local.minute + local.second / 60

    def week_minute(self, ts: float) -> float:
        """Minute of the week, Monday 00:00 being 0."""
        return self.local(ts).weekday() * DAY_MINUTES + self.minute(ts)


@dataclass(frozen=True)
class ObservedDays:
    """Every local date from the first to the last timestamp seen, as a range."""

    first: Optional[date] = None
    last: Optional[date] = None

    @classmethod
    def spanning(cls, stamps: Iterable[float], clock: LocalClock) -> ObservedDays:
        usable = [ts for ts in stamps if ts > 0]
        if not usable:
            return cls()
        return cls(clock.date(min(usable)), clock.date(max(usable)))

    def __len__(self) -> int:
        if self.first is None or self.last is None:
            return 0
        return (self.last - self.first).days + 1

    def weeks(self) -> int:
        """Distinct ISO weeks the span touches."""
        if self.first is None or self.last is None:
            return 0
        first_monday = self.first - timedelta(days=self.first.weekday())
        last_monday = self.last - timedelta(days=self.last.weekday())
        return (last_monday - first_monday).days // 7 + 1

    def latest(self, count: int) -> list[date]:
        """The last ``count`` dates of the span, oldest first."""
        total = len(self)
        if total == 0 or count <= 0 or self.last is None:
            return []
        shown = min(count, total)
        return [self.last - timedelta(days=shown - 1 - i) for i in range(shown)]
