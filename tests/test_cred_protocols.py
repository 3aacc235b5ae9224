"""Each clear-text login protocol through the real pipeline, from scapy-built captures."""

from __future__ import annotations

import pytest
from cred_packets import (
    BUILDERS,
    CLIENT,
    SERVER,
    T0,
    ftp_exchange,
    ldap_bind,
    ldap_bind_response,
    scan,
    tlv,
    udp,
    write_fixture,
)
from scanning import by_detector

from detector.findings.finding import Finding
from detector.samples import tcp_session, write_pcap


def logins(findings: list[Finding]) -> dict[tuple[str, str], Finding]:
    return {(f.attributes.protocol, f.attributes.username): f
            for f in by_detector(findings, "credentials.cleartext")}


def shared(findings: list[Finding]) -> dict[str, Finding]:
    return {f.attributes.channel + ":" + f.attributes.sender: f
            for f in by_detector(findings, "credentials.shared-in-message")}


def scan_fixture(tmp_path, name: str) -> list[Finding]:
    path, _ = write_fixture(tmp_path, name)
    findings, inputs, pipeline = scan(path)
    assert inputs[0].warnings == []
    assert pipeline.dispatcher.stats.decoder_errors == 0
    return findings


def test_ftp_outcomes_and_banner_on_any_port(tmp_path):
    packets = tcp_session(CLIENT, SERVER, 41000, 21, ftp_exchange("web", "Ftp!Good1"), T0)
    refused = ftp_exchange("web", "Ftp!Bad22", outcome=b"530 Login incorrect\r\n")
    packets += tcp_session(CLIENT, SERVER, 41001, 21, refused, T0 + 1)
    packets += tcp_session(CLIENT, SERVER, 41002, 4021,
                           ftp_exchange("cam", "Ftp!Port3", banner=b"220 ProFTPD Server ready\r\n"), T0 + 2)
    packets += tcp_session(CLIENT, SERVER, 41003, 4025, [(False, b"220 mx.example.com ESMTP Exim\r\n"),
                                                         (True, b"EHLO x\r\n"), (False, b"250 ok\r\n")], T0 + 3)
    findings, _, _ = scan(write_pcap(tmp_path / "ftp.pcap", packets))
    found = sorted((f.attributes.username, f.attributes.server_port, f.attributes.accepted)
                   for f in by_detector(findings, "credentials.cleartext"))
    assert found == [("cam", 4021, True), ("web", 21, True)]  # one finding per protocol, server and user
    web = next(f for f in by_detector(findings, "credentials.cleartext") if f.attributes.username == "web")
    assert sorted((s["mask"], s["accepted"]) for s in web.attributes.secrets) == \
        [("F******** (9)", False), ("F******** (9)", True)]
    assert web.attributes.secret_mask == "F******** (9)" and web.count == 2
    assert web.hosts == [SERVER] and web.attributes.used_by == [CLIENT]  # the server to fix; the client used it


def test_telnet_echo_backspace_and_outcome(tmp_path):
    """IAC stripped, echoed characters ignored, DEL applied; one refused and one accepted attempt."""
    findings = by_detector(scan_fixture(tmp_path, "telnet"), "credentials.cleartext")
    assert len(findings) == 1  # the same user's two attempts are one finding, each secret listed
    result = sorted((s["mask"], s["accepted"]) for s in findings[0].attributes.secrets)
    assert result == [("T******** (9)", True), ("w****** (7)", False)]
    assert findings[0].attributes.accepted is True and findings[0].attributes.secret_mask == "T******** (9)"


def test_pop3_user_pass_auth_plain_and_mail_body(tmp_path):
    findings = scan_fixture(tmp_path, "pop3")
    found = logins(findings)
    assert found[("pop3", "alice")].attributes.accepted is True
    assert found[("pop3", "alice")].attributes.starttls is False
    assert found[("pop3", "bob")].attributes.accepted is False
    mail = shared(findings)["pop3:boss@example.com"]
    assert mail.attributes.recipients == ["new@example.com"]
    assert mail.attributes.secret_mask == "V*********** (14)"


def test_imap_quoted_literal_authenticate_and_starttls(tmp_path):
    findings = scan_fixture(tmp_path, "imap")
    found = logins(findings)
    assert set(found) == {("imap", "carol"), ("imap", "dave"), ("imap", "erin"), ("imap", "grace")}  # not frank: TLS
    assert found[("imap", "grace")].attributes.accepted is False
    assert found[("imap", "carol")].attributes.secret_mask.endswith("(8)")  # Qu"oted1, escape undone
    assert found[("imap", "carol")].attributes.accepted is True
    assert found[("imap", "dave")].attributes.secret_mask.endswith("(9)")  # literal with a space
    assert found[("imap", "dave")].attributes.accepted is False
    assert found[("imap", "erin")].attributes.accepted is True
    assert "offered STARTTLS" in found[("imap", "carol")].attributes.note
    assert shared(findings)["imap:it@example.com"].attributes.phrase == "passwort"


def test_smtp_auth_starttls_attachment_and_body(tmp_path):
    findings = scan_fixture(tmp_path, "smtp")
    found = logins(findings)
    assert set(found) == {("smtp", "boss@example.com"), ("smtp", "scanner")}
    boss, scanner = found[("smtp", "boss@example.com")], found[("smtp", "scanner")]
    assert (boss.attributes.accepted, boss.attributes.starttls, boss.severity) == (True, False, "high")
    assert (scanner.attributes.accepted, scanner.attributes.starttls) == (False, True)
    attachments = by_detector(findings, "filesharing.attachment")
    assert [a.attributes.filename for a in attachments] == ["Rechnung.pdf"]
    assert attachments[0].attributes.protocol == "smtp-attachment"
    assert attachments[0].attributes.size == 3072
    message = shared(findings)["smtp:boss@example.com"]
    assert message.attributes.recipients == ["a@example.com", "b@example.com"]
    assert message.attributes.phrase == "zugangsdaten"


def test_snmp_communities_defaults_and_v3(tmp_path):
    findings = by_detector(scan_fixture(tmp_path, "snmp"), "credentials.cleartext")
    by_server = {f.attributes.server: f for f in findings}
    assert set(by_server) == {SERVER, "10.1.2.51", CLIENT}  # the v3 agent 10.1.2.53 yields nothing
    public = by_server[SERVER]
    assert public.attributes.default is True and public.count == 2 and public.attributes.accepted is True
    assert by_server["10.1.2.51"].attributes.default is False
    trap = by_server[CLIENT]  # a trap authenticates the agent to the manager listening on 162
    assert trap.attributes.server_port == 162 and trap.attributes.client == "10.1.2.52"


def test_ldap_simple_bind_ports_content_and_ignored_binds(tmp_path):
    found = logins(scan_fixture(tmp_path, "ldap"))
    assert set(found) == {("ldap", "cn=scanner,dc=office,dc=lan"), ("ldap", "bob@office.lan"),
                          ("ldap", "uid=app,ou=svc")}
    assert found[("ldap", "bob@office.lan")].attributes.accepted is False
    assert found[("ldap", "bob@office.lan")].attributes.server_port == 3268
    assert found[("ldap", "uid=app,ou=svc")].attributes.server_port == 10389


def test_ldap_bind_split_over_segments(tmp_path):
    request = ldap_bind(3, "cn=split", "Spl1t!Ldap")
    packets = tcp_session(CLIENT, SERVER, 41389, 389, [(True, request), (False, ldap_bind_response(3, 0))], T0, mss=5)
    found = logins(scan(write_pcap(tmp_path / "l.pcap", packets))[0])
    assert found[("ldap", "cn=split")].attributes.accepted is True


def test_ldap_garbage_is_not_a_bind(tmp_path):
    junk = tlv(0x30, b"\x02\x01\x01\x60\x85\xff")
    packets = tcp_session(CLIENT, SERVER, 41390, 389, [(True, junk * 3)], T0)
    findings, _, _ = scan(write_pcap(tmp_path / "junk.pcap", packets))
    assert by_detector(findings, "credentials.cleartext") == []


def test_redis_resp_and_inline_auth(tmp_path):
    found = logins(scan_fixture(tmp_path, "redis"))
    assert found[("redis", "")].attributes.accepted is True
    assert found[("redis", "app")].attributes.accepted is False


def test_irc_pass_nickserv_and_chat(tmp_path):
    findings = scan_fixture(tmp_path, "irc")
    found = logins(findings)
    assert found[("irc", "mallory")].attributes.accepted is True
    assert found[("irc-nickserv", "mallory")].attributes.accepted is True
    chat = shared(findings)
    assert set(chat) == {"irc:mallory", "irc:trent"}  # the reset-link line is not a hit
    assert chat["irc:trent"].attributes.phrase == "contraseña"
    assert chat["irc:mallory"].attributes.recipients == ["#ops"]


def test_xmpp_sasl_plain_register_and_chat(tmp_path):
    findings = scan_fixture(tmp_path, "xmpp")
    logins_seen = by_detector(findings, "credentials.cleartext")
    assert len(logins_seen) == 1 and len(logins_seen[0].attributes.secrets) == 2  # SASL PLAIN + registration
    assert logins_seen[0].attributes.note.startswith(("SASL PLAIN", "in-band registration"))
    assert all(f.attributes.accepted for f in by_detector(findings, "credentials.cleartext"))
    assert shared(findings)["xmpp:peggy@chat.lan"].attributes.recipients == ["victor@chat.lan"]


def test_postgres_cleartext_password_message(tmp_path):
    found = logins(scan_fixture(tmp_path, "postgres"))
    assert found[("postgresql", "report")].attributes.accepted is True
    assert "sales" in found[("postgresql", "report")].attributes.note


def test_mysql_clear_password_plugin_switch_and_scramble(tmp_path):
    found = logins(scan_fixture(tmp_path, "mysql"))
    assert set(found) == {("mysql", "etl"), ("mysql", "web"), ("mysql", "bi")}
    assert (found[("mysql", "etl")].attributes.kind, found[("mysql", "etl")].attributes.accepted) == \
        ("cleartext", True)
    assert (found[("mysql", "web")].attributes.kind, found[("mysql", "web")].attributes.accepted) == \
        ("hash", False)
    bi = [f for f in by_detector(scan_fixture(tmp_path, "mysql"), "credentials.cleartext")
          if f.attributes.username == "bi"]
    assert sorted((f.attributes.kind, f.attributes.accepted) for f in bi) == [("cleartext", True),
                                                                                 ("hash", None)]


def test_msn_chat_text_and_ticket_ignored(tmp_path):
    findings = scan_fixture(tmp_path, "msn")
    assert by_detector(findings, "credentials.cleartext") == []  # the USR ticket is a session cookie
    hit = shared(findings)["msn:bob@example.com"]
    assert hit.attributes.recipients == ["ann@example.com"]


def test_rlogin_password_after_handshake(tmp_path):
    found = logins(scan_fixture(tmp_path, "rlogin"))
    assert set(found) == {("rlogin", "root")}
    assert found[("rlogin", "root")].attributes.accepted is True


def test_http_basic_proxy_forms_json_query_and_digest(tmp_path):
    findings = scan_fixture(tmp_path, "http")
    found = logins(findings)
    assert set(found) == {("http-basic", "nasadmin"), ("http-proxy-basic", "kiosk"), ("http-form", "jane"),
                          ("http-json", "joe@example.com"), ("http-form", "max"), ("http-query", "kim"),
                          ("http-digest", "dora")}  # csrf_token is not a password
    assert found[("http-basic", "nasadmin")].attributes.accepted is False
    assert found[("http-basic", "nasadmin")].attributes.secret_mask.endswith("(11)")  # colon kept
    digest = found[("http-digest", "dora")]
    assert (digest.attributes.kind, digest.severity) == ("hash", "info")


@pytest.mark.parametrize("name", ["telnet", "pop3", "imap", "smtp", "ldap", "redis", "irc", "xmpp", "postgres",
                                  "mysql"])
def test_every_protocol_over_ipv6(tmp_path, name):
    """The same conversations with IPv6 addresses give the same logins."""
    v4 = logins(scan_fixture(tmp_path, name))
    packets, _ = _rebuild_v6(name)
    v6 = logins(scan(write_pcap(tmp_path / f"{name}6.pcap", packets))[0])
    assert set(v6) == set(v4)
    assert all(":" in f.attributes.server for f in v6.values())


def _rebuild_v6(name: str):
    """Rebuild a fixture with IPv6 endpoints by rewriting its scapy packets."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether

    packets, secrets = BUILDERS[name]()
    mapping = {CLIENT: "2001:db8::3", SERVER: "2001:db8::50"}
    rebuilt = []
    for pkt in packets:
        ip = pkt[IP]
        v6 = IPv6(src=mapping.get(ip.src, "2001:db8::99"), dst=mapping.get(ip.dst, "2001:db8::99"))
        new = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / v6
        new = new / ip[TCP].copy()
        del new[TCP].chksum
        new.time = pkt.time
        rebuilt.append(new)
    return rebuilt, secrets


def test_password_pasted_to_a_paste_site(tmp_path):
    form = b"api_dev_key=k&api_option=paste&api_paste_code=db+server+notes%0Apassword%3A+Db%21Paste2026&x=1"
    request = (b"POST /api/api_post.php HTTP/1.1\r\nHost: pastebin.com\r\nContent-Type: "
               b"application/x-www-form-urlencoded\r\nContent-Length: " + str(len(form)).encode() + b"\r\n\r\n" + form)
    packets = tcp_session(CLIENT, SERVER, 43080, 80, [(True, request), (False, b"HTTP/1.1 200 OK\r\n\r\n")], T0)
    findings, _, _ = scan(write_pcap(tmp_path / "paste.pcap", packets))
    [hit] = by_detector(findings, "credentials.shared-in-message")
    assert (hit.attributes.channel, hit.attributes.sender) == ("http-post", CLIENT)
    assert hit.attributes.recipients == ["pastebin.com"]
    assert hit.attributes.secret_mask == "D*********** (12)"


def test_telnet_on_a_non_standard_port_by_negotiation(tmp_path):
    exchange = [(False, b"\xff\xfd\x18\xff\xfd\x20"), (True, b"\xff\xfb\x18"), (False, b"\r\nUsername: "),
                (True, b"ops\r\n"), (False, b"\r\nPassword: "), (True, b"N0n-Std!23\r\n"),
                (False, b"\r\nswitch> ")]
    packets = tcp_session(CLIENT, SERVER, 43023, 8023, exchange, T0)
    found = logins(scan(write_pcap(tmp_path / "t.pcap", packets))[0])
    assert found[("telnet", "ops")].attributes.accepted is True
    assert found[("telnet", "ops")].attributes.server_port == 8023


def test_sip_digest_is_crackable_material_not_clear_text(tmp_path):
    register = (b"REGISTER sip:pbx.lan SIP/2.0\r\nVia: SIP/2.0/UDP 10.1.2.3:5060\r\nFrom: <sip:201@pbx.lan>\r\n"
                b'Authorization: Digest username="201", realm="asterisk", nonce="3f2a", uri="sip:pbx.lan", '
                b'response="8d2e1c0b9a8f7e6d5c4b3a2918070605", algorithm=MD5\r\nContent-Length: 0\r\n\r\n')
    packets = [udp(CLIENT, SERVER, 5060, 5060, register, T0), udp(CLIENT, SERVER, 5062, 5070, register, T0 + 1)]
    findings, _, _ = scan(write_pcap(tmp_path / "sip.pcap", packets))
    [finding] = by_detector(findings, "credentials.cleartext")
    assert (finding.attributes.protocol, finding.attributes.username, finding.attributes.kind) == \
        ("sip", "201", "hash")
    assert finding.severity == "info" and finding.count == 2  # second one found by its REGISTER prefix


def test_ftp_login_after_refused_auth_tls(tmp_path):
    exchange = [(False, b"220 FTP\r\n"), (True, b"AUTH TLS\r\n"), (False, b"500 not understood\r\n")] + \
        ftp_exchange("web", "Tls!Refused1")[1:]
    encrypted = [(False, b"220 FTP\r\n"), (True, b"AUTH TLS\r\n"), (False, b"234 AUTH TLS ok\r\n"),
                 (True, b"USER hidden\r\nPASS Never!Seen2\r\n")]
    packets = tcp_session(CLIENT, SERVER, 43021, 21, exchange, T0)
    packets += tcp_session(CLIENT, SERVER, 43022, 21, encrypted, T0 + 1)
    found = logins(scan(write_pcap(tmp_path / "ftps.pcap", packets))[0])
    assert set(found) == {("ftp", "web")}
    assert found[("ftp", "web")].attributes.starttls is True
