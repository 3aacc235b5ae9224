"""Recurring Wi-Fi drops: the schedule behind "the Wi-Fi cuts out every day".

Every source (802.11 frames, beacon gaps, AP/controller/client logs, DHCP
bursts on the wire) is normalised to drops. Deauthentication floods and
bursts aimed at one client become their own attack findings, every BSSID's
disconnect frames are counted (an info finding), roaming is discarded, and lone station-initiated
leaves are dropped unless they cluster. Drops close in time form outages;
outages are then searched for fixed-interval, daily (time-of-day on the
24-hour circle) and weekly patterns. Each pattern says when, how often, how
long, who was hit and what the evidence suggests.

Modules: ``events`` (sources to drops to outages, clocks, durations),
``attacks`` (floods, targeted bursts, frame counts per BSSID), ``ap_events``
(wrong-passphrase bursts and AP restarts from AP logs), ``patterns``
(recurrence search, heat map, hint; statistics in ``recurrence``) and
``findings`` (patterns and outages as findings). This module only collects the
observations and runs the steps in order.
"""

from __future__ import annotations

import dataclasses
import time

from detector.detectors.base import Detector, DetectorContext
from detector.detectors.wifi.ap_events import psk_mismatch_findings, restart_findings
from detector.detectors.wifi.attacks import (
    TargetedAttack,
    flood_finding,
    frames_by_bssid,
    split_floods,
    split_targeted,
    summary_finding,
    targeted_finding,
)
from detector.detectors.wifi.events import (
    ConnectIndex,
    Drop,
    LocalClock,
    ObservedDays,
    burst_outages,
    group_outages,
    is_site_outage,
    outage_duration,
    to_drops,
    usable_ts,
)
from detector.detectors.wifi.findings import FindingWriter
from detector.detectors.wifi.patterns import PatternSearch
from detector.findings.finding import Finding
from detector.observations import (
    DhcpClientRequest,
    GratuitousArp,
    Observation,
    WifiApEvent,
    WifiBeaconGap,
    WifiConnect,
    WifiDisconnect,
)
from detector.times import trusted_ts


class WifiDropDetector(Detector):
    name = "wifi"
    consumes = (WifiDisconnect, WifiConnect, WifiBeaconGap, DhcpClientRequest, GratuitousArp, WifiApEvent)

    def __init__(self, ctx: DetectorContext):
        super().__init__(ctx)
        self.disconnects: list[WifiDisconnect] = []
        self.connects: list[WifiConnect] = []
        self.gaps: list[WifiBeaconGap] = []
        self.dhcp: list = []  # DhcpClientRequest and GratuitousArp: hosts rejoining the LAN
        self.ap_events: list[WifiApEvent] = []
        self.clock = LocalClock(ctx.zone)
        self.all_drops: list[Drop] = []
        self.days = ObservedDays()
        self.scan_time = time.time()  # clocks before 2000 or a day ahead of it are kept out of recurrence

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, WifiDisconnect):
            target: list = self.disconnects
        elif isinstance(obs, WifiConnect):
            target = self.connects
        elif isinstance(obs, WifiBeaconGap):
            target = self.gaps
        elif isinstance(obs, (DhcpClientRequest, GratuitousArp)):
            target = self.dhcp
        elif isinstance(obs, WifiApEvent):
            target = self.ap_events
        else:
            return
        if len(target) < self.ctx.settings.wifi_max_events:
            ts = usable_ts(obs.ts)
            target.append(obs if ts == obs.ts else dataclasses.replace(obs, ts=ts))  # absurd time: unknown

    def finish(self) -> list[Finding]:
        s = self.ctx.settings
        connects = ConnectIndex(self.connects)
        events = sorted(self.disconnects, key=lambda e: e.ts)
        attacks, events = split_targeted(events, s)
        frames = frames_by_bssid(events)  # an attack's frames are counted by its own finding only
        floods, events = split_floods(events, s)
        findings = [flood_finding(bssid, flooded, s) for bssid, flooded in floods.items()]
        findings += [targeted_finding(a, s) for a in attacks[:s.wifi_max_targeted_findings]]
        findings += self._summaries(frames, attacks, set(floods))
        outages = group_outages(to_drops(events, self.gaps, connects, s), s)
        outages += burst_outages(self.dhcp, self.connects, outages, s, self.clock)
        outages.sort(key=lambda o: o.start)
        for outage in outages:
            outage.duration = outage_duration(outage, connects, s)
        self.all_drops = [d for o in outages for d in o.drops]
        self.days = ObservedDays.spanning([t for t in self._stamps() if trusted_ts(t, self.scan_time)], self.clock)
        patterns = PatternSearch(s, self.clock, self.days).find(
            [o for o in outages if trusted_ts(o.start, self.scan_time)])
        writer = FindingWriter(s, self.clock, self.days, self.all_drops)
        findings += [writer.pattern_finding(p) for p in patterns]
        in_pattern = {id(o) for p in patterns for o in p.outages}
        lone = [o for o in outages if id(o) not in in_pattern and is_site_outage(o, s)]
        findings += [writer.outage_finding(o) for o in lone[:s.wifi_max_outage_findings]]
        findings += psk_mismatch_findings(self.ap_events, self.connects, s)
        findings += restart_findings(self.ap_events, s)
        return findings

    def _summaries(self, frames: dict[str, list[WifiDisconnect]], attacks: list[TargetedAttack],
                   flooded: set[str]) -> list[Finding]:
        """Frame counts for every BSSID not already summed up by a flood finding, without attack frames."""
        attack_frames: dict[str, int] = {}
        for attack in attacks:
            attack_frames[attack.bssid] = attack_frames.get(attack.bssid, 0) + len(attack.frames)
        return [summary_finding(bssid, seen, attack_frames.get(bssid, 0), self.ctx.settings)
                for bssid, seen in frames.items() if bssid not in flooded]

    def _stamps(self) -> list[float]:
        stamps = [e.ts for e in self.disconnects] + [c.ts for c in self.connects]
        return stamps + [g.ts for g in self.gaps] + [r.ts for r in self.dhcp]


__all__ = ["WifiDropDetector"]
