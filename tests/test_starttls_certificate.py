"""Issue 23 point 9: the certificate a server sends after an accepted STARTTLS (IMAP, POP3, SMTP, FTP) is read."""

from __future__ import annotations

import pytest
from decoder_packets import conversation, logins, observe, of_type
from fs_packets import certificate_der, client_hello_without_sni, server_flight

from detector.observations import TlsCertificate

UPGRADES = {
    "imap": (143, [(False, b"* OK IMAP4rev1 ready\r\n"), (True, b"a1 STARTTLS\r\n"),
                   (False, b"a1 OK Begin TLS negotiation now\r\n")]),
    "imap-no-greeting": (143, [(True, b"A7 CAPABILITY\r\n"), (False, b"* CAPABILITY IMAP4rev1 STARTTLS\r\nA7 OK\r\n"),
                               (True, b"A8 STARTTLS\r\n"), (False, b"A8 OK go\r\n")]),
    "pop3": (110, [(False, b"+OK POP3 ready\r\n"), (True, b"STLS\r\n"), (False, b"+OK Begin TLS\r\n")]),
    "smtp": (587, [(False, b"220 mx ESMTP\r\n"), (True, b"EHLO me\r\n"), (False, b"250-mx\r\n250 STARTTLS\r\n"),
                   (True, b"STARTTLS\r\n"), (False, b"220 2.0.0 Ready to start TLS\r\n")]),
    "ftp": (21, [(False, b"220 FTP ready\r\n"), (True, b"AUTH TLS\r\n"), (False, b"234 AUTH TLS OK.\r\n")]),
}


@pytest.fixture(scope="module")
def certificate():
    return certificate_der("mail.provider.example", ["mail.provider.example", "imap.provider.example"])


@pytest.mark.parametrize("name", sorted(UPGRADES))
@pytest.mark.parametrize("handshake,mss", [(True, 1400), (False, 1400), (True, 9)])
def test_certificate_after_upgrade_is_read(name, handshake, mss, certificate):
    port, clear = UPGRADES[name]
    exchange = clear + [(True, client_hello_without_sni()), (False, server_flight(certificate))]
    seen, dispatcher = observe(conversation(exchange, port, handshake=handshake, mss=mss))
    certificates = of_type(seen, TlsCertificate)
    assert [c.names[0] for c in certificates] == ["mail.provider.example"]
    assert certificates[0].server_port == port and dispatcher.stats.decoder_errors == 0


@pytest.mark.parametrize("name", ["imap", "pop3", "smtp"])
def test_refused_upgrade_keeps_reading_clear_text(name, certificate):
    port, clear = UPGRADES[name]
    refused = clear[:-1] + [(False, {"imap": b"a1 BAD no\r\n", "pop3": b"-ERR no\r\n",
                                     "smtp": b"454 TLS not available\r\n"}[name])]
    login = {"imap": [(True, b"a2 LOGIN dan Clear-1x\r\n"), (False, b"a2 OK\r\n")],
             "pop3": [(True, b"USER dan\r\n"), (False, b"+OK\r\n"), (True, b"PASS Clear-1x\r\n"), (False, b"+OK\r\n")],
             "smtp": [(True, b"AUTH PLAIN AGRhbgBDbGVhci0xeA==\r\n"), (False, b"235 ok\r\n")]}[name]
    seen, _ = observe(conversation(refused + login, port))
    assert logins(seen) == [(name, "dan", True)]
    assert of_type(seen, TlsCertificate) == []
