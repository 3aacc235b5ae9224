"""Byte-exact builders for the credentials tests: one conversation per protocol, with its clear secrets.

Each builder returns (packets, secrets) so the no-leak test can grep every
output for every clear password used here.
"""

from __future__ import annotations

import base64
import json
import struct
from functools import lru_cache
from pathlib import Path
from typing import Optional

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw

from detector.findings.finding import Finding
from detector.findings.result import InputRecord
from detector.policy import load_ruleset
from detector.policy.catalog import load_catalog
from detector.policy.settings import Settings
from detector.samples import CLIENT_MAC, SERVER_MAC, tcp_session, write_pcap
from detector.session.pipeline import Scan, ScanConfig
from detector.session.policy import classify

T0 = 1_790_000_000.0
CLIENT, SERVER = "10.1.2.3", "10.1.2.50"


def b64(value: str) -> bytes:
    return base64.b64encode(value.encode())


# ---------------------------------------------------------------- BER (SNMP, LDAP)


def tlv(tag: int, value: bytes) -> bytes:
    if len(value) < 0x80:
        return bytes([tag, len(value)]) + value
    size = len(value).to_bytes((len(value).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + value


def ber_int(value: int) -> bytes:
    return tlv(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def snmp_message(version: int, community: str, pdu_tag: int = 0xA0, request_id: int = 7) -> bytes:
    varbind = tlv(0x30, tlv(0x06, b"\x2b\x06\x01\x02\x01\x01\x01\x00") + b"\x05\x00")
    pdu = tlv(pdu_tag, ber_int(request_id) + ber_int(0) + ber_int(0) + tlv(0x30, varbind))
    return tlv(0x30, ber_int(version) + tlv(0x04, community.encode()) + pdu)


def snmp_v3_message(user: str) -> bytes:
    header = tlv(0x30, ber_int(99) + ber_int(1400) + tlv(0x04, b"\x07") + ber_int(3))
    usm = tlv(0x30, tlv(0x04, b"\x80\x00\x1f\x88\x80") + ber_int(1) + ber_int(100) + tlv(0x04, user.encode())
              + tlv(0x04, b"\x00" * 12) + tlv(0x04, b"\x01" * 8))
    return tlv(0x30, ber_int(3) + header + tlv(0x04, usm) + tlv(0x04, b"\xaa" * 40))


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes, t: float) -> Packet:
    ip = IPv6(src=src, dst=dst) if ":" in src else IP(src=src, dst=dst)
    pkt = Ether(src=CLIENT_MAC, dst=SERVER_MAC) / ip / UDP(sport=sport, dport=dport) / Raw(payload)
    pkt.time = t
    return pkt


def ldap_bind(msgid: int, dn: str, password: str = "", sasl: bool = False) -> bytes:
    auth = tlv(0xA3, tlv(0x04, b"GSS-SPNEGO") + tlv(0x04, b"\x60\x10" + b"x" * 16)) if sasl else \
        tlv(0x80, password.encode())
    return tlv(0x30, ber_int(msgid) + tlv(0x60, ber_int(3) + tlv(0x04, dn.encode()) + auth))


def ldap_bind_response(msgid: int, code: int) -> bytes:
    return tlv(0x30, ber_int(msgid) + tlv(0x61, tlv(0x0A, bytes([code])) + tlv(0x04, b"") + tlv(0x04, b"")))


# ---------------------------------------------------------------- conversations


def ftp_exchange(user: str, password: str, banner: bytes = b"220 NAS FTP server ready\r\n",
                 outcome: bytes = b"230 Login successful\r\n") -> list[tuple[bool, bytes]]:
    return [(False, banner), (True, f"USER {user}\r\n".encode()), (False, b"331 Password required\r\n"),
            (True, f"PASS {password}\r\n".encode()), (False, outcome), (True, b"QUIT\r\n"), (False, b"221 Bye\r\n")]


def telnet_packets(t0: float = T0) -> tuple[list[Packet], list[str]]:
    """Character-at-a-time login with server echo, one failed attempt then a good one."""
    exchanges: list[tuple[bool, bytes]] = [
        (True, b"\xff\xfd\x03\xff\xfb\x18\xff\xfb\x1f"), (False, b"\xff\xfd\x18\xff\xfa\x18\x01\xff\xf0"),
        (True, b"\xff\xfa\x18\x00xterm\xff\xf0"), (False, b"\xff\xfb\x01\r\nrouter1 login: "),
    ]
    for char in b"admin":
        exchanges += [(True, bytes([char])), (False, bytes([char]))]
    exchanges += [(True, b"\r\x00"), (False, b"\r\nPassword:"), (True, b"wrong\xff\xff1\r\n"),
                  (False, b"\r\nLogin incorrect\r\nrouter1 login: ")]
    for char in b"admin":
        exchanges += [(True, bytes([char])), (False, bytes([char]))]
    exchanges += [(True, b"\r\n"), (False, b"\r\nPassword: ")]
    exchanges += [(True, bytes([c])) for c in b"Tel3netX!"] + [(True, b"\x7f!\r\n")]
    exchanges += [(False, b"\r\nLast login: Mon Nov  2 09:00:00\r\nrouter1# ")]
    return tcp_session(CLIENT, SERVER, 40023, 23, exchanges, t0), ["wrong\xff1", "Tel3netX!"]


def pop3_packets(t0: float = T0) -> tuple[list[Packet], list[str]]:
    mail = (b"From: Boss <boss@example.com>\r\nTo: new@example.com\r\nSubject: access\r\n\r\n"
            b"Hi, your VPN password: Vpn#Access2026 - please change it.\r\n..dotted line\r\n.\r\n")
    first = [(False, b"+OK POP3 server ready <1.2@mail>\r\n"), (True, b"USER alice\r\n"),
             (False, b"+OK password required for user alice\r\n"), (True, b"PASS Pop3Secret!\r\n"),
             (False, b"+OK 1 messages\r\n"), (True, b"RETR 1\r\n"), (False, b"+OK 180 octets\r\n" + mail),
             (True, b"QUIT\r\n"), (False, b"+OK bye\r\n")]
    plain = b64("\x00bob\x00BadPop4?")
    second = [(False, b"+OK ready\r\n"), (True, b"AUTH PLAIN\r\n"), (False, b"+ \r\n"), (True, plain + b"\r\n"),
              (False, b"-ERR authentication failed\r\n")]
    packets = tcp_session(CLIENT, SERVER, 40110, 110, first, t0)
    packets += tcp_session(CLIENT, SERVER, 40111, 110, second, t0 + 5)
    return packets, ["Pop3Secret!", "BadPop4?", "Vpn#Access2026"]


def imap_packets(t0: float = T0) -> tuple[list[Packet], list[str]]:
    body = b"Subject: x\r\nFrom: it@example.com\r\nTo: carol@example.com\r\n\r\nDas Passwort lautet: Imap$Mail99\r\n"
    quoted = [(False, b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n"),
              (True, b'a1 LOGIN "carol" "Qu\\"oted1"\r\n'), (False, b"a1 OK LOGIN completed\r\n"),
              (True, b"a2 FETCH 1 BODY[]\r\n"),
              (False, b"* 1 FETCH (BODY[] {" + str(len(body)).encode() + b"}\r\n" + body + b")\r\n"),
              (False, b"a2 OK FETCH completed\r\n")]
    literal = [(False, b"* OK ready\r\n"), (True, b"b1 LOGIN {4}\r\n"), (False, b"+ go ahead\r\n"),
               (True, b"dave {9}\r\n"), (False, b"+ go ahead\r\n"), (True, b"Lit ral9!\r\n"),
               (False, b"b1 NO [AUTHENTICATIONFAILED] bad\r\n")]
    authenticate = [(False, b"* OK ready\r\n"), (True, b"c1 AUTHENTICATE PLAIN\r\n"), (False, b"+ \r\n"),
                    (True, b64("\x00erin\x00PlainImap7") + b"\r\n"), (False, b"c1 OK done\r\n")]
    starttls = [(False, b"* OK ready\r\n"), (True, b"d1 STARTTLS\r\n"), (False, b"d1 OK Begin TLS\r\n"),
                (True, b'd2 LOGIN "frank" "NeverSeen1"\r\n')]
    packets = tcp_session(CLIENT, SERVER, 40143, 143, quoted, t0)
    packets += tcp_session(CLIENT, SERVER, 40144, 143, literal, t0 + 5)
    packets += tcp_session(CLIENT, SERVER, 40145, 143, authenticate, t0 + 10)
    packets += tcp_session(CLIENT, SERVER, 40146, 143, starttls, t0 + 15)
    login = [(False, b"* OK ready\r\n"), (True, b"e1 AUTHENTICATE LOGIN\r\n"), (False, b"+ VXNlcm5hbWU6\r\n"),
             (True, b64("grace") + b"\r\n"), (False, b"+ UGFzc3dvcmQ6\r\n"), (True, b64("L0gin!Imap") + b"\r\n"),
             (False, b"e1 NO authentication failed\r\n")]
    packets += tcp_session(CLIENT, SERVER, 40147, 143, login, t0 + 20)
    return packets, ['Qu"oted1', "Lit ral9!", "PlainImap7", "Imap$Mail99", "NeverSeen1", "L0gin!Imap"]


ATTACHMENT = bytes(range(256)) * 12  # 3072 bytes


def smtp_mail(sender: str, recipients: list[str]) -> bytes:
    encoded = base64.encodebytes(ATTACHMENT).replace(b"\n", b"\r\n")
    return (f"From: {sender}\r\nTo: {', '.join(recipients)}\r\nSubject: Zugang\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="BOUND"\r\n\r\npreamble\r\n--BOUND\r\n'
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
            "Hallo, die Zugangsdaten: buchhaltung / Kont=6F!2026x\r\n.leading dot\r\n--BOUND\r\n"
            'Content-Type: application/pdf; name="ignored.pdf"\r\n'
            'Content-Disposition: attachment; filename="=?utf-8?B?UmVjaG51bmcucGRm?="\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n").encode() + encoded + b"--BOUND--\r\n"


def smtp_packets(t0: float = T0) -> tuple[list[Packet], list[str]]:
    data = smtp_mail("boss@example.com", ["a@example.com", "b@example.com"]).replace(b"\r\n.", b"\r\n..")
    login = [(False, b"220 mail.example.com ESMTP Postfix\r\n"), (True, b"EHLO pc\r\n"),
             (False, b"250-mail.example.com\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n"),
             (True, b"AUTH LOGIN\r\n"), (False, b"334 VXNlcm5hbWU6\r\n"), (True, b64("boss@example.com") + b"\r\n"),
             (False, b"334 UGFzc3dvcmQ6\r\n"), (True, b64("Smtp!Login1") + b"\r\n"),
             (False, b"235 2.7.0 Authentication successful\r\n"),
             (True, b"MAIL FROM:<boss@example.com>\r\n"), (False, b"250 ok\r\n"),
             (True, b"RCPT TO:<a@example.com>\r\n"), (False, b"250 ok\r\n"),
             (True, b"RCPT TO:<b@example.com>\r\n"), (False, b"250 ok\r\n"),
             (True, b"DATA\r\n"), (False, b"354 go\r\n"), (True, data + b".\r\n"), (False, b"250 queued\r\n"),
             (True, b"QUIT\r\n"), (False, b"221 bye\r\n")]
    refused_tls = [(False, b"220 relay ESMTP\r\n"), (True, b"EHLO pc\r\n"), (False, b"250 relay\r\n"),
                   (True, b"STARTTLS\r\n"), (False, b"454 TLS not available\r\n"),
                   (True, b"AUTH PLAIN " + b64("\x00scanner\x00Copier#55") + b"\r\n"),
                   (False, b"535 5.7.8 Authentication failed\r\n")]
    upgraded = [(False, b"220 relay ESMTP\r\n"), (True, b"EHLO pc\r\n"), (False, b"250 relay\r\n"),
                (True, b"STARTTLS\r\n"), (False, b"220 go ahead\r\n"), (True, b"\x16\x03\x01\x00\x05hello")]
    packets = tcp_session(CLIENT, SERVER, 40025, 587, login, t0, mss=700)
    packets += tcp_session(CLIENT, SERVER, 40026, 25, refused_tls, t0 + 5)
    packets += tcp_session(CLIENT, SERVER, 40027, 25, upgraded, t0 + 10)
    return packets, ["Smtp!Login1", "Copier#55", "Konto!2026x"]


def snmp_packets(t0: float = T0) -> tuple[list[Packet], list[str]]:
    packets = [udp(CLIENT, SERVER, 50161, 161, snmp_message(0, "public"), t0),
               udp(SERVER, CLIENT, 161, 50161, snmp_message(0, "public", 0xA2), t0 + 0.01),
               udp(CLIENT, "10.1.2.51", 50162, 161, snmp_message(1, "N0c-Comm!ty", 0xA1), t0 + 1),
               udp("10.1.2.52", CLIENT, 50163, 162, snmp_message(1, "trapC0mm", 0xA7), t0 + 2),
               udp(CLIENT, "10.1.2.53", 50164, 161, snmp_v3_message("admin"), t0 + 3)]
    return packets, ["N0c-Comm!ty", "trapC0mm"]


def ldap_packets(t0: float = T0) -> tuple[list[Packet], list[str]]:
    good = [(True, ldap_bind(1, "cn=scanner,dc=office,dc=lan", "Ld@pScan1")), (False, ldap_bind_response(1, 0))]
    bad = [(True, ldap_bind(1, "bob@office.lan", "WrongLdap2")), (False, ldap_bind_response(1, 49))]
    anonymous = [(True, ldap_bind(1, "")), (False, ldap_bind_response(1, 0)),
                 (True, ldap_bind(2, "cn=nobody")), (False, ldap_bind_response(2, 0))]
    sasl = [(True, ldap_bind(1, "", sasl=True)), (False, ldap_bind_response(1, 14))]
    other_port = [(True, ldap_bind(5, "uid=app,ou=svc", "AnyP0rt!x")), (False, ldap_bind_response(5, 0))]
    packets = tcp_session(CLIENT, SERVER, 40389, 389, good, t0)
    packets += tcp_session(CLIENT, SERVER, 40390, 3268, bad, t0 + 1)
    packets += tcp_session(CLIENT, SERVER, 40391, 389, anonymous, t0 + 2)
    packets += tcp_session(CLIENT, SERVER, 40392, 389, sasl, t0 + 3)
    packets += tcp_session(CLIENT, SERVER, 40393, 10389, other_port, t0 + 4)
    return packets, ["Ld@pScan1", "WrongLdap2", "AnyP0rt!x"]


def redis_packets(t0: float = T0) -> tuple[list[Packet], list[str]]:
    resp = [(True, b"*2\r\n$4\r\nAUTH\r\n$10\r\nRedisPass1\r\n"), (False, b"+OK\r\n"),
            (True, b"*1\r\n$4\r\nPING\r\n"), (False, b"+PONG\r\n")]
    inline = [(True, b"AUTH app Inl1neRedis\r\n"), (False, b"-WRONGPASS invalid username-password pair\r\n")]
    packets = tcp_session(CLIENT, SERVER, 46379, 6379, resp, t0)
    packets += tcp_session(CLIENT, SERVER, 46380, 6379, inline, t0 + 1)
    return packets, ["RedisPass1", "Inl1neRedis"]


def irc_packets(t0: float = T0) -> tuple[list[Packet], list[str]]:
    chat = [(True, b"PASS IrcServ3r!\r\nNICK mallory\r\nUSER mallory 0 * :M\r\n"),
            (False, b":irc.example.net 001 mallory :Welcome\r\n"),
            (True, b"PRIVMSG NickServ :IDENTIFY Nick$erv42\r\n"),
            (False, b":NickServ!s@services NOTICE mallory :You are now identified for mallory.\r\n"),
            (True, b"PRIVMSG #ops :the root pw is R00t!Box7\r\n"),
            (False, b":trent!t@host PRIVMSG #ops :contrase\xc3\xb1a: Tr3nt#Esp\r\n"),
            (True, b"PRIVMSG #ops :forgot your password? use the reset link\r\n")]
    return tcp_session(CLIENT, SERVER, 46667, 6667, chat, t0), ["IrcServ3r!", "Nick$erv42", "R00t!Box7", "Tr3nt#Esp"]


def xmpp_packets(t0: float = T0) -> tuple[list[Packet], list[str]]:
    auth = base64.b64encode(b"\x00peggy\x00Xmpp&Plain1").decode()
    login = [(True, b"<?xml version='1.0'?><stream:stream to='chat.lan' xmlns='jabber:client' version='1.0'>"),
             (False, b"<stream:stream from='chat.lan'><stream:features><mechanisms><mechanism>PLAIN</mechanism>"
                     b"</mechanisms></stream:features>"),
             (True, f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{auth}</auth>".encode()),
             (False, b"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"),
             (True, b"<iq type='set' id='r1' to='chat.lan'><query xmlns='jabber:iq:register'><username>peggy"
                    b"</username><password>Reg&amp;ister9</password></query></iq>"),
             (False, b"<iq type='result' id='r1'/>"),
             (True, b"<message to='victor@chat.lan/pc' type='chat'><body>mot de passe : Fr@nce2026!</body>"
                    b"</message>")]
    return tcp_session(CLIENT, SERVER, 45222, 5222, login, t0), ["Xmpp&Plain1", "Reg&ister9", "Fr@nce2026!"]


def postgres_packets(t0: float = T0) -> tuple[list[Packet], list[str]]:
    params = b"user\x00report\x00database\x00sales\x00\x00"
    startup = struct.pack("!II", 8 + len(params), 196608) + params
    password = b"PgClear#1\x00"
    login = [(True, startup), (False, b"R" + struct.pack("!II", 8, 3)),
             (True, b"p" + struct.pack("!I", 4 + len(password)) + password),
             (False, b"R" + struct.pack("!II", 8, 0) + b"Z" + struct.pack("!I", 5) + b"I")]
    return tcp_session(CLIENT, SERVER, 45432, 5432, login, t0), ["PgClear#1"]


def mysql_packet(seq: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def mysql_packets(t0: float = T0) -> tuple[list[Packet], list[str]]:
    greeting = mysql_packet(0, b"\x0a8.0.36\x00" + struct.pack("<I", 9) + b"saltsalt\x00" + b"\xff\xf7\x21\x02\x00"
                            + b"\xff\x81\x15" + bytes(10) + b"moresaltmore\x00mysql_native_password\x00")
    flags = 0x0000000F | 0x8000 | 0x00080000 | 0x00200000
    head = struct.pack("<IIB", flags, 1 << 24, 33) + bytes(23)
    clear = mysql_packet(1, head + b"etl\x00" + bytes([11]) + b"My$qlClear1" + b"warehouse\x00"
                         + b"mysql_clear_password\x00")
    native = mysql_packet(1, head + b"web\x00" + bytes([20]) + bytes(range(20)) + b"shop\x00"
                          + b"mysql_native_password\x00")
    switched = mysql_packet(1, head + b"bi\x00" + bytes([20]) + bytes(range(20, 40)) + b"dw\x00"
                            + b"mysql_native_password\x00")
    ok, err = mysql_packet(2, b"\x00\x00\x00\x02\x00\x00\x00"), mysql_packet(2, b"\xff\x15\x04#28000denied")
    packets = tcp_session(CLIENT, SERVER, 43306, 3306, [(False, greeting), (True, clear), (False, ok)], t0)
    packets += tcp_session(CLIENT, SERVER, 43307, 3306, [(False, greeting), (True, native), (False, err)], t0 + 1)
    packets += tcp_session(CLIENT, SERVER, 43308, 3306, [
        (False, greeting), (True, switched), (False, mysql_packet(2, b"\xfemysql_clear_password\x00")),
        (True, mysql_packet(3, b"Sw1tched!Pw\x00")), (False, mysql_packet(4, b"\x00\x00\x00\x02\x00"))], t0 + 2)
    return packets, ["My$qlClear1", "Sw1tched!Pw"]


def msn_packets(t0: float = T0) -> tuple[list[Packet], list[str]]:
    def msg(header: bytes, body: bytes) -> bytes:
        payload = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n" + body
        return header + str(len(payload)).encode() + b"\r\n" + payload

    chat = [(True, b"USR 1 ann@example.com 1835953129.20013021.2623242\r\n"),
            (False, b"USR 1 OK ann@example.com Ann\r\n"), (True, b"CAL 2 bob@example.com\r\n"),
            (False, b"JOI bob@example.com Bob\r\n"), (True, msg(b"MSG 3 N ", b"hi Bob")),
            (False, msg(b"MSG bob@example.com Bob ", b"the ftp password: Msn#Chat2026"))]
    return tcp_session(CLIENT, SERVER, 41863, 1863, chat, t0, mss=40), ["Msn#Chat2026"]


def rlogin_packets(t0: float = T0) -> tuple[list[Packet], list[str]]:
    session = [(True, b"\x00"), (True, b"localann\x00root\x00xterm/38400\x00"), (False, b"\x00"),
               (False, b"Password: "), (True, b"Rl0gin!pw\r"), (False, b"\r\nLast login: today\r\n# ")]
    return tcp_session(CLIENT, SERVER, 1023, 513, session, t0), ["Rl0gin!pw"]


def http_packets(t0: float = T0) -> tuple[list[Packet], list[str]]:
    basic = b64("nasadmin:Http:Basic1").decode()
    proxy = b64("kiosk:Pr0xy!pass").decode()
    form = b"user=jane&password=F0rm%21Post&csrf_token=abcdef0123456789abcdef0123456789"
    json_body = json.dumps({"login": {"email": "joe@example.com", "passwd": "Js0n!Body"}}).encode()
    boundary = b"XyZ"
    multipart = (b"--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nmax\r\n"
                 b"--XyZ\r\nContent-Disposition: form-data; name=\"pwd\"\r\n\r\nMult1part!\r\n--XyZ--\r\n")
    requests = [
        f"GET /admin HTTP/1.1\r\nHost: nas\r\nAuthorization: Basic {basic}\r\n\r\n".encode(),
        f"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nProxy-Authorization: Basic {proxy}\r\n\r\n"
        .encode(),
        b"POST /login HTTP/1.1\r\nHost: app\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(form)).encode() + b"\r\n\r\n" + form,
        b"POST /api/session HTTP/1.1\r\nHost: app\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(json_body)).encode() + b"\r\n\r\n" + json_body,
        b"POST /up HTTP/1.1\r\nHost: app\r\nContent-Type: multipart/form-data; boundary=" + boundary
        + b"\r\nContent-Length: " + str(len(multipart)).encode() + b"\r\n\r\n" + multipart,
        b"GET /cgi?user=kim&pass=Qu3ry!str HTTP/1.1\r\nHost: cam\r\n\r\n",
        b'GET /dav HTTP/1.1\r\nHost: dav\r\nAuthorization: Digest username="dora", realm="x", nonce="n", '
        b'uri="/dav", response="0123456789abcdef0123456789abcdef"\r\n\r\n',
    ]
    packets: list[Packet] = []
    for index, request in enumerate(requests):
        status = b"HTTP/1.1 401 Unauthorized\r\n" if index == 0 else b"HTTP/1.1 200 OK\r\n"
        packets += tcp_session(CLIENT, SERVER, 48000 + index, 8080 if index == 1 else 80,
                               [(True, request), (False, status + b"Content-Length: 0\r\n\r\n")], t0 + index)
    return packets, ["Http:Basic1", "Pr0xy!pass", "F0rm!Post", "Js0n!Body", "Mult1part!", "Qu3ry!str"]


BUILDERS = {
    "telnet": telnet_packets, "pop3": pop3_packets, "imap": imap_packets, "smtp": smtp_packets,
    "snmp": snmp_packets, "ldap": ldap_packets, "redis": redis_packets, "irc": irc_packets,
    "xmpp": xmpp_packets, "postgres": postgres_packets, "mysql": mysql_packets, "http": http_packets,
    "msn": msn_packets, "rlogin": rlogin_packets,
}


def write_fixture(folder: Path, name: str) -> tuple[Path, list[str]]:
    packets, secrets = BUILDERS[name]()
    return write_pcap(folder / f"{name}.pcap", packets), secrets


# ---------------------------------------------------------------- fast scanning


@lru_cache(maxsize=1)
def _rules_and_catalog():
    return load_ruleset([]), load_catalog()


def scan(*paths: Path, settings: Optional[Settings] = None) -> tuple[list[Finding], list[InputRecord], Scan]:
    """Like scanning.scan_files, with the rule pack and catalog parsed once per test session."""
    ruleset, catalog = _rules_and_catalog()
    pipeline = Scan(ScanConfig(settings or ruleset.settings, catalog, None))
    for path in paths:
        pipeline.add_file(Path(path))
    return classify(pipeline.finish(), ruleset), pipeline.inputs, pipeline
