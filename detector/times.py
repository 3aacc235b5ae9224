"""Site time zones: `--tz +01:00`, `--tz UTC` or an IANA name such as `Europe/Berlin` (DST-correct).

Log lines without an offset are read in the site's zone, and the Wi-Fi
time-of-day patterns and the report's times are shown in it. A named zone
goes through ``zoneinfo``, so a drop at 14:05 local time stays at 14:05 across
the change to and from summer time.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Optional

MAX_OFFSET_MINUTES = 14 * 60  # the widest offsets in use are UTC-12:00 and UTC+14:00
_OFFSET = re.compile(r"([+-])(\d{1,2}):?(\d{2})?")


class ZoneError(ValueError):
    """A --tz value that is neither an offset nor a known zone name."""


def parse_zone(text: str) -> tzinfo:
    """'+02:00', '-0500', 'UTC' or 'Europe/Berlin' -> a tzinfo; anything else raises ZoneError."""
    value = text.strip()
    if value.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    match = _OFFSET.fullmatch(value)
    if match:
        hours, minutes = int(match.group(2)), int(match.group(3) or 0)
        total = hours * 60 + minutes
        if minutes >= 60 or total > MAX_OFFSET_MINUTES:
            raise ZoneError(f"offset {value!r} is out of range (UTC-14:00 to UTC+14:00)")
        sign = -1 if match.group(1) == "-" else 1
        return timezone(timedelta(minutes=sign * total))
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}", value):
        try:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        except ImportError:  # pragma: no cover - Python 3.8
            raise ZoneError("named time zones need Python 3.9 or newer") from None
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise ZoneError(f"unknown time zone {value!r}: use an offset such as +02:00, -0500, UTC, "
                    "or an IANA name such as Europe/Berlin")


def local_to_utc(naive: datetime, zone: Optional[tzinfo]) -> float:
    """A wall-clock time read from a log (no offset of its own) as a POSIX timestamp in ``zone`` (UTC if None)."""
    return naive.replace(tzinfo=zone or timezone.utc).timestamp()


def zone_name(zone: Optional[tzinfo]) -> str:
    """'UTC', 'UTC+02:00' or the IANA key, for labels and the scan record."""
    if zone is None or zone is timezone.utc:
        return "UTC"
    key = getattr(zone, "key", None)
    if key:
        return str(key)
    offset = zone.utcoffset(None) or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


_ISO_SECONDS: dict[int, str] = {}  # whole second -> text: evidence of one capture shares few seconds


def iso(ts: Optional[float]) -> Optional[str]:
    """ISO-8601 UTC text for a POSIX timestamp (None, and a time no calendar can show, give None)."""
    if ts is None:
        return None
    second = int(ts) if TS_MIN <= ts < TS_MAX else None  # the text shows whole seconds: the floor of ts...
    if second is not None and ts - second >= 0.999999:
        second = None  # ...unless rounding to microseconds carries it into the next second
    if second is not None:
        text = _ISO_SECONDS.get(second)
        if text is not None:
            return text
    try:
        text = datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):  # hostile input: year 10000, NaN, 2**70
        return None
    if second is not None:
        if len(_ISO_SECONDS) >= 4096:
            _ISO_SECONDS.clear()
        _ISO_SECONDS[second] = text
    return text


TS_MIN = 0.0  # 1970-01-01T00:00:00Z


TS_MAX = 4102444800.0  # 2100-01-01T00:00:00Z


TRUSTED_FROM = 946684800.0  # 2000-01-01T00:00:00Z: earlier clocks were never set (1970 after a reset)
TRUSTED_AHEAD = 86400.0  # a clock more than a day ahead of the scan is wrong, not early


def trusted_ts(ts: Optional[float], reference: Optional[float]) -> bool:
    """Whether a record's clock can be believed: from 2000 on, and at most a day after ``reference`` (the scan's
    own time; None: no upper bound). Untrusted times stay on the evidence but out of periods, recency and
    recurrence."""
    if ts is None or not TRUSTED_FROM <= ts < TS_MAX:
        return False
    return reference is None or ts <= reference + TRUSTED_AHEAD


def plausible_ts(ts: Any) -> bool:
    """Whether a time read from input lies in 1970..2100; others are dropped with a warning where they enter."""
    return isinstance(ts, (int, float)) and TS_MIN <= ts < TS_MAX
