"""Log sources for shadow-IT discovery: proxy, DNS server, firewall and mail logs, sniffed from content."""

from __future__ import annotations

from typing import Optional

from scanning import by_detector, scan_files

SQUID_NATIVE = """\
1793000000.100    381 10.0.0.23 TCP_TUNNEL/200 2450000 CONNECT content.dropboxapi.com:443 - HIER_DIRECT/162.125.4.14 -
1793000100.200     12 10.0.0.23 TCP_MISS/200 5120 GET http://www.example.com/index.html - HIER_DIRECT/93.184.216.34 text/html
1793000200.300    950 10.0.0.41 TCP_MISS/200 830 POST https://wetransfer.com/api/v4/transfers - HIER_DIRECT/52.1.1.1 application/json
this line is not squid
1793000300.400    100 10.0.0.41 TCP_DENIED/403 0 CONNECT notdropbox.com:443 - HIER_NONE/- -
"""  # noqa: E501

SQUID_COMMON = """\
10.0.0.5 - - [26/Oct/2026:08:00:00 +0000] "CONNECT mega.nz:443 HTTP/1.1" 200 120000 TCP_TUNNEL:HIER_DIRECT
10.0.0.5 - bob [26/Oct/2026:08:05:00 +0000] "GET http://pastebin.com/raw/abc HTTP/1.1" 200 512 TCP_MISS:HIER_DIRECT
10.0.0.5 - - [26/Oct/2026:08:06:00 +0000] "GET http://pastebin.com/raw/abc HTTP/1.1" 200
"""

PROXIFIER = """\
[07.26 14:23:31] Dropbox.exe - block-edge.dropbox.com:443 close, 861480 bytes (841 KB) sent, 5464 bytes (5.33 KB) received, lifetime 01:45
[07.26 15:22:58] Dropbox.exe - block-edge.dropbox.com:443 open through proxy proxy.example.edu:5070 HTTPS
[07.26 15:30:00] chrome.exe - www.google.com:443 close, 100 bytes sent, 200 bytes received, lifetime <1 sec
garbage without a time stamp
"""  # noqa: E501

DNSMASQ = """\
Oct 26 09:00:01 pihole dnsmasq[812]: query[A] www.dropbox.com from 192.168.1.50
Oct 26 09:00:01 pihole dnsmasq[812]: forwarded www.dropbox.com to 1.1.1.1
Oct 26 09:00:01 pihole dnsmasq[812]: reply www.dropbox.com is 162.125.1.18
Oct 26 09:00:05 pihole dnsmasq[812]: query[AAAA] chat.openai.com from 192.168.1.51
Oct 26 09:00:06 pihole dnsmasq[812]: query[A] mc.yandex.ru from 192.168.1.51
Oct 26 09:00:07 some other daemon line
"""

BIND = """\
26-Oct-2026 09:10:00.123 queries: info: client @0x7f2a1c0 192.168.7.20#53422 (wetransfer.com): query: wetransfer.com IN A +E(0)K (192.168.7.1)
26-Oct-2026 09:10:02.001 queries: info: client @0x7f2a1c0 192.168.7.21#40001 (claude.ai): query: claude.ai IN HTTPS +E(0) (192.168.7.1)
26-Oct-2026 09:10:03.001 queries: info: client garbage
"""  # noqa: E501

FORTIGATE = (
    'date=2026-10-26 time=10:00:00 devname="FGT60F" devid="FGT60F0000000001" logid="0000000013" type="traffic" '
    'subtype="forward" level="notice" vd="root" eventtime=1793008800000000000 srcip=10.0.0.23 srcport=51234 '
    'srcintf="internal" dstip=162.125.4.14 dstport=443 dstintf="wan1" proto=6 action="close" policyid=1 '
    'service="HTTPS" sentbyte=2500000000 rcvdbyte=120000 app="Dropbox" hostname="content.dropboxapi.com"\n'
    'date=2026-10-26 time=10:05:00 devname="FGT60F" type="traffic" srcip=10.0.0.24 dstip=13.107.42.14 dstport=443 '
    'sentbyte=4000 rcvdbyte=9000 hostname="contoso-my.sharepoint.com"\n'
    'date=2026-10-26 time=10:06:00 devname="FGT60F" type="event" subtype="system" msg="admin login"\n'
)

SOPHOS = (
    'device="SFW" date=2026-10-26 time=11:00:00 timezone="UTC" log_type="Content Filtering" src_ip=10.0.0.30 '
    'dst_ip=104.18.32.47 dst_port=443 sent_bytes=70000 recv_bytes=5000 url="https://chatgpt.com/backend-api/files"\n'
)

POSTFIX = """\
Oct 26 12:00:00 mx postfix/smtpd[2001]: 4F3A21234: client=pc23.corp.example[10.0.0.23]
Oct 26 12:00:00 mx postfix/cleanup[2002]: 4F3A21234: message-id=<a1@corp.example>
Oct 26 12:00:01 mx postfix/qmgr[2003]: 4F3A21234: from=<alice@corp.example>, size=15728640, nrcpt=2 (queue active)
Oct 26 12:00:03 mx postfix/smtp[2004]: 4F3A21234: to=<alice.private@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=2.1, delays=0.1/0/0.5/1.5, dsn=2.0.0, status=sent (250 2.0.0 OK)
Oct 26 12:00:03 mx postfix/smtp[2004]: 4F3A21234: to=<partner@supplier.example>, relay=mx.supplier.example[198.51.100.20]:25, delay=2.1, dsn=2.0.0, status=sent (250 OK)
Oct 26 12:00:04 mx postfix/qmgr[2003]: 4F3A21234: removed
Oct 26 12:01:00 mx postfix/smtpd[2001]: 5B6C7D8E9: client=pc24.corp.example[10.0.0.24]
Oct 26 12:01:01 mx postfix/qmgr[2003]: 5B6C7D8E9: from=<bob@corp.example>, size=2048, nrcpt=1 (queue active)
Oct 26 12:01:02 mx postfix/smtp[2004]: 5B6C7D8E9: to=<bob@gmail.com>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, dsn=2.0.0, status=sent (250 OK)
Oct 26 12:01:03 mx postfix/qmgr[2003]: 5B6C7D8E9: removed
Oct 26 12:02:00 mx postfix/anvil[2010]: statistics: max connection rate 1/60s
"""  # noqa: E501

M365 = """\
"Received","SenderAddress","RecipientAddress","Subject","Status","ToIP","FromIP","Size","MessageId","MessageTraceId"
"2026-10-26T13:00:00.0000000","carol@contoso.com","carol.home@outlook.com","Q3 numbers","Delivered","","10.0.0.40","26214400","<m1@contoso.com>","1f2e"
"2026-10-26T13:05:00.0000000","carol@contoso.com","dave@contoso.com","big deck","Delivered","","10.0.0.40","26214400","<m2@contoso.com>","1f2f"
"2026-10-26T13:06:00.0000000","carol@contoso.com","eve@gmail.com","blocked","Failed","","10.0.0.40","26214400","<m3@contoso.com>","1f30"
"broken,row
"""  # noqa: E501


SONICWALL = (
    'id=firewall sn=0017C5000000 time="2026-10-26 12:00:00 UTC" fw=203.0.113.1 pri=6 c=1024 m=537 '
    'msg="Connection Closed" app=49177 n=1234 src=10.0.0.60:52311:X0 dst=104.16.1.1:443:X1 proto=tcp/https '
    'sent=25000000 rcvd=40000 dstname=gofile.io\n'
    'id=firewall sn=0017C5000000 time="2026-10-26 12:01:00 UTC" msg="Connection Opened" src=10.0.0.60 dst=\n'
)


def read_log(tmp_path, name: str, text: str, kind: str, skipped: Optional[int] = None) -> list:
    """Scan one log; check the format it was read as (and the lines it could not read); its findings."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    findings, inputs, _ = scan_files(path)
    assert inputs[0].kind == kind
    assert skipped is None or inputs[0].skipped == skipped
    return findings


def services(findings) -> dict:
    return {f.attributes.service: f for f in by_detector(findings, "filesharing.service")}


def test_squid_native_access_log(tmp_path):
    findings = read_log(tmp_path, "access.log", SQUID_NATIVE, "log:squid", skipped=1)
    found = services(findings)
    assert set(found) == {"Dropbox", "WeTransfer"}
    dropbox = found["Dropbox"]
    assert dropbox.hosts == ["10.0.0.23"]
    assert dropbox.attributes.bytes_down == 2450000
    assert dropbox.attributes.methods == ["proxy-log"]


def test_squid_common_log_format(tmp_path):
    findings = read_log(tmp_path, "access_common.log", SQUID_COMMON, "log:squid", skipped=1)
    found = services(findings)
    assert set(found) == {"MEGA", "Pastebin"}
    assert found["MEGA"].attributes.per_host[0]["bytes_down"] == 120000


def test_proxifier_log_dropbox_upload(tmp_path):
    findings = read_log(tmp_path, "proxifier.log", PROXIFIER, "log:proxifier", skipped=1)
    dropbox = services(findings)["Dropbox"]
    assert dropbox.attributes.bytes_up == 861480
    assert dropbox.hosts == ["log:proxifier.log"]  # one device: the computer that wrote the log
    assert dropbox.attributes.processes == ["Dropbox.exe"]  # the program is no device
    assert dropbox.attributes.devices == 1 and "Dropbox.exe" not in dropbox.title


def test_dnsmasq_pihole_query_log(tmp_path):
    findings = read_log(tmp_path, "pihole.log", DNSMASQ, "log:dns-log", skipped=1)
    found = services(findings)
    assert set(found) == {"Dropbox", "ChatGPT"}
    assert found["Dropbox"].hosts == ["192.168.1.50"]
    assert found["Dropbox"].attributes.dns_only is True


def test_bind_query_log(tmp_path):
    findings = read_log(tmp_path, "query.log", BIND, "log:dns-log", skipped=1)
    found = services(findings)
    assert set(found) == {"WeTransfer", "Claude"}
    assert found["Claude"].hosts == ["192.168.7.21"]


def test_fortigate_traffic_log_bytes_and_tenant(tmp_path):
    findings = read_log(tmp_path, "fortigate.log", FORTIGATE, "log:firewall-kv", skipped=1)
    found = services(findings)
    dropbox = found["Dropbox"]
    assert dropbox.attributes.bytes_up == 2_500_000_000
    assert dropbox.severity == "critical"
    assert dropbox.attributes.methods == ["firewall-log"]
    assert found["Microsoft OneDrive for Business"].attributes.tenant == "contoso"


def test_sophos_url_log(tmp_path):
    findings = read_log(tmp_path, "sophos.log", SOPHOS, "log:firewall-kv")
    chatgpt = services(findings)["ChatGPT"]
    assert chatgpt.hosts == ["10.0.0.30"]
    assert chatgpt.attributes.bytes_up == 70000


def test_postfix_large_mail_to_personal_domain(tmp_path):
    findings = read_log(tmp_path, "maillog", POSTFIX, "log:postfix", skipped=0)
    mails = by_detector(findings, "filesharing.attachment")
    assert len(mails) == 1  # the 2 KB message to gmail is not a file sent out
    mail = mails[0].attributes
    assert mail.protocol == "mail-log"
    assert mail.size == 15728640
    assert mail.sender == "alice@corp.example"
    assert mail.recipients == ["alice.private@gmail.com", "partner@supplier.example"]
    assert mail.personal_recipients == ["alice.private@gmail.com"]
    assert mail.external is True
    assert mail.client == "10.0.0.23"


def test_m365_message_trace_csv(tmp_path):
    findings = read_log(tmp_path, "MessageTrace.csv", M365, "log:m365-message-trace", skipped=1)
    mails = by_detector(findings, "filesharing.attachment")
    assert [m.attributes.recipients for m in mails] == [["carol.home@outlook.com"]]
    assert mails[0].attributes.size == 26214400
    assert mails[0].severity in ("high", "medium")


def test_sonicwall_connection_log(tmp_path):
    findings = read_log(tmp_path, "sonicwall.log", SONICWALL, "log:firewall-kv", skipped=1)
    gofile = services(findings)["Gofile"]
    assert gofile.hosts == ["10.0.0.60"]
    assert gofile.attributes.bytes_up == 25_000_000
    assert gofile.attributes.per_host[0]["first_seen"] == "2026-10-26T12:00:00Z"
