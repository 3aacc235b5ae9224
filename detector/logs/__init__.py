"""Log formats: one module per format, sniffed by content, listed here once.

To add a format: write ``logs/<format>.py`` with a LogDecoder subclass
(``logs/base.py``), add it to ``log_decoders`` below, and add its test.
Sensor logs (Zeek, Suricata EVE) live in ``logs/sensors/``.
"""

from __future__ import annotations

from detector.logs.base import LogDecoder


def log_decoders() -> list[LogDecoder]:
    """Line-oriented log formats, sniffed from the first lines of a text file (ties go to the first)."""
    # imported here: a capture scan never needs them (start-up time)
    from detector.logs.authlog import AuthLogDecoder
    from detector.logs.chatlog import ChatLogDecoder
    from detector.logs.dnslog import DnsLogDecoder
    from detector.logs.firewall import FirewallDecoder
    from detector.logs.hostapd import HostapdDecoder
    from detector.logs.macos import MacLogDecoder
    from detector.logs.maillog import MessageTraceDecoder, PostfixDecoder
    from detector.logs.mikrotik import MikrotikDecoder
    from detector.logs.networkmanager import NetworkManagerDecoder
    from detector.logs.proxylog import ProxifierDecoder, SquidDecoder
    from detector.logs.sensors.eve import EveDecoder
    from detector.logs.sensors.zeek import ZeekJsonDecoder, ZeekTsvDecoder
    from detector.logs.unifi import UnifiDecoder
    from detector.logs.wpa_supplicant import WpaSupplicantDecoder

    messages = [ChatLogDecoder()]
    file_sharing = [SquidDecoder(), ProxifierDecoder(), DnsLogDecoder(), FirewallDecoder(), PostfixDecoder(),
                    MessageTraceDecoder()]
    wifi = [WpaSupplicantDecoder(), NetworkManagerDecoder(), MacLogDecoder(), MikrotikDecoder(), UnifiDecoder()]
    server_logins = [AuthLogDecoder()]  # vsftpd, ProFTPD, Dovecot, Postfix SASL
    sensors = [ZeekTsvDecoder(), ZeekJsonDecoder(), EveDecoder()]
    return [HostapdDecoder()] + messages + file_sharing + wifi + server_logins + sensors
