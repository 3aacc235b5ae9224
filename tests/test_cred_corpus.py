"""The public corpus: every credential tshark's credentials tap finds, the MANIFEST ground truth,
and keyword traps (benign captures, an SSH log) that must yield no plaintext-credentials finding."""

from __future__ import annotations

import base64
import binascii
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cred_packets import scan
from scanning import by_detector

from detector.findings.finding import CATEGORY_CREDENTIALS
from detector.secrets import without_secret

TSHARK = shutil.which("tshark")
TSHARK_PROTOCOLS = {"FTP": "ftp", "IMAP": "imap", "POP3": "pop3", "SMTP": "smtp", "HTTP basic auth": "http-basic"}
ROW = re.compile(r"^\s*(\d+)\s+(.+?)\s{2,}(\S+)")

CAPTURES = [
    "credentials/chrissanders_http_dvwa_clearlogin.pcapng", "credentials/ndpi_jabber.pcap",
    "credentials/ppa_telnet.pcap", "credentials/sv_ftp-download-passive.pcap", "credentials/sv_imap-detection.pcap",
    "credentials/sv_pop3.pcap", "credentials/sv_smtp-auth-login_bug-3616.pcap", "credentials/sv_snmp-v2c-get.pcap",
    "credentials/zeek_ftp-bruteforce.pcap", "credentials/zeek_http-basic-auth-with-colon.pcap",
    "credentials/zeek_ldap-simpleauth.pcap", "credentials/zeek_snmpv1_get.pcap",
    "mixed/ndpi_iphone.pcap", "mixed/ndpi_sites.pcapng", "mixed/nfpc_evidence02_smtp-auth-attachment.pcap",
    "mixed/zeek_smtp.pcap", "mixed/zeek_var-services-std-ports.pcap",
]

# MANIFEST.md ground truth: (protocol, username, accepted, mask length) per file
# tshark shows user names as sent; shadowit replaces a password found inside one (the manifest gives both)
PASSWORDS_IN_USER_NAMES = {"credentials/sv_pop3.pcap": "moises.nunez"}
MANIFEST = {
    "credentials/sv_ftp-download-passive.pcap": {("ftp", "bob", True, 8)},
    "credentials/ppa_telnet.pcap": {("telnet", "fake", True, 4)},
    # the password is the user name's local part: the name is shown with the password replaced
    "credentials/sv_pop3.pcap": {("pop3", "[password]@ingenierianumar.com", True, 12)},
    "credentials/sv_imap-detection.pcap": {("imap", "neulingern", True, 6)},
    "credentials/sv_smtp-auth-login_bug-3616.pcap": {("smtp", "gurpartap@patriots.in", True, 10)},
    "credentials/zeek_http-basic-auth-with-colon.pcap": {("http-basic", "test", True, 4)},
    "credentials/chrissanders_http_dvwa_clearlogin.pcapng": {("http-form", "admin", None, 8)},
    "credentials/sv_snmp-v2c-get.pcap": {("snmp", "", True, 11)},
    "credentials/zeek_snmpv1_get.pcap": {("snmp", "", True, 6)},
    "credentials/zeek_ldap-simpleauth.pcap": {
        ("ldap", f"{'x' * 11}@xx.{'x' * 3}.{'x' * 5}.net", True, 10),
        ("ldap", f"CN={'x' * 8},OU=Users,OU=Accounts,DC=xx,DC={'x' * 3},DC={'x' * 5},DC=net", True, 18)},
    "mixed/nfpc_evidence02_smtp-auth-attachment.pcap": {("smtp", "sneakyg33k@aol.com", True, 8)},
    "mixed/zeek_smtp.pcap": {("smtp", "gurpartap@patriots.in", True, 10)},
    "mixed/zeek_var-services-std-ports.pcap": {("ftp", "jsiwek", True, 12)},
    "mixed/ndpi_iphone.pcap": set(),
    "mixed/ndpi_sites.pcapng": set(),
}

NEGATIVES = ["benign/chrissanders_http_google.pcapng", "benign/ppa_msnms-chat-no-password.pcap",
             "benign/sv_snmp-v3-encrypted.pcap", "benign/zeek_imap-starttls.pcap",
             "benign/zeek_ldap-sasl-gss-spnego-invalid-credentials.pcap", "benign/sv_tls-subjectaltname.pcap",
             "logs/loghub_OpenSSH_2k.log", "logs/loghub_Linux_2k.log"]


def cleartext(path: Path) -> set[tuple[str, str, object, int]]:
    """(protocol, user, accepted, secret length) of every login, brute-force guesses included (length 0)."""
    findings, _, _ = scan(path)
    found = {(f.attributes.protocol, f.attributes.username, f.attributes.accepted,
              int(f.attributes.secret_mask.rsplit("(", 1)[1].rstrip(")")))
             for f in by_detector(findings, "credentials.cleartext")}
    for attack in by_detector(findings, "credentials.bruteforce"):
        found |= {(attack.attributes.protocol, user, attack.attributes.succeeded, 0)
                  for user in attack.attributes.usernames}
    return found


def tshark_credentials(path: Path) -> set[tuple[str, str]]:
    """(protocol, username) rows of ``tshark -q -z credentials``, SMTP base64 user names decoded."""
    out = subprocess.run([TSHARK, "-r", str(path), "-q", "-z", "credentials"], capture_output=True, text=True,
                         timeout=120, check=False).stdout
    rows = set()
    for line in out.splitlines():
        match = ROW.match(line)
        if not match or match.group(2).strip() not in TSHARK_PROTOCOLS:
            continue
        protocol, user = TSHARK_PROTOCOLS[match.group(2).strip()], match.group(3).strip('"')
        if protocol == "smtp":
            try:
                user = base64.b64decode(user, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                pass
        rows.add((protocol, user))
    return rows


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_manifest_ground_truth(corpus, name):
    assert cleartext(corpus / name) >= MANIFEST[name]
    if not MANIFEST[name]:
        assert cleartext(corpus / name) == set()


def test_ftp_bruteforce_thirty_refused_attempts(corpus):
    findings, _, _ = scan(corpus / "credentials/zeek_ftp-bruteforce.pcap")
    assert by_detector(findings, "credentials.cleartext") == []  # every guess belongs to the attack
    [attack] = by_detector(findings, "credentials.bruteforce")
    attrs = attack.attributes
    assert (attrs.attempts, attrs.refused, attrs.distinct_secrets, attrs.usernames) == (30, 30, 30, ["bro"])
    assert attrs.succeeded is False and attrs.pattern == "brute-force"
    assert (attrs.client, attrs.server, attrs.server_port) == ("192.168.56.1", "192.168.56.101", 21)
    assert attack.hosts == ["192.168.56.1"] and attack.count == 30 and attrs.duration_s > 0


def test_xmpp_in_band_registration(corpus):
    assert ("xmpp", "tom", True, 10) in cleartext(corpus / "credentials/ndpi_jabber.pcap")


def test_smtp_attachments_from_the_corpus(corpus):
    findings, _, _ = scan(corpus / "mixed/nfpc_evidence02_smtp-auth-attachment.pcap",
                          corpus / "mixed/zeek_smtp.pcap",
                          corpus / "filesharing/chrissanders_mail_sender_attachment.pcapng")
    files = {(f.attributes.filename, f.attributes.protocol)
             for f in by_detector(findings, "filesharing.attachment")}
    assert files == {("secretrendezvous.docx", "smtp-attachment"), ("NEWS.txt", "smtp-attachment"),
                     ("newguy.jpg", "smtp-attachment")}
    smtp = [f for f in by_detector(findings, "credentials.cleartext") if f.attributes.protocol == "smtp"]
    assert all(f.attributes.starttls is False for f in smtp)
    aol = [f for f in smtp if f.attributes.username == "sneakyg33k@aol.com"]
    assert len(aol) == 1 and aol[0].count == 2  # two sessions, one deduplicated finding


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
@pytest.mark.parametrize("name", CAPTURES)
def test_everything_tshark_finds(corpus, name):
    password = PASSWORDS_IN_USER_NAMES.get(name, "")
    expected = {(protocol, without_secret(user, password)) for protocol, user in tshark_credentials(corpus / name)}
    found = {(protocol, user) for protocol, user, _, _ in cleartext(corpus / name)}
    assert expected <= found


@pytest.mark.parametrize("name", NEGATIVES)
def test_keyword_traps_yield_no_credentials(corpus, name):
    findings, _, _ = scan(corpus / name)
    assert [f for f in findings if f.category == CATEGORY_CREDENTIALS] == []
