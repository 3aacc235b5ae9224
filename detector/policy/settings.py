"""Tunable thresholds, read from the ``settings:`` key of rules files.

Detectors take a Settings object instead of reading YAML themselves, so a
detector test can pass its own thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class Settings:
    """Detector thresholds; defaults here, a rules file's settings: may change them."""

    # wifi-drops: daily recurrence
    wifi_window_minutes: float = 15.0  # a drop within +/- this of the centre counts
    wifi_min_days: int = 3  # distinct days with a drop near the same time of day
    wifi_roam_seconds: float = 10.0  # re-association elsewhere within this is roaming
    wifi_outage_window_seconds: float = 120.0  # drops closer than this form one outage
    wifi_site_outage_stations: int = 3  # stations dropping together = AP-wide outage
    wifi_flood_frames_per_second: float = 20.0  # deauth rate that is an attack
    wifi_flood_min_frames: int = 50
    wifi_interval_min_occurrences: int = 4  # fixed-interval periodicity needs this many
    wifi_interval_min_score: float = 0.8
    wifi_weekly_min_weeks: int = 3  # same weekday and time in this many distinct weeks
    wifi_pattern_max_p: float = 0.01  # chance that random drops line up this well (after trying every window)
    wifi_reconnect_horizon_seconds: float = 3600.0  # a reconnect later than this does not end the outage
    wifi_burst_window_seconds: float = 60.0  # DHCP / re-association burst: clients within this window
    wifi_beacon_gap_intervals: float = 20.0  # an AP silent for this many beacon intervals ...
    wifi_beacon_gap_min_seconds: float = 5.0  # ... and at least this long has gone down
    wifi_max_outages_reported: int = 100  # outages listed per finding
    # wifi: bounds on what is kept and listed
    wifi_max_events: int = 200_000  # observations kept per kind (disconnects, connects, gaps, rejoins)
    wifi_max_listed: int = 200  # stations (and finding hosts) listed per finding
    wifi_max_aps_listed: int = 50  # APs listed per finding
    wifi_max_outage_findings: int = 50  # one-off outage findings per scan
    wifi_reasons_listed: int = 5  # most frequent reason codes listed per finding
    wifi_heatmap_max_dates: int = 62  # heat-map rows (the most recent dates)
    wifi_heatmap_min_half_window_minutes: float = 5.0  # the marked window is at least +/- this wide
    # wifi: recurrence search
    wifi_interval_min_seconds: float = 300.0  # fixed-interval patterns shorter than this are not reported
    wifi_interval_max_seconds: float = 20 * 3600.0  # longer rhythms are daily/weekly (calendar) patterns
    wifi_interval_merge_tolerance: float = 0.1  # intervals within this fraction of each other are one pattern
    wifi_weekly_min_days_observed: int = 14  # a one-weekday daily cluster becomes weekly only with this much data
    # wifi: hints (plain-language leads in a pattern finding)
    wifi_hint_on_hour_minutes: float = 3.0  # a pattern this close to a full hour "starts on the hour" ...
    wifi_hint_on_hour_max_spread_minutes: float = 10.0  # ... when it is at least this tight
    wifi_hint_lunch_from_minute: float = 11 * 60 + 30  # lunchtime window (minute of day) for the microwave hint
    wifi_hint_lunch_to_minute: float = 14 * 60
    # wifi: deauthentication attacks
    wifi_flood_window_seconds: float = 1.0  # the flood rate is the most frames within this window
    wifi_attack_evidence_frames: int = 5  # frames cited as evidence per attack finding
    wifi_targeted_min_frames: int = 20  # frames between one AP and one station within the window below ...
    wifi_targeted_window_seconds: float = 1.0  # ... is a targeted deauthentication burst ...
    wifi_targeted_min_per_direction: int = 3  # ... when at least this many were "sent" each way (both spoofed)
    wifi_max_targeted_findings: int = 50  # targeted-attack findings per scan (one per AP and station)
    # file-sharing volume thresholds (bytes uploaded per client and service)
    upload_medium_bytes: int = 10 * 1024 * 1024
    upload_high_bytes: int = 100 * 1024 * 1024
    upload_critical_bytes: int = 1024 * 1024 * 1024
    # files e-mailed out (mail-server logs): messages at least this big to a personal mail domain
    mail_large_bytes: int = 5 * 1024 * 1024
    personal_mail_domains: list[str] = field(
        default_factory=lambda: [
            "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com",
            "ymail.com", "aol.com", "icloud.com", "me.com", "mac.com", "gmx.com", "gmx.net", "gmx.de", "web.de",
            "proton.me", "protonmail.com", "pm.me", "yandex.ru", "yandex.com", "mail.ru", "zoho.com",
            "tutanota.com", "tuta.io", "qq.com", "163.com", "orange.fr", "free.fr", "libero.it", "t-online.de",
        ]
    )
    # credentials
    password_field_names: list[str] = field(
        default_factory=lambda: [
            "password", "passwd", "pwd", "pass", "passwort", "kennwort", "mot_de_passe",
            "motdepasse", "mdp", "contrasena", "contraseña", "clave", "senha", "secret",
            "token", "pin", "passcode", "pw",
        ]
    )
    message_min_score: float = 0.6
    bruteforce_min_refused: int = 5  # refused logins from one client to one server that make a brute force ...
    bruteforce_min_distinct: int = 3  # ... when at least this many distinct secrets or user names were tried
    # resource bounds
    max_flows: int = 65536
    max_stream_bytes: int = 256 * 1024  # per direction of one TCP flow
    max_evidence: int = 20  # evidence rows kept per finding
    # service identification: look every unclaimed UDP flow up in the published ranges (Telegram calls, Zoom
    # media); about 20 us per datagram on ports no decoder claims, so a busy VoIP site may turn it off
    udp_range_lookup: bool = True
    # the site's declared networks (the rules file's ``site: networks:``, not a ``settings:`` key); empty: inferred
    site_networks: tuple[str, ...] = ()
    # the rules file's ``site: pseudonymize:``: user names, host names and MACs shown as the site's pseudonyms
    site_pseudonymize: bool = False

    @classmethod
    def known_keys(cls) -> set[str]:
        """The keys ``settings:`` may set (the ``site:`` ones are set by the site section)."""
        return {f.name for f in fields(cls)} - {"site_networks", "site_pseudonymize"}

    def updated(self, values: dict[str, Any]) -> Settings:
        """A copy with ``values`` applied; callers validate keys first."""
        merged = {f.name: getattr(self, f.name) for f in fields(self)}
        merged.update(values)
        return Settings(**merged)
