"""hostapd debug output as real runs print it (-d, -dd, -t, -dd -t, -K): recognised past hundreds of driver lines;
wrong-passphrase bursts and AP restarts become findings."""

from __future__ import annotations

import pytest

from detector.logs import log_decoders
from detector.logs.sniffing import choose_format
from detector.observations import WifiApEvent
from tests.scanning import by_detector, scan_files

T0 = 1730756479.266819
PHONE = "3c:22:fb:12:34:56"
LAPTOP = "a4:83:e7:00:11:22"
GUESSER = "de:ad:be:ef:00:01"
FORMS = ["-d", "-dd", "-t", "-dd -t", "-dd -t -K"]


def driver_chatter(verbose: bool) -> list[str]:
    """What hostapd prints before its first event: configuration, then the nl80211 driver's capabilities."""
    lines = ["random: getrandom() support available", "Configuration file: /etc/hostapd/hostapd.conf",
             "ctrl_interface_group=0", "nl80211: TDLS supported", "nl80211: TDLS external setup"]
    lines += [f"nl80211: Supported cipher 00-0f-ac:{n}" for n in range(1, 14)]
    lines += [f"nl80211: Supported vendor command: vendor_id=0x1374 subcmd={n}" for n in range(200 if verbose else 40)]
    lines += [f"nl80211: Register frame type=0x{n * 16:x} (WLAN_FC_STYPE_{n}) nl_handle=0x55d7c2f0a8b0 match="
              for n in range(60 if verbose else 10)]
    lines += [f"nl80211: Registered management frame type {n}" for n in range(80 if verbose else 0)]
    lines += ["rfkill: initial event: idx=1 type=1 op=0 soft=0 hard=0", "phy: phy0",
              "BSS count 1, BSSID mask 00:00:00:00:00:00 (0 bits)",
              "wlan0: interface state UNINITIALIZED->COUNTRY_UPDATE", "Completing interface initialization",
              "Mode: IEEE 802.11g  Channel: 6  Frequency: 2437 MHz",
              "nl80211: Set freq 2437 (ht_enabled=1, vht_enabled=0, he_enabled=0, bandwidth=20 MHz, cf1=2437 MHz)",
              "  * freq=2437", "  * ht_enabled=1", "RATE[0] rate=10 flags=0x1", "RATE[1] rate=20 flags=0x1",
              "hostapd_setup_bss(hapd=0x55d7c2f12340 (wlan0), first=1)", "wlan0: Flushing old station entries",
              "wlan0: Deauthenticate all stations", "wlan0: interface state COUNTRY_UPDATE->ENABLED"]
    return lines


def events(keys: bool) -> list[tuple[float, str]]:
    """(seconds after T0, line): the AP comes up, a phone with an old passphrase retries, a laptop joins, a
    stranger guesses 25 times, and the AP restarts three times."""
    out: list[tuple[float, str]] = [(1.0, "wlan0: AP-ENABLED")]
    for n in range(4):  # the phone: four failed handshakes, then the right passphrase
        at = 60.0 + n * 8
        out += [(at, f"wlan0: STA {PHONE} IEEE 802.11: associated (aid 1)"),
                (at + 0.5, f"wlan0: AP-STA-POSSIBLE-PSK-MISMATCH {PHONE}")]
        if keys:
            out.append((at + 0.4, "WPA: PMK from PSK - hexdump(len=32): 5b 2a 91 0c 77 e4 10 3f 8d 21 aa 0b 3c 4d 5e "
                                  "6f 70 81 92 a3 b4 c5 d6 e7 f8 09 1a 2b 3c 4d 5e 6f"))
    out += [(100.0, f"wlan0: AP-STA-CONNECTED {PHONE}"), (101.0, f"wlan0: AP-STA-CONNECTED {LAPTOP}")]
    out += [(200.0 + n * 2.5, f"wlan0: AP-STA-POSSIBLE-PSK-MISMATCH {GUESSER}") for n in range(25)]
    for restart in range(1, 4):
        at = 1000.0 * restart
        out += [(at, "wlan0: AP-DISABLED"), (at + 0.1, "wlan0: CTRL-EVENT-TERMINATING"),
                (at + 5.0, "wlan0: interface state COUNTRY_UPDATE->ENABLED"), (at + 5.1, "wlan0: AP-ENABLED")]
    return sorted(out)


def debug_log(form: str) -> str:
    timed, verbose, keys = "-t" in form, "-dd" in form, "-K" in form
    lines = [(n * 0.0001, text) for n, text in enumerate(driver_chatter(verbose))] + events(keys)
    return "\n".join(f"{T0 + at:.6f}: {text}" if timed else text for at, text in lines) + "\n"


@pytest.mark.parametrize("form", FORMS)
def test_every_debug_form_is_recognised_past_the_driver_chatter(form):
    text = debug_log(form)
    chatter = 300 if "-dd" in form else 70
    assert "AP-" not in "\n".join(text.splitlines()[:chatter])
    decoder, _ = choose_format(text.encode(), log_decoders())
    assert decoder is not None and decoder.name == "hostapd"


def test_wpa_supplicant_debug_output_is_not_hostapd():
    text = "\n".join(["wpa_supplicant v2.10", "random: getrandom() support available",
                      "Successfully initialized wpa_supplicant", "Initializing interface 'wlan0' conf "
                      "'/etc/wpa_supplicant.conf' driver 'nl80211' ctrl_interface 'N/A' bridge 'N/A'"]
                     + [f"nl80211: Supported cipher 00-0f-ac:{n}" for n in range(1, 14)])
    decoder, _ = choose_format(text.encode(), log_decoders())
    assert decoder is None or decoder.name != "hostapd"


@pytest.mark.parametrize("form", FORMS)
def test_passphrase_bursts_and_restarts_become_findings(tmp_path, form):
    log = tmp_path / "hostapd.log"
    log.write_text(debug_log(form))
    findings, inputs, scan = scan_files(log)
    assert inputs[0].kind == "log:hostapd" and inputs[0].skipped == 0
    mismatches = {f.attributes.station: f for f in by_detector(findings, "wifi.psk-mismatch")}
    assert set(mismatches) == {PHONE, GUESSER}
    guesser, phone = mismatches[GUESSER], mismatches[PHONE]
    assert (guesser.attributes.attempts, guesser.attributes.bursts, guesser.attributes.connected_after) == \
        (25, 1, False)
    assert (guesser.rule, guesser.severity) == ("wifi-psk-mismatch-guessing", "medium")
    assert (phone.attributes.attempts, phone.attributes.connected_after, phone.rule, phone.severity) == \
        (4, True, "wifi-psk-mismatch", "info")
    if "-t" not in form:  # no clock: how often hostapd was started, not how often the AP restarts
        assert by_detector(findings, "wifi.ap-restart") == []
        return
    (restarts,) = by_detector(findings, "wifi.ap-restart")
    assert (restarts.attributes.starts, restarts.attributes.restarts, restarts.attributes.stops) == (4, 3, 6)
    assert restarts.rule == "wifi-ap-restarts" and restarts.severity == "medium"
    if "-t" in form:  # with time stamps: 2.5 s apart, 24 within any minute; restarts 1000 s apart
        assert guesser.attributes.peak_per_minute == 24
        assert restarts.attributes.typical_interval_s == pytest.approx(1000.0, abs=1)


def test_a_single_typo_and_a_single_start_are_no_findings(tmp_path):
    log = tmp_path / "hostapd.log"
    log.write_text("wlan0: AP-ENABLED\n"
                   f"wlan0: AP-STA-POSSIBLE-PSK-MISMATCH {PHONE}\nwlan0: AP-STA-POSSIBLE-PSK-MISMATCH {PHONE}\n"
                   f"wlan0: AP-STA-CONNECTED {PHONE}\n")
    findings, _, scan = scan_files(log)
    assert not by_detector(findings, "wifi.psk-mismatch") and not by_detector(findings, "wifi.ap-restart")
    (wifi,) = [d for d in scan.detectors if d.name == "wifi"]
    assert [e.event for e in wifi.ap_events] == ["ap-enabled", "psk-mismatch", "psk-mismatch"]
    assert all(isinstance(e, WifiApEvent) for e in wifi.ap_events)
