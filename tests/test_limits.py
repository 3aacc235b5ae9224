"""Bounded resources on hostile input (issue 13): long lines, lying length fields, floods, bombs, slow parsers.

Each test feeds one attack and checks both the outcome (a warning, the rest
of the input still read) and the cost (memory via tracemalloc, time via CPU
seconds so that a loaded machine does not fail them).
"""

from __future__ import annotations

import gzip
import io
import resource
import struct
import time
import tracemalloc
import zlib

import pytest

from detector.capture.dispatch import PacketDispatcher
from detector.capture.pcap import read_capture
from detector.capture.pcapng import MAX_INTERFACES
from detector.capture.records import ReadStats
from detector.documents import document_decoders
from detector.inputs import BOMB_RATIO, GunzipReader, OpenedInput
from detector.logs import log_decoders
from detector.logs.base import LogContext
from detector.logs.reader import MAX_LINE, LogStats, read_log
from detector.policy.settings import Settings
from detector.protocols import packet_decoders
from detector.times import iso
from tests.scanning import scan_files

T0 = 1_793_610_000  # 2026-11-02
MB = 1 << 20


def pcap_header(linktype: int = 1) -> bytes:
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)


def pcap_record(frame: bytes, ts: int = T0) -> bytes:
    return struct.pack("<IIII", ts, 0, len(frame), len(frame)) + frame


def block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


SHB = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(linktype: int = 1, options: bytes = b"") -> bytes:
    return block(1, struct.pack("<HHI", linktype, 0, 65535) + options)


def epb(if_id: int, frame: bytes, ts_units: int) -> bytes:
    return block(6, struct.pack("<IIIII", if_id, ts_units >> 32, ts_units & 0xFFFFFFFF, len(frame), len(frame))
                 + frame)


def option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def udp_frame(src: int, sport: int, dport: int, payload: bytes, dst: int = 0x0A000001) -> bytes:
    ip_len = 20 + 8 + len(payload)
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, ip_len, 0, 0, 64, 17, 0, src, dst)
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) \
        + payload


def tcp_frame(src: int, sport: int, dport: int, flags: int, seq: int, payload: bytes = b"") -> bytes:
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 40 + len(payload), 0, 0, 64, 6, 0, src, 0x0A000001)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 0x50, flags, 65535, 0, 0)
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp + payload


def dns_query(name: str, ident: int) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", ident & 0xFFFF, 0x0100, 1, 0, 0, 0) + labels + b"\x00\x01\x00\x01"


def cpu_seconds(func) -> float:
    started = time.process_time()
    func()
    return time.process_time() - started


# ---------------------------------------------------------------- a 10 MB log line


def test_ten_megabyte_log_line_is_skipped_with_a_warning_in_bounded_memory(tmp_path):
    good = b"Nov  2 09:00:%02d ap hostapd: wlan0: STA 11:22:33:44:55:66 IEEE 802.11: disassociated\n"
    path = tmp_path / "hostapd.log"
    with open(path, "wb") as handle:
        handle.write(good % 1)
        handle.write(b"Nov  2 09:00:02 ap hostapd: " + b"A" * (10 * MB) + b"\n")
        handle.write(good % 3)
    stats = LogStats()
    seen: list = []
    tracemalloc.start()
    with open(path, "rb") as handle:
        read_log(handle, log_decoders()[0], LogContext("hostapd.log", 2026), seen.append, stats)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (stats.lines, stats.too_long, stats.malformed) == (3, 1, 1)
    assert len(seen) == 2  # the lines on both sides of the monster are read
    assert peak < 6 * MB, f"peak {peak / MB:.1f} MiB for a 10 MiB line"
    _, inputs, _ = scan_files(path, rules=False)
    assert any(f"longer than {MAX_LINE // 1024} KiB skipped" in w for w in inputs[0].warnings), inputs[0].warnings


# ---------------------------------------------------------------- lying length fields


def test_pcap_record_claiming_four_gigabytes_warns_without_allocating():
    data = pcap_header() + pcap_record(b"\0" * 60) + struct.pack("<IIII", T0, 0, 0xFFFFFFF0, 0xFFFFFFF0) + b"x" * 100
    stats = ReadStats()
    frames: list = []
    tracemalloc.start()
    read_capture(io.BytesIO(data), lambda *args: frames.append(args[5]), stats)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert frames == [1]
    assert any("corrupt record header" in w and "4294967280" in w for w in stats.warnings), stats.warnings
    assert peak < 4 * MB


def test_pcapng_block_claiming_four_gigabytes_warns_without_allocating():
    data = SHB + idb() + block(6, b"\0" * 20)[:4] + struct.pack("<I", 0xFFFFFFF0) + b"y" * 64
    stats = ReadStats()
    tracemalloc.start()
    read_capture(io.BytesIO(data), lambda *args: None, stats)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert any("corrupt pcapng block" in w for w in stats.warnings), stats.warnings
    assert peak < 4 * MB


# ---------------------------------------------------------------- hostile pcapng fields


def test_pcapng_with_thousands_of_interfaces_keeps_a_bounded_table():
    frame = udp_frame(0x0A000005, 5353, 53, dns_query("www.dropbox.com", 1))
    data = SHB + idb() * (MAX_INTERFACES + 6000) + epb(0, frame, T0 * 10**6) + epb(MAX_INTERFACES + 10, frame,
                                                                                     T0 * 10**6)
    stats = ReadStats()
    frames: list = []
    read_capture(io.BytesIO(data), lambda *args: frames.append(args[5]), stats)
    assert frames == [1]  # the packet on interface 0 is read; the one on interface 4106 is not
    assert any(f"more than {MAX_INTERFACES} interfaces" in w for w in stats.warnings), stats.warnings


@pytest.mark.parametrize("idb_options, ts_units", [
    (b"", 0xFFFFFFFF << 32),  # packet timestamp high word 0xFFFFFFFF
    (option(14, struct.pack("<q", 1 << 62)), T0 * 10**6),  # if_tsoffset +2**62
    (option(14, struct.pack("<q", -(1 << 62))), T0 * 10**6),  # if_tsoffset -2**62
    (option(9, b"\x00"), 0x00000FFF << 32),  # if_tsresol 0: whole seconds, so the high word means centuries
])
def test_pcapng_out_of_range_times_are_skipped_with_a_warning(tmp_path, idb_options, ts_units):
    frame = udp_frame(0x0A000005, 5353, 53, dns_query("www.dropbox.com", 1))
    good = epb(0, frame, T0 * 10**6) if not idb_options else b""
    data = SHB + idb(1, idb_options) + good + epb(0, frame, ts_units)
    stats = ReadStats()
    stamps: list = []
    read_capture(io.BytesIO(data), lambda *args: stamps.append(args[3]), stats)
    assert all(0 <= ts < 4102444800 for ts in stamps)
    assert any("timestamp outside 1970..2100" in w for w in stats.warnings), stats.warnings
    iso(stats.last_ts)
    path = tmp_path / "bad-time.pcapng"
    path.write_bytes(data)
    findings, inputs, _ = scan_files(path)  # through detectors and the report fields: no exception
    for finding in findings:
        finding.as_dict()


def test_iso_never_raises():
    for value in (2.0 ** 62, -(2.0 ** 62), float("nan"), float("inf"), 1e300, -1e300, 253402300800.0):
        assert iso(value) is None
    assert iso(0) == "1970-01-01T00:00:00Z"


# ---------------------------------------------------------------- floods


def _traced(func) -> int:
    tracemalloc.start()
    try:
        func()
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return current


def test_flow_table_stays_bounded_under_a_flood_of_flows():
    """SYN + request on ever new ports: memory after 3x the flows is about the same as after 1x."""
    max_flows = 1000
    dispatcher = PacketDispatcher(packet_decoders(Settings()), lambda obs: None, max_flows=max_flows)
    dispatcher.source = "flood"
    counter = iter(range(10**9))

    def flood(count: int) -> None:
        for _ in range(count):
            i = next(counter)
            src, sport = 0x0A100000 + i // 60000, 1024 + i % 60000
            for flags, payload in ((0x02, b""), (0x18, b"GET /x HTTP/1.1\r\nHost: a\r\n")):
                frame = tcp_frame(src, sport, 80, flags, 1000 if flags == 0x02 else 1001, payload)
                dispatcher.handle(frame, 0, len(frame), T0 + i * 0.001, 1, i)

    tracemalloc.start()
    flood(5_000)
    first, _ = tracemalloc.get_traced_memory()
    rss_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    flood(15_000)
    second, _ = tracemalloc.get_traced_memory()
    rss_second = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.stop()
    assert len(dispatcher.flows.flows) <= 2 * 2 * max_flows  # both directions' keys
    assert rss_second - rss_first < 32 * 1024, f"peak RSS grew {(rss_second - rss_first) / 1024:.0f} MiB"  # KiB
    assert second < first * 1.3 + 2 * MB, f"{first / MB:.1f} MiB after 5k flows, {second / MB:.1f} MiB after 20k"


def test_dns_names_flood_keeps_memory_bounded(monkeypatch):
    """Millions of names in production; here 32k distinct names (half a known service) from 32k hosts, caps lowered."""
    from detector.detectors import filesharing

    monkeypatch.setattr(filesharing, "MAX_WATCHED", 1000)
    monkeypatch.setattr(filesharing, "MAX_HOSTS_PER_SERVICE", 250)
    from detector.policy.catalog import load_catalog
    from detector.session.pipeline import Scan, ScanConfig

    # every query is a UDP flow of its own: the flow meter's table (max_flows per transport) is lowered like the rest
    scan = Scan(ScanConfig(Settings(max_flows=2048), load_catalog()))
    scan.dispatcher.source = "dns-flood"
    counter = iter(range(10**9))

    def flood(count: int) -> None:
        for _ in range(count):
            i = next(counter)
            name = f"u{i:08d}.dropbox.com" if i % 2 else f"x{i:08d}.random-{i % 977:03d}.net"
            frame = udp_frame(0x0A200000 + i, 40000 + i % 20000, 53, dns_query(name, i))
            scan.dispatcher.handle(frame, 0, len(frame), T0 + i * 0.001, 1, i)

    tracemalloc.start()
    flood(8_000)
    first, _ = tracemalloc.get_traced_memory()
    flood(24_000)
    second, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert second < first * 1.3 + 3 * MB, f"{first / MB:.1f} MiB after 8k names, {second / MB:.1f} MiB after 32k"
    assert scan.finish()  # the known service was still found


# ---------------------------------------------------------------- gzip bomb


def test_gzip_bomb_is_stopped_with_a_warning(tmp_path):
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * MB
    parts = [compressor.compress(pcap_header())]
    parts += [compressor.compress(zeros) for _ in range(400)]  # 400 MiB of zeros in ~400 KiB
    parts.append(compressor.flush())
    path = tmp_path / "bomb.pcap.gz"
    path.write_bytes(b"".join(parts))
    assert path.stat().st_size < MB
    tracemalloc.start()
    started = time.process_time()
    opened = OpenedInput(path)
    reader = opened.reader()
    opened.head()
    total = 0
    while True:
        data = reader.read(MB)
        if not data:
            break
        total += len(data)
    elapsed = time.process_time() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    opened.close()
    assert "zip bomb" in opened.damage(), opened.damage()
    assert total < 100 * MB and peak < 24 * MB, (total, peak)
    assert elapsed < 5
    _, inputs, _ = scan_files(path, rules=False)
    assert any("zip bomb" in w for w in inputs[0].warnings), inputs[0].warnings


def test_ordinary_gzip_is_not_mistaken_for_a_bomb():
    text = b"".join(b"Nov  2 09:%02d:00 host sshd[1]: session opened for user u%d\n" % (i % 60, i)
                    for i in range(200_000))
    reader = GunzipReader(io.BytesIO(gzip.compress(text)))  # type: ignore[arg-type]
    out = b""
    while True:
        chunk = reader.read(MB)
        if not chunk:
            break
        out += chunk
    assert out == text and not reader.bomb
    assert len(text) / len(gzip.compress(text)) < BOMB_RATIO


# ---------------------------------------------------------------- 1 s per MB on every parser


def _adversarial_log(prefix: bytes) -> bytes:
    """1 MB of lines a parser may find costly: long runs without separators, separators only, nested brackets."""
    shapes = [prefix + b"a" * 15000, prefix + b"=" * 8000 + b" " * 4000, prefix + b"[" * 7000 + b"]" * 7000,
              prefix + b'"' * 9000, prefix + b"key=" * 3000, prefix + b"<" * 6000 + b"a" * 6000,
              prefix + (b"0123456789:" * 1200), prefix + b"\\x" * 6000, prefix + b"@." * 6000]
    body = b""
    index = 0
    while len(body) < MB:
        body += shapes[index % len(shapes)] + b"\n"
        index += 1
    return body[:MB]


PREFIXES = [b"", b"Nov  2 09:00:00 host hostapd: wlan0: STA ", b"1793610000.000 12 10.0.0.5 TCP_MISS/200 ",
            b"date=2026-11-02 time=09:00:00 ", b"2026-11-02T09:00:00.000Z ", b"[11.02 09:00:00] "]


def _log_cases():
    for decoder in log_decoders():
        yield pytest.param(decoder, id=decoder.name)


@pytest.mark.parametrize("decoder", _log_cases())
def test_each_log_parser_takes_under_a_second_per_megabyte(decoder):
    worst = 0.0
    for prefix in PREFIXES:
        data = _adversarial_log(prefix)
        elapsed = cpu_seconds(lambda data=data: read_log(io.BytesIO(data), decoder, LogContext("x.log", 2026),
                                                         lambda o: None, LogStats()))
        worst = max(worst, elapsed)
    assert worst < 1.0, f"{decoder.name}: {worst:.2f} s for 1 MB"


def _document_payloads() -> list[bytes]:
    quote = b'[{"type": "message", "ts": "1793610000.0", "text": "' + b"pw is " * 170000 + b'"}]'
    nested = b"[" * 200000 + b"]" * 200000
    mail = b"From a@x\nSubject: " + b"=?utf-8?B?" * 50000 + b"\n\n" + b"password: " * 50000
    xml = b"<Events>" + b"<Event><System><EventID>8003</EventID></System></Event>" * 18000 + b"</Events>"
    csv_text = b'"TimeCreated","Id","Message"\n' + b'"' + b'x,"",' * 200000 + b'"\n'
    return [data[:MB] for data in (quote, nested, mail, xml, csv_text)]


@pytest.mark.parametrize("decoder", [pytest.param(d, id=d.name) for d in document_decoders(Settings())
                                     if d.name != "evtx"])
def test_each_document_decoder_takes_under_a_second_per_megabyte(decoder):
    for data in _document_payloads():
        elapsed = cpu_seconds(lambda data=data: _decode_quietly(decoder, data))
        assert elapsed < 1.0 * max(len(data) / MB, 1), f"{decoder.name}: {elapsed:.2f} s"


def _decode_quietly(decoder, data: bytes) -> None:
    try:
        decoder.decode(io.BytesIO(data), LogContext("x.json", 2026), lambda obs: None)
    except (OSError, ValueError):
        pass


def _capture_payloads() -> dict[str, bytes]:
    tiny = pcap_header() + pcap_record(b"\xff" * 14) * (MB // 30)
    garbage_ip = pcap_header() + pcap_record(b"\x02" * 12 + b"\x08\x00" + b"\x4f" * 46) * (MB // 76)
    ng_tiny = SHB + idb() + epb(0, b"\xff" * 14, T0 * 10**6) * (MB // 44)
    ng_options = SHB + idb(1, option(2, b"n" * 200) * 100) * (MB // 20500)
    return {"pcap-tiny-records": tiny[:MB], "pcap-garbage-ip": garbage_ip[:MB], "pcapng-tiny": ng_tiny[:MB],
            "pcapng-option-storm": ng_options}


@pytest.mark.parametrize("name", list(_capture_payloads()))
def test_each_capture_reader_takes_under_a_second_per_megabyte(name):
    data = _capture_payloads()[name]
    dispatcher = PacketDispatcher(packet_decoders(Settings()), lambda obs: None)
    elapsed = cpu_seconds(lambda: read_capture(io.BytesIO(data), dispatcher.handle, ReadStats()))
    assert elapsed < 1.0 * max(len(data) / MB, 1), f"{name}: {elapsed:.2f} s for {len(data) / MB:.1f} MB"


def test_gunzip_takes_under_a_second_per_megabyte():
    data = gzip.compress(_adversarial_log(b"x"))
    elapsed = cpu_seconds(lambda: GunzipReader(io.BytesIO(data)).read(-1))  # type: ignore[arg-type]
    assert elapsed < 1.0



# ---------------------------------------------------------------- rule regex cost


def test_catastrophic_rule_regex_times_out_and_is_switched_off():
    from detector.policy.matcher import REGEX_MAX_TIMEOUTS, BoundedRegex

    pattern = BoundedRegex(r"(x+x+)+y")
    hostile = "x" * 5000
    started = time.process_time()
    results = [pattern.search(hostile) for _ in range(10)]
    elapsed = time.process_time() - started
    assert results == [False] * 10
    assert pattern.timeouts == REGEX_MAX_TIMEOUTS and r"(x+x+)+y" in BoundedRegex.timed_out
    assert elapsed < 2.0, f"{elapsed:.2f} s for 10 searches"
    assert BoundedRegex(r"^x+y$").search("xxy") and not BoundedRegex(r"^x+y$").search(hostile)
