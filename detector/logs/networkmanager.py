"""NetworkManager logs (syslog or journal): Wi-Fi devices leaving and reaching the "activated" state.

Only Wi-Fi devices count (``wl*`` names: wlan0, wlp2s0, wlx...); Ethernet and
VPN devices go through the same state machine and are ignored. A deactivation
the user or the system asked for (``user-requested``, ``sleeping``) is a leave,
not a drop.
"""

from __future__ import annotations

import re

from detector.logs.base import LineParser, LogContext, LogDecoder, first_match
from detector.logs.syslog import LineClock, file_station, syslog_header
from detector.observations import Emit, WifiConnect, WifiDisconnect

DEVICE = r"device \((?P<dev>wl[\w.-]{0,30})\): "
STATE = re.compile(DEVICE + r"state change: (?P<old>[a-z-]{1,20}) -> (?P<new>[a-z-]{1,20})"
                   r"(?: \(reason '(?P<reason>[\w-]{1,40})')?")
STARTING = re.compile(DEVICE + r"Activation: starting connection '(?P<ssid>[^']{0,64})'")
INNER_EPOCH = re.compile(r"<\w{2,5}>\s+\[(?P<epoch>1\d{9})(?:\.\d+)?\]")
LEFT_STATES = frozenset({"deactivating", "disconnected", "failed", "unavailable", "unmanaged", "prepare", "config",
                         "need-auth"})
LEAVE_REASONS = frozenset({"user-requested", "sleeping", "now-unmanaged", "removed", "quitting",
                           "connection-removed", "new-activation"})
HINTS = ("NetworkManager", "<info>", "<warn>", "state change:", "device (")


class NetworkManagerParser(LineParser):
    def __init__(self, ctx: LogContext):
        self.clock = LineClock(ctx)
        self.default_station = file_station(ctx)
        self.ssid: dict[str, str] = {}

    def parse(self, line: str, where: str, emit: Emit) -> bool:
        emit = self.clock.emitter(emit)
        ts, rest = self.clock.parse(line)
        if ts is None:
            inner = INNER_EPOCH.search(line)
            ts = float(inner.group("epoch")) if inner else 0.0
        host = syslog_header(rest)[0] if ts and rest[:1] != "<" else ""
        station = host or self.default_station
        match = STARTING.search(rest)
        if match:
            self.ssid[match.group("dev")] = match.group("ssid")
            return True
        match = STATE.search(rest)
        if match:
            self._state(match, station, ts, where, emit)
            return True
        return any(h in rest for h in HINTS) or ": " in rest

    def _state(self, match: re.Match, station: str, ts: float, where: str, emit: Emit) -> None:
        dev, old, new = match.group("dev"), match.group("old"), match.group("new")
        ssid = self.ssid.get(dev, "")
        who = f"{station}/{dev}"
        if new == "activated" and old != "activated":
            emit(WifiConnect(ts, where, who, "", ssid, "networkmanager"))
        elif old == "activated" and new in LEFT_STATES:
            reason = match.group("reason") or ""
            subtype = "leave" if reason in LEAVE_REASONS else "log"
            emit(WifiDisconnect(ts, where, who, "", 0, subtype, "sta-to-ap" if subtype == "leave" else "", ssid,
                                "networkmanager"))


class NetworkManagerDecoder(LogDecoder):
    name = "networkmanager"
    parser_class = NetworkManagerParser

    def sniff(self, head: list[str]) -> float:
        score = first_match(head, lambda line: "NetworkManager" in line or
                            ("device (" in line and ("<info>" in line or "<warn>" in line)))
        return score if score > 0.05 else 0.0
