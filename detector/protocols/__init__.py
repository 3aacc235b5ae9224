"""Packet protocols: one module per protocol, listed here once.

To add a protocol: write ``protocols/<proto>.py`` with a DatagramDecoder,
StreamDecoder, FrameDecoder or EtherDecoder subclass (``protocols/base.py``),
add it to the right list in ``packet_decoders`` below, and add its test.
"""

from __future__ import annotations

from detector.policy.settings import Settings
from detector.protocols.arp import ArpDecoder
from detector.protocols.bittorrent import (
    BitTorrentDecoder,
    BitTorrentMdnsDecoder,
    BitTorrentMseDecoder,
    BitTorrentUdpDecoder,
    PeerWireDecoder,
)
from detector.protocols.dhcp import DhcpDecoder
from detector.protocols.discord import DiscordDecoder
from detector.protocols.dns import DnsDecoder, DnsTcpDecoder
from detector.protocols.dot11 import Dot11Decoder
from detector.protocols.dtls import DtlsDecoder
from detector.protocols.ftp import FtpDecoder
from detector.protocols.http import HTTP_PORTS, HttpDecoder
from detector.protocols.imap import ImapDecoder
from detector.protocols.irc import IrcDecoder
from detector.protocols.kerberos import KerberosDecoder, KerberosUdpDecoder
from detector.protocols.lansync import LanSyncDecoder
from detector.protocols.ldap import LdapDecoder
from detector.protocols.msnms import MsnDecoder
from detector.protocols.mysql import MysqlDecoder
from detector.protocols.names import NamesDecoder
from detector.protocols.pop3 import Pop3Decoder
from detector.protocols.portmux import PortMuxDecoder
from detector.protocols.postgres import PostgresDecoder
from detector.protocols.quic import QuicDecoder
from detector.protocols.rangeflow import RangeFlowDecoder
from detector.protocols.redis import RedisDecoder
from detector.protocols.remoteaccess import TeamViewerDecoder, TeamViewerUdpDecoder
from detector.protocols.sip import SipDecoder
from detector.protocols.smb import SmbDecoder
from detector.protocols.smtp import SmtpDecoder
from detector.protocols.snmp import SnmpDecoder
from detector.protocols.stun import StunDecoder
from detector.protocols.telegram import TelegramDecoder
from detector.protocols.telnet import RloginDecoder, TelnetDecoder
from detector.protocols.tftp import TftpDecoder
from detector.protocols.tls import TlsDecoder
from detector.protocols.vpn import OpenVpnTcpDecoder, VpnUdpDecoder
from detector.protocols.whatsapp import WhatsAppDecoder
from detector.protocols.xmpp import XmppDecoder
from detector.protocols.zoom import ZoomMediaDecoder


def packet_decoders(settings: Settings) -> list:
    """Fresh decoder instances for one scan. Order matters where two claim the same port or first bytes."""
    http = HttpDecoder(tuple(settings.password_field_names))
    foundation = [DnsDecoder(), TlsDecoder(), http, FtpDecoder(), Dot11Decoder()]
    clear_text_logins = [SmtpDecoder(), Pop3Decoder(), ImapDecoder(), TelnetDecoder(), SnmpDecoder(), LdapDecoder(),
                         RedisDecoder(), IrcDecoder(), XmppDecoder(), PostgresDecoder(), MysqlDecoder(), MsnDecoder(),
                         RloginDecoder(), SipDecoder()]
    file_sharing = [TeamViewerDecoder(), TeamViewerUdpDecoder(), DnsTcpDecoder(), QuicDecoder(), BitTorrentDecoder(),
                    BitTorrentUdpDecoder(), BitTorrentMdnsDecoder(), LanSyncDecoder(), TftpDecoder()]
    wifi = [DhcpDecoder(), ArpDecoder()]
    who = [NamesDecoder(), KerberosUdpDecoder(), KerberosDecoder(), SmbDecoder()]  # HostIdentity sources
    # services without a host name: payload signatures, then published address ranges (last: it takes any UDP)
    signatures = [WhatsAppDecoder(), TelegramDecoder(), OpenVpnTcpDecoder(), BitTorrentMseDecoder(), StunDecoder(),
                  DiscordDecoder(), VpnUdpDecoder(), ZoomMediaDecoder(), DtlsDecoder(), PeerWireDecoder()]
    signatures += [RangeFlowDecoder()] if settings.udp_range_lookup else []
    # first on 443 and 5222: hand each stream to the port's protocol or WhatsApp, Telegram, OpenVPN by its first bytes
    port_443 = PortMuxDecoder([TlsDecoder(), WhatsAppDecoder(), TelegramDecoder(), OpenVpnTcpDecoder(),
                               BitTorrentDecoder(), TeamViewerDecoder()], frozenset({443}))
    port_5222 = PortMuxDecoder([XmppDecoder(), WhatsAppDecoder(), TelegramDecoder()], frozenset({5222}))
    # TLS on an HTTP port (AnyDesk's relays on 80): the flow opens on its SYN as HTTP, the first bytes decide
    http_ports = PortMuxDecoder([http, TlsDecoder()], HTTP_PORTS)
    return [port_443, port_5222, http_ports] + foundation + clear_text_logins + file_sharing + wifi + who + signatures
