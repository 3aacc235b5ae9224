"""Small formatters that make hostile, unbounded values safe to show.

Escaping is jinja2's job (autoescape is on); these helpers bound the size of
what reaches the page and strip characters that can disguise text (control
and bidirectional-override characters), so a crafted SNI cannot flood the
report or make one host name read like another.
"""

from __future__ import annotations

import math
import unicodedata
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone, tzinfo
from typing import Any, Iterable, Iterator, Optional

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from detector.times import zone_name
from reports.i18n import DEFAULT_LANGUAGE, _, current_language

DEFAULT_LIMIT = 200
ELLIPSIS = "\u2026"
_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
# The zone times are shown in: the site's local time when the scan was run with
# --tz, so "drops around 09:00" and the evidence table speak the same clock.
_ZONE: ContextVar[timezone] = ContextVar("report_zone", default=timezone.utc)


@contextmanager
def display_zone(zone: Optional[tzinfo] = None) -> Iterator[str]:
    """Show times in ``zone`` (UTC when None) inside the block; yields the zone label."""
    token = _ZONE.set(zone or timezone.utc)
    try:
        yield zone_label()
    finally:
        _ZONE.reset(token)


def zone_label() -> str:
    return zone_name(_ZONE.get())


def clean(text: str) -> str:
    """Whitespace becomes a space; other control/format characters (bidi overrides,
    zero-width, NUL) become U+FFFD so that hidden characters stay visible."""
    if text.isprintable():  # fast path: no control, format or separator characters
        return text
    return "".join(_visible(ch) for ch in text)


def _visible(ch: str) -> str:
    if ch.isspace():
        return " "
    category = unicodedata.category(ch)
    if category[0] == "C" or category in ("Zl", "Zp"):
        return "\ufffd"
    return ch


def clip(value: Any, limit: int = DEFAULT_LIMIT) -> str:
    """Text of ``value`` cleaned and cut to ``limit`` characters, marking the cut."""
    if value is None:
        return ""
    raw = value if isinstance(value, str) else str(value)
    text = clean(raw[: limit + 1])  # cut first: a 1 MB SNI must not cost 1 MB of work
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS


def clip_list(values: Iterable[Any], max_items: int = 30, limit: int = 120) -> tuple[list[str], int]:
    """At most ``max_items`` clipped items, and how many were left out."""
    items = list(values) if not isinstance(values, (str, bytes)) else [values]
    shown = [clip(v, limit) for v in items[:max_items]]
    return shown, max(0, len(items) - max_items)


def joined(values: Any, max_items: int = 12, limit: int = 80) -> str:
    """One readable line for a list-like attribute ("a, b, c and 4 more")."""
    if isinstance(values, (list, tuple, set, frozenset)):
        ordered = sorted(values, key=str) if isinstance(values, (set, frozenset)) else list(values)
        shown, more = clip_list(ordered, max_items, limit)
        text = ", ".join(shown)
        return _("{items} and {count} more").format(items=text, count=more) if more else text
    return clip(values, limit)


def number(value: Any) -> Optional[float]:
    """A finite number from an attribute, or None (booleans are not numbers here)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return None
        return parsed if math.isfinite(parsed) else None
    return None


def human_bytes(value: Any) -> str:
    """1536 -> "1.5 KiB"; unknown -> "-"."""
    amount = number(value)
    if amount is None:
        return "-"
    amount = max(0.0, amount)
    unit = 0
    while amount >= 1024 and unit < len(_BYTE_UNITS) - 1:
        amount /= 1024
        unit += 1
    if unit == 0:
        return f"{int(amount)} B"
    return f"{decimal(amount, 1)} {_BYTE_UNITS[unit]}"


def decimal(value: Any, digits: int = 0) -> str:
    """A number in the report's language (1,234.5 / 1.234,5 / 1 234,5); unknown -> "-"."""
    amount = number(value)
    if amount is None:
        return "-"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(amount, format=pattern, locale=current_language())


def human_duration(seconds: Any) -> str:
    """90 -> "1 min 30 s"; unknown -> "-"."""
    amount = number(seconds)
    if amount is None:
        return "-"
    total = int(round(max(0.0, amount)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def to_timestamp(value: Any) -> Optional[float]:
    """POSIX seconds from a number or ISO-8601 text (naive text is taken as UTC)."""
    amount = number(value) if not isinstance(value, str) else None
    if amount is not None:
        return amount
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return number(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def _moment(ts: float) -> Optional[datetime]:
    try:
        return datetime.fromtimestamp(ts, tz=_ZONE.get())
    except (OverflowError, OSError, ValueError):
        return None


def when(value: Any) -> str:
    """"2024-03-05 14:02 UTC" for a timestamp or ISO text; other text is clipped."""
    return _when(value, "HH:mm")


def when_seconds(value: Any) -> str:
    """``when`` to the second: "2024-03-05 14:02:07 UTC"."""
    return _when(value, "HH:mm:ss")


def _when(value: Any, clock_pattern: str) -> str:
    ts = to_timestamp(value)
    moment = _moment(ts) if ts is not None else None
    if moment is None:
        return clip(value, 40) if value not in (None, "") else "-"
    return _local(moment, clock_pattern)


def _local(moment: datetime, clock_pattern: str) -> str:
    """ISO dates in English (what auditors and tools expect), the locale's medium date otherwise."""
    language = current_language()
    if language == DEFAULT_LANGUAGE:
        day = moment.strftime("%Y-%m-%d")
    else:
        day = format_date(moment, format="medium", locale=language)
    return f"{day} {format_time(moment, clock_pattern, locale=language)} {zone_label()}"


def day_text(value: Any) -> str:
    """The date only, in the report's language."""
    ts = to_timestamp(value)
    moment = _moment(ts) if ts is not None else None
    if moment is None:
        return "-"
    if current_language() == DEFAULT_LANGUAGE:
        return moment.strftime("%Y-%m-%d")
    return format_date(moment, format="medium", locale=current_language())


def day_of(ts: float) -> str:
    moment = _moment(ts)
    return moment.date().isoformat() if moment else "?"


def clock(ts: float) -> str:
    moment = _moment(ts)
    return moment.strftime("%H:%M") if moment else "?"


def clock_seconds(ts: float) -> str:
    moment = _moment(ts)
    return moment.strftime("%H:%M:%S") if moment else "?"


def hhmm(value: Any) -> str:
    """Minutes after midnight (or "HH:MM" text) as "HH:MM"."""
    minutes = number(value)
    if minutes is None or isinstance(value, str) and ":" in value:
        return clip(value, 8) if value not in (None, "") else "-"
    minutes = int(round(minutes)) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def yes_no(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return "unknown" if value is None else clip(value, 20)

