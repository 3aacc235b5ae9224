"""Plain-language leads for a recurring drop, derived only from the evidence."""

from __future__ import annotations

from collections import Counter

from detector.detectors.wifi.events import Drop, Pattern
from detector.detectors.wifi.text import duration_text
from detector.policy.settings import Settings

HINT_MAX_CHARS = 500
MAX_CHANNEL_24GHZ = 14  # 802.11 channels 1-14 are the 2.4 GHz band
REASON_HINTS = {
    23: "reason 23 (802.1X authentication failed): the RADIUS/NPS server or its certificate fails at that time",
    15: "reason 15 (4-way handshake timeout): key exchange fails, e.g. an overloaded AP or a rekey job",
    4: "reason 4 (inactivity): idle timeout, often power saving or an AP session timer",
    2: "reason 2 (previous authentication no longer valid): a session or reauthentication timeout",
}


def pattern_hint(pattern: Pattern, drops: list[Drop], minute: float, settings: Settings) -> str:
    """Leads for the pattern, most specific first, joined by "; "."""
    hints = []
    reasons = Counter(d.reason for d in drops if d.reason)
    if reasons:
        top, count = reasons.most_common(1)[0]
        if top in REASON_HINTS and count * 2 >= sum(reasons.values()):
            hints.append(REASON_HINTS[top])
    hints += _timing_hints(pattern, minute, settings)
    if any(d.gap_seconds is not None for d in drops):
        hints.append("the AP stopped beaconing: it rebooted or lost power (check uptime, PoE switch schedule)")
    elif any(d.ap_initiated for d in drops):
        hints.append("the AP itself shut down or restarted before the stations dropped")
    channels = {d.channel for d in drops if d.channel}
    lunchtime = settings.wifi_hint_lunch_from_minute <= minute <= settings.wifi_hint_lunch_to_minute
    if lunchtime and channels and all(c <= MAX_CHANNEL_24GHZ for c in channels):
        hints.append("lunchtime on 2.4 GHz: interference, e.g. a microwave oven near the AP")
    if any(d.inferred == "dhcp" for d in drops):
        hints.append("clients re-requested DHCP together: check the DHCP server and the uplink at that time")
    stations = {d.station for d in drops if d.station}
    if len(stations) == 1:
        hints.append("only one station affected: its driver, power saving or location")
    elif len(stations) >= settings.wifi_site_outage_stations:
        aps = {d.ap for d in drops if d.ap}
        hints.append("all stations on one AP" if len(aps) <= 1 else f"stations on {len(aps)} APs at once")
    return "; ".join(hints)[:HINT_MAX_CHARS]


def _timing_hints(pattern: Pattern, minute: float, settings: Settings) -> list[str]:
    hints = []
    if pattern.kind == "interval":
        hints.append(f"every {duration_text(pattern.interval_seconds)} like clockwork: a timer such as "
                     "group rekey, session timeout or a watchdog reboot")
    elif min(minute % 60, 60 - minute % 60) <= settings.wifi_hint_on_hour_minutes and \
            pattern.spread <= settings.wifi_hint_on_hour_max_spread_minutes:
        hints.append("starts on the hour: a scheduled job (AP or controller reboot, firmware/config push, "
                     "DHCP or RADIUS maintenance task)")
    if pattern.kind == "weekly":
        hints.append("same weekday each week: a weekly maintenance window or backup")
    return hints
