"""Who is behind an address: every name source, the Directory, the devices JSON section and the OUI table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cred_packets import ldap_packets, scan
from names_packets import (
    ANNA_IP,
    ANNA_MAC,
    BOB_IP,
    BOB_MAC,
    DC,
    MAC_IP,
    T0,
    dhcp_ack,
    dhcp_request,
    http_ntlm,
    kerberos_as_req,
    nbns_registration,
    ntlm_authenticate,
    ntlm_challenge,
    ntlm_negotiate,
    office_names,
    smb2_session,
    udp,
)
from scapy.asn1.asn1 import ASN1_GENERAL_STRING
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.kerberos import KRB_AS_REP, Kerberos, PrincipalName
from scapy.layers.llmnr import LLMNRQuery, LLMNRResponse
from scapy.layers.netbios import NBNS_ADD_ENTRY, NBNSHeader, NBNSQueryResponse, NBTDatagram
from scapy.packet import Raw

from detector.detectors import directory_of, oui
from detector.detectors.directory import Directory
from detector.observations import Credential, HostIdentity
from detector.protocols.base import Datagram, Endpoints
from detector.protocols.dhcp import DhcpDecoder, fqdn_name
from detector.protocols.http import HttpSession, user_agent_os
from detector.protocols.kerberos import KerberosUdpDecoder, client_principal
from detector.protocols.ldap import bind_user
from detector.protocols.names import NamesDecoder
from detector.protocols.ntlmssp import parse_authenticate
from detector.samples import write_pcap


def identities(decoder, pkt) -> list[HostIdentity]:
    """Run one scapy-built datagram through a decoder; keep the HostIdentity observations."""
    ip, transport = pkt["IP"], pkt["UDP"]
    out: list = []
    decoder.decode(Datagram(float(pkt.time), "test:frame 1", ip.src, ip.dst, transport.sport, transport.dport,
                            bytes(transport.payload)), out.append)
    return [o for o in out if isinstance(o, HostIdentity)]


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    path = write_pcap(tmp_path_factory.mktemp("names") / "office.pcap", office_names())
    findings, inputs, pipeline = scan(path)
    return findings, directory_of(pipeline.detectors)


# ---------------------------------------------------------------- end to end


def test_office_devices_are_named_with_user_mac_vendor_and_os(office):
    _, directory = office
    anna = directory.describe(ANNA_IP)
    assert anna.label == "LAPTOP-ANNA (anna@CORP)"
    assert anna.display == f"{ANNA_IP} LAPTOP-ANNA (anna@CORP)"
    assert (anna.mac, anna.vendor, anna.os) == (ANNA_MAC, "Apple, Inc.", "Windows 10/11")
    bob = directory.describe(BOB_IP)
    assert bob.label == "DESKTOP-BOB (bob@CORP)"
    assert (bob.mac, bob.vendor) == (BOB_MAC, "Raspberry Pi Foundation")  # from the gratuitous ARP
    assert directory.describe(MAC_IP).label == "annas-macbook-pro"
    assert directory.display([BOB_IP, "10.9.9.9"]) == [f"{BOB_IP} DESKTOP-BOB (bob@CORP)", "10.9.9.9"]
    unknown = directory.describe("10.9.9.9")
    assert unknown.label == unknown.display == "10.9.9.9"


def test_devices_section_is_json_ready_with_evidence(office):
    _, directory = office
    devices = json.loads(json.dumps(directory.devices()))
    by_address = {d["address"]: d for d in devices}
    assert set(by_address) == {ANNA_IP, BOB_IP, MAC_IP}
    anna = by_address[ANNA_IP]
    assert anna["mac"] == ANNA_MAC and anna["vendor"] == "Apple, Inc." and anna["vendor_class"] == "MSFT 5.0"
    kinds = {(n["name"].upper(), n["kind"], n["source"]) for n in anna["names"]}
    assert {("LAPTOP-ANNA", "dhcp", "dhcp"), ("LAPTOP-ANNA", "netbios", "netbios"),
            ("LAPTOP-ANNA", "llmnr", "llmnr"), ("LAPTOP-ANNA", "workstation", "ntlmssp-http")} <= kinds
    assert anna["names"][0]["kind"] == "dhcp"  # the most trusted source first
    assert all(n["where"].startswith("office.pcap:frame ") for n in anna["names"])
    users = {(u["user"], u["domain"], u["source"]) for u in anna["users"]}
    assert users == {("anna", "CORP.EXAMPLE", "kerberos"), ("anna", "CORP", "ntlmssp-http")}
    bob = directory.devices([BOB_IP])[0]
    assert bob["users"][0]["source"] == "ntlmssp-smb"
    assert ("DESKTOP-BOB", "kerberos") in {(n["name"], n["kind"]) for n in bob["names"]}  # TCP 88 computer account


def test_people_counts_devices_and_users_per_service(office):
    _, directory = office
    assert directory.people([ANNA_IP, BOB_IP, "10.0.0.99"]) == (3, ["anna@CORP", "bob@CORP"])
    assert directory.people([]) == (0, [])


def test_ntlm_findings_carry_user_domain_workstation_and_type1_yields_nothing(office):
    findings, _ = office
    logins = {f.attributes.protocol: f.attributes for f in findings if f.detector == "credentials.cleartext"}
    assert set(logins) == {"http-ntlm", "smb-ntlm"}  # the Type 1 negotiate is not reported
    http = logins["http-ntlm"]
    assert (http.username, http.domain, http.workstation, http.kind) == (
        "anna", "CORP", "LAPTOP-ANNA", "hash")
    assert logins["smb-ntlm"].accepted is True


# ---------------------------------------------------------------- DHCP


def test_dhcp_hostname_fqdn_vendor_class_and_ack_binding():
    decoder = DhcpDecoder()
    found = identities(decoder, dhcp_request(ANNA_MAC, "LAPTOP-ANNA", ANNA_IP, "android-dhcp-13",
                                             b"\x04\x00\x00\x0bLAPTOP-ANNA\x04corp\x07example\x00", T0))
    assert len(found) == 1
    ident = found[0]
    assert (ident.address, ident.mac, ident.hostname, ident.domain, ident.vendor_class, ident.os, ident.source) == (
        ANNA_IP, ANNA_MAC, "LAPTOP-ANNA", "corp.example", "android-dhcp-13", "Android", "dhcp")
    ack = identities(decoder, dhcp_ack(BOB_MAC, BOB_IP, T0))
    assert [(a.address, a.mac) for a in ack] == [(BOB_IP, BOB_MAC)]


def test_dhcp_option_81_alone_names_the_host():
    assert fqdn_name(b"\x01\x00\x00pc-7.corp.example") == "pc-7.corp.example"
    assert fqdn_name(b"\x05\xff\xff\x04pc-7\x04corp\x00") == "pc-7.corp"
    found = identities(DhcpDecoder(), dhcp_request(ANNA_MAC, "", ANNA_IP, "", b"\x01\x00\x00pc-7.corp.example", T0))
    assert [(f.hostname, f.domain) for f in found] == [("pc-7", "corp.example")]


# ---------------------------------------------------------------- NetBIOS, LLMNR, mDNS


def test_netbios_registration_names_host_and_workgroup():
    decoder = NamesDecoder()
    host = identities(decoder, nbns_registration(b"LAPTOP-ANNA", ANNA_IP, T0))
    group = identities(decoder, nbns_registration(b"CORP", ANNA_IP, T0, group=True))
    assert [(h.address, h.hostname, h.source) for h in host] == [(ANNA_IP, "LAPTOP-ANNA", "netbios")]
    assert [(g.hostname, g.domain) for g in group] == [("", "CORP")]


def test_netbios_query_response_and_datagram_source_name():
    decoder = NamesDecoder()
    response = NBNSHeader(OPCODE=0, RESPONSE=1, ANCOUNT=1) / NBNSQueryResponse(
        RR_NAME=b"PRINTER-2F", SUFFIX=0x4141, ADDR_ENTRY=[NBNS_ADD_ENTRY(NB_ADDRESS="10.0.0.9")])
    found = identities(decoder, udp("10.0.0.9", ANNA_IP, 137, 137, response, T0))
    assert [(f.address, f.hostname) for f in found] == [("10.0.0.9", "PRINTER-2F")]
    announcement = NBTDatagram(SourceIP=BOB_IP, SourceName=b"DESKTOP-BOB", SUFFIX1=0x4141)
    found = identities(decoder, udp(BOB_IP, "10.0.0.255", 138, 138, announcement, T0))
    assert [(f.address, f.hostname) for f in found] == [(BOB_IP, "DESKTOP-BOB")]


def test_llmnr_answers_name_the_responder_and_questions_name_nobody():
    decoder = NamesDecoder()
    answer = LLMNRResponse(qd=DNSQR(qname="laptop-anna"), an=DNSRR(rrname="laptop-anna", type="A", rdata=ANNA_IP))
    assert [(f.address, f.hostname, f.source) for f in identities(decoder, udp(ANNA_IP, "10.0.0.40", 5355, 50000,
                                                                                answer, T0))] == [
        (ANNA_IP, "laptop-anna", "llmnr")]
    spoof = LLMNRResponse(qd=DNSQR(qname="wpad"), an=DNSRR(rrname="wpad", type="A", rdata="10.0.0.66"))
    assert identities(decoder, udp(ANNA_IP, "10.0.0.40", 5355, 50000, spoof, T0)) == []  # not its own address
    question = LLMNRQuery(qd=DNSQR(qname="fileserver"))
    assert identities(decoder, udp("10.0.0.40", "224.0.0.252", 50000, 5355, question, T0)) == []


def test_mdns_announcement_names_the_host_ignoring_service_records():
    decoder = NamesDecoder()
    announcement = DNS(qr=1, aa=1, an=DNSRR(rrname="Annas-MacBook-Pro.local", type="A", rdata=MAC_IP)
                       / DNSRR(rrname="_airplay._tcp.local", type="PTR", rdata="Anna TV._airplay._tcp.local"))
    found = identities(decoder, udp(MAC_IP, "224.0.0.251", 5353, 5353, announcement, T0))
    assert [(f.address, f.hostname, f.source) for f in found] == [(MAC_IP, "annas-macbook-pro", "mdns")]
    query = DNS(qr=0, qd=DNSQR(qname="Annas-MacBook-Pro.local"))
    assert identities(decoder, udp("10.0.0.40", "224.0.0.251", 5353, 5353, query, T0)) == []


# ---------------------------------------------------------------- Kerberos


def test_kerberos_as_req_user_and_computer_account():
    decoder = KerberosUdpDecoder()
    user = identities(decoder, udp(ANNA_IP, DC, 50088, 88, Raw(kerberos_as_req(b"anna", b"CORP.EXAMPLE")), T0))
    assert [(u.address, u.username, u.domain, u.source) for u in user] == [(ANNA_IP, "anna", "CORP.EXAMPLE",
                                                                             "kerberos")]
    machine = identities(decoder, udp(BOB_IP, DC, 50088, 88, Raw(kerberos_as_req(b"DESKTOP-BOB$", b"CORP")), T0))
    assert [(m.hostname, m.username) for m in machine] == [("DESKTOP-BOB", "")]


def test_kerberos_as_rep_names_the_client_it_answers():
    rep = Kerberos(root=KRB_AS_REP(crealm=ASN1_GENERAL_STRING(b"CORP.EXAMPLE"),
                                   cname=PrincipalName(nameString=[ASN1_GENERAL_STRING(b"anna")], nameType=1)))
    assert client_principal(bytes(rep)) == ("anna", "CORP.EXAMPLE", "")
    found = identities(KerberosUdpDecoder(), udp(DC, ANNA_IP, 88, 50088, Raw(bytes(rep)), T0))
    assert [(f.address, f.username) for f in found] == [(ANNA_IP, "anna")]


def test_kerberos_garbage_yields_nothing():
    for junk in (b"", b"\x6a", b"\x6a\x84\xff\xff\xff\xff", b"\x6a\x03\x30\x01\x00", bytes(range(256))):
        assert identities(KerberosUdpDecoder(), udp(ANNA_IP, DC, 50088, 88, Raw(junk), T0)) == []


# ---------------------------------------------------------------- NTLMSSP over HTTP and SMB


def test_ntlmssp_only_type3_names_anyone():
    auth = parse_authenticate(ntlm_authenticate("anna", "CORP", "LAPTOP-ANNA"))
    assert (auth.user, auth.domain, auth.workstation, auth.version) == ("anna", "CORP", "LAPTOP-ANNA", "NTLMv2")
    assert parse_authenticate(ntlm_negotiate()) is None
    assert parse_authenticate(ntlm_challenge()) is None
    assert parse_authenticate(b"NTLMSSP\x00\x03\x00\x00\x00" + b"\xff" * 40) is None


def test_http_ntlm_type1_and_type2_report_nothing(tmp_path):
    packets = http_ntlm(ANNA_IP, T0, ntlm_negotiate(), b"401 Unauthorized")
    packets += http_ntlm(ANNA_IP, T0 + 1, ntlm_challenge(), b"401 Unauthorized")
    findings, _, pipeline = scan(write_pcap(tmp_path / "ntlm12.pcap", packets))
    assert [f for f in findings if f.detector == "credentials.cleartext"] == []
    assert directory_of(pipeline.detectors).describe(ANNA_IP).user == ""


def test_smb_refused_session_setup_is_judged(tmp_path):
    packets = smb2_session(BOB_IP, "bob", "CORP", "DESKTOP-BOB", T0, status=0xC000006D)  # LOGON_FAILURE
    findings, _, pipeline = scan(write_pcap(tmp_path / "smb.pcap", packets))
    login = [f.attributes for f in findings if f.detector == "credentials.cleartext"]
    assert [(a.protocol, a.username, a.accepted, a.domain) for a in login] == [
        ("smb-ntlm", "bob", False, "CORP")]
    assert directory_of(pipeline.detectors).describe(BOB_IP).label == "DESKTOP-BOB (bob@CORP)"


# ---------------------------------------------------------------- LDAP and User-Agent


def test_ldap_bind_dn_names_the_user(tmp_path):
    packets, _ = ldap_packets(T0)
    _, _, pipeline = scan(write_pcap(tmp_path / "ldap.pcap", packets))
    devices = directory_of(pipeline.detectors).devices()
    assert devices and devices[0]["users"][0]["source"] == "ldap-bind"
    assert bind_user("CN=Anna Smith,OU=Users,DC=corp,DC=example") == ("Anna Smith", "corp.example")
    assert bind_user("anna@corp.example") == ("anna", "corp.example")
    assert bind_user("CORP\\anna") == ("anna", "CORP")


@pytest.mark.parametrize("agent, family", [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120", "Windows 10/11"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Safari/605", "macOS"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)", "iOS"),
    ("Dalvik/2.1.0 (Linux; U; Android 13; Pixel 7)", "Android"),
    ("Microsoft-CryptoAPI/10.0", "Windows"),
    ("curl/8.4.0", ""),
])
def test_user_agent_os_family(agent, family):
    assert user_agent_os(agent) == family


def test_http_session_tells_the_os_once_per_flow():
    out: list = []
    session = HttpSession(Endpoints(ANNA_IP, "10.0.0.80", 50000, 80, "tcp"), out.append, ("password",))
    request = b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0 (Windows NT 6.1)\r\n\r\n"
    session.feed(True, request * 3, T0, "t:frame 1")
    assert [(o.address, o.os, o.source) for o in out if isinstance(o, HostIdentity)] == [
        (ANNA_IP, "Windows 7", "http-user-agent")]


# ---------------------------------------------------------------- Directory


def test_directory_merges_mac_only_evidence_and_is_bounded():
    directory = Directory(max_devices=3)
    directory.add(HostIdentity(T0, "a:frame 1", "", ANNA_MAC, "LAPTOP-ANNA", source="dhcp"))  # DISCOVER: no address
    directory.see_mac(ANNA_IP, ANNA_MAC, "a:frame 2")
    assert directory.describe(ANNA_IP).hostname == "LAPTOP-ANNA"
    for n in range(10):
        directory.add(HostIdentity(T0, "a:frame 3", f"10.1.0.{n}", hostname=f"PC{n}", source="netbios"))
    assert len(directory.by_address) + len(directory.by_mac) == 3
    assert directory.describe("10.1.0.9").label == "10.1.0.9"


def test_directory_prefers_people_over_computer_accounts_and_strips_control_characters():
    directory = Directory()
    directory.add(HostIdentity(T0, "x", ANNA_IP, username="LAPTOP-ANNA$", domain="CORP", source="ntlmssp-smb"))
    directory.add(HostIdentity(T0, "y", ANNA_IP, username="anna\x1b[31m", domain="corp", source="authlog"))
    info = directory.describe(ANNA_IP)
    assert info.user == "anna[31m@CORP"
    assert info.label == info.user and info.display == f"{ANNA_IP} anna[31m@CORP"  # no host name known
    assert "\x1b" not in json.dumps(directory.devices())


def test_zeek_and_suricata_sources_rank_like_their_wire_counterparts():
    directory = Directory()
    directory.add(HostIdentity(T0, "conn.log:line 3", ANNA_IP, username="anna", domain="CORP", source="authlog"))
    directory.add(HostIdentity(T0, "kerberos.log:line 2", ANNA_IP, username="svc", domain="CORP",
                               source="zeek:kerberos"))
    directory.add(HostIdentity(T0, "eve.json:line 9", ANNA_IP, hostname="LAPTOP-ANNA", source="suricata:smb"))
    directory.add(HostIdentity(T0, "dhcp.log:line 1", ANNA_IP, hostname="laptop-anna-wifi", source="zeek:dhcp"))
    info = directory.describe(ANNA_IP)
    assert info.label == "laptop-anna-wifi (svc@CORP)"  # DHCP names first, Kerberos users before log users
    kinds = {n["kind"] for n in directory.devices()[0]["names"]}
    assert kinds == {"dhcp", "workstation"}


def test_identity_observation_fields_match_the_shared_declaration():
    names = [f for f in HostIdentity.__dataclass_fields__]
    assert names[2:] == ["address", "mac", "hostname", "username", "domain", "source", "vendor_class", "os"]
    assert "domain" in Credential.__dataclass_fields__ and "workstation" in Credential.__dataclass_fields__


# ---------------------------------------------------------------- OUI


def test_oui_longest_registration_wins_and_random_macs_are_not_looked_up():
    table = oui.parse_manuf([
        "# comment", "00:1B:63\tApple\tApple, Inc.", "70:B3:D5\tIEEERegi\tIEEE Registration Authority",
        "70:B3:D5:00:00:00/36\tOrtek\tOrtek Technology", "08-00-27\tPcsSyste\tPCS Systemtechnik GmbH"])
    assert table.lookup("00:1b:63:aa:bb:cc") == "Apple, Inc."
    assert table.lookup("70:b3:d5:00:00:01") == "Ortek Technology"
    assert table.lookup("70:b3:d5:ff:00:01") == "IEEE Registration Authority"
    assert table.lookup("08:00:27:01:02:03") == "PCS Systemtechnik GmbH"
    assert table.lookup("not a mac") == ""
    assert oui.vendor("02:11:22:33:44:55") == "(randomised or locally administered)"
    assert oui.vendor("01:00:5e:00:00:fb") == ""


def test_oui_prefers_the_system_manuf_file_and_ships_a_fallback(tmp_path, monkeypatch):
    manuf = tmp_path / "manuf"
    manuf.write_text("3C:22:FB\tLocal\tLocally Packaged Vendor\n")
    monkeypatch.setattr(oui, "SYSTEM_MANUF", (tmp_path / "missing", manuf))
    oui.table.cache_clear()
    assert oui.vendor(ANNA_MAC) == "Locally Packaged Vendor"
    assert oui.table().source == str(manuf)
    fallback = oui.fallback_table()
    assert len(fallback) > 100
    assert fallback.lookup(BOB_MAC) == "Raspberry Pi Foundation"
    assert fallback.lookup("00:50:56:00:00:01") == "VMware, Inc."
    oui.table.cache_clear()


def test_oui_without_system_file_uses_scapys_copy(monkeypatch):
    monkeypatch.setattr(oui, "SYSTEM_MANUF", (Path("/nonexistent/manuf"),))
    oui.table.cache_clear()
    assert oui.table().source in ("scapy.libs.manuf", str(oui.FALLBACK))
    assert oui.vendor(ANNA_MAC) == "Apple, Inc."
    oui.table.cache_clear()
