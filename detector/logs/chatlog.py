"""Plain-text chat logs: IRC client logs (``[12:34] <alice> text``) and WhatsApp-style exports
(``02/01/2024, 12:34 - Alice: text``), scanned for pasted passwords.

The sniff score is kept below the dedicated log formats so a syslog file is
never read as a chat.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Optional

from detector.logs.base import LineParser, LogContext, LogDecoder, first_match
from detector.observations import Emit
from detector.textscan import shared_passwords
from detector.times import local_to_utc

IRC_LINE = re.compile(
    r"^(?:\[?(?P<time>\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(?::\d{2})?|\d{1,2}:\d{2}(?::\d{2})?)\]?\s+)?"
    r"<[@+%&~]?(?P<sender>[^>\s]{1,64})>\s(?P<text>.*)$")
_STAMP = r"(?P<date>\d{1,4}[./-]\d{1,2}[./-]\d{2,4}),?\s+(?P<time>\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp][Mm])?)"
# WhatsApp-style exports: "[02.11.26, 09:03:00] Name: text" or "02/11/2026, 09:03 - Name: text"; a syslog line
# ("2026-11-02 09:03:00 host proc: text") has neither the brackets nor the " - " and is not a chat line
_SPEAKER = r"(?P<sender>[^:<>\[\]]{1,64}?):\s(?P<text>.*)$"
BRACKET_LINE = re.compile(rf"^\[{_STAMP}\]\s+{_SPEAKER}")
DASH_LINE = re.compile(rf"^{_STAMP}\s+-\s+{_SPEAKER}")
DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y", "%d.%m.%y", "%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y")
TIME_FORMATS = ("%H:%M:%S", "%H:%M", "%I:%M %p", "%I:%M:%S %p", "%I:%M%p")


def _line_match(line: str) -> Optional[re.Match]:
    return IRC_LINE.match(line) or BRACKET_LINE.match(line) or DASH_LINE.match(line)


class ChatLogParser(LineParser):
    def __init__(self, ctx: LogContext):
        self.ctx = ctx
        self.day: Optional[datetime] = None

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        match = _line_match(line)
        if match is None:
            return True  # continuation lines and join/part notices are normal in chat logs
        ts = self._time(match)
        for obs in shared_passwords(match.group("text"), "chat-log", match.group("sender").strip(), (), ts, where):
            emit(obs)
        return True

    def _time(self, match: re.Match) -> float:
        groups = match.groupdict()
        clock = (groups.get("time") or "").strip()
        date = groups.get("date")
        if date:
            for fmt in DATE_FORMATS:
                try:
                    self.day = datetime.strptime(date, fmt).replace(tzinfo=timezone.utc)
                    break
                except ValueError:
                    continue
        if " " in clock or "T" in clock:
            try:
                return datetime.fromisoformat(clock.replace(" ", "T")).replace(tzinfo=timezone.utc).timestamp()
            except ValueError:
                return 0.0
        if self.day is None or not clock:
            return 0.0
        for fmt in TIME_FORMATS:
            try:
                moment = datetime.strptime(clock.upper(), fmt)
            except ValueError:
                continue
            wall = self.day.replace(hour=moment.hour, minute=moment.minute, second=moment.second, tzinfo=None)
            return local_to_utc(wall, self.ctx.zone)
        return 0.0


class ChatLogDecoder(LogDecoder):
    name = "chat-log"
    parser_class = ChatLogParser

    def sniff(self, head: list[str]) -> float:
        return 0.6 * first_match(head, lambda line: _line_match(line) is not None)
