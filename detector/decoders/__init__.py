"""Decoder registry: one module per protocol or log format, listed here once.

To add a protocol: write ``decoders/<proto>.py`` with a DatagramDecoder,
StreamDecoder, FrameDecoder, EtherDecoder, LogDecoder or DocumentDecoder
subclass, add it to the right list below, add its test.
"""

from __future__ import annotations

from ..settings import Settings
from .arp import ArpDecoder
from .base import DatagramDecoder, DocumentDecoder, EtherDecoder, FrameDecoder, LogDecoder, StreamDecoder
from .bittorrent import BitTorrentDecoder, BitTorrentMseDecoder, BitTorrentUdpDecoder
from .dhcp import DhcpDecoder
from .discord import DiscordDecoder
from .dns import DnsDecoder, DnsTcpDecoder
from .dot11 import Dot11Decoder
from .ftp import FtpDecoder
from .http import HttpDecoder
from .imap import ImapDecoder
from .irc import IrcDecoder
from .kerberos import KerberosDecoder, KerberosUdpDecoder
from .lansync import LanSyncDecoder
from .ldap import LdapDecoder
from .msnms import MsnDecoder
from .mysql import MysqlDecoder
from .names import NamesDecoder
from .pop3 import Pop3Decoder
from .portmux import PortMuxDecoder
from .postgres import PostgresDecoder
from .quic import QuicDecoder
from .rangeflow import RangeFlowDecoder
from .redis import RedisDecoder
from .remoteaccess import TeamViewerDecoder, TeamViewerUdpDecoder
from .sip import SipDecoder
from .smb import SmbDecoder
from .smtp import SmtpDecoder
from .snmp import SnmpDecoder
from .stun import StunDecoder
from .telegram import TelegramDecoder
from .telnet import RloginDecoder, TelnetDecoder
from .tftp import TftpDecoder
from .tls import TlsDecoder
from .vpn import OpenVpnTcpDecoder, VpnUdpDecoder
from .whatsapp import WhatsAppDecoder
from .xmpp import XmppDecoder


def packet_decoders(settings: Settings) -> list:
    """Fresh decoder instances for one scan. Order matters where two claim the same port or first bytes."""
    foundation = [DnsDecoder(), TlsDecoder(), HttpDecoder(tuple(settings.password_field_names)), FtpDecoder(),
                  Dot11Decoder()]
    clear_text_logins = [SmtpDecoder(), Pop3Decoder(), ImapDecoder(), TelnetDecoder(), SnmpDecoder(), LdapDecoder(),
                         RedisDecoder(), IrcDecoder(), XmppDecoder(), PostgresDecoder(), MysqlDecoder(), MsnDecoder(),
                         RloginDecoder(), SipDecoder()]
    file_sharing = [TeamViewerDecoder(), TeamViewerUdpDecoder(), DnsTcpDecoder(), QuicDecoder(), BitTorrentDecoder(),
                    BitTorrentUdpDecoder(), LanSyncDecoder(), TftpDecoder()]
    wifi = [DhcpDecoder(), ArpDecoder()]
    who = [NamesDecoder(), KerberosUdpDecoder(), KerberosDecoder(), SmbDecoder()]  # HostIdentity sources
    # services without a host name: payload signatures, then published address ranges (last: it takes any UDP)
    signatures = [WhatsAppDecoder(), TelegramDecoder(), OpenVpnTcpDecoder(), BitTorrentMseDecoder(), StunDecoder(),
                  DiscordDecoder(), VpnUdpDecoder()] + ([RangeFlowDecoder()] if settings.udp_range_lookup else [])
    # first on 443 and 5222: hand each stream to the port's protocol or WhatsApp, Telegram, OpenVPN by its first bytes
    port_443 = PortMuxDecoder([TlsDecoder(), WhatsAppDecoder(), TelegramDecoder(), OpenVpnTcpDecoder(),
                               BitTorrentDecoder()], frozenset({443}))
    port_5222 = PortMuxDecoder([XmppDecoder(), WhatsAppDecoder(), TelegramDecoder()], frozenset({5222}))
    return [port_443, port_5222] + foundation + clear_text_logins + file_sharing + wifi + who + signatures


def log_decoders() -> list[LogDecoder]:
    """Line-oriented log formats, sniffed from the first lines of a text file (ties go to the first)."""
    # imported here: a capture scan never needs them (start-up time)
    from .authlog import AuthLogDecoder
    from .chatlog import ChatLogDecoder
    from .dnslog import DnsLogDecoder
    from .firewall import FirewallDecoder
    from .hostapd import HostapdDecoder
    from .macos import MacLogDecoder
    from .maillog import MessageTraceDecoder, PostfixDecoder
    from .mikrotik import MikrotikDecoder
    from .networkmanager import NetworkManagerDecoder
    from .proxylog import ProxifierDecoder, SquidDecoder
    from .suricata import EveDecoder
    from .unifi import UnifiDecoder
    from .wpa_supplicant import WpaSupplicantDecoder
    from .zeek import ZeekJsonDecoder, ZeekTsvDecoder

    messages = [ChatLogDecoder()]
    file_sharing = [SquidDecoder(), ProxifierDecoder(), DnsLogDecoder(), FirewallDecoder(), PostfixDecoder(),
                    MessageTraceDecoder()]
    wifi = [WpaSupplicantDecoder(), NetworkManagerDecoder(), MacLogDecoder(), MikrotikDecoder(), UnifiDecoder()]
    server_logins = [AuthLogDecoder()]  # vsftpd, ProFTPD, Dovecot, Postfix SASL
    sensors = [ZeekTsvDecoder(), ZeekJsonDecoder(), EveDecoder()]
    return [HostapdDecoder()] + messages + file_sharing + wifi + server_logins + sensors


def document_decoders(settings: Settings) -> list[DocumentDecoder]:
    """Whole-file formats (JSON exports, mailboxes, .evtx) that are not read line by line."""
    from .chatexport import SlackExportDecoder, TeamsExportDecoder
    from .evtx import EvtxDecoder
    from .mailbox import MailboxDecoder
    from .wlan_autoconfig import WlanCsvDecoder, WlanXmlDecoder

    messages = [MailboxDecoder(), SlackExportDecoder(), TeamsExportDecoder()]
    wifi = [EvtxDecoder(), WlanXmlDecoder(), WlanCsvDecoder()]
    return messages + wifi


__all__ = ["packet_decoders", "log_decoders", "document_decoders", "DatagramDecoder", "StreamDecoder",
           "FrameDecoder", "EtherDecoder", "LogDecoder", "DocumentDecoder"]
