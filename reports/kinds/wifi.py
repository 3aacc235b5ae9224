"""How the report shows Wi-Fi findings: recurring drops, outages, deauthentication floods and attacks."""

from __future__ import annotations

from typing import Any, Optional

from detector.detectors.wifi.events import duration_text
from detector.findings.finding import Finding
from detector.findings.wifi import (
    ApRestartAttributes,
    DeauthFloodAttributes,
    DeauthSummaryAttributes,
    OutageAttributes,
    PskMismatchAttributes,
    RecurringDropAttributes,
    TargetedDeauthAttributes,
)
from reports import svg
from reports.advice import FIX_PASSPHRASE, FIX_RESTARTS, FIX_WIFI, Advice
from reports.attributes import Combined
from reports.events import OUTAGE, TimelineEvent, bounded, simple_events
from reports.fmt import clip, human_duration, joined, number, to_timestamp, when_seconds
from reports.i18n import N_, _, ngettext
from reports.kinds.base import A, OutagePanel, Presentation, presents, title_of

MAX_OUTAGE_ROWS = 60
WEEKDAYS = {day: day for day in (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
                                 N_("Saturday"), N_("Sunday"))}
DROPS_ADVICE = Advice(N_("Recurring Wi-Fi drops"), FIX_WIFI)
COUNTS_ADVICE = Advice(N_("Disconnect frames counted"),
                       N_("Nothing to do on its own: the counts explain the drops and attacks beside them."))
ATTACK_ADVICE = Advice(N_("Devices forced off the Wi-Fi"), FIX_WIFI)
PASSPHRASE_ADVICE = Advice(N_("Wrong Wi-Fi passphrase"), FIX_PASSPHRASE)
RESTART_ADVICE = Advice(N_("Access point restarting"), FIX_RESTARTS)


class WifiPresentation(Presentation[A]):
    """Every Wi-Fi finding is an outage on the timeline, sanctioned or not: staff work around it either way."""

    def timeline_events(self, finding: Finding[A], index: int) -> list[TimelineEvent]:
        events = _outage_events(self.outages(finding), finding, index)
        if events:
            return events
        # Without per-outage station lists, one site-level row per day reads better
        # than one row per station; workarounds then match any host on the site.
        aps = self.access_points(finding)
        where = f"Wi-Fi {joined(aps, max_items=3, limit=40)}" if aps else _("Wi-Fi (site-wide)")
        return simple_events(finding, index, OUTAGE, _("Wi-Fi outage"), [where])

    def outages(self, finding: Finding[A]) -> list[dict[str, Any]]:
        """``[{start, duration_s, stations, aps}]`` when the kind lists its outages."""
        return []

    def access_points(self, finding: Finding[A]) -> Any:
        """The access points (names or BSSIDs) the finding is about."""
        return None


class NetworkPresentation(WifiPresentation[A]):
    """Kinds about one network (BSSID, SSID): that network is their subject."""

    def subject(self, finding: Finding[Any]) -> str:
        attrs = finding.attributes
        return clip(attrs.ssid or attrs.bssid, 60) or clip(title_of(finding), 120)

    @staticmethod
    def rate(attrs: Any) -> str:
        return f"{number(attrs.peak_per_second) or 0:g}"

    def access_points(self, finding: Finding[Any]) -> Any:
        return finding.attributes.bssid


@presents(RecurringDropAttributes)
class RecurringDropPresentation(WifiPresentation[RecurringDropAttributes]):
    advice = DROPS_ADVICE
    combined = (Combined(("days_with_drop", "days_observed"), lambda attrs: _days(attrs),
                         N_("Days with drops / observed")),)

    def title(self, finding: Finding[RecurringDropAttributes]) -> str:
        attrs = finding.attributes
        values = {"time": attrs.time_of_day, "days": attrs.days_with_drop, "observed": attrs.days_observed,
                  "stations": len(attrs.stations)}
        if attrs.pattern == "weekly" and attrs.weekday:
            text = _("Wi-Fi drops every {weekday} around {time} ({days} of {observed} days, {stations} station(s))")
            values["weekday"] = _(WEEKDAYS.get(attrs.weekday, attrs.weekday))
        elif attrs.pattern == "interval" and attrs.interval_minutes:
            text = _("Wi-Fi drops every {interval} (first at {time}) ({days} of {observed} days, {stations} "
                     "station(s))")
            values["interval"] = duration_text(attrs.interval_minutes * 60)
        else:
            text = _("Wi-Fi drops every day around {time} ({days} of {observed} days, {stations} station(s))")
        return text.format(**values)

    def outages(self, finding: Finding[RecurringDropAttributes]) -> list[dict[str, Any]]:
        return finding.attributes.outages

    def access_points(self, finding: Finding[RecurringDropAttributes]) -> Any:
        return finding.attributes.aps

    def outage_panel(self, finding: Finding[RecurringDropAttributes]) -> Optional[OutagePanel]:
        return _panel(svg.heatmap(finding.attributes.heatmap), finding.attributes.outages)


@presents(OutageAttributes)
class OutagePresentation(WifiPresentation[OutageAttributes]):
    advice = DROPS_ADVICE

    def title(self, finding: Finding[OutageAttributes]) -> str:
        attrs = finding.attributes
        return _("Wi-Fi outage at {start}: {stations} station(s) on {aps}").format(
            start=when_seconds(attrs.start), stations=attrs.stations,
            aps=", ".join(attrs.aps[:3]) or _("unknown AP"))

    def outages(self, finding: Finding[OutageAttributes]) -> list[dict[str, Any]]:
        return finding.attributes.outages

    def access_points(self, finding: Finding[OutageAttributes]) -> Any:
        return finding.attributes.aps

    def outage_panel(self, finding: Finding[OutageAttributes]) -> Optional[OutagePanel]:
        return _panel(None, finding.attributes.outages)


@presents(DeauthSummaryAttributes)
class DeauthSummaryPresentation(NetworkPresentation[DeauthSummaryAttributes]):
    advice = COUNTS_ADVICE

    def title(self, finding: Finding[DeauthSummaryAttributes]) -> str:
        attrs = finding.attributes
        network = f"{attrs.bssid} ({attrs.ssid})" if attrs.ssid else attrs.bssid
        return _("Disconnect frames on {network}: {deauth} deauthentication, {disassoc} disassociation, "
                 "{stations} station(s)").format(network=network, deauth=attrs.deauth, disassoc=attrs.disassoc,
                                                 stations=len(attrs.stations))


@presents(DeauthFloodAttributes)
class FloodPresentation(NetworkPresentation[DeauthFloodAttributes]):
    advice = ATTACK_ADVICE

    def title(self, finding: Finding[DeauthFloodAttributes]) -> str:
        attrs = finding.attributes
        return _("Deauthentication flood against {bssid}: {frames} frames, up to {rate}/s").format(
            bssid=attrs.bssid, frames=attrs.frames, rate=self.rate(attrs))


@presents(TargetedDeauthAttributes)
class TargetedAttackPresentation(NetworkPresentation[TargetedDeauthAttributes]):
    advice = ATTACK_ADVICE

    def title(self, finding: Finding[TargetedDeauthAttributes]) -> str:
        attrs = finding.attributes
        return _("Targeted deauthentication attack on {station} via {bssid}: {frames} frames in {bursts} burst(s), "
                 "up to {rate}/s, spoofed in both directions").format(
            station=attrs.station, bssid=attrs.bssid, frames=attrs.frames, bursts=attrs.bursts,
            rate=self.rate(attrs))


@presents(PskMismatchAttributes)
class PskMismatchPresentation(Presentation[PskMismatchAttributes]):
    """A login problem, not an outage: nothing on the outage timeline."""

    advice = PASSPHRASE_ADVICE

    def title(self, finding: Finding[PskMismatchAttributes]) -> str:
        attrs = finding.attributes
        return _("Wrong Wi-Fi passphrase: {station} failed {count} handshake(s) on {ap}").format(
            station=attrs.station, count=attrs.attempts, ap=attrs.ap)

    def subject(self, finding: Finding[PskMismatchAttributes]) -> str:
        return clip(f"{finding.attributes.station} @ {finding.attributes.ap}", 120)


@presents(ApRestartAttributes)
class ApRestartPresentation(WifiPresentation[ApRestartAttributes]):
    advice = RESTART_ADVICE

    def title(self, finding: Finding[ApRestartAttributes]) -> str:
        attrs = finding.attributes
        return _("Access point {ap} started {count} times ({restarts} restarts)").format(
            ap=attrs.ap, count=attrs.starts, restarts=attrs.restarts)

    def subject(self, finding: Finding[ApRestartAttributes]) -> str:
        return clip(finding.attributes.ap, 60) or clip(finding.title, 120)

    def access_points(self, finding: Finding[ApRestartAttributes]) -> Any:
        return finding.attributes.ap


def _panel(chart: Any, outages: list[dict[str, Any]]) -> Optional[OutagePanel]:
    if chart is None and not outages:
        return None
    rows = [_outage_row(o) for o in outages[:MAX_OUTAGE_ROWS] if isinstance(o, dict)]
    return OutagePanel(chart, rows, max(0, len(outages) - MAX_OUTAGE_ROWS))


def _outage_row(outage: dict[str, Any]) -> tuple[str, str, str]:
    stations = outage.get("stations")
    if isinstance(stations, list):
        text = f"{len(stations)}: {joined(stations, max_items=6, limit=40)}"
    else:
        text = clip(stations, 20) if stations is not None else "-"
    return when_seconds(outage.get("start")), human_duration(outage.get("duration_s")), text


def _days(attrs: RecurringDropAttributes) -> str:
    seen, total = attrs.days_with_drop, attrs.days_observed
    return f"{seen} / {total}" if total else str(seen)


def _outage_events(outages: list[dict[str, Any]], finding: Finding[Any], index: int) -> list[TimelineEvent]:
    """One event per outage and station that dropped (the finding's devices when it names none)."""
    events: list[TimelineEvent] = []
    for outage in outages:
        if not isinstance(outage, dict):
            continue
        ts = to_timestamp(outage.get("start"))
        if ts is None:
            continue
        stations = outage.get("stations")
        hosts = stations if isinstance(stations, list) and stations else finding.hosts
        label = _outage_label(outage)
        events.extend(TimelineEvent(ts, clip(h, 80), OUTAGE, label, index) for h in bounded(hosts))
    return events


def _outage_label(outage: dict[str, Any]) -> str:
    stations = outage.get("stations")
    count = len(stations) if isinstance(stations, list) else number(stations)
    parts = [f"{_('Wi-Fi outage')} {human_duration(outage.get('duration_s'))}"]
    if count is not None:
        parts.append(ngettext("%(num)d station", "%(num)d stations", int(count)) % {"num": int(count)})
    return ", ".join(parts)
