"""Hostile bytes: every credentials decoder survives random and truncated input without raising,
and bounded buffers stay bounded."""

from __future__ import annotations

import random

import pytest
from cred_packets import BUILDERS
from scapy.layers.inet import TCP, UDP
from scapy.packet import Raw

from detector.protocols.base import Datagram, Endpoints
from detector.protocols.imap import ImapDecoder
from detector.protocols.irc import IrcDecoder
from detector.protocols.ldap import LdapDecoder
from detector.protocols.msnms import MsnDecoder
from detector.protocols.mysql import MysqlDecoder
from detector.protocols.pop3 import Pop3Decoder
from detector.protocols.postgres import PostgresDecoder
from detector.protocols.redis import RedisDecoder
from detector.protocols.sip import SipDecoder
from detector.protocols.smtp import SmtpDecoder
from detector.protocols.snmp import SnmpDecoder
from detector.protocols.telnet import RloginDecoder, TelnetDecoder
from detector.protocols.xmpp import XmppDecoder

STREAM_DECODERS = [SmtpDecoder, Pop3Decoder, ImapDecoder, TelnetDecoder, LdapDecoder, RedisDecoder, IrcDecoder,
                   XmppDecoder, PostgresDecoder, MysqlDecoder, MsnDecoder, RloginDecoder]
ENDS = Endpoints("10.0.0.1", "10.0.0.2", 40000, 1, "tcp")


def conversation(name: str) -> list[tuple[bool, bytes]]:
    """The payloads of a fixture conversation, in order, with their direction."""
    packets, _ = BUILDERS[name]()
    out = []
    for pkt in packets:
        if pkt.haslayer(TCP) and pkt.haslayer(Raw):
            out.append((pkt[TCP].dport < pkt[TCP].sport, bytes(pkt[Raw].load)))
    return out


@pytest.mark.parametrize("decoder", STREAM_DECODERS, ids=lambda d: d.name)
def test_random_bytes_never_raise(decoder):
    rng = random.Random(decoder.name)
    emitted = []
    for _ in range(30):
        session = decoder().session(ENDS, emitted.append)
        for _ in range(20):
            chunk = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
            if not session.feed(rng.random() < 0.5, chunk, 1.0, "x"):
                break
        session.close(2.0, "x")


@pytest.mark.parametrize("name", ["smtp", "pop3", "imap", "telnet", "ldap", "redis", "irc", "xmpp", "postgres",
                                  "mysql", "msn", "rlogin"])
def test_mutated_conversations_never_raise(name):
    """Real conversations with bytes flipped, dropped and cut short at random."""
    decoder = {d.name: d for d in STREAM_DECODERS}[{"postgres": "postgresql", "msn": "msnms"}.get(name, name)]
    base = conversation(name)
    rng = random.Random(name)
    for _ in range(40):
        session = decoder().session(ENDS, lambda obs: None)
        for from_client, payload in base:
            data = bytearray(payload)
            for _ in range(rng.randint(0, 4)):
                if data:
                    data[rng.randrange(len(data))] = rng.getrandbits(8)
            if rng.random() < 0.1:
                data = data[:rng.randint(0, len(data))]
            if not session.feed(from_client, bytes(data), 1.0, "x"):
                break
        session.close(2.0, "x")


def test_snmp_random_and_truncated_datagrams():
    rng = random.Random(161)
    packets, _ = BUILDERS["snmp"]()
    payloads = [bytes(p[UDP].payload) for p in packets]
    emitted = []
    for _ in range(500):
        base = rng.choice(payloads)
        data = base[:rng.randint(0, len(base))] if rng.random() < 0.5 else bytes(
            rng.getrandbits(8) for _ in range(rng.randint(0, 80)))
        SnmpDecoder().decode(Datagram(1.0, "x", "10.0.0.1", "10.0.0.2", 50000, 161, data), emitted.append)
    assert all(obs.secret.length <= 256 for obs in emitted)


def test_endless_line_does_not_grow_buffers():
    session = SmtpDecoder().session(ENDS, lambda obs: None).inner  # the clear-text part of a STARTTLS session
    for _ in range(200):
        session.feed(True, b"A" * 4096, 1.0, "x")
    assert len(session.client_lines.pending) <= 8192


def test_huge_imap_literal_is_skipped_not_kept():
    session = ImapDecoder().session(ENDS, lambda obs: None).inner
    session.feed(True, b"a1 APPEND INBOX {100000000}\r\n", 1.0, "x")
    for _ in range(100):
        session.feed(True, b"B" * 4096, 1.0, "x")
    assert len(session.literal_value) <= 8 * 1024 and len(session.client_buf) == 0


def test_sip_random_and_truncated_datagrams():
    rng = random.Random(5060)
    base = (b"REGISTER sip:x SIP/2.0\r\nAuthorization: Digest username=\"a\", realm=\"r\", response=\"0123\"\r\n\r\n")
    emitted = []
    for _ in range(500):
        data = bytearray(base[:rng.randint(0, len(base))])
        for _ in range(rng.randint(0, 5)):
            if data:
                data[rng.randrange(len(data))] = rng.getrandbits(8)
        SipDecoder().decode(Datagram(1.0, "x", "10.0.0.1", "10.0.0.2", 5060, 5060, bytes(data)), emitted.append)
    assert all(obs.kind == "hash" for obs in emitted)


def test_bytes_that_are_not_utf8_stay_readable_as_escaped_hex():
    """A Latin-1 or binary value from the wire keeps its bytes visible (\\xfc), never a replacement character."""
    from detector.protocols.text import text

    assert text(b"USER m\xfcller\x00") == "USER m\\xfcller" and "\ufffd" not in text(b"\xff\xfe\x9f")
    assert text("Müller".encode()) == "Müller"
