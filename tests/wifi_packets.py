"""Known Wi-Fi schedules rendered as monitor-mode captures and as every supported log format.

A ``Schedule`` is a list of drops and connects with a ground truth (e.g. all
stations on one AP drop at 14:05 +/- 4 min on 5 of 6 days, plus roaming and
random single drops); the renderers below write it as each source would.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dot11 import Dot11, Dot11Beacon, Dot11Elt, RadioTap
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from detector.samples import association, deauth, write_pcap

BASE = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday
AP1, AP2 = "10:20:30:40:50:60", "10:20:30:40:50:70"
STATIONS = [f"aa:bb:cc:00:00:{i:02x}" for i in range(1, 5)]
HOSTS = {s: f"laptop-{i}" for i, s in enumerate(STATIONS, 1)}


@dataclass
class Event:
    ts: float
    station: str
    ap: str
    kind: str  # "drop" or "connect"
    reason: int = 4


@dataclass
class Schedule:
    events: list[Event] = field(default_factory=list)

    def drop(self, ts: float, station: str, ap: str = AP1, reason: int = 4, back_after: float = 60.0,
             back_to: str = "") -> None:
        self.events.append(Event(ts, station, ap, "drop", reason))
        if back_after >= 0:
            self.events.append(Event(ts + back_after, station, back_to or ap, "connect"))

    def sorted(self) -> list[Event]:
        return sorted(self.events, key=lambda e: e.ts)


def at(day: int, hour: int, minute: int, second: float = 0.0) -> float:
    return (BASE + timedelta(days=day, hours=hour, minutes=minute, seconds=second)).timestamp()


def morning_connects(schedule: Schedule, days: int) -> None:
    for day in range(days):
        for i, station in enumerate(STATIONS):
            schedule.events.append(Event(at(day, 8, 30 + i), station, AP1, "connect"))


def daily_outage(days: int = 6, skip: int = 3, seed: int = 5) -> Schedule:
    """Every station on AP1 drops around 14:05 (+/- 4 min) on every day but ``skip``."""
    rng = random.Random(seed)
    schedule = Schedule()
    morning_connects(schedule, days)
    for day in range(days):
        if day == skip:
            continue
        start = at(day, 14, 5 + rng.randint(-4, 4), rng.randint(0, 59))
        for i, station in enumerate(STATIONS):
            schedule.drop(start + i * 0.5, station, back_after=70 + i)
    return schedule


def add_roaming(schedule: Schedule, days: int = 6, seed: int = 8) -> Schedule:
    """Stations walking between AP1 and AP2: a disconnect followed by a re-association elsewhere within seconds."""
    rng = random.Random(seed)
    for day in range(days):
        for _ in range(4):
            station = rng.choice(STATIONS)
            ts = at(day, rng.randint(9, 17), rng.randint(0, 59), rng.randint(0, 59))
            schedule.drop(ts, station, AP1, reason=8, back_after=2.0, back_to=AP2)
    return schedule


def add_random_drops(schedule: Schedule, count: int = 8, days: int = 6, seed: int = 13) -> Schedule:
    """Single stations dropping at random times (one at a time, reconnecting to the same AP)."""
    rng = random.Random(seed)
    for _ in range(count):
        station = rng.choice(STATIONS)
        ts = at(rng.randrange(days), rng.randint(7, 20), rng.randint(0, 59), rng.randint(0, 59))
        schedule.drop(ts, station, AP1, reason=rng.choice((1, 4, 7)), back_after=30)
    return schedule


# ---------------------------------------------------------------- renderers


def beacon(bssid: str, ssid: str, channel: int, t: float) -> Packet:
    pkt = (RadioTap() / Dot11(type=0, subtype=8, addr1="ff:ff:ff:ff:ff:ff", addr2=bssid, addr3=bssid)
           / Dot11Beacon(beacon_interval=100) / Dot11Elt(ID=0, info=ssid.encode())
           / Dot11Elt(ID=3, info=bytes([channel])))
    pkt.time = t
    return pkt


def to_frames(schedule: Schedule) -> list[Packet]:
    frames: list[Packet] = []
    for event in schedule.sorted():
        if event.kind == "drop":
            frames.append(deauth(event.ap, event.station, event.reason, event.ts))
        else:
            frames.append(association(event.ap, event.station, event.ts))
    return frames


def write_capture(path: Path, schedule: Schedule) -> Path:
    return write_pcap(path, to_frames(schedule))


def _bsd(ts: float, tz: int = 0) -> str:
    return datetime.fromtimestamp(ts, tz=timezone(timedelta(seconds=tz))).strftime("%b %e %H:%M:%S")


def hostapd_log(schedule: Schedule, tz: int = 0) -> list[str]:
    names = {AP1: ("ap1", "wlan0"), AP2: ("ap2", "wlan0")}
    lines = []
    for e in schedule.sorted():
        host, iface = names[e.ap]
        event = "AP-STA-DISCONNECTED" if e.kind == "drop" else "AP-STA-CONNECTED"
        lines.append(f"{_bsd(e.ts, tz)} {host} hostapd: {iface}: {event} {e.station}")
    return lines


def _station_syslog(schedule: Schedule, program: str, text: Callable[[Event], str]) -> list[str]:
    """One syslog line per event, written on the station's own host."""
    return [f"{_bsd(e.ts)} {HOSTS[e.station]} {program}: {text(e)}" for e in schedule.sorted()]


def wpa_supplicant_log(schedule: Schedule) -> list[str]:
    def text(e: Event) -> str:
        if e.kind == "drop":
            return f"wlan0: CTRL-EVENT-DISCONNECTED bssid={e.ap} reason={e.reason}"
        return f"wlan0: CTRL-EVENT-CONNECTED - Connection to {e.ap} completed [id=0 id_str=]"
    return _station_syslog(schedule, "wpa_supplicant[812]", text)


def networkmanager_log(schedule: Schedule) -> list[str]:
    def text(e: Event) -> str:
        change = "activated -> failed (reason 'supplicant-disconnect'" if e.kind == "drop" else \
            "secondaries -> activated (reason 'none'"
        return f"<info>  [{e.ts:.4f}] device (wlp2s0): state change: {change}, sys-iface-state: 'managed')"
    return _station_syslog(schedule, "NetworkManager[733]", text)


def macos_logs(schedule: Schedule) -> dict[str, list[str]]:
    """One file per Mac (macOS logs name no station MAC)."""
    files: dict[str, list[str]] = {HOSTS[s]: [] for s in STATIONS}
    for e in schedule.sorted():
        text = "AirPort: Link Down on en0. Reason 4 (Disassociated due to inactivity)." if e.kind == "drop" \
            else "AirPort: Link Up on en0"
        files[HOSTS[e.station]].append(f"{_bsd(e.ts)} {HOSTS[e.station]} kernel[0]: {text}")
        if e.kind == "drop":
            files[HOSTS[e.station]].append(f"{_bsd(e.ts)} {HOSTS[e.station]} kernel[0]: AirPort: Link Down on "
                                           "awdl0. Reason 1 (Unspecified).")
    return files


def mikrotik_log(schedule: Schedule) -> list[str]:
    radios = {AP1: "wlan1", AP2: "wlan2"}
    lines = []
    for e in schedule.sorted():
        what = f"disconnected, received deauth: unspecified ({e.reason})" if e.kind == "drop" else \
            "connected, signal strength -61"
        lines.append(f"{_bsd(e.ts)} 192.168.88.1 wireless,info {e.station.upper()}@{radios[e.ap]}: {what}")
    return lines


def unifi_log(schedule: Schedule) -> list[str]:
    names = {AP1: "U6-Lite-Office", AP2: "U6-Lite-Hall"}
    lines = []
    for e in schedule.sorted():
        what = "LEAVE" if e.kind == "drop" else "JOIN"
        lines.append(f"{_bsd(e.ts)} {names[e.ap]} 784558b61a2b,U6-Lite-6.5.28+14491: wevent[2210]: "
                     f"wevent.ubnt_custom_event(): EVENT_STA_{what} ath0: {e.station} / 4")
    return lines


def _windows_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def windows_xml(schedule: Schedule) -> str:
    events = []
    for e in schedule.sorted():
        event_id = 8003 if e.kind == "drop" else 8001
        reason = "<Data Name='Reason'>The network is disconnected by the driver.</Data>" if e.kind == "drop" else ""
        events.append(
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
            "<Provider Name='Microsoft-Windows-WLAN-AutoConfig' Guid='{9580d7dd-0379-4658-9870-d5be7d52d6de}'/>"
            f"<EventID>{event_id}</EventID><Level>4</Level>"
            f"<TimeCreated SystemTime='{_windows_time(e.ts)}'/><Computer>{HOSTS[e.station]}</Computer></System>"
            "<EventData><Data Name='InterfaceGuid'>{0d3e1a5b-aaaa-bbbb-cccc-000000000001}</Data>"
            f"<Data Name='SSID'>Corp &amp; Guests</Data>{reason}</EventData></Event>")
    return "<Events>\n" + "\n".join(events) + "\n</Events>\n"


def windows_csv(schedule: Schedule) -> str:
    rows = ['#TYPE System.Diagnostics.Eventing.Reader.EventLogRecord',
            '"Message","Id","ProviderName","MachineName","TimeCreated"']
    for e in schedule.sorted():
        local = datetime.fromtimestamp(e.ts, tz=timezone.utc).strftime("%m/%d/%Y %I:%M:%S %p").lstrip("0")
        if e.kind == "drop":
            message = ("WLAN AutoConfig service has successfully disconnected from a wireless network.\r\n\r\n"
                       "Network Adapter: Intel(R) Wi-Fi 6 AX201 160MHz\r\nSSID: Corp\r\n"
                       "Reason: The network is disconnected by the driver.")
            event_id = 8003
        else:
            message = ("WLAN AutoConfig service has successfully connected to a wireless network.\r\n\r\n"
                       "SSID: Corp\r\nBSS Type: Infrastructure")
            event_id = 8001
        rows.append(f'"{message}","{event_id}","Microsoft-Windows-WLAN-AutoConfig","{HOSTS[e.station]}","{local}"')
    return "\r\n".join(rows) + "\r\n"


def dhcp_request(client: str, t: float, message: int = 1, bound: bool = False) -> Packet:
    ciaddr = "192.168.1.50" if bound else "0.0.0.0"
    pkt = (Ether(src=client, dst="ff:ff:ff:ff:ff:ff") / IP(src=ciaddr, dst="255.255.255.255")
           / UDP(sport=68, dport=67)
           / BOOTP(op=1, chaddr=bytes.fromhex(client.replace(":", "")) + bytes(10), ciaddr=ciaddr, xid=7)
           / DHCP(options=[("message-type", message), ("hostname", b"laptop"), "end"]))
    pkt.time = t
    return pkt


def dhcp_packets(schedule: Schedule) -> list[Packet]:
    """What a wired capture sees: each (re)connect is a DHCP DISCOVER from the station."""
    return [dhcp_request(e.station, e.ts + 1.0) for e in schedule.sorted() if e.kind == "connect"]
