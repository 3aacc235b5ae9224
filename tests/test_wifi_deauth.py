"""Deauthentication frame counts below any threshold, and the targeted (one-client) deauthentication attack."""

from __future__ import annotations

import json

from detector.samples import deauth, write_pcap
from tests.scanning import by_detector, scan_files
from tests.wifi_packets import AP1, AP2, beacon

T0 = 1_700_000_000.0
VICTIM = "60:7e:a4:4c:ee:73"
OTHER = "24:df:a7:95:54:e6"


def aireplay_burst(bssid: str, station: str, start: float, per_way: int = 64, spacing: float = 0.004) -> list:
    """What `aireplay-ng --deauth 1 -a BSSID -c STATION` sends: forged frames both ways, reason 7, interleaved."""
    frames = []
    for i in range(per_way):
        frames.append(deauth(bssid, station, 7, start + 2 * i * spacing))
        frames.append(deauth(bssid, station, 7, start + (2 * i + 1) * spacing, from_ap=False))
    return frames


def _scan(tmp_path, frames, name="w.pcap"):
    frames = sorted(frames, key=lambda p: float(p.time))
    return scan_files(write_pcap(tmp_path / name, frames))


def test_a_burst_aimed_at_one_client_is_a_targeted_attack(tmp_path):
    frames = [beacon(AP1, "Office", 6, T0 + i * 0.1024) for i in range(20)]
    frames += aireplay_burst(AP1, VICTIM, T0 + 1)
    frames.append(deauth(AP1, OTHER, 3, T0 + 1.2, from_ap=False))  # another client leaves meanwhile
    findings, _, _ = _scan(tmp_path, frames)
    (attack,) = by_detector(findings, "wifi.deauth-targeted")
    assert (attack.category, attack.rule, attack.severity) == ("wifi-attack", "wifi-deauth-targeted", "high")
    assert attack.hosts == [VICTIM]
    attrs = attack.attributes
    assert (attrs.bssid, attrs.ssid, attrs.station) == (AP1, "Office", VICTIM)
    assert (attrs.frames, attrs.bursts, attrs.ap_to_sta, attrs.sta_to_ap) == (128, 1, 64, 64)
    assert attrs.peak_per_second == 128 and attrs.reasons == {"7": 128}
    assert attack.compliance and "802.11w" in attack.remediation
    assert by_detector(findings, "wifi.deauth-flood") == []  # one client, not the whole BSSID
    assert by_detector(findings, "wifi.outage") == [] and by_detector(findings, "wifi.recurring") == []
    (summary,) = by_detector(findings, "wifi.deauth-summary")
    assert summary.attributes.attack_frames == 128  # counted once, by the attack finding
    assert (summary.attributes.frames, summary.attributes.deauth) == (1, 1) and summary.hosts == [OTHER]
    assert summary.category == "wifi-attack"  # not among the recurring drops
    json.dumps([f.as_dict() for f in findings])


def test_repeated_bursts_are_one_finding_per_client(tmp_path):
    frames = []
    for minute in (0, 1, 5):
        frames += aireplay_burst(AP1, VICTIM, T0 + minute * 60, per_way=20)
    frames += aireplay_burst(AP2, OTHER, T0 + 30, per_way=15)
    findings, _, _ = _scan(tmp_path, frames)
    attacks = {f.attributes.station: f for f in by_detector(findings, "wifi.deauth-targeted")}
    assert set(attacks) == {VICTIM, OTHER}
    assert attacks[VICTIM].attributes.bursts == 3 and attacks[VICTIM].attributes.frames == 120
    assert len(attacks[VICTIM].attributes.burst_starts) == 3
    assert attacks[OTHER].attributes.bssid == AP2 and attacks[OTHER].attributes.bursts == 1
    assert len({f.id for f in attacks.values()}) == 2


def test_a_normal_client_leave_is_no_attack(tmp_path):
    # the station leaves: one frame, retried a few times (the retries are captured too)
    frames = [deauth(AP1, VICTIM, 3, T0 + i * 0.002, from_ap=False) for i in range(4)]
    findings, _, _ = _scan(tmp_path, frames)
    assert by_detector(findings, "wifi.deauth-targeted") == []
    assert [f.detector for f in findings] == ["wifi.deauth-summary"]


def test_an_ap_rejecting_a_confused_client_in_one_direction_is_no_attack(tmp_path):
    """An AP answers every data frame of a client it does not know with reason 7: fast, but one way only."""
    frames = [deauth(AP1, VICTIM, 7, T0 + i * 0.02) for i in range(40)]
    findings, _, _ = _scan(tmp_path, frames)
    assert by_detector(findings, "wifi.deauth-targeted") == []


def test_slow_exchanges_both_ways_are_no_attack(tmp_path):
    frames = [deauth(AP1, VICTIM, 2, T0 + i * 1.5, from_ap=bool(i % 2)) for i in range(40)]
    findings, _, _ = _scan(tmp_path, frames)
    assert by_detector(findings, "wifi.deauth-targeted") == []


def test_a_broadcast_flood_stays_a_flood(tmp_path):
    frames = [deauth(AP1, "ff:ff:ff:ff:ff:ff", 7, T0 + i * 0.01) for i in range(300)]
    findings, _, _ = _scan(tmp_path, frames)
    (flood,) = by_detector(findings, "wifi.deauth-flood")
    assert by_detector(findings, "wifi.deauth-targeted") == []
    assert by_detector(findings, "wifi.deauth-summary") == []  # the flood finding carries the counts
    assert flood.attributes.direction_counts == {"broadcast": 300}
    assert flood.attributes.reason_counts == {"7": 300}


def test_counts_by_reason_direction_and_station_below_every_threshold(tmp_path):
    frames = [beacon(AP1, "Office", 6, T0 - 1), beacon(AP2, "Hall", 11, T0 - 1)]
    frames += [deauth(AP1, VICTIM, 4, T0 + 10),
               deauth(AP1, VICTIM, 4, T0 + 400, disassoc=True),
               deauth(AP1, VICTIM, 8, T0 + 900, from_ap=False, disassoc=True),
               deauth(AP1, OTHER, 2, T0 + 1000),
               deauth(AP1, "ff:ff:ff:ff:ff:ff", 3, T0 + 2000),
               deauth(AP2, OTHER, 15, T0 + 50)]
    findings, _, _ = _scan(tmp_path, frames)
    summaries = {f.attributes.bssid: f for f in by_detector(findings, "wifi.deauth-summary")}
    assert set(summaries) == {AP1, AP2}
    office = summaries[AP1]
    assert (office.rule, office.severity, office.category) == ("wifi-deauth-summary", "info", "wifi-attack")
    attrs = office.attributes
    assert (attrs.ssid, attrs.frames, attrs.deauth, attrs.disassoc) == ("Office", 5, 3, 2)
    assert attrs.reason_counts == {"4": 2, "8": 1, "2": 1, "3": 1}
    assert attrs.direction_counts == {"ap_to_sta": 3, "sta_to_ap": 1, "broadcast": 1}
    assert attrs.station_counts == {
        VICTIM: {"ap_to_sta": 2, "deauth": 1, "disassoc": 2, "sta_to_ap": 1},
        OTHER: {"ap_to_sta": 1, "deauth": 1},
        "ff:ff:ff:ff:ff:ff": {"broadcast": 1, "deauth": 1},
    }
    assert office.hosts == [OTHER, VICTIM]  # never the broadcast address
    assert attrs.attack_frames == 0 and len(office.evidence) == 3  # first frame of each station
    assert office.evidence[0].source.endswith(":frame 3")
    assert summaries[AP2].attributes.reason_counts == {"15": 1} and summaries[AP2].attributes.ssid == "Hall"
    assert "5 deauthentication" not in office.title and "3 deauthentication, 2 disassociation" in office.title


def test_a_broadcast_deauthentication_is_ap_wide_never_a_station(tmp_path):
    frames = [deauth(AP1, "ff:ff:ff:ff:ff:ff", 3, T0),  # the AP tells everyone to go (restart)
              deauth(AP1, VICTIM, 4, T0 + 5), deauth(AP1, OTHER, 4, T0 + 6)]
    findings, _, _ = _scan(tmp_path, frames)
    (outage,) = by_detector(findings, "wifi.outage")
    assert outage.hosts == [OTHER, VICTIM] and outage.attributes.stations == 2
    (summary,) = by_detector(findings, "wifi.deauth-summary")
    assert summary.attributes.stations == [OTHER, VICTIM] and "2 station(s)" in summary.title
    assert summary.attributes.direction_counts["broadcast"] == 1


# ---------------------------------------------------------------- public corpus (MANIFEST.md)

def test_corpus_aireplay_capture_is_a_targeted_attack(corpus):
    findings, _, _ = scan_files(corpus / "wifi/aircrack_pmkid-not-recognized.cap")
    (attack,) = by_detector(findings, "wifi.deauth-targeted")
    attrs = attack.attributes
    assert (attrs.bssid, attrs.station) == ("8c:de:f9:d0:b4:61", VICTIM)
    assert attrs.ap_to_sta >= 3000 and attrs.sta_to_ap >= 3000 and attrs.bursts >= 7
    assert by_detector(findings, "wifi.deauth-flood") == []
    (summary,) = by_detector(findings, "wifi.deauth-summary")
    # 6,153 deauthentication and 29 disassociation frames in all: the attack's are counted by the attack only
    assert (summary.attributes.deauth, summary.attributes.disassoc) == (9, 29)
    assert summary.attributes.frames + summary.attributes.attack_frames == 6153 + 29 == 38 + attack.attributes.frames
    assert summary.attributes.station_counts[OTHER]["disassoc"] == 26


def test_corpus_small_captures_get_counts_and_no_attack(corpus):
    findings, _, _ = scan_files(corpus / "wifi/aircrack_wpa-psk-linksys.cap")
    (summary,) = findings
    assert summary.detector == "wifi.deauth-summary"
    assert summary.attributes.direction_counts == {"ap_to_sta": 2, "sta_to_ap": 1}
    assert summary.attributes.reason_counts == {"2": 2, "6": 1}
    findings, _, _ = scan_files(corpus / "wifi/tpwns_deauth-flood_radiotap.pcap")
    assert [f.detector for f in findings] == ["wifi.deauth-flood"]
    findings, _, _ = scan_files(corpus / "wifi/chrissanders_3e80211_wpaauth.pcapng")
    assert findings == []
