"""Attributes of Wi-Fi findings, one frozen class per kind (see detector.findings.attributes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from detector.findings.attributes import Attributes, attribute
from detector.findings.finding import CATEGORY_WIFI, CATEGORY_WIFI_ATTACK


@dataclass(frozen=True, kw_only=True)
class RecurringDropAttributes(Attributes):
    detector = "wifi.recurring"
    category = CATEGORY_WIFI
    summary = "disconnects that come back on a schedule"

    pattern: str = attribute("`daily`, `weekly` or `interval`", label="Pattern", default="",
                             choices=("daily", "weekly", "interval"))
    time_of_day: str = attribute("\"HH:MM\", local time with `--tz`", label="Around (HH:MM)", default="")
    spread_minutes: float = attribute("how far the drops scatter around that time", label="Spread (minutes)",
                                      default=0.0)
    days_with_drop: int = attribute("days on which the drop happened", label="Days with drops", default=0)
    days_observed: int = attribute("days the inputs cover", label="Days observed", default=0)
    occurrences: int = attribute("outages that fit the pattern", label="Occurrences", default=0)
    stations: list[str] = attribute("stations (MAC addresses) that dropped", label="Stations", factory=list)
    aps: list[str] = attribute("access points (BSSIDs or names)", label="Access points", factory=list)
    hint: str = attribute("likely cause, derived only from the evidence", label="Likely cause", default="")
    reasons: dict[str, int] = attribute("802.11 reason code -> count", label="Reason codes", factory=dict)
    typical_duration_s: Optional[float] = attribute("median outage length in seconds", label="Typical outage",
                                                    when="null when no reconnect was seen")
    dates: list[str] = attribute("dates with a drop (ISO)", label="Dates", factory=list)
    sources: list[str] = attribute("where the drops were seen (`802.11`, `hostapd`, ...)", label="Sources",
                                   factory=list)
    weekday: Optional[str] = attribute("the weekday", label="Weekday", when="weekly patterns only")
    interval_minutes: Optional[float] = attribute("minutes between drops", label="Interval (minutes)",
                                                  when="interval patterns only")
    regularity: Optional[float] = attribute("0..1, how regular the interval is", label="Regularity",
                                            when="interval patterns only")
    heatmap: dict[str, Any] = attribute("`{ap, dates, cells: [[date_index, hour, count]], window: [start_minute, "
                                        "end_minute]}`", label="Heat map", factory=dict, structured=True)
    outages: list[dict[str, Any]] = attribute("`[{start, duration_s, stations, aps}]`", label="Outages",
                                              factory=list, structured=True)


@dataclass(frozen=True, kw_only=True)
class OutageAttributes(Attributes):
    detector = "wifi.outage"
    category = CATEGORY_WIFI
    summary = "one AP-wide outage that does not recur"

    start: str = attribute("when it started (ISO-8601)", label="Start", default="")
    duration_s: Optional[float] = attribute("seconds until the stations came back", label="Duration",
                                            when="null when no reconnect was seen")
    stations: int = attribute("stations that dropped", label="Stations", default=0)
    aps: list[str] = attribute("access points", label="Access points", factory=list)
    reasons: dict[str, int] = attribute("802.11 reason code -> count", label="Reason codes", factory=dict)
    sources: list[str] = attribute("where the drops were seen", label="Sources", factory=list)
    outages: list[dict[str, Any]] = attribute("`[{start, duration_s, stations, aps}]`", label="Outages",
                                              factory=list, structured=True)


@dataclass(frozen=True, kw_only=True)
class DeauthFloodAttributes(Attributes):
    detector = "wifi.deauth-flood"
    category = CATEGORY_WIFI_ATTACK
    summary = "a flood of deauthentication/disassociation frames from one BSSID"

    bssid: str = attribute("the BSSID the frames claim to come from", label="BSSID", default="")
    ssid: str = attribute("its network name, when a beacon gave it", label="SSID", default="")
    frames: int = attribute("deauth + disassoc frames", label="Frames", default=0)
    seconds: float = attribute("how long the flood lasted", label="Duration (s)", default=0.0)
    peak_per_second: float = attribute("highest frame rate in one second", label="Peak frames per second",
                                       default=0.0)
    deauth: int = attribute("deauthentication frames", label="Deauth frames", default=0)
    disassoc: int = attribute("disassociation frames", label="Disassoc frames", default=0)
    broadcast: int = attribute("frames sent to every station", label="Broadcast frames", default=0)
    stations: list[str] = attribute("stations targeted", label="Stations", factory=list)
    reasons: dict[str, int] = attribute("802.11 reason code -> count (most common)", label="Reason codes",
                                        factory=dict)
    reason_counts: dict[str, int] = attribute("every reason code -> count", label="All reason codes",
                                              factory=dict)
    direction_counts: dict[str, int] = attribute("`ap_to_sta`, `sta_to_ap`, `broadcast`, `unknown` -> count",
                                                 label="Directions", factory=dict)
    station_counts: dict[str, Any] = attribute("station MAC -> {deauth, disassoc, ap_to_sta, sta_to_ap, "
                                               "broadcast, unknown}, busiest first", label="Per station",
                                               factory=dict, structured=True)


@dataclass(frozen=True, kw_only=True)
class TargetedDeauthAttributes(Attributes):
    detector = "wifi.deauth-targeted"
    category = CATEGORY_WIFI_ATTACK
    summary = ("bursts of deauthentication/disassociation frames between one AP and one client in both directions "
               "(both sides spoofed), one finding per client")

    bssid: str = attribute("the access point", label="BSSID", default="")
    ssid: str = attribute("its network name, when a beacon gave it", label="SSID", default="")
    station: str = attribute("the client knocked off", label="Station", default="")
    frames: int = attribute("frames in the bursts", label="Frames", default=0)
    bursts: int = attribute("bursts (at least 20 frames in one second, at least 3 each way)", label="Bursts",
                            default=0)
    burst_starts: list[str] = attribute("when each burst started (at most 50, ISO-8601)", label="Burst starts",
                                        factory=list)
    seconds: float = attribute("time spent in bursts", label="Duration (s)", default=0.0)
    peak_per_second: float = attribute("highest frame rate in one second", label="Peak frames per second",
                                       default=0.0)
    deauth: int = attribute("deauthentication frames", label="Deauth frames", default=0)
    disassoc: int = attribute("disassociation frames", label="Disassoc frames", default=0)
    ap_to_sta: int = attribute("frames claiming to come from the AP", label="AP to station", default=0)
    sta_to_ap: int = attribute("frames claiming to come from the station", label="Station to AP", default=0)
    reasons: dict[str, int] = attribute("802.11 reason code -> count (most common)", label="Reason codes",
                                        factory=dict)


@dataclass(frozen=True, kw_only=True)
class DeauthSummaryAttributes(Attributes):
    detector = "wifi.deauth-summary"
    category = CATEGORY_WIFI_ATTACK  # context for the attack findings beside it: "Recurring Wi-Fi drops" holds drops
    summary = ("deauthentication/disassociation counts per BSSID below the flood threshold, frames of attack "
               "findings left out (context, no risk)")

    bssid: str = attribute("the access point", label="BSSID", default="")
    ssid: str = attribute("its network name", label="SSID", default="")
    frames: int = attribute("deauth + disassoc frames outside any attack finding", label="Frames", default=0)
    deauth: int = attribute("deauthentication frames", label="Deauth frames", default=0)
    disassoc: int = attribute("disassociation frames", label="Disassoc frames", default=0)
    reason_counts: dict[str, int] = attribute("reason code -> count (at most 32 codes)", label="Reason codes",
                                              factory=dict)
    direction_counts: dict[str, int] = attribute("`ap_to_sta`, `sta_to_ap`, `broadcast`, `unknown` -> count",
                                                 label="Directions", factory=dict)
    station_counts: dict[str, Any] = attribute("station MAC -> {deauth, disassoc, ap_to_sta, sta_to_ap, "
                                               "broadcast, unknown}, busiest first", label="Per station",
                                               factory=dict, structured=True)
    stations: list[str] = attribute("stations involved (never the broadcast address)", label="Stations",
                                    factory=list)
    attack_frames: int = attribute("frames of this BSSID counted by an attack finding instead (not in `frames`)",
                                   label="Frames in attacks",
                                   default=0)


@dataclass(frozen=True, kw_only=True)
class PskMismatchAttributes(Attributes):
    detector = "wifi.psk-mismatch"
    category = CATEGORY_WIFI
    summary = ("a station whose WPA handshake failed on the passphrase again and again (hostapd "
               "AP-STA-POSSIBLE-PSK-MISMATCH): a device left with an old passphrase, or someone guessing it")

    ap: str = attribute("the access point (host/interface as its log names it)", label="Access point", default="")
    station: str = attribute("the station (MAC address) that tried", label="Station", default="")
    attempts: int = attribute("failed handshakes", label="Failed attempts", default=0)
    bursts: int = attribute("runs of attempts less than a minute apart", label="Bursts", default=0)
    peak_per_minute: int = attribute("most attempts within one minute", label="Peak per minute", default=0)
    burst_starts: list[str] = attribute("when each burst started (at most 50, ISO-8601)", label="Burst starts",
                                        factory=list)
    connected_after: bool = attribute("the station then connected to that AP (the right passphrase came)",
                                      label="Connected afterwards", default=False)


@dataclass(frozen=True, kw_only=True)
class ApRestartAttributes(Attributes):
    detector = "wifi.ap-restart"
    category = CATEGORY_WIFI
    summary = "an access point that started again and again (hostapd AP-ENABLED after its first start)"

    ap: str = attribute("the access point (host/interface as its log names it)", label="Access point", default="")
    starts: int = attribute("times the AP came up", label="Starts", default=0)
    restarts: int = attribute("starts after the first one seen", label="Restarts", default=0)
    stops: int = attribute("times the AP said it went down (AP-DISABLED, terminating)", label="Stops", default=0)
    start_times: list[str] = attribute("when it came up (at most 50, ISO-8601)", label="Start times", factory=list)
    typical_interval_s: Optional[float] = attribute("median seconds between starts", label="Typical interval",
                                                    when="null with fewer than two starts")


KINDS = (RecurringDropAttributes, OutageAttributes, DeauthFloodAttributes, TargetedDeauthAttributes,
         DeauthSummaryAttributes, PskMismatchAttributes, ApRestartAttributes)
