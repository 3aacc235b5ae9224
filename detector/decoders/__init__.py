"""Decoder registry: one module per protocol or log format, listed here once.

To add a protocol: write ``decoders/<proto>.py`` with a DatagramDecoder,
StreamDecoder, FrameDecoder, LogDecoder or DocumentDecoder subclass, add it to
its family's list below, add its test.
"""

from __future__ import annotations

from ..settings import Settings
from .base import DatagramDecoder, DocumentDecoder, FrameDecoder, LogDecoder, StreamDecoder
from .dns import DnsDecoder
from .dot11 import Dot11Decoder
from .ftp import FtpDecoder
from .hostapd import HostapdDecoder
from .http import HttpDecoder
from .tls import TlsDecoder

# -- imports: credentials family --
from .chatexport import SlackExportDecoder, TeamsExportDecoder
from .chatlog import ChatLogDecoder
from .mailbox import MailboxDecoder
from .mysql import MysqlDecoder
from .imap import ImapDecoder
from .irc import IrcDecoder
from .ldap import LdapDecoder
from .pop3 import Pop3Decoder
from .postgres import PostgresDecoder
from .redis import RedisDecoder
from .smtp import SmtpDecoder
from .snmp import SnmpDecoder
from .telnet import TelnetDecoder
from .xmpp import XmppDecoder

# -- imports: file-sharing family --
from .remoteaccess import TeamViewerDecoder, TeamViewerUdpDecoder
from .dnslog import DnsLogDecoder
from .firewall import FirewallDecoder
from .maillog import MessageTraceDecoder, PostfixDecoder
from .proxylog import ProxifierDecoder, SquidDecoder
from .bittorrent import BitTorrentDecoder, BitTorrentUdpDecoder
from .dns import DnsTcpDecoder
from .lansync import LanSyncDecoder
from .quic import QuicDecoder
from .tftp import TftpDecoder

# -- imports: wifi family --
from .arp import ArpDecoder
from .dhcp import DhcpDecoder
from .evtx import EvtxDecoder
from .macos import MacLogDecoder
from .mikrotik import MikrotikDecoder
from .networkmanager import NetworkManagerDecoder
from .unifi import UnifiDecoder
from .wlan_autoconfig import WlanCsvDecoder, WlanXmlDecoder
from .wpa_supplicant import WpaSupplicantDecoder


def packet_decoders(settings: Settings) -> list:
    """Fresh decoder instances for one scan (stream decoders hold no state between flows)."""
    decoders: list = [
        DnsDecoder(),
        TlsDecoder(),
        HttpDecoder(tuple(settings.password_field_names)),
        FtpDecoder(),
        Dot11Decoder(),
    ]
    decoders += [
        # -- packet decoders: credentials family --
        SmtpDecoder(), Pop3Decoder(), ImapDecoder(), TelnetDecoder(), SnmpDecoder(), LdapDecoder(),
        RedisDecoder(), IrcDecoder(), XmppDecoder(), PostgresDecoder(), MysqlDecoder(),
    ]
    decoders += [
        # -- packet decoders: file-sharing family --
        TeamViewerDecoder(), TeamViewerUdpDecoder(),
        DnsTcpDecoder(), QuicDecoder(), BitTorrentDecoder(), BitTorrentUdpDecoder(), LanSyncDecoder(),
        TftpDecoder(),
    ]
    decoders += [
        # -- packet decoders: wifi family --
        DhcpDecoder(),
        ArpDecoder(),
    ]
    return decoders


def log_decoders() -> list[LogDecoder]:
    """Line-oriented log formats, sniffed from the first lines of a text file."""
    decoders: list[LogDecoder] = [HostapdDecoder()]
    decoders += [
        # -- log decoders: credentials family --
        ChatLogDecoder(),
    ]
    decoders += [
        # -- log decoders: file-sharing family --
        SquidDecoder(), ProxifierDecoder(), DnsLogDecoder(), FirewallDecoder(), PostfixDecoder(),
        MessageTraceDecoder(),
    ]
    decoders += [
        # -- log decoders: wifi family --
        WpaSupplicantDecoder(),
        NetworkManagerDecoder(),
        MacLogDecoder(),
        MikrotikDecoder(),
        UnifiDecoder(),
    ]
    return decoders


def document_decoders(settings: Settings) -> list[DocumentDecoder]:
    """Whole-file formats (JSON exports, mailboxes, .evtx) that are not read line by line."""
    decoders: list[DocumentDecoder] = []
    decoders += [
        # -- document decoders: credentials family --
        MailboxDecoder(), SlackExportDecoder(), TeamsExportDecoder(),
    ]
    decoders += [
        # -- document decoders: file-sharing family --
    ]
    decoders += [
        # -- document decoders: wifi family --
        EvtxDecoder(),
        WlanXmlDecoder(),
        WlanCsvDecoder(),
    ]
    return decoders


__all__ = ["packet_decoders", "log_decoders", "document_decoders", "DatagramDecoder", "StreamDecoder",
           "FrameDecoder", "LogDecoder", "DocumentDecoder"]
