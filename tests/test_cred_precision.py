"""Issue 24, credential precision: null sessions, anonymous binds, push ids and opaque envelopes are no credential.

Whatever crosses the wire, a credential is reported only when a third party
could use it: a password, crackable NTLM material of a named user, or a
replayable bearer token (README, "Which tokens are credentials").
"""

from __future__ import annotations

import base64
import json
import struct

import pytest
from cred_packets import ldap_bind, ldap_bind_response
from decoder_packets import conversation, logins, observe, of_type
from scapy.layers.netbios import NBTSession
from scapy.layers.smb2 import SMB2_Header, SMB2_Session_Setup_Request, SMB2_Session_Setup_Response

from detector.observations import Credential, HostIdentity

UNICODE, NTLM, ANONYMOUS = 0x1, 0x200, 0x800


def ntlm_type3(user: str, domain: str = "", workstation: str = "PC-7", lm: bytes = b"\x11" * 24,
               nt: bytes = b"\x22" * 40, flags: int = UNICODE | NTLM) -> bytes:
    """An NTLMSSP AUTHENTICATE message ([MS-NLMP] 2.2.1.3), built byte by byte."""
    fields = [lm, nt, domain.encode("utf-16-le"), user.encode("utf-16-le"), workstation.encode("utf-16-le"), b""]
    offset, header, payload = 64, b"", b""
    for value in fields:
        header += struct.pack("<HHI", len(value), len(value), offset + len(payload))
        payload += value
    return b"NTLMSSP\x00" + struct.pack("<I", 3) + header + struct.pack("<I", flags) + payload


NULL_SESSIONS = {
    "null user, 1-byte LM, no NT": ntlm_type3("", lm=b"\x00", nt=b""),
    "null user, no responses": ntlm_type3("", lm=b"", nt=b""),
    "anonymous flag": ntlm_type3("", lm=b"\x00", nt=b"", flags=UNICODE | NTLM | ANONYMOUS),
    "user name but empty responses": ntlm_type3("guest", lm=b"\x00", nt=b""),
}


def smb2_setup(blob: bytes, status: int = 0) -> list[tuple[bool, bytes]]:
    request = NBTSession() / SMB2_Header(Command=1) / SMB2_Session_Setup_Request(Buffer=[("SecurityBlob", blob)])
    reply = NBTSession() / SMB2_Header(Command=1, Flags="SMB2_FLAGS_SERVER_TO_REDIR", Status=status) \
        / SMB2_Session_Setup_Response()
    return [(True, bytes(request)), (False, bytes(reply))]


def http_ntlm(blob: bytes, method: bytes = b"GET") -> list[tuple[bool, bytes]]:
    request = method + b" /share HTTP/1.1\r\nHost: files\r\nAuthorization: NTLM " + base64.b64encode(blob) + b"\r\n\r\n"
    return [(True, request), (False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")]


@pytest.mark.parametrize("name", sorted(NULL_SESSIONS))
@pytest.mark.parametrize("carrier", ["smb-445", "smb-139", "http", "webdav"])
def test_ntlm_null_session_is_no_credential(name, carrier):
    blob = NULL_SESSIONS[name]
    exchange, port = {"smb-445": (smb2_setup(blob), 445), "smb-139": (smb2_setup(blob), 139),
                      "http": (http_ntlm(blob), 80), "webdav": (http_ntlm(blob, b"PROPFIND"), 8080)}[carrier]
    seen, _ = observe(conversation(exchange, port))
    assert of_type(seen, Credential) == []
    assert [o for o in of_type(seen, HostIdentity) if o.username] == []


@pytest.mark.parametrize("carrier", ["smb", "http"])
def test_named_ntlm_login_still_counts(carrier):
    blob = ntlm_type3("anna", "CORP")
    exchange, port = (smb2_setup(blob), 445) if carrier == "smb" else (http_ntlm(blob), 80)
    seen, _ = observe(conversation(exchange, port))
    assert [(c.username, c.domain, c.kind) for c in of_type(seen, Credential)] == [("anna", "CORP", "hash")]


@pytest.mark.parametrize("dn,password", [("", ""), ("", "x-secret-1"), ("cn=reader,dc=corp,dc=example", "")])
def test_anonymous_and_unauthenticated_ldap_binds_are_no_credential(dn, password):
    exchange = [(True, ldap_bind(1, dn, password)), (False, ldap_bind_response(1, 0))]
    seen, _ = observe(conversation(exchange, 389))
    assert logins(seen) == []


def test_ldap_simple_bind_with_dn_and_password_counts():
    exchange = [(True, ldap_bind(1, "cn=anna,dc=corp,dc=example", "Bind-Pass1")), (False, ldap_bind_response(1, 0))]
    assert logins(observe(conversation(exchange, 389))[0]) == [("ldap", "cn=anna,dc=corp,dc=example", True)]


def post(body: bytes, content_type: bytes) -> list[tuple[bool, bytes]]:
    head = b"POST /api HTTP/1.1\r\nHost: api.example\r\nContent-Type: " + content_type + b"\r\n"
    return [(True, head + b"Content-Length: %d\r\n\r\n" % len(body) + body)]


FORM = b"application/x-www-form-urlencoded"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm5hIn0.c2lnbmF0dXJlLXZhbHVl"
OPAQUE = base64.b64encode(bytes(range(256)) * 16).decode()[:5650]  # an encrypted envelope's size and shape

BEARER = {
    "form access_token": (b"access_token=ya29.a0AfH6SMBx7Q9kL2mN4pR8sT1vW3yZ&scope=x", FORM),
    "json refresh_token": (json.dumps({"refresh_token": "1//0gLq8-RfT2mN4pR8sT1vW3yZ"}).encode(), b"application/json"),
    "json api key": (json.dumps({"auth": {"apiKey": "3f9a8b7c6d5e4f3a2b1c"}}).encode(), b"application/json"),
    "token field holding a JWT": (b"token=" + JWT.encode(), FORM),
    "token field holding a GitHub key": (b"token=ghp_0123456789abcdefABCDEF0123456789abcd", FORM),
    "client secret": (b"client_id=app&client_secret=s3cr3t-v4lue-123", FORM),
}
NOT_CREDENTIALS = {
    "push registration": (json.dumps({"registration_id": "APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx9",
                                      "token": "APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx9"}).encode(), b"application/json"),
    "apns device token": (b"device_token=" + b"a1" * 32, FORM),
    "stream token": (json.dumps({"streamToken": "c3RyZWFtLTEyMzQ1Njc4OTA=", "pageToken": "CAoQAA"}).encode(),
                     b"application/json"),
    "sync cursor": (b"sync_token=s1234567890abcdef&next_token=abcdef0123456789", FORM),
    "Netflix MSL envelope": (json.dumps({"mastertoken": {"tokendata": OPAQUE, "signature": OPAQUE[:344]},
                                         "headerdata": OPAQUE}).encode(), b"application/json"),
    "opaque blob in a token field": (b"token=" + OPAQUE.encode(), FORM),
    "generic token of random hex": (b"token=9f86d081884c7d659a2feaa0c55ad015", FORM),
    "encrypted password field": (b"user=anna&password=" + base64.b64encode(bytes(range(200, 256)) * 5).replace(
        b"+", b"%2B").replace(b"/", b"%2F").replace(b"=", b"%3D"), FORM),
}


@pytest.mark.parametrize("name", sorted(BEARER))
def test_replayable_bearer_tokens_are_tokens(name):
    seen, _ = observe(conversation(post(*BEARER[name]), 80))
    assert [(c.kind, c.username) for c in of_type(seen, Credential)] == [("token", "")]


@pytest.mark.parametrize("name", sorted(NOT_CREDENTIALS))
def test_push_ids_stream_tokens_and_envelopes_are_no_credential(name):
    seen, _ = observe(conversation(post(*NOT_CREDENTIALS[name]), 80))
    assert of_type(seen, Credential) == []


@pytest.mark.parametrize("header,expected", ids=["jwt", "api-key", "opaque-envelope", "too-short"], argvalues=[
    (b"Authorization: Bearer " + JWT.encode(), [("http-bearer", "token")]),
    (b"X-API-Key: 3f9a8b7c6d5e4f3a2b1c", [("http-api-key", "token")]),
    (b"Authorization: Bearer " + OPAQUE.encode(), []),
    (b"Authorization: Bearer abc", []),
])
def test_token_headers(header, expected):
    request = b"GET /v1/me HTTP/1.1\r\nHost: api.example\r\n" + header + b"\r\n\r\n"
    seen, _ = observe(conversation([(True, request)], 80, mss=536))
    assert [(c.protocol, c.kind) for c in of_type(seen, Credential)] == expected
