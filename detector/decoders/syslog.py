"""Time stamps at the start of log lines, in the shapes AP and client logs use.

Handles RFC 3164 (``Jun  3 14:05:01``, no year: taken from the file and rolled
over at New Year), ISO 8601 / RFC 5424 with or without offset, and epoch
seconds (``1539711731.123:``). Times without an offset are read in ``--tz``
(or UTC when none is given).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Optional

from .base import LogContext

MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
BSD = re.compile(r"^(?:<\d{1,3}>)?(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)"
                 r"(?:\.\d+)?\s")
ISO = re.compile(r"^(?:<\d{1,3}>\d? )?\[?(?P<date>\d{4}-\d\d-\d\d)[T ](?P<time>\d\d:\d\d:\d\d)(?P<frac>[.,]\d+)?"
                 r"(?P<tz>Z|[+-]\d\d:?\d\d)?\]?\s")
EPOCH = re.compile(r"^\[?(?P<epoch>1\d{9})(?:\.(?P<frac>\d{1,9}))?\]?:?\s")
HALF_YEAR = 183 * 86400


class LineClock:
    """Reads line time stamps for one file, remembering the year across lines."""

    def __init__(self, ctx: LogContext):
        self.ctx = ctx
        self.year = ctx.year or datetime.now(timezone.utc).year
        self.last: Optional[float] = None
        offset = ctx.tz_offset_seconds or 0
        self.zone = timezone(timedelta(seconds=offset))

    def parse(self, line: str) -> tuple[Optional[float], str]:
        """(POSIX time or None, the rest of the line after the stamp)."""
        match = EPOCH.match(line)
        if match:
            frac = match.group("frac") or "0"
            return int(match.group("epoch")) + int(frac) / 10 ** len(frac), line[match.end():]
        match = ISO.match(line)
        if match:
            return self._iso(match), line[match.end():]
        match = BSD.match(line)
        if match:
            return self._bsd(match), line[match.end():]
        return None, line

    def _iso(self, match: re.Match) -> Optional[float]:
        text = f"{match.group('date')}T{match.group('time')}"
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            return None
        tz = match.group("tz")
        if tz:
            if tz == "Z":
                zone = timezone.utc
            else:
                sign = -1 if tz[0] == "-" else 1
                digits = tz[1:].replace(":", "")
                zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
            stamp = stamp.replace(tzinfo=zone)
        else:
            stamp = stamp.replace(tzinfo=self.zone)
        frac = match.group("frac")
        return stamp.timestamp() + (float("0." + frac[1:]) if frac else 0.0)

    def _bsd(self, match: re.Match) -> Optional[float]:
        month = MONTHS.get(match.group("mon").lower())
        if month is None:
            return None
        try:
            stamp = datetime(self.year, month, int(match.group("day")), int(match.group("h")),
                             int(match.group("m")), int(match.group("s")), tzinfo=self.zone)
        except ValueError:
            return None
        ts = stamp.timestamp()
        if self.last is not None and ts < self.last - HALF_YEAR:
            self.year += 1  # December -> January
            ts = stamp.replace(year=self.year).timestamp()
        self.last = ts
        return ts
