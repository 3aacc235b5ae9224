"""End to end: a known schedule written in every source format must come back as exactly that pattern."""

from __future__ import annotations

import os

import pytest

from detector.samples import write_pcap
from tests.scanning import by_detector, scan_files
from tests.wifi_packets import (
    AP1,
    STATIONS,
    Event,
    Schedule,
    add_random_drops,
    add_roaming,
    at,
    daily_outage,
    dhcp_packets,
    hostapd_log,
    macos_logs,
    mikrotik_log,
    morning_connects,
    networkmanager_log,
    unifi_log,
    windows_csv,
    windows_xml,
    wpa_supplicant_log,
    write_capture,
)

MTIME = at(6, 12, 0)


def _text(path, lines) -> object:
    path.write_text("\n".join(lines) + "\n" if isinstance(lines, list) else lines)
    os.utime(path, (MTIME, MTIME))
    return path


def write_source(kind: str, schedule: Schedule, folder) -> list:
    if kind == "radiotap":
        return [write_capture(folder / "monitor.pcap", schedule)]
    if kind == "dhcp":
        return [write_pcap(folder / "wired.pcap", dhcp_packets(schedule))]
    if kind == "macos":
        return [_text(folder / f"{host}.log", lines) for host, lines in macos_logs(schedule).items()]
    render = {"hostapd": hostapd_log, "wpa_supplicant": wpa_supplicant_log, "networkmanager": networkmanager_log,
              "mikrotik": mikrotik_log, "unifi": unifi_log, "xml": windows_xml, "csv": windows_csv}[kind]
    suffix = {"xml": ".xml", "csv": ".csv"}.get(kind, ".log")
    return [_text(folder / f"{kind}{suffix}", render(schedule))]


SOURCES = ["radiotap", "hostapd", "wpa_supplicant", "networkmanager", "macos", "mikrotik", "unifi", "xml", "csv",
           "dhcp"]


@pytest.mark.parametrize("kind", SOURCES)
def test_daily_schedule_is_found_in_every_source(kind, tmp_path):
    schedule = add_random_drops(add_roaming(daily_outage()))
    findings, inputs, _ = scan_files(*write_source(kind, schedule, tmp_path))
    assert all(not record.warnings or "malformed" not in " ".join(record.warnings) for record in inputs)
    patterns = by_detector(findings, "wifi.recurring")
    assert len(patterns) == 1, [(p.title, p.attributes.pattern) for p in patterns]
    attributes = patterns[0].attributes
    assert attributes.pattern == "daily"
    hour, minute = map(int, attributes.time_of_day.split(":"))
    assert hour == 14 and 1 <= minute <= 9
    assert attributes.spread_minutes <= 5
    assert attributes.days_with_drop == 5
    assert attributes.days_observed == 6
    assert len(attributes.dates) == 5 and "2026-03-05" not in attributes.dates
    assert attributes.occurrences == 5
    if kind != "dhcp":
        assert 60 <= attributes.typical_duration_s <= 80
        assert len(attributes.stations) == len(STATIONS)
    heatmap = attributes.heatmap
    assert len(heatmap["dates"]) == 6 and heatmap["window"][0] < 14 * 60 + 5 < heatmap["window"][1]
    assert any(hour == 14 and count >= 1 for _, hour, count in heatmap["cells"])
    assert len(attributes.outages) == 5 and all(o["start"].startswith("2026-03-0") for o in attributes.outages)


@pytest.mark.parametrize("kind", ["radiotap", "hostapd", "wpa_supplicant", "mikrotik"])
def test_roaming_only_and_random_drops_only_yield_no_pattern(kind, tmp_path):
    for name, schedule in (("roam", add_roaming(Schedule())), ("random", add_random_drops(Schedule(), count=14))):
        morning_connects(schedule, 6)
        folder = tmp_path / name
        folder.mkdir()
        findings, _, _ = scan_files(*write_source(kind, schedule, folder))
        assert by_detector(findings, "wifi.recurring") == [], (name, [f.title for f in findings])


def test_time_zone_moves_the_time_of_day(tmp_path):
    schedule = daily_outage()
    log = _text(tmp_path / "ap.log", hostapd_log(schedule, tz=7200))  # AP logs in local time, UTC+2
    first_drop = min(e.ts for e in schedule.events if e.kind == "drop")
    findings, _, _ = scan_files(log, tz=7200)
    (pattern,) = by_detector(findings, "wifi.recurring")
    assert pattern.attributes.time_of_day.startswith("16:")  # 14:05 UTC is 16:05 at the office
    assert pattern.first_seen == pytest.approx(first_drop, abs=1)
    findings, _, _ = scan_files(log)  # no --tz: lines without an offset are read as UTC
    (pattern,) = by_detector(findings, "wifi.recurring")
    assert pattern.attributes.time_of_day.startswith("16:")
    assert pattern.first_seen == pytest.approx(first_drop + 7200, abs=1)


def test_interval_pattern_every_four_hours(tmp_path):
    schedule = Schedule()
    morning_connects(schedule, 3)
    for n in range(18):
        start = at(0, 1, 0) + n * 4 * 3600 + (n % 3) * 40
        for i, station in enumerate(STATIONS[:3]):
            schedule.drop(start + i, station, reason=2, back_after=20)
    findings, _, _ = scan_files(write_capture(tmp_path / "w.pcap", schedule))
    (pattern,) = by_detector(findings, "wifi.recurring")
    assert pattern.attributes.pattern == "interval"
    assert pattern.attributes.interval_minutes == pytest.approx(240, abs=2)
    assert pattern.attributes.regularity >= 0.8
    assert "every 4 h" in pattern.attributes.hint and "reason 2" in pattern.attributes.hint


def test_weekly_pattern_same_weekday(tmp_path):
    schedule = Schedule()
    for week in range(4):
        day = week * 7 + 2  # Wednesdays
        for i, station in enumerate(STATIONS):
            schedule.events.append(Event(at(day, 6, 50 + i), station, AP1, "connect"))
            schedule.drop(at(day, 7, 0, 10 + i), station, reason=23, back_after=300)
    schedule.drop(at(26, 12, 0), STATIONS[0], back_after=10)  # the capture runs to the end of week 4
    findings, _, _ = scan_files(write_capture(tmp_path / "w.pcap", schedule))
    (pattern,) = by_detector(findings, "wifi.recurring")
    assert pattern.attributes.pattern == "weekly"
    assert pattern.attributes.weekday == "Wednesday"
    assert pattern.attributes.time_of_day == "07:00"
    assert "on the hour" in pattern.attributes.hint and "reason 23" in pattern.attributes.hint


def test_report_draws_the_heatmap(tmp_path):
    from click.testing import CliRunner

    from detector.cli import main  # noqa: F401  (the CLI is what a consultant runs)

    capture = write_capture(tmp_path / "w.pcap", add_roaming(daily_outage()))
    report = tmp_path / "w.html"
    result = CliRunner().invoke(main, ["scan", str(capture), "--report", str(report), "--quiet"])
    assert result.exit_code in (0, 1), result.output
    html = report.read_text()
    assert "<svg" in html and "Wi-Fi drops by hour of day" in html
