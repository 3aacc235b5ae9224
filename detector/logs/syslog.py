"""Time stamps at the start of log lines, in the shapes AP and client logs use.

Handles RFC 3164 (``Jun  3 14:05:01``, no year: the file's modification year
is the year the log *ended*, so lines before a December -> January roll-over
are moved back a year), OpenWrt ``logread`` / ctime stamps with a year, ISO
8601 / RFC 5424 with or without offset, and epoch seconds (``1539711731.123:``).
Times without an offset are read in ``--tz`` (or UTC when none is given).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Optional

from detector.logs.base import LogContext
from detector.observations import Emit, Observation

MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
BSD = re.compile(r"^(?:<\d{1,3}>)?(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)"
                 r"(?:\.\d+)?\s")
ISO = re.compile(r"^(?:<\d{1,3}>\d? )?\[?(?P<date>\d{4}-\d\d-\d\d)[T ](?P<time>\d\d:\d\d:\d\d)(?P<frac>[.,]\d+)?"
                 r"(?P<tz>Z|[+-]\d\d:?\d\d)?\]?\s")
EPOCH = re.compile(r"^\[?(?P<epoch>1\d{9})(?:\.(?P<frac>\d{1,9}))?\]?:?\s")
# OpenWrt logread / ctime: "Thu Jun  3 14:05:01 2021 daemon.info hostapd: ..."
CTIME = re.compile(r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) "
                   r"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:\.\d+)? (?P<year>\d{4})\s")
HEADER = re.compile(r"^(?:(?P<host>[\w.:-]{1,253}) )?(?P<prog>[\w./ -]{1,64}?)(?:\[\d{1,10}\])?: ")
FACILITY = re.compile(r"^(?:kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local\d)"
                      r"\.(?:emerg|alert|crit|err|warn|warning|notice|info|debug)$")
HALF_YEAR = 183 * 86400
MAX_TRACKED = 200_000


def syslog_header(rest: str) -> tuple[str, str, str]:
    """(host, program, message) of the part of a syslog line after its time stamp; empty when absent."""
    match = HEADER.match(rest)
    if not match:
        return "", "", rest
    host = match.group("host") or ""
    if FACILITY.match(host):
        host = ""  # OpenWrt logread puts facility.level where syslog puts the host
    return host, match.group("prog").strip(), rest[match.end():]


class LineClock:
    """Reads line time stamps for one file, remembering the year across lines."""

    def __init__(self, ctx: LogContext):
        self.ctx = ctx
        self.year = ctx.year or datetime.now(timezone.utc).year
        self.last: Optional[float] = None
        self.zone = ctx.zone or timezone.utc
        self.before_rollover: list = []  # observations stamped from year-less lines, until a roll-over
        self.yearless = False
        self.rollovers = 0  # New Years crossed so far; parsers that hold events back compare against it

    def emitter(self, emit: Emit) -> Emit:
        """Wrap ``emit`` so observations from year-less lines can be moved back a year at a roll-over.

        The year comes from the file's modification time, which is when the log
        *ended*: lines before a December -> January roll-over belong to the year before.
        """
        def tracked(obs: Observation) -> None:
            if self.yearless and len(self.before_rollover) < MAX_TRACKED:
                self.before_rollover.append(obs)
            emit(obs)

        return tracked

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
            self.yearless = True
            return self._bsd(match), line[match.end():]
        match = CTIME.match(line)
        if match:
            return self._ctime(match), line[match.end():]
        return None, line

    def _ctime(self, match: re.Match) -> Optional[float]:
        month = MONTHS.get(match.group("mon").lower())
        try:
            return datetime(int(match.group("year")), month or 0, int(match.group("day")), int(match.group("h")),
                            int(match.group("m")), int(match.group("s")), tzinfo=self.zone).timestamp()
        except ValueError:
            return None

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
            self._roll_back_earlier()  # December -> January: what came before was last year
        elif self.last is not None and ts > self.last + HALF_YEAR:
            return _year_earlier(ts, self.zone)  # an out-of-order line from before the roll-over
        self.last = ts
        return ts

    def year_earlier(self, ts: float) -> float:
        """The same local date and time one year before (for events held back across a roll-over)."""
        return _year_earlier(ts, self.zone)

    def _roll_back_earlier(self) -> None:
        self.rollovers += 1
        for obs in self.before_rollover:
            obs.ts = _year_earlier(obs.ts, self.zone)
        self.before_rollover = []


def _year_earlier(ts: float, zone: timezone) -> float:
    stamp = datetime.fromtimestamp(ts, tz=zone)
    try:
        return stamp.replace(year=stamp.year - 1).timestamp()
    except ValueError:  # 29 February
        return (stamp - timedelta(days=366)).timestamp()


def file_station(ctx: LogContext) -> str:
    """A client log names no MAC for its own machine: the file name stands for the station."""
    name = ctx.path.rsplit("/", 1)[-1]
    for suffix in (".gz", ".log", ".txt"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name[:64] or "client"


def channel_of(freq_mhz: int) -> int:
    """802.11 channel number for a centre frequency (2.4 and 5 GHz bands)."""
    if freq_mhz == 2484:
        return 14
    if 2412 <= freq_mhz < 2484:
        return (freq_mhz - 2407) // 5
    if 5000 <= freq_mhz <= 5900:
        return (freq_mhz - 5000) // 5
    return 0
