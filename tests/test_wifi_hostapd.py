"""hostapd logs: linear-time parsing of hostile long lines (issue 13) and `hostapd -d` debug output (issue 11)."""

from __future__ import annotations

import time

import pytest

from detector.logs.base import LogContext
from detector.logs.hostapd import HostapdDecoder
from detector.observations import WifiConnect, WifiDisconnect
from tests.scanning import by_detector, scan_files

STA = "aa:bb:cc:00:00:01"
STA2 = "aa:bb:cc:00:00:02"
STA3 = "aa:bb:cc:00:00:03"

# Lines that made the old unanchored `[\w.-]+` patterns backtrack over the whole line, from every position.
HOSTILE_LINES = {
    "word run": "a" * 16384,
    "dotted run": "wlan0." * 2730,
    "word run before the keyword": "a" * 16300 + ": AP-STA-DISCONNECTED x",
    "word run before IEEE": "b-" * 8150 + ": STA " + STA + " IEEE 802.11: ",
    "repeated prefixes": "wlan0: STA " * 1490 + "AP-STA-CONNECTED",
    "repeated debug frames": "deauthentication: STA=" * 740,
    "repeated AP down": ("x" * 60 + ":AP-DISABLED ") * 220,
}


def _parse_seconds(lines: list[str]) -> float:
    parser = HostapdDecoder().parser(LogContext("hostile.log", 2026, None))
    started = time.perf_counter()
    for number, line in enumerate(lines, 1):
        parser.parse(line, f"hostile.log:line {number}", lambda obs: None)
    parser.finish(lambda obs: None)
    return time.perf_counter() - started


@pytest.mark.parametrize("name", sorted(HOSTILE_LINES))
def test_a_16_kb_line_parses_in_milliseconds(name):
    line = HOSTILE_LINES[name]
    assert len(line) >= 16_000
    assert _parse_seconds([line]) < 0.05  # the old patterns took ~20 s on the first one


def test_a_log_of_fifty_hostile_lines_parses_well_under_a_second_per_megabyte():
    lines = [HOSTILE_LINES[name] for name in sorted(HOSTILE_LINES)] * 8
    lines = lines[:50]
    megabytes = sum(len(line) + 1 for line in lines) / 1e6
    assert megabytes >= 0.8
    assert _parse_seconds(lines) / megabytes < 0.5


def test_a_hostile_log_through_the_scanner_is_hostapd_with_counted_malformed_lines(tmp_path):
    log = tmp_path / "hostapd.log"
    log.write_text("wlan0: AP-ENABLED\n" + "\n".join(list(HOSTILE_LINES.values()) * 7) + "\n"
                   f"wlan0: AP-STA-CONNECTED {STA}\n")
    started = time.perf_counter()
    _, inputs, _ = scan_files(log)
    assert time.perf_counter() - started < 5.0
    assert inputs[0].kind == "log:hostapd"
    assert inputs[0].skipped == 7 * len(HOSTILE_LINES)  # longer than any real log line: counted, skipped


# ---------------------------------------------------------------- hostapd -d

def _debug_log(t0: float = 1_700_000_000.0) -> list[str]:
    """What `hostapd -dt` prints: start-up, a station joining, leaving itself, a deauth, an idle timeout."""
    def at(seconds: float, text: str) -> str:
        return f"{t0 + seconds:.6f}: {text}"

    def burst(start: float, *texts: str) -> list[str]:
        """Lines hostapd printed 0.1 ms apart, from ``start`` seconds on."""
        return [at(start + n * 0.0001, text) for n, text in enumerate(texts)]

    startup = [
        "random: Trying to read entropy from /dev/random",
        "Configuration file: /etc/hostapd/hostapd.conf",
        "ctrl_interface_group=0",
        "nl80211: TDLS supported",
        "nl80211: TDLS external setup",
        "nl80211: Supported cipher 00-0f-ac:1",
        "nl80211: Supported cipher 00-0f-ac:5",
        "nl80211: Supported cipher 00-0f-ac:2",
        "nl80211: Supported cipher 00-0f-ac:4",
        "nl80211: Using driver-based off-channel TX",
        "nl80211: Driver-advertised extended capabilities (default) - hexdump(len=8): 00 00 00 00 00 00 00 40",
        "nl80211: interface wlan0 in phy phy0",
        "nl80211: Set mode ifindex 3 iftype 3 (AP)",
        "nl80211: Setup AP(wlan0) - device_ap_sme=0 use_monitor=0",
        "nl80211: Subscribe to mgmt frames with AP handle 0x55d7c2f0a8b0",
        "nl80211: Register frame type=0xb0 (WLAN_FC_STYPE_AUTH) nl_handle=0x55d7c2f0a8b0 match=",
        "nl80211: Register frame type=0x0 (WLAN_FC_STYPE_ASSOC_REQ) nl_handle=0x55d7c2f0a8b0 match=",
        "nl80211: Register frame type=0xa0 (WLAN_FC_STYPE_DISASSOC) nl_handle=0x55d7c2f0a8b0 match=",
        "nl80211: Register frame type=0xc0 (WLAN_FC_STYPE_DEAUTH) nl_handle=0x55d7c2f0a8b0 match=",
        "rfkill: initial event: idx=1 type=1 op=0 soft=0 hard=0",
        "nl80211: Add own interface ifindex 3 (ifidx_reason -1)",
        "nl80211: if_indices[16]: 3(-1)",
        "phy: phy0",
        "BSS count 1, BSSID mask 00:00:00:00:00:00 (0 bits)",
        "wlan0: interface state UNINITIALIZED->COUNTRY_UPDATE",
        "Previous country code 00, new country code DE",
        "Continue interface setup after channel list update",
        "ctrl_iface not configured!",
        "Channel list update timeout - try to continue anyway",
        "wlan0: interface state COUNTRY_UPDATE->HT_SCAN",
        "Completing interface initialization",
        "hostapd_setup_bss(hapd=0x55d7c2f12340 (wlan0), first=1)",
        "wlan0: Flushing old station entries",
        "nl80211: flush -> DEL_STATION wlan0 (all)",
        "wlan0: Deauthenticate all stations",
        "Using interface wlan0 with hwaddr 02:00:00:00:00:00 and ssid \"office\"",
        "wlan0: interface state HT_SCAN->ENABLED",
        "wlan0: AP-ENABLED",
        "wlan0: Setup of interface done.",
    ]
    lines = [at(i * 0.001, text) for i, text in enumerate(startup)]
    for station, offset in ((STA, 100), (STA2, 110), (STA3, 120)):
        lines += [at(offset, "wlan0: Event RX_MGMT (18) received"),
                  at(offset + 0.0001, "mgmt::auth"),
                  at(offset + 0.0002, f"authentication: STA={station} auth_alg=0 auth_transaction=1 status_code=0 "
                                      "wep=0 seq_ctrl=0x10"),
                  at(offset + 0.0003, f"wlan0: STA {station} IEEE 802.11: authentication OK (open system)"),
                  at(offset + 0.0004, "mgmt::assoc_req"),
                  at(offset + 0.0005, f"association request: STA={station} capab_info=0x431 listen_interval=10 "
                                      "seq_ctrl=0x20"),
                  at(offset + 0.0006, f"wlan0: STA {station} IEEE 802.11: association OK (aid 1)"),
                  at(offset + 0.01, f"wlan0: AP-STA-CONNECTED {station}"),
                  at(offset + 0.02, f"wlan0: STA {station} WPA: pairwise key handshake completed (RSN)")]
    # STA leaves: a disassociation frame it sent, reason 8 (station leaving)
    lines += burst(3600, "wlan0: Event RX_MGMT (18) received",
                   "mgmt::disassoc",
                   f"disassocation: STA={STA} reason_code=8",
                   f"wlan0: STA {STA} IEEE 802.11: disassociated",
                   f"wlan0: AP-STA-DISCONNECTED {STA}",
                   f"wlan0: STA {STA} MLME: MLME-DISASSOCIATE.indication({STA}, 8)",
                   f"nl80211: sta_remove -> DEL_STATION wlan0 {STA} --> 0 (Success)")
    lines.append(at(3601, f"ap_free_sta: cancel ap_handle_timer for {STA}"))
    # STA2 is deauthenticated by a frame "from itself", reason 2; newer hostapd prefixes the interface
    lines += burst(3700, "mgmt::deauth",
                   f"wlan0: deauthentication: STA={STA2} reason_code=2",
                   f"wlan0: AP-STA-DISCONNECTED {STA2}",
                   f"wlan0: STA {STA2} IEEE 802.11: deauthenticated",
                   f"wlan0: STA {STA2} MLME: MLME-DEAUTHENTICATE.indication({STA2}, 2)",
                   f"ap_free_sta: cancel ap_handle_timer for {STA2}")
    # a frame for a station hostapd does not know changes nothing
    lines += burst(3800, "mgmt::disassoc",
                   "disassocation: STA=aa:bb:cc:00:00:09 reason_code=3",
                   "Station aa:bb:cc:00:00:09 trying to disassociate, but it is not associated",
                   "handle_disassoc - too short payload (len=25)")
    # STA3 times out: the AP drops it, no frame from the station
    lines += burst(7200, f"wlan0: STA {STA3} IEEE 802.11: deauthenticated due to inactivity (timer DEAUTH/REMOVE)",
                   f"wlan0: AP-STA-DISCONNECTED {STA3}",
                   f"ap_free_sta: cancel ap_handle_timer for {STA3}")
    return lines


def _observations(lines: list[str]) -> list:
    parser = HostapdDecoder().parser(LogContext("hostapd-debug.log", 2023, None))
    seen: list = []
    ok = [parser.parse(line, f"hostapd-debug.log:line {n}", seen.append) for n, line in enumerate(lines, 1)]
    parser.finish(seen.append)
    assert all(ok)
    return seen


def test_debug_output_is_sniffed_as_hostapd():
    head = _debug_log()[:60]
    assert HostapdDecoder().sniff(head) > 0.05


def test_debug_frames_give_reason_and_direction_to_the_disconnect():
    seen = _observations(_debug_log())
    connects = [o for o in seen if isinstance(o, WifiConnect)]
    drops = [o for o in seen if isinstance(o, WifiDisconnect)]
    assert [c.station for c in connects] == [STA, STA2, STA3]
    assert [(d.station, d.subtype, d.reason, d.direction) for d in drops] == [
        (STA, "disassoc", 8, "sta-to-ap"),  # one event for "disassociated" + "AP-STA-DISCONNECTED"
        (STA2, "deauth", 2, "sta-to-ap"),
        (STA3, "deauth", 0, ""),  # inactivity: the AP's decision, no frame from the station
    ]
    assert {d.bssid for d in drops} == {"wlan0"} and {d.origin for d in drops} == {"hostapd"}
    assert drops[0].where == "hostapd-debug.log:line 70"  # the "disassociated" line


def test_debug_output_without_time_stamps():
    lines = [line.split(": ", 1)[1] for line in _debug_log()]
    drops = [o for o in _observations(lines) if isinstance(o, WifiDisconnect)]
    assert [(d.station, d.reason, d.direction) for d in drops] == [
        (STA, 8, "sta-to-ap"), (STA2, 2, "sta-to-ap"), (STA3, 0, "")]


def test_a_stale_debug_frame_is_not_carried_to_a_later_disconnect():
    lines = [f"1700000000.000000: disassocation: STA={STA} reason_code=8",
             f"1700000100.000000: wlan0: AP-STA-DISCONNECTED {STA}"]
    (drop,) = _observations(lines)
    assert (drop.reason, drop.direction) == (0, "")


def test_debug_log_through_the_scanner(tmp_path):
    log = tmp_path / "hostapd-debug.log"
    log.write_text("\n".join(_debug_log()) + "\n")
    findings, inputs, scan = scan_files(log)
    assert inputs[0].kind == "log:hostapd" and inputs[0].skipped == 0
    (wifi,) = [d for d in scan.detectors if d.name == "wifi"]
    assert len(wifi.disconnects) == 3
    assert by_detector(findings, "wifi.outage") == []  # a leave, a deauth and a timeout hours apart
