"""Times and durations as a reader wants them in a title or hint."""

from __future__ import annotations

from detector.detectors.wifi.recurrence import DAY_MINUTES


def hhmm(minute: float) -> str:
    """A minute of the day as "HH:MM"."""
    total = int(round(minute)) % DAY_MINUTES
    return f"{total // 60:02d}:{total % 60:02d}"


def duration_text(seconds: float) -> str:
    """Seconds as "45 s", "12 min" or "1.5 h"."""
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h".replace(".0 h", " h")
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
