"""Each Wi-Fi source decoder on crafted frames and lines, plus the public corpus counts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from scapy.layers.dot11 import Dot11, Dot11Deauth, RadioTap

from detector.logs.base import LogContext
from detector.logs.hostapd import HostapdDecoder
from detector.logs.macos import MacLogDecoder
from detector.logs.mikrotik import MikrotikDecoder
from detector.logs.wpa_supplicant import WpaSupplicantDecoder
from detector.observations import DhcpClientRequest, WifiBeaconGap, WifiConnect, WifiDisconnect
from detector.protocols.base import Datagram
from detector.protocols.dhcp import DhcpDecoder
from detector.protocols.dot11 import Dot11Decoder
from detector.samples import deauth, write_pcap
from tests.scanning import by_detector, scan_files
from tests.wifi_packets import AP1, AP2, at, beacon, dhcp_request


def _frame(pkt) -> bytes:
    raw = bytes(pkt)
    return raw[raw[2] | raw[3] << 8:]  # strip radiotap as the dispatcher does


def _decode_frames(packets) -> list:
    decoder, seen = Dot11Decoder(), []
    for pkt in packets:
        decoder.decode(_frame(pkt), float(pkt.time), "t", seen.append)
    return seen


def test_directions_reason_and_ssid_from_beacons():
    t = 1_700_000_000.0
    seen = _decode_frames([
        beacon(AP1, "Office", 6, t),
        deauth(AP1, "aa:bb:cc:00:00:01", 23, t + 1),
        deauth(AP1, "aa:bb:cc:00:00:01", 3, t + 2, from_ap=False),
        deauth(AP1, "ff:ff:ff:ff:ff:ff", 7, t + 3),
        deauth(AP1, "aa:bb:cc:00:00:02", 8, t + 4, disassoc=True),
    ])
    drops = [o for o in seen if isinstance(o, WifiDisconnect)]
    assert [(d.direction, d.reason, d.subtype) for d in drops] == [
        ("ap-to-sta", 23, "deauth"), ("sta-to-ap", 3, "deauth"), ("broadcast", 7, "deauth"),
        ("ap-to-sta", 8, "disassoc")]
    assert {d.ssid for d in drops} == {"Office"} and {d.channel for d in drops} == {6}


def test_protected_deauth_has_no_readable_reason():
    pkt = RadioTap() / Dot11(type=0, subtype=12, FCfield="protected", addr1="aa:bb:cc:00:00:01", addr2=AP1,
                             addr3=AP1) / Dot11Deauth(reason=4)
    pkt.time = 1.0
    (drop,) = _decode_frames([pkt])
    assert drop.reason == 0


def test_beacon_gap_only_when_the_capture_kept_listening():
    t = 1_700_000_000.0
    packets = [beacon(AP1, "Office", 1, t + i * 0.1024) for i in range(100)]  # ~10 s steady
    packets += [beacon(AP2, "Hall", 1, t + 10 + i * 0.5) for i in range(60)]  # the capture hears others
    packets += [beacon(AP1, "Office", 1, t + 40 + i * 0.1024) for i in range(5)]  # AP1 back after ~30 s
    gaps = [o for o in _decode_frames(sorted(packets, key=lambda p: float(p.time))) if isinstance(o, WifiBeaconGap)]
    assert len(gaps) == 1 and gaps[0].bssid == AP1 and gaps[0].ssid == "Office"
    assert gaps[0].gap_seconds == pytest.approx(40 - 99 * 0.1024, abs=0.01)
    silent = [beacon(AP1, "Office", 1, t + i * 0.1024) for i in range(100)]
    silent += [beacon(AP1, "Office", 1, t + 40)]  # nothing else heard: the capture paused, not the AP
    assert not [o for o in _decode_frames(silent) if isinstance(o, WifiBeaconGap)]


def test_beacon_gaps_on_a_schedule_are_a_daily_pattern(tmp_path):
    packets = []
    for day in range(4):
        start = at(day, 3, 0)
        packets += [beacon(AP1, "Office", 11, start - 5 + i * 0.1024) for i in range(50)]
        packets += [beacon(AP2, "Hall", 11, start + i) for i in range(60)]
        packets += [beacon(AP1, "Office", 11, start + 90 + i * 0.1024) for i in range(3)]
    findings, _, _ = scan_files(write_pcap(tmp_path / "b.pcap", packets))
    (pattern,) = by_detector(findings, "wifi.recurring")
    assert pattern.attributes.time_of_day == "03:00" and pattern.attributes.aps == [AP1]
    assert pattern.attributes.typical_duration_s == pytest.approx(90, abs=1)
    assert "stopped beaconing" in pattern.attributes.hint and "on the hour" in pattern.attributes.hint


def test_deauth_flood_is_an_attack_and_no_pattern(tmp_path):
    frames = []
    for day in range(5):
        frames += [deauth(AP1, "ff:ff:ff:ff:ff:ff", 7, at(day, 14, 5) + i * 0.02) for i in range(100)]
    findings, _, _ = scan_files(write_pcap(tmp_path / "f.pcap", frames))
    assert [f.detector for f in findings] == ["wifi.deauth-flood"]
    assert findings[0].category == "wifi-attack" and findings[0].attributes.broadcast == 500


def test_dhcp_initial_requests_versus_renewals():
    seen: list = []
    decoder = DhcpDecoder()
    for pkt, _message in ((dhcp_request("aa:bb:cc:00:00:01", 1.0), 1),
                         (dhcp_request("aa:bb:cc:00:00:01", 2.0, message=3, bound=True), 3),
                         (dhcp_request("aa:bb:cc:00:00:01", 3.0, message=5), 5)):
        payload = bytes(pkt["UDP"].payload)
        decoder.decode(Datagram(1.0, "t", "0.0.0.0", "255.255.255.255", 68, 67, payload), seen.append)
        decoder.decode(Datagram(1.0, "t", "x", "y", 68, 67, payload[:100]), seen.append)  # truncated: ignored
    seen = [o for o in seen if isinstance(o, DhcpClientRequest)]  # DHCP also names the client (HostIdentity)
    assert [(o.message, o.initial) for o in seen] == [("discover", True), ("request", False)]
    assert isinstance(seen[0], DhcpClientRequest) and seen[0].client == "aa:bb:cc:00:00:01"


def _parse(decoder, lines, year=2027, tz=None, path="client.log"):
    zone = None if tz is None else timezone(timedelta(seconds=tz)) if isinstance(tz, int) else tz
    parser = decoder.parser(LogContext(path, year, zone))
    seen: list = []
    ok = [parser.parse(line, f"l{i}", seen.append) for i, line in enumerate(lines)]
    parser.finish(seen.append)
    return seen, ok


def test_year_rollover_puts_december_in_the_year_before():
    lines = ["Dec 31 23:59:50 ap1 hostapd: wlan0: AP-STA-DISCONNECTED 3c:22:fb:00:00:0a",
             "Jan  1 00:00:10 ap1 hostapd: wlan0: AP-STA-CONNECTED 3c:22:fb:00:00:0a",
             "Jan  2 08:00:00 ap1 hostapd: wlan0: AP-STA-DISCONNECTED 3c:22:fb:00:00:0b"]
    seen, _ = _parse(HostapdDecoder(), lines, year=2027)
    years = [datetime.fromtimestamp(o.ts, tz=timezone.utc).year for o in sorted(seen, key=lambda o: o.ts)]
    assert years == [2026, 2027, 2027]
    assert seen[0].bssid == "ap1/wlan0"


def test_openwrt_logread_lines():
    seen, ok = _parse(HostapdDecoder(), ["Thu Jun  4 14:05:01 2026 daemon.info hostapd: wlan0: AP-STA-DISCONNECTED "
                                         "3c:22:fb:00:00:0a"])
    assert ok == [True] and seen[0].bssid == "wlan0"
    assert datetime.fromtimestamp(seen[0].ts, tz=timezone.utc).isoformat() == "2026-06-04T14:05:01+00:00"


def test_macos_awdl_is_not_wifi_and_roams_are_connects():
    lines = ["Jul  1 11:49:29 mac kernel[0]: AirPort: Link Down on awdl0. Reason 1 (Unspecified).",
             "Jul  1 11:49:30 mac kernel[0]: AirPort: Link Down on en0. Reason 8 (Disassociated because station "
             "leaving).",
             "Jul  1 11:50:00 mac kernel[0]: en0: BSSID changed to 0:1b:2c:d:e:f",
             "Jul  1 11:50:01 mac kernel[0]: AirPort: Link Up on en0"]
    seen, ok = _parse(MacLogDecoder(), lines)
    assert all(ok)
    assert [type(o).__name__ for o in seen] == ["WifiDisconnect", "WifiConnect", "WifiConnect"]
    assert seen[0].reason == 8 and seen[0].station == "client/en0" and seen[1].bssid == "00:1b:2c:0d:0e:0f"


def test_wpa_supplicant_locally_generated_is_a_leave_and_state_only_logs_connect():
    seen, _ = _parse(WpaSupplicantDecoder(), [
        "1554246802.1: wlan0: Trying to associate with 10:20:30:40:50:60 (SSID='Corp' freq=2437 MHz)",
        "1554246803.2: wlan0: CTRL-EVENT-CONNECTED - Connection to 10:20:30:40:50:60 completed [id=0 id_str=]",
        "1554246900.0: wlan0: CTRL-EVENT-DISCONNECTED bssid=10:20:30:40:50:60 reason=3 locally_generated=1",
        "1554247000.0: wlan0: CTRL-EVENT-EAP-FAILURE EAP authentication failed"])
    connect, leave, failure = seen
    assert isinstance(connect, WifiConnect) and connect.ssid == "Corp"
    assert (leave.direction, leave.reason, leave.channel) == ("sta-to-ap", 3, 6)
    assert (failure.subtype, failure.reason) == ("auth-failure", 23)
    seen, _ = _parse(WpaSupplicantDecoder(), ["1554246802.4: wlan0: State: GROUP_HANDSHAKE -> COMPLETED"])
    assert [type(o).__name__ for o in seen] == ["WifiConnect"]


def test_mikrotik_roam_between_radios_is_not_a_drop():
    seen, _ = _parse(MikrotikDecoder(), [
        "Jun  3 14:05:01 192.168.88.1 wireless,info 3C:22:FB:00:00:0A@wlan1: disconnected, registered to other "
        "interface",
        "Jun  3 14:05:02 192.168.88.1 wireless,info 3C:22:FB:00:00:0A@wlan1: disconnected, received deauth: "
        "sending station leaving (3)",
        "jun/03/2026 14:06:02 wireless,info 3C:22:FB:00:00:0A@wlan2: connected, signal strength -61"])
    leave, connect = seen
    assert leave.bssid == "192.168.88.1/wlan1" and leave.direction == "sta-to-ap" and leave.reason == 3
    assert connect.bssid == "wlan2"


def test_malformed_lines_are_counted(tmp_path):
    log = tmp_path / "wpa.log"
    log.write_text("1554246802.1: wlan0: CTRL-EVENT-CONNECTED - Connection to 10:20:30:40:50:60 completed\n"
                   "garbage without any separator\n")
    _, inputs, _ = scan_files(log)
    assert inputs[0].kind == "log:wpa_supplicant" and inputs[0].skipped == 1


# ---------------------------------------------------------------- public corpus (MANIFEST.md)

CORPUS_DISCONNECTS = {
    "wifi/tpwns_deauth-flood_radiotap.pcap": {"deauth": 1144},
    "wifi/aircrack_pmkid-not-recognized.cap": {"deauth": 6153, "disassoc": 29},
    "wifi/aircrack_wpa-psk-linksys.cap": {"deauth": 3},
    "wifi/chrissanders_3e80211_wpaauthfail.pcapng": {"deauth": 1},
    "wifi/chrissanders_3e80211_wpaauth.pcapng": {},
    "wifi/zeek_radiotap.pcap": {},
    "logs/loghub_Mac_2k.log": {"log": 5},
    "logs/programs_wpa_supplicant.log": {},
    "logs/linuxrotuer_hostapd.log": {"disassoc": 5},
}


@pytest.mark.parametrize("name", sorted(CORPUS_DISCONNECTS))
def test_corpus_disconnect_counts(corpus, name):
    findings, _, scan = scan_files(corpus / name)
    (wifi,) = [d for d in scan.detectors if d.name == "wifi"]
    counts: dict = {}
    for event in wifi.disconnects:
        counts[event.subtype] = counts.get(event.subtype, 0) + 1
    assert counts == CORPUS_DISCONNECTS[name]
    floods = by_detector(findings, "wifi.deauth-flood")
    if "tpwns" in name:
        assert [f.attributes.bssid for f in floods] == ["70:5d:cc:37:d1:cf"]
        assert findings[0].category == "wifi-attack"
    assert by_detector(findings, "wifi.recurring") == []


def test_corpus_hostapd_tells_ap_restarts_from_client_drops(corpus):
    _, _, scan = scan_files(corpus / "logs/optimusprime_hostapd.log")
    (wifi,) = [d for d in scan.detectors if d.name == "wifi"]
    main = [e for e in wifi.disconnects if e.station == "dc:56:7b:1d:3f:99"]
    assert sum(e.ap_initiated for e in main) == 7 and len(main) - 7 >= 2
    _, _, scan = scan_files(corpus / "logs/linuxrotuer_hostapd.log")
    (wifi,) = [d for d in scan.detectors if d.name == "wifi"]
    assert sum(e.ap_initiated for e in wifi.disconnects) == 2


def test_hostapd_informational_lines_are_not_malformed(tmp_path):
    """Free-form hostapd output is log text; only binary damage counts as malformed."""
    from scanning import scan_files

    log = tmp_path / "hostapd.log"
    log.write_bytes(b"wlan0: interface state UNINITIALIZED->ENABLED\n"
                    b"wlan0: AP-ENABLED\n"
                    b"nl80211: Driver does not support authentication/association or connect commands\n"
                    b"wlan0: STA 3c:22:fb:00:00:0a IEEE 802.11: associated\n"
                    b"wlan0: AP-STA-CONNECTED 3c:22:fb:00:00:0a\n"
                    b"\x01\x02garbage\x03 wlan0\n")
    _, inputs, _ = scan_files(log)
    assert inputs[0].kind == "log:hostapd"
    assert inputs[0].skipped == 1
