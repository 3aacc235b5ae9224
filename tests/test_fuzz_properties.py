"""A little fuzzing on every run: hypothesis drives the same entry points as the atheris targets in fuzz/.

Property: no entry point raises anything but its documented errors (the
targets in fuzz/targets.py allow exactly those and fail on the rest). The
long coverage-guided campaign is ``python -m fuzz``; this file keeps to a
few examples per target so the whole file runs in well under a minute.
"""

from __future__ import annotations

import json
import struct

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.targets import DISPATCH_LINKTYPES, TARGETS, join_stream

QUICK = settings(max_examples=10, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
SLOW = settings(QUICK, max_examples=4)

WORDS = ["USER ", "PASS ", "AUTH PLAIN ", "AUTH LOGIN", "LOGIN ", "GET / HTTP/1.1\r\n", "Authorization: Basic ",
         "\x16\x03\x01", "HELO x\r\n", "MAIL FROM:<a@b>\r\n", "DATA\r\n", "=?utf-8?B?", "Subject: ", "\r\n\r\n",
         "230 ", "331 ", "+OK ", "* OK ", "a1 LOGIN ", "\x00\x00\x00", "BitTorrent protocol", "d1:ad2:id20:",
         "srcip=", "dstip=", "hostname=", "eventtime=", "CTRL-EVENT-DISCONNECTED bssid=", "wlan0: STA ",
         "TCP_TUNNEL/200 ", "CONNECT ", "http://[", "Nov  2 09:00:00 host ", "2026-11-02T09:00:00Z ", "\x1b]0;",
         "\u202e", "%", "\\", '"', "[", "{", "<", "&", ":", "\t", "\n"]

chunks = st.lists(st.one_of(st.binary(max_size=120), st.sampled_from(WORDS).map(str.encode)), max_size=12) \
    .map(b"".join)
texts = st.lists(st.one_of(st.text(max_size=60), st.sampled_from(WORDS)), max_size=10).map("".join)


def frames_input(draw_frames: list[bytes], selector: int) -> bytes:
    return bytes([selector]) + b"".join(struct.pack("!H", len(f)) + f for f in draw_frames)


ETHER_IPV4_TCP = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + b"\x45\x00\x00\x50\x00\x00\x00\x00\x40\x06\x00\x00" \
    + b"\x0a\x00\x00\x05\x0a\x00\x00\x01"
frame_strategy = st.builds(
    frames_input,
    st.lists(st.one_of(st.binary(max_size=200), chunks.map(lambda b: ETHER_IPV4_TCP + b"\x00\x15\xc3\x50" + b)),
             max_size=8),
    st.integers(0, len(DISPATCH_LINKTYPES) - 1))
stream_strategy = st.lists(st.tuples(st.booleans(), chunks), max_size=8).map(join_stream)
log_strategy = st.lists(texts, max_size=20).map(lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass"))
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.sampled_from(
                                                       ["type", "ts", "text", "user", "body", "content",
                                                        "createdDateTime", "from", "value", "user_profile"]),
                                                       inner, max_size=5)), max_leaves=20)
doc_strategy = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(texts, max_size=10).map(lambda lines: ("From a@b Mon Nov  2 09:00:00 2026\nFrom: a@b\nSubject: "
                                                    + "\n".join(lines)).encode("utf-8", "surrogatepass")),
    chunks)
yaml_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), texts),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.sampled_from(
                                                       ["id", "title", "severity", "match", "all", "any", "not",
                                                        "regex", "glob", "cidr", "domain", "in", "gt", "rules",
                                                        "settings", "version", "examples", "action", "reason"]),
                                                       inner, max_size=5)), max_leaves=25)
rules_strategy = st.one_of(
    yaml_values.map(lambda v: yaml.safe_dump({"version": 1, "rules": [v]}).encode()),
    texts.map(lambda t: t.encode("utf-8", "surrogatepass")))
capture_strategy = st.tuples(st.sampled_from([b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1",
                                              b"\x0a\x0d\x0d\x0a", b"\x1f\x8b", b""]),
                             st.binary(max_size=400)).map(b"".join)

STRATEGIES = {"frame": frame_strategy, "stream": stream_strategy, "datagram": chunks, "ether": chunks,
              "dot11": chunks, "capture": capture_strategy, "gzip": capture_strategy, "log": log_strategy,
              "doc": doc_strategy, "rules": rules_strategy, "report": chunks,
              "file": st.one_of(capture_strategy, log_strategy, doc_strategy)}
STRATEGIES["logo"] = st.one_of(  # drawing elements, <use> references and nesting in any order
    st.lists(st.sampled_from(['<svg xmlns="http://www.w3.org/2000/svg">', "</svg>", "<g>", "</g>", '<g id="a">',
                              '<use href="#a"/>', '<rect width="1"/>', "<script>x</script>", "<text>", "</text>",
                              '<a href="http://x">', "</a>", "&amp;", "<!--", "-->", "<![CDATA[<]]>"])
             .map(str.encode) | chunks, max_size=40).map(b"".join),
    chunks)
HEAVY = {"scan_file", "rules", "report", "dispatch", "log_sniff"}


def _cases():
    for name, target in TARGETS.items():
        yield pytest.param(name, STRATEGIES[target.kind.split(":")[0]], id=name)


@pytest.mark.parametrize("name, strategy", _cases())
def test_entry_point_raises_only_documented_errors(name, strategy):
    run = TARGETS[name].run
    chosen = SLOW if name in HEAVY else QUICK

    @chosen
    @given(strategy)
    def check(data: bytes) -> None:
        run(data)

    check()


def test_every_target_has_a_strategy():
    assert {t.kind.split(":")[0] for t in TARGETS.values()} <= set(STRATEGIES)
