"""Windows ``.evtx`` event logs, written by ``tests/evtx_writer.py``, through the real pipeline."""

from __future__ import annotations

import importlib.util
import io
import os
import struct
from pathlib import Path

import pytest

from detector.documents import evtx as evtx_decoder
from detector.documents.evtx import EvtxDecoder
from detector.logs.base import LogContext
from detector.observations import WifiConnect, WifiDisconnect
from tests.evtx_writer import (
    CHUNK_HEADER_SIZE,
    CHUNK_SIZE,
    FILE_HEADER_SIZE,
    evtx_file,
    windows_event,
    windows_template_event,
)
from tests.scanning import by_detector, scan_files
from tests.wifi_packets import HOSTS, STATIONS, Schedule, add_random_drops, add_roaming, at, daily_outage

WLAN = "Microsoft-Windows-WLAN-AutoConfig"
GUID = "{0d3e1a5b-aaaa-bbbb-cccc-000000000001}"
DRIVER = "The network is disconnected by the driver."
needs_evtx = pytest.mark.skipif(importlib.util.find_spec("evtx") is None, reason="the evtx package is not installed")


def wlan_events(schedule: Schedule, make=windows_event) -> list:
    """The schedule as WLAN-AutoConfig events: 8003 for each drop, 8001 for each (re)connect."""
    events = []
    for e in schedule.sorted():
        data = {"InterfaceGuid": GUID, "SSID": "Corp & Guests"}
        if e.kind == "drop":
            data["Reason"] = DRIVER
        events.append((e.ts, make(WLAN, 8003 if e.kind == "drop" else 8001, e.ts, data, HOSTS[e.station])))
    return events


def write_evtx(path: Path, events: list, per_chunk: int = 40) -> Path:
    path.write_bytes(evtx_file(events, per_chunk))
    mtime = at(6, 12, 0)
    os.utime(path, (mtime, mtime))
    return path


def decode(data: bytes) -> tuple[list, object]:
    seen: list = []
    stats = EvtxDecoder().decode(io.BytesIO(data), LogContext("office.evtx"), seen.append)
    return seen, stats


def drop_events(count: int, start: float = 1_793_628_310.0) -> list:
    return [(start + i, windows_event(WLAN, 8003, start + i, {"SSID": "Office", "Reason": DRIVER}, f"pc-{i}"))
            for i in range(count)]


@needs_evtx
def test_writer_output_round_trips_through_the_library():
    from evtx import PyEvtxParser

    events = drop_events(5)
    ts = events[-1][0]
    events.append((ts, windows_template_event(WLAN, 8003, ts, {"SSID": "Office", "Reason": DRIVER}, "pc-4")))
    data = evtx_file(events, per_chunk=2)
    assert len(data) == FILE_HEADER_SIZE + 3 * CHUNK_SIZE
    records = list(PyEvtxParser(io.BytesIO(data)).records())
    assert [r["event_record_id"] for r in records] == [1, 2, 3, 4, 5, 6]
    xml = records[0]["data"]
    assert f'<Provider Name="{WLAN}">' in xml and "<EventID>8003</EventID>" in xml
    assert '<TimeCreated SystemTime="2026-11-02T14:05:10.000000Z">' in xml
    assert '<Data Name="SSID">Office</Data>' in xml and f'<Data Name="Reason">{DRIVER}</Data>' in xml
    assert "<Computer>pc-0</Computer>" in xml and records[0]["timestamp"].startswith("2026-11-02T14:05:10")
    assert records[5]["data"] == records[4]["data"]  # the template form renders exactly like the plain one


@needs_evtx
@pytest.mark.parametrize("make", [windows_event, windows_template_event], ids=["plain", "template"])
def test_daily_schedule_from_evtx_is_one_daily_pattern(tmp_path, make):
    schedule = add_random_drops(add_roaming(daily_outage()))
    path = write_evtx(tmp_path / "Microsoft-Windows-WLAN-AutoConfig%4Operational.evtx", wlan_events(schedule, make))
    findings, inputs, _ = scan_files(path)
    assert inputs[0].kind == "doc:windows-evtx" and inputs[0].warnings == []
    assert inputs[0].records == len(schedule.events) and inputs[0].skipped == 0
    (pattern,) = by_detector(findings, "wifi.recurring")
    attributes = pattern.attributes
    assert attributes.pattern == "daily"
    hour, minute = map(int, attributes.time_of_day.split(":"))
    assert hour == 14 and 1 <= minute <= 9
    assert attributes.days_with_drop == 5 and attributes.days_observed == 6
    assert len(attributes.dates) == 5 and "2026-03-05" not in attributes.dates
    assert 60 <= attributes.typical_duration_s <= 80
    assert len(attributes.stations) == len(STATIONS)


@needs_evtx
def test_fields_and_other_providers():
    other = [(1.0e9, windows_event("Microsoft-Windows-Kernel-Power", 8003, 1.0e9, {"SSID": "x"})),
             (1.0e9 + 1, windows_event("Service Control Manager", 7036, 1.0e9 + 1, {"param1": "WLAN AutoConfig"}))]
    wlan = [(1.0e9 + 2, windows_event(WLAN, 8001, 1.0e9 + 2, {"SSID": "Corp & Guests", "BSSID": "10-20-30-40-50-60"},
                                      "laptop-1")),
            (1.0e9 + 3, windows_event(WLAN, 8003, 1.0e9 + 3, {"SSID": "Corp", "Reason": "The network is "
                                                              "disconnected by the user."})),
            (1.0e9 + 4, windows_event(WLAN, 12013, 1.0e9 + 4, {"SSID": "Corp"}, "laptop-1"))]
    seen, stats = decode(evtx_file(other + wlan))
    assert stats.records == 5 and stats.malformed == 0
    connect, leave, failure = seen
    assert isinstance(connect, WifiConnect) and connect.ssid == "Corp & Guests"
    assert connect.bssid == "10:20:30:40:50:60" and connect.station == "laptop-1" and connect.ts == 1.0e9 + 2
    assert isinstance(leave, WifiDisconnect) and leave.station == "office" and leave.direction == "sta-to-ap"
    assert (failure.subtype, failure.reason) == ("auth-failure", 23)


@needs_evtx
def test_file_cut_inside_a_chunk_keeps_the_records_before_the_cut():
    data = evtx_file(drop_events(6), per_chunk=3)
    second_chunk = FILE_HEADER_SIZE + CHUNK_SIZE
    first_size = struct.unpack_from("<I", data, second_chunk + CHUNK_HEADER_SIZE + 4)[0]
    cut = second_chunk + CHUNK_HEADER_SIZE + first_size + 100  # inside the second record of chunk 2
    seen, stats = decode(data[:cut])
    assert [o.station for o in seen] == ["pc-0", "pc-1", "pc-2", "pc-3"]
    assert stats.malformed >= 1
    assert any("ends inside a chunk" in w for w in stats.warnings)


@needs_evtx
def test_corrupted_record_is_counted_and_the_others_are_read():
    data = bytearray(evtx_file(drop_events(4)))
    first = FILE_HEADER_SIZE + CHUNK_HEADER_SIZE
    second = first + struct.unpack_from("<I", data, first + 4)[0]
    data[second + 28] = 0xEE  # the token after the fragment header of record 2: not a BinXML token
    seen, stats = decode(bytes(data))
    assert [o.station for o in seen] == ["pc-0", "pc-2", "pc-3"]
    assert (stats.records, stats.malformed) == (4, 1)
    assert any("unreadable evtx record" in w for w in stats.warnings)


@needs_evtx
def test_damaged_file_header_is_a_warning(tmp_path):
    path = tmp_path / "short.evtx"
    path.write_bytes(b"ElfFile\x00" + bytes(200))
    findings, inputs, _ = scan_files(path)
    assert inputs[0].kind == "doc:windows-evtx" and inputs[0].records == 0 and inputs[0].warnings
    assert by_detector(findings, "wifi.recurring") == []


def test_other_binaries_are_not_claimed(tmp_path):
    decoder = EvtxDecoder()
    assert decoder.sniff(b"ElfFile\x00" + bytes(120)) == 1.0
    for head in (b"ElfChnk\x00" + bytes(100), b"\x7fELF\x02\x01\x01" + bytes(100), b"PK\x03\x04" + bytes(50), b""):
        assert decoder.sniff(head) == 0.0
    blob = tmp_path / "firmware.bin"
    blob.write_bytes(b"\x00\x01ElfFile\x00" + bytes(5000))
    _, inputs, _ = scan_files(blob)
    assert inputs[0].kind == "unsupported"


def test_without_the_package_an_evtx_input_gets_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(evtx_decoder, "_parser_class", lambda: None)
    path = tmp_path / "wlan.evtx"
    path.write_bytes(evtx_file(drop_events(2)))
    findings, inputs, _ = scan_files(path)
    assert inputs[0].kind == "doc:windows-evtx" and inputs[0].records == 0
    assert any("needs the 'evtx' package" in w for w in inputs[0].warnings)
    assert by_detector(findings, "wifi.recurring") == []
