"""What access points log about themselves and their logins: wrong-passphrase bursts and restarts.

A station whose 4-way handshake fails on the passphrase (hostapd's
``AP-STA-POSSIBLE-PSK-MISMATCH``) retries every few seconds: a phone left with
last year's passphrase, or someone guessing it. An AP that logs ``AP-ENABLED``
again and again was restarted (a watchdog, a crashing driver, a scheduled job):
each restart drops every station. Both become findings; how much they matter is
the rules' call (rules/wifi.yaml).
"""

from __future__ import annotations

from collections import defaultdict

from detector.detectors.base import finding_id
from detector.findings.finding import Evidence, Finding
from detector.findings.wifi import ApRestartAttributes, PskMismatchAttributes
from detector.observations import WifiApEvent, WifiConnect
from detector.policy.settings import Settings
from detector.times import iso, trusted_ts

BURST_GAP = 60.0  # failed handshakes closer than this are one burst of retries
MIN_ATTEMPTS = 3  # failed handshakes of one station that make a finding (one typo is no finding)
MIN_STARTS = 3  # starts of one AP that make a finding (two restarts)
MAX_LISTED = 50


def psk_mismatch_findings(events: list[WifiApEvent], connects: list[WifiConnect],
                          settings: Settings) -> list[Finding]:
    tries: dict[tuple[str, str], list[WifiApEvent]] = defaultdict(list)
    for event in events:
        if event.event == "psk-mismatch" and event.station:
            tries[(event.ap, event.station)].append(event)
    joined = {(c.bssid, c.station): c.ts for c in sorted(connects, key=lambda c: c.ts)}
    return [_psk_finding(ap, station, sorted(seen, key=lambda e: e.ts), joined.get((ap, station)), settings)
            for (ap, station), seen in sorted(tries.items()) if len(seen) >= MIN_ATTEMPTS]


def _psk_finding(ap: str, station: str, seen: list[WifiApEvent], last_connect, settings: Settings) -> Finding:
    starts = [seen[0].ts] + [e.ts for previous, e in zip(seen, seen[1:]) if e.ts - previous.ts > BURST_GAP]
    peak = _peak_per_minute([e.ts for e in seen])
    connected = last_connect is not None and last_connect >= seen[-1].ts
    return Finding(
        id=finding_id(PskMismatchAttributes.detector, ap, station),
        title=f"Wrong Wi-Fi passphrase: {station} failed {len(seen)} handshake(s) on {ap}",
        first_seen=seen[0].ts,
        last_seen=seen[-1].ts,
        count=len(seen),
        hosts=[station],
        attributes=PskMismatchAttributes(
            ap=ap, station=station, attempts=len(seen), bursts=len(starts), peak_per_minute=peak,
            burst_starts=[iso(ts) for ts in starts[:MAX_LISTED]], connected_after=connected),
        evidence=[Evidence(iso(e.ts), e.where, f"{e.ap}: AP-STA-POSSIBLE-PSK-MISMATCH {e.station}")
                  for e in seen[:settings.max_evidence]],
    )


def _peak_per_minute(stamps: list[float]) -> int:
    """Most stamps (sorted) within any 60 seconds: a sliding window, linear."""
    peak = first = 0
    for last, ts in enumerate(stamps):
        while ts - stamps[first] >= 60.0:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def restart_findings(events: list[WifiApEvent], settings: Settings) -> list[Finding]:
    """APs that came up again and again. Only starts with a clock that can be believed count: a log of
    untimestamped runs strung together says how often hostapd was started, not how often the AP restarts."""
    starts: dict[str, list[WifiApEvent]] = defaultdict(list)
    stops: dict[str, int] = defaultdict(int)
    for event in events:
        if not trusted_ts(event.ts, None):
            continue
        if event.event == "ap-enabled":
            starts[event.ap].append(event)
        elif event.event == "ap-disabled":
            stops[event.ap] += 1
    return [_restart_finding(ap, sorted(seen, key=lambda e: e.ts), stops[ap], settings)
            for ap, seen in sorted(starts.items()) if len(seen) >= MIN_STARTS]


def _restart_finding(ap: str, seen: list[WifiApEvent], stops: int, settings: Settings) -> Finding:
    gaps = sorted(b.ts - a.ts for a, b in zip(seen, seen[1:]))
    return Finding(
        id=finding_id(ApRestartAttributes.detector, ap),
        title=f"Access point {ap} started {len(seen)} times ({len(seen) - 1} restarts)",
        first_seen=seen[0].ts,
        last_seen=seen[-1].ts,
        count=len(seen),
        hosts=[],
        attributes=ApRestartAttributes(
            ap=ap, starts=len(seen), restarts=len(seen) - 1, stops=stops,
            start_times=[iso(e.ts) for e in seen[:MAX_LISTED]],
            typical_interval_s=round(gaps[len(gaps) // 2], 1) if gaps else None),
        evidence=[Evidence(iso(e.ts), e.where, f"{e.ap}: AP-ENABLED") for e in seen[:settings.max_evidence]],
    )
