"""hostapd logs (also OpenWrt ``logread``): station connects, disconnects and AP shutdowns.

Accepts bare hostapd output, epoch-prefixed lines (``1539711731.123: wlan0: ...``),
syslog lines (``Jun  3 14:05:01 ap hostapd: wlan0: ...``) and debug output in
every form hostapd writes it (``-d``, ``-dd``, ``-t`` epoch-prefixed, ``-K`` with
key data), which opens with pages of configuration and driver (nl80211) lines:
it is recognised from a line only hostapd prints anywhere in the first few KB.
A disconnect right before the AP itself goes down is marked ``ap_initiated``:
the station did not drop, the AP was restarted. A station whose handshake failed
on the passphrase (``AP-STA-POSSIBLE-PSK-MISMATCH``) and the AP starting and
stopping (``AP-ENABLED``, ``AP-DISABLED``) are reported as ``WifiApEvent``.

In debug output a frame the station sent is logged before its effect
(``disassocation: STA=<mac> reason_code=8``, hostapd's spelling, then
``wlan0: STA <mac> IEEE 802.11: disassociated``): the reason code and the
direction (station to AP) are carried over to that disconnect, so a client
that says it is leaving is told apart from one that was dropped.

Every pattern is linear in the line length: the interface name must start at
a token boundary and is at most 64 characters, and a literal keyword is looked
for before any pattern runs.
"""

from __future__ import annotations

import re
from typing import Optional

from detector.logs.base import LineParser, LogContext, LogDecoder, first_match, plausible_text
from detector.logs.syslog import LineClock, syslog_header
from detector.observations import Emit, WifiApEvent, WifiConnect, WifiDisconnect

# a debug line: optional -t time stamp, then "module: text", "Key=value" or a short capitalised phrase
DEBUG_LINE = re.compile(r"(?:\d{9,10}\.\d{1,6}: )?(?:[\w\[\]().-]{1,48}[:=]|[A-Z][\w]*(?: [\w/()-]+){0,6}[:=]? )")
MAC = r"(?P<mac>[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})"
IFACE = r"(?<![\w.-])(?P<iface>[\w.-]{1,64})"  # token start, bounded: no quadratic backtracking
DISCONNECTED = re.compile(IFACE + r": AP-STA-DISCONNECTED " + MAC)
CONNECTED = re.compile(IFACE + r": AP-STA-CONNECTED " + MAC)
DISASSOCIATED = re.compile(IFACE + r": STA " + MAC + r" IEEE 802\.11: (?P<what>disassociated|deauthenticated)"
                           r"(?: due to (?:inactivity|local deauth request))?(?: \(reason (?P<reason>\d{1,5})\))?")
AP_DOWN = re.compile(IFACE + r": (?:AP-DISABLED|INTERFACE-DISABLED|CTRL-EVENT-TERMINATING)")
AP_UP = re.compile(IFACE + r": AP-ENABLED\b")
PSK_MISMATCH = re.compile(IFACE + r": AP-STA-POSSIBLE-PSK-MISMATCH " + MAC)
# hostapd -d: handle_disassoc()/handle_deauth() log the frame a station sent ("disassocation" is hostapd's spelling)
STA_FRAME = re.compile(r"(?P<what>disassocation|disassociation|deauthentication): STA=" + MAC
                       + r" reason_code=(?P<reason>\d{1,5})")
STA_FRAME_KEYWORDS = ("disassocation: STA=", "disassociation: STA=", "deauthentication: STA=")
NOT_ASSOCIATED = re.compile(r"Station " + MAC + r" trying to (?:disassociate|deauthenticate), but it is not")
DEBUG_ONLY = ("ap_free_sta", "handle_disassoc", "handle_deauth", "mgmt::disassoc", "mgmt::deauth")
HINTS = ("AP-STA-", "hostapd", "IEEE 802.11:", "AP-ENABLED", "AP-DISABLED", "CTRL-EVENT-TERMINATING")
# lines only hostapd's own debug output (-d) prints; wpa_supplicant -d shares the nl80211 lines, not these
DEBUG_HINTS = ("Completing interface initialization", "hostapd_setup_bss", "Flushing old station entries",
               "Deauthenticate all stations", "ap_free_sta", "STA=", "mgmt::", "ctrl_interface_group",
               "Using interface ", "interface state ")
HOSTAPD_ONLY = ("Configuration file: ", "hostapd_setup_bss", "Completing interface initialization", "AP-ENABLED",
                "AP-STA-", "ctrl_interface_group", "BSS count ", "hostapd_")
SUPPLICANT_ONLY = ("wpa_supplicant", "CTRL-EVENT-CONNECTED", "Trying to associate", "WPA: Key negotiation")
AP_DOWN_KEYWORDS = ("AP-DISABLED", "INTERFACE-DISABLED", "CTRL-EVENT-TERMINATING")
AP_DOWN_WINDOW = 5.0  # seconds between a disconnect and the AP going down
FRAME_WINDOW = 2.0  # seconds between a debug frame line and the disconnect it caused
MAX_PENDING = 1024  # debug frame lines waiting for their disconnect line
PENDING_LINES = 20  # ... or this many lines, for output without time stamps


class HostapdParser(LineParser):
    def __init__(self, ctx: LogContext):
        self.clock = LineClock(ctx)
        self.held: list[WifiDisconnect] = []  # waiting to see whether the AP goes down next
        self.held_rollovers = 0
        self.last_ts = 0.0
        self.lines_since = 0
        self.lines = 0
        self.pending: dict[str, tuple[int, str, float, int]] = {}  # station -> (reason, subtype, ts, line)

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        emit = self.clock.emitter(emit)
        ts, rest = self.clock.parse(line)
        ts = ts if ts is not None else 0.0
        host = syslog_header(rest)[0] if ts else ""
        self.lines_since += 1
        self.lines += 1
        if self.held and (self.lines_since > 3 or (ts and abs(ts - self.held[-1].ts) > AP_DOWN_WINDOW)):
            self._release(emit)
        match = _search(DISCONNECTED, "AP-STA-DISCONNECTED", rest) or _search(DISASSOCIATED, "IEEE 802.11: ", rest)
        if match:
            self._disconnect(match, ts, where, host)
            return True
        match = _search(CONNECTED, "AP-STA-CONNECTED", rest)
        if match:
            emit(WifiConnect(ts, where, match.group("mac").lower(), _ap(host, match.group("iface")), origin="hostapd"))
            return True
        match = _search(PSK_MISMATCH, "AP-STA-POSSIBLE-PSK-MISMATCH", rest)
        if match:
            emit(WifiApEvent(ts, where, _ap(host, match.group("iface")), "psk-mismatch", match.group("mac").lower()))
            return True
        match = AP_DOWN.search(rest) if any(k in rest for k in AP_DOWN_KEYWORDS) else None
        if match:
            for event in self.held:
                event.ap_initiated = True
            self._release(emit)
            emit(WifiApEvent(ts, where, _ap(host, match.group("iface")), "ap-disabled"))
            return True
        match = _search(AP_UP, "AP-ENABLED", rest)
        if match:
            emit(WifiApEvent(ts, where, _ap(host, match.group("iface")), "ap-enabled"))
            return True
        return self._debug_line(rest, ts) or plausible_text(rest)

    def _debug_line(self, rest: str, ts: float) -> bool:
        """hostapd -d: remember the reason of a frame a station sent until its disconnect line arrives."""
        match = STA_FRAME.search(rest) if any(k in rest for k in STA_FRAME_KEYWORDS) else None
        if match:
            if len(self.pending) >= MAX_PENDING:
                self.pending.clear()
            subtype = "deauth" if match.group("what") == "deauthentication" else "disassoc"
            self.pending[match.group("mac").lower()] = (int(match.group("reason")), subtype, ts, self.lines)
            return True
        match = NOT_ASSOCIATED.search(rest) if "trying to " in rest else None
        if match:  # the frame had no effect: hostapd did not know the station
            self.pending.pop(match.group("mac").lower(), None)
            return True
        return any(k in rest for k in DEBUG_ONLY) and plausible_text(rest)

    def _sent_by_station(self, station: str, ts: float) -> Optional[tuple[int, str]]:
        """(reason, subtype) of the frame this station just sent, when debug output logged one."""
        pending = self.pending.pop(station, None)
        if pending is None:
            return None
        reason, subtype, seen, line = pending
        if (ts and seen and abs(ts - seen) > FRAME_WINDOW) or self.lines - line > PENDING_LINES:
            return None
        return reason, subtype

    def _disconnect(self, match: re.Match, ts: float, where: str, host: str) -> None:
        station = match.group("mac").lower()
        groups = match.groupdict()
        reason = int(groups["reason"]) if groups.get("reason") else 0
        subtype = "deauth" if groups.get("what") == "deauthenticated" else "disassoc"
        if any(e.station == station and abs(e.ts - ts) <= 1.0 for e in self.held):
            return  # "disassociated" and "AP-STA-DISCONNECTED" describe one event
        direction = ""
        sent = self._sent_by_station(station, ts)
        if sent is not None:
            reason, subtype = sent[0] or reason, sent[1]
            direction = "sta-to-ap"
        if not self.held:
            self.held_rollovers = self.clock.rollovers
        self.held.append(WifiDisconnect(ts, where, station, _ap(host, match.group("iface")), reason, subtype,
                                        direction, origin="hostapd"))
        self.lines_since = 0

    def _release(self, emit: Emit) -> None:
        for _ in range(self.clock.rollovers - self.held_rollovers):
            for event in self.held:  # stamped before a New Year the clock has since crossed
                event.ts = self.clock.year_earlier(event.ts)
        self.held_rollovers = self.clock.rollovers
        for event in self.held:
            emit(event)
        self.held = []

    def finish(self, emit: Emit) -> None:
        self._release(self.clock.emitter(emit))


def _search(pattern: re.Pattern, keyword: str, text: str) -> Optional[re.Match]:
    """``pattern.search`` only on lines holding its literal keyword (a substring test is far cheaper)."""
    return pattern.search(text) if keyword in text else None


def _ap(host: str, iface: str) -> str:
    """The AP as "host/interface" when the log names its host, so two APs' wlan0 stay apart."""
    return f"{host}/{iface}" if host else iface


class HostapdDecoder(LogDecoder):
    name = "hostapd"
    parser_class = HostapdParser

    def sniff(self, head: list[str]) -> float:
        score = first_match(head, lambda line: any(h in line for h in HINTS))
        if score <= 0.05:  # hostapd -d opens with pages of configuration and driver lines
            score = first_match(head, lambda line: any(h in line for h in HINTS + DEBUG_HINTS)) * 0.9
        if score <= 0.05:
            score = _debug_output(head)
        return score if score > 0.05 else 0.0


def _debug_output(head: list[str]) -> float:
    """hostapd -d/-dd/-t/-K: hundreds of driver lines, and somewhere a line only hostapd prints (and none only
    wpa_supplicant prints). Scored below the line formats: a log that any of them reads is theirs."""
    text = "\n".join(head)
    if not any(marker in text for marker in HOSTAPD_ONLY) or any(marker in text for marker in SUPPLICANT_ONLY):
        return 0.0
    return 0.8 * first_match(head, lambda line: bool(DEBUG_LINE.match(line)))

