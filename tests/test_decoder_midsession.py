"""Issue 24: IMAP picked up after the greeting and HTTP form posts without Content-Type or Content-Length.

Each class is varied the way captures vary: handshake seen or not, segment
size, which side is seen first, port and tag shapes.
"""

from __future__ import annotations

import base64

import pytest
from decoder_packets import SHAPES, conversation, logins, observe

IMAP_TAGS = [b"a0", b"A0001", b"x.1", b"1", b"tag_7", b"$!9"]


def imap_mid_session(tag: bytes, user: bytes = b"bob", password: bytes = b"s3cret!X") -> list[tuple[bool, bytes]]:
    return [(True, tag + b" CAPABILITY\r\n"),
            (False, b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK CAPABILITY completed\r\n"),
            (True, tag + b"1 SELECT INBOX\r\n"), (False, tag + b"1 OK [READ-WRITE] SELECT completed\r\n"),
            (True, tag + b"2 LOGIN " + user + b" " + password + b"\r\n"), (False, tag + b"2 OK LOGIN completed\r\n")]


@pytest.mark.parametrize("tag", IMAP_TAGS)
@pytest.mark.parametrize("handshake,mss", SHAPES)
def test_imap_login_after_the_greeting(tag, handshake, mss):
    seen, dispatcher = observe(conversation(imap_mid_session(tag), 143, handshake=handshake, mss=mss))
    assert logins(seen) == [("imap", "bob", True)]
    assert dispatcher.stats.decoder_errors == 0


def test_imap_picked_up_on_a_server_line():
    packets = conversation(imap_mid_session(b"a0"), 143, handshake=False, server_first=True)
    seen, _ = observe(packets)
    assert logins(seen) == [("imap", "bob", True)]


@pytest.mark.parametrize("handshake,mss", SHAPES)
def test_imap_authenticate_plain_continuation(handshake, mss):
    token = base64.b64encode(b"\x00carol\x00Pl41n-pass")
    exchange = [(True, b"Z9 NOOP\r\n"), (False, b"Z9 OK NOOP completed\r\n"),
                (True, b"Z10 AUTHENTICATE PLAIN\r\n"), (False, b"+ \r\n"), (True, token + b"\r\n"),
                (False, b"Z10 NO [AUTHENTICATIONFAILED] bad\r\n")]
    seen, _ = observe(conversation(exchange, 143, handshake=handshake, mss=mss))
    assert logins(seen) == [("imap", "carol", False)]


@pytest.mark.parametrize("first", [b"GET / HTTP/1.1\r\n", b"\x16\x03\x01\x00\x05hello", b"SSH-2.0-x\r\n",
                                   b"* nothing\r\n"[2:], b"a0 BOGUS\r\n"])
def test_imap_port_does_not_claim_other_protocols(first):
    seen, _ = observe(conversation([(True, first), (True, b"a LOGIN x y\r\n")], 143, handshake=False))
    assert logins(seen) == []


BASIC = b"Authorization: Basic " + base64.b64encode(b"alice:Wonder1and") + b"\r\n"
OK = (False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize("port", [80, 8080, 3128])
@pytest.mark.parametrize("bad", [b"GET http://a]b.example/ HTTP/1.1\r\nHost: a\r\n\r\n",
                                 b"GET /a b HTTP/9\r\n\r\n", b"\x00\x01\x02 garbage\r\n\r\n",
                                 b"POST /x HTTP/1.1\r\nContent-Length: 12\r\n\r\nnot-a-requst",
                                 b"GET /?q=%%%[ HTTP/1.1\r\nHost: [::1\r\n\r\n"])
@pytest.mark.parametrize("handshake,mss", SHAPES[:3])
def test_http_malformed_request_does_not_end_the_flow(port, bad, handshake, mss):
    exchange = [(True, bad), (False, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
                (True, b"GET /private HTTP/1.1\r\nHost: intranet\r\n" + BASIC + b"\r\n"), OK]
    seen, dispatcher = observe(conversation(exchange, port, handshake=handshake, mss=mss))
    assert logins(seen) == [("http-basic", "alice", True)]
    assert dispatcher.stats.decoder_errors == 0


def test_http_malformed_status_line_does_not_end_the_flow():
    exchange = [(True, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"), (False, b"HTTP/1.1 abc\r\nContent-Length: 0\r\n\r\n"),
                (True, b"GET /p HTTP/1.1\r\nHost: h\r\n" + BASIC + b"\r\n"),
                (False, b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")]
    seen, _ = observe(conversation(exchange, 80))
    assert logins(seen) == [("http-basic", "alice", False)]


def form_post(user: bytes, length: bool, version: bytes = b"1.1") -> bytes:
    body = b"username=" + user + b"&password=Pw-" + user
    head = b"POST /login HTTP/" + version + b"\r\nHost: shop.example\r\n"
    return head + (b"Content-Length: %d\r\n" % len(body) if length else b"") + b"\r\n" + body


@pytest.mark.parametrize("handshake,mss", SHAPES)
@pytest.mark.parametrize("port", [80, 8000, 5985])
def test_http_form_posts_without_content_type(handshake, mss, port):
    """With a Content-Length, without one (the body runs to the next request line), and at the flow's end."""
    exchange = [(True, form_post(b"ann", True)), (True, form_post(b"ben", False)), (True, form_post(b"cyd", True)),
                (True, form_post(b"dot", False, b"1.0"))]
    seen, _ = observe(conversation(exchange, port, handshake=handshake, mss=mss))
    assert sorted(user for _, user, _ in logins(seen)) == ["ann", "ben", "cyd", "dot"]
    assert {protocol for protocol, _, _ in logins(seen)} == {"http-form"}


def test_http_body_without_length_followed_by_a_get():
    exchange = [(True, form_post(b"eve", False) + b"\r\nGET /next HTTP/1.1\r\nHost: h\r\n" + BASIC + b"\r\n")]
    seen, _ = observe(conversation(exchange, 80))
    assert sorted(logins(seen)) == [("http-basic", "alice", None), ("http-form", "eve", None)]


def test_http_post_without_length_carrying_no_form_is_no_credential():
    exchange = [(True, b"POST /upload HTTP/1.1\r\nHost: h\r\n\r\n" + bytes(range(256)) * 4)]
    seen, _ = observe(conversation(exchange, 80))
    assert logins(seen) == []
