"""Scapy builders for the name sources: one office where every protocol names someone."""

from __future__ import annotations

import base64

from scapy.asn1.asn1 import ASN1_GENERAL_STRING
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, UDP
from scapy.layers.kerberos import KRB_AS_REQ, KRB_KDC_REQ_BODY, Kerberos, PrincipalName
from scapy.layers.l2 import ARP, Ether
from scapy.layers.llmnr import LLMNRQuery, LLMNRResponse
from scapy.layers.netbios import NBNSHeader, NBNSRegistrationRequest, NBTDatagram, NBTSession
from scapy.layers.ntlm import NTLM_AUTHENTICATE_V2, NTLM_CHALLENGE, NTLM_NEGOTIATE, NTLMv2_RESPONSE
from scapy.layers.smb2 import SMB2_Header, SMB2_Session_Setup_Request, SMB2_Session_Setup_Response
from scapy.packet import Packet, Raw

from detector.samples import tcp_session

T0 = 1_790_000_000.0
ANNA_IP, ANNA_MAC = "10.0.0.23", "3c:22:fb:11:22:33"  # an Apple OUI
BOB_IP, BOB_MAC = "10.0.0.31", "b8:27:eb:44:55:66"  # a Raspberry Pi OUI
MAC_IP = "10.0.0.24"
DC, FILER, WEB = "10.0.0.2", "10.0.0.5", "10.0.0.80"


def udp(src: str, dst: str, sport: int, dport: int, payload, t: float, mac: str = "02:00:00:00:00:01") -> Packet:
    pkt = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / payload
    pkt.time = t
    return pkt


def dhcp_request(mac: str, hostname: str, requested: str, vendor: str, fqdn: bytes, t: float) -> Packet:
    chaddr = bytes.fromhex(mac.replace(":", "")) + b"\x00" * 10
    options = [("message-type", "request"), ("requested_addr", requested), ("hostname", hostname),
               ("vendor_class_id", vendor), ("client_FQDN", fqdn), "end"]
    return udp("0.0.0.0", "255.255.255.255", 68, 67, BOOTP(chaddr=chaddr, xid=7) / DHCP(options=options), t, mac)


def dhcp_ack(mac: str, address: str, t: float) -> Packet:
    chaddr = bytes.fromhex(mac.replace(":", "")) + b"\x00" * 10
    reply = BOOTP(op=2, yiaddr=address, chaddr=chaddr, xid=7) / DHCP(options=[("message-type", "ack"), "end"])
    return udp("10.0.0.1", address, 67, 68, reply, t)


def nbns_registration(name: bytes, address: str, t: float, group: bool = False) -> Packet:
    header = NBNSHeader(OPCODE=5, NM_FLAGS=0x11, QDCOUNT=1, ARCOUNT=1)
    body = NBNSRegistrationRequest(QUESTION_NAME=name, SUFFIX=0x4141, NB_ADDRESS=address, G=int(group))
    return udp(address, "10.0.0.255", 137, 137, header / body, t)


def kerberos_as_req(user: bytes, realm: bytes) -> bytes:
    body = KRB_KDC_REQ_BODY(
        kdcOptions="forwardable+renewable", nonce=12345, etype=[18, 17], till="20370913024805Z",
        cname=PrincipalName(nameString=[ASN1_GENERAL_STRING(user)], nameType=1), realm=ASN1_GENERAL_STRING(realm),
        sname=PrincipalName(nameString=[ASN1_GENERAL_STRING(b"krbtgt"), ASN1_GENERAL_STRING(realm)], nameType=2))
    return bytes(Kerberos(root=KRB_AS_REQ(reqBody=body)))


def ntlm_authenticate(user: str, domain: str, workstation: str) -> bytes:
    return bytes(NTLM_AUTHENTICATE_V2(
        NegotiateFlags="NEGOTIATE_UNICODE+NEGOTIATE_NTLM", DomainName=domain, UserName=user, Workstation=workstation,
        NtChallengeResponse=NTLMv2_RESPONSE(NTProofStr=b"\x11" * 16, ChallengeFromClient=b"\x22" * 8),
        LmChallengeResponse=b"\x00" * 24, EncryptedRandomSessionKey=b"\x33" * 16))


def ntlm_negotiate() -> bytes:
    return bytes(NTLM_NEGOTIATE(NegotiateFlags="NEGOTIATE_UNICODE+NEGOTIATE_NTLM"))


def ntlm_challenge() -> bytes:
    return bytes(NTLM_CHALLENGE(NegotiateFlags="NEGOTIATE_UNICODE", ServerChallenge=b"\x01" * 8))


def smb2_session(client: str, user: str, domain: str, workstation: str, t: float, status: int = 0) -> list[Packet]:
    setup = NBTSession() / SMB2_Header(Command=1) / SMB2_Session_Setup_Request(
        Buffer=[("SecurityBlob", ntlm_authenticate(user, domain, workstation))])
    reply = NBTSession() / SMB2_Header(Command=1, Flags="SMB2_FLAGS_SERVER_TO_REDIR", Status=status) \
        / SMB2_Session_Setup_Response()
    return tcp_session(client, FILER, 50445, 445, [(True, bytes(setup)), (False, bytes(reply))], t)


def http_request(headers: str, body: bytes = b"", method: str = "GET", uri: str = "/") -> bytes:
    return f"{method} {uri} HTTP/1.1\r\nHost: intranet.corp.example\r\n{headers}\r\n".encode() + body


def http_ntlm(client: str, t: float, message: bytes, status: bytes = b"200 OK") -> list[Packet]:
    request = http_request(f"Authorization: NTLM {base64.b64encode(message).decode()}\r\n"
                           "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edge/120\r\n")
    response = b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n"
    return tcp_session(client, WEB, 50080, 80, [(True, request), (False, response)], t)


def office_names() -> list[Packet]:
    """Anna's laptop and Bob's machine naming themselves in every way the wire allows."""
    t = T0
    packets = [
        dhcp_request(ANNA_MAC, "LAPTOP-ANNA", ANNA_IP, "MSFT 5.0", b"\x00\x00\x00LAPTOP-ANNA.corp.example", t),
        dhcp_ack(ANNA_MAC, ANNA_IP, t + 0.1),
        nbns_registration(b"LAPTOP-ANNA", ANNA_IP, t + 1),
        nbns_registration(b"CORP", ANNA_IP, t + 1.1, group=True),
        udp(BOB_IP, "10.0.0.255", 138, 138, NBTDatagram(SourceIP=BOB_IP, SourceName=b"DESKTOP-BOB", SUFFIX1=0x4141),
            t + 2, BOB_MAC),
        udp(ANNA_IP, "10.0.0.40", 5355, 51000, LLMNRResponse(qd=DNSQR(qname="laptop-anna"),
            an=DNSRR(rrname="laptop-anna", type="A", rdata=ANNA_IP)), t + 3),
        udp("10.0.0.40", "224.0.0.252", 51000, 5355, LLMNRQuery(qd=DNSQR(qname="wpad")), t + 3.1),
        udp(MAC_IP, "224.0.0.251", 5353, 5353, DNS(qr=1, aa=1, an=DNSRR(rrname="Annas-MacBook-Pro.local",
            type="A", rdata=MAC_IP)), t + 4),
        udp(ANNA_IP, DC, 50088, 88, Raw(kerberos_as_req(b"anna", b"CORP.EXAMPLE")), t + 5),
    ]
    arp = Ether(src=BOB_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=BOB_MAC, psrc=BOB_IP, pdst=BOB_IP)
    arp.time = t + 6
    packets.append(arp)
    record = kerberos_as_req(b"DESKTOP-BOB$", b"CORP.EXAMPLE")
    packets += tcp_session(BOB_IP, DC, 50089, 88, [(True, len(record).to_bytes(4, "big") + record)], t + 7)
    packets += smb2_session(BOB_IP, "bob", "CORP", "DESKTOP-BOB", t + 8)
    packets += http_ntlm(ANNA_IP, t + 9, ntlm_negotiate(), b"401 Unauthorized")
    packets += http_ntlm(ANNA_IP, t + 10, ntlm_authenticate("anna", "CORP", "LAPTOP-ANNA"))
    return packets
