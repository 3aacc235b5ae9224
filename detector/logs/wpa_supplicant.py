"""wpa_supplicant logs (client side, stdout/debug or syslog): disconnects, connects and auth failures.

``CTRL-EVENT-DISCONNECTED`` carries the BSSID and the 802.11 reason; with
``locally_generated=1`` the client itself left (suspend, user), which is not a
drop unless many leave together. Debug excerpts that only show state changes
(``State: COMPLETED -> DISCONNECTED``) are read the same way.
"""

from __future__ import annotations

import re

from detector.logs.base import LineParser, LogContext, LogDecoder, first_match
from detector.logs.syslog import LineClock, channel_of, file_station, syslog_header
from detector.observations import Emit, WifiConnect, WifiDisconnect

MAC = r"[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}"
IFACE = r"(?P<iface>[\w.-]{1,32}): "
DISCONNECTED = re.compile(IFACE + r"CTRL-EVENT-DISCONNECTED bssid=(?P<bssid>" + MAC + r") reason=(?P<reason>\d{1,5})"
                          r"(?P<local> locally_generated=1)?")
CONNECTED = re.compile(IFACE + r"CTRL-EVENT-CONNECTED - Connection to (?P<bssid>" + MAC + ")")
ASSOCIATING = re.compile(IFACE + r"Trying to associate with (?P<bssid>" + MAC + r") \(SSID='(?P<ssid>[^']{0,64})'"
                         r"(?: freq=(?P<freq>\d{4}) MHz)?")
STATE = re.compile(IFACE + r"State: (?P<old>[A-Z_0-9]{1,20}) -> (?P<new>[A-Z_0-9]{1,20})")
EAP_FAILURE = re.compile(IFACE + r"CTRL-EVENT-(?:EAP-FAILURE|SSID-TEMP-DISABLED)")
SSID_IN = re.compile(r"ssid=\"(?P<ssid>[^\"]{0,64})\"")
HINTS = ("CTRL-EVENT-", "wpa_supplicant", "State: ", "Trying to associate", "WPA: Key negotiation")
LOST_STATES = ("DISCONNECTED", "SCANNING", "INACTIVE", "INTERFACE_DISABLED")
EAP_REASON = 23  # IEEE 802.1X authentication failed


class WpaSupplicantParser(LineParser):
    def __init__(self, ctx: LogContext):
        self.clock = LineClock(ctx)
        self.default_station = file_station(ctx)
        self.bssid: dict[str, str] = {}  # interface -> current BSSID
        self.ssid: dict[str, tuple[str, int]] = {}  # interface -> (SSID, channel)
        self.has_ctrl_events = False

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        emit = self.clock.emitter(emit)
        ts, rest = self.clock.parse(line)
        ts = ts or 0.0
        host = syslog_header(rest)[0] if ts else ""
        station = host or self.default_station
        match = DISCONNECTED.search(rest) if "CTRL-EVENT-DISCONNECTED" in rest else None  # literal first: linear
        if match:
            self.has_ctrl_events = True
            self._disconnect(match.group("iface"), station, match.group("bssid").lower(), int(match.group("reason")),
                             bool(match.group("local")), ts, where, emit)
            return True
        match = CONNECTED.search(rest) if "CTRL-EVENT-CONNECTED" in rest else None  # literal first: linear
        if match:
            self.has_ctrl_events = True
            self._connect(match.group("iface"), station, match.group("bssid").lower(), ts, where, emit)
            return True
        match = ASSOCIATING.search(rest) if "Trying to associate" in rest else None  # literal first: linear
        if match:
            iface = match.group("iface")
            self.bssid[iface] = match.group("bssid").lower()
            self.ssid[iface] = (match.group("ssid"), channel_of(int(match.group("freq") or 0)))
            return True
        match = STATE.search(rest) if "State: " in rest else None  # literal first: linear
        if match:
            self._state(match, station, ts, where, emit)
            return True
        match = EAP_FAILURE.search(rest) if "CTRL-EVENT-" in rest else None  # literal first: linear
        if match:
            iface = match.group("iface")
            ssid = SSID_IN.search(rest)
            emit(WifiDisconnect(ts, where, station, self.bssid.get(iface, ""), EAP_REASON, "auth-failure",
                                ssid=ssid.group("ssid") if ssid else self.ssid.get(iface, ("", 0))[0],
                                origin="wpa_supplicant"))
            return True
        return any(h in rest for h in HINTS) or ": " in rest

    def _disconnect(self, iface: str, station: str, bssid: str, reason: int, local: bool, ts: float, where: str,
                    emit: Emit) -> None:
        ssid, channel = self.ssid.get(iface, ("", 0))
        emit(WifiDisconnect(ts, where, station, bssid, reason, "log", "sta-to-ap" if local else "", ssid,
                            "wpa_supplicant", channel=channel))

    def _connect(self, iface: str, station: str, bssid: str, ts: float, where: str, emit: Emit) -> None:
        self.bssid[iface] = bssid
        emit(WifiConnect(ts, where, station, bssid, self.ssid.get(iface, ("", 0))[0], "wpa_supplicant"))

    def _state(self, match: re.Match, station: str, ts: float, where: str, emit: Emit) -> None:
        """State changes stand in for CTRL events only in files that have none."""
        if self.has_ctrl_events:
            return
        iface, old, new = match.group("iface"), match.group("old"), match.group("new")
        if new == "COMPLETED" and old != "COMPLETED":
            self._connect(iface, station, self.bssid.get(iface, ""), ts, where, emit)
        elif old == "COMPLETED" and new in LOST_STATES:
            self._disconnect(iface, station, self.bssid.get(iface, ""), 0, False, ts, where, emit)


class WpaSupplicantDecoder(LogDecoder):
    name = "wpa_supplicant"
    parser_class = WpaSupplicantParser

    def sniff(self, head: list[str]) -> float:
        score = first_match(head, lambda line: any(h in line for h in HINTS) and "AP-STA-" not in line
                            and "hostapd" not in line)
        return score * 0.95 if score > 0.05 else 0.0
