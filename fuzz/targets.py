"""Fuzz targets: one function per entry point that turns bytes into a call and fails loudly on a bug.

Each target takes the fuzzer's bytes and drives one entry point the way a
scan does. A target returns normally for any input the entry point handles;
anything else (an exception outside the entry point's documented ones, an
observation a later stage cannot use) propagates and is a crash. The same
targets back the hypothesis property tests and the crasher regression tests.
"""

from __future__ import annotations

import gzip
import io
import struct
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from pathlib import Path
from typing import Callable, Optional

from detector.capture.dispatch import PacketDispatcher
from detector.capture.pcap import read_capture
from detector.capture.records import CaptureFormatError, ReadStats
from detector.documents import document_decoders
from detector.inputs import GunzipReader, sniff_kind
from detector.logs import log_decoders
from detector.logs.base import LogContext
from detector.logs.reader import LogStats, iter_lines, read_log
from detector.logs.sniffing import choose_format
from detector.observations import Observation
from detector.policy.settings import Settings
from detector.protocols import packet_decoders
from detector.protocols.base import Datagram, DatagramDecoder, Endpoints, EtherDecoder, FrameDecoder, StreamDecoder
from detector.times import iso

TS = 1_793_610_000.0  # 2026-11-02, the tests' clock
ONE_HOUR_EAST = timezone(timedelta(hours=1))  # a --tz, for lines read in the site's zone
MAX_READER_TS = 2.0 ** 32 + 5000  # classic pcap: u32 seconds + u32 micro/nanoseconds; pcapng stops at 2100
DISPATCH_LINKTYPES = (1, 101, 228, 229, 113, 276, 0, 108, 105, 127, 192, 12)


@dataclass
class Target:
    """A named entry point: ``run(data)`` raises only on a bug; ``kind`` picks its seeds."""

    name: str
    run: Callable[[bytes], None]
    kind: str  # seed family: frame, datagram:<name>, stream:<name>, ether, dot11, capture, log, doc, rules, ...
    max_len: int = 4096
    doc: str = ""


# ---------------------------------------------------------------- checks shared by all targets


def checked_emit(sink: Optional[list] = None) -> Callable[[Observation], None]:
    """An emit that checks what a decoder hands on: a typed observation with a usable time and place."""

    def emit(obs: Observation) -> None:
        if not isinstance(obs, Observation):
            raise TypeError(f"decoder emitted {type(obs).__name__}, not an Observation")
        if not isinstance(obs.ts, (int, float)) or isinstance(obs.ts, bool):
            raise TypeError(f"{type(obs).__name__}.ts is {type(obs.ts).__name__}")
        if not isinstance(obs.where, str):
            raise TypeError(f"{type(obs).__name__}.where is {type(obs.where).__name__}")
        iso(obs.ts)  # must never raise, whatever the time
        repr(obs)
        if sink is not None and len(sink) < 1000:
            sink.append(obs)

    return emit


def _settings() -> Settings:
    return Settings()


# ---------------------------------------------------------------- packet decoders, directly


def _datagram_target(decoder_cls: type) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        decoder = _fresh(decoder_cls)
        port = next(iter(sorted(decoder.udp_ports)), 9999) if decoder.udp_ports else 9999
        emit = checked_emit()
        # the same payload as request (to the port) and as reply (from it)
        decoder.decode(Datagram(TS, "fuzz:frame 1", "10.0.0.5", "10.0.0.1", 50000, port, data), emit)
        decoder.decode(Datagram(TS + 1, "fuzz:frame 2", "10.0.0.1", "10.0.0.5", port, 50000, data), emit)

    return run


def split_stream(data: bytes) -> list[tuple[bool, bytes]]:
    """Fuzzer bytes as a TCP conversation: records of [direction+length high bits][length low byte][data]."""
    chunks = []
    pos = 0
    while pos + 2 <= len(data):
        head, low = data[pos], data[pos + 1]
        length = ((head & 0x7F) << 8) | low
        chunk = data[pos + 2:pos + 2 + length]
        chunks.append((not head & 0x80, chunk))
        pos += 2 + length
    return chunks


def join_stream(chunks: list[tuple[bool, bytes]]) -> bytes:
    """Inverse of split_stream, for seeds built from real conversations."""
    out = bytearray()
    for from_client, chunk in chunks:
        for start in range(0, max(len(chunk), 1), 0x7FFF):
            piece = chunk[start:start + 0x7FFF]
            out += bytes([(0 if from_client else 0x80) | len(piece) >> 8, len(piece) & 0xFF]) + piece
    return bytes(out)


def _stream_target(decoder_cls: type) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        decoder = _fresh(decoder_cls)
        port = next(iter(sorted(decoder.tcp_ports)), 9999) if decoder.tcp_ports else 9999
        chunks = split_stream(data)
        first_client = next((c for up, c in chunks if up), b"")
        first_server = next((c for up, c in chunks if not up), b"")
        decoder.accepts(first_client[:64], first_server[:64])
        session = decoder.session(Endpoints("10.0.0.5", "10.0.0.1", 50000, port, "tcp"), checked_emit())
        ts = TS
        for number, (from_client, chunk) in enumerate(chunks, 1):
            ts += 0.5
            if not session.feed(from_client, chunk, ts, f"fuzz:frame {number}"):
                break
        session.close(ts + 1, "fuzz:end")

    return run


def _frame_target(decoder_cls: type) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        _fresh(decoder_cls).decode(data, TS, "fuzz:frame 1", checked_emit())

    return run


def _fresh(decoder_cls: type):
    for decoder in packet_decoders(_settings()):
        if type(decoder) is decoder_cls:
            return decoder
    raise LookupError(decoder_cls.__name__)


def dispatch(data: bytes) -> None:
    """Whole frames through the dispatcher (link layers, IP, reassembly, decoder choice): [linktype][len16 frame]*"""
    if not data:
        return
    linktype = DISPATCH_LINKTYPES[data[0] % len(DISPATCH_LINKTYPES)]
    dispatcher = PacketDispatcher(packet_decoders(_settings()), checked_emit(), max_flows=64,
                                  max_stream_bytes=1 << 16)
    dispatcher.source = "fuzz"
    pos, number, ts = 1, 0, TS
    while pos + 2 <= len(data):
        length = struct.unpack_from("!H", data, pos)[0]
        frame = data[pos + 2:pos + 2 + length]
        pos += 2 + length
        number += 1
        ts += 0.25
        dispatcher.handle(frame, 0, len(frame), ts, linktype, number)
    dispatcher.finish()
    if dispatcher.stats.decoder_errors:  # a decoder raised: the guard hid it, the fuzzer must not
        raise AssertionError(f"decoder error behind the guard: {dispatcher.stats.errors[:1]}")


# ---------------------------------------------------------------- capture readers


def _read(stream, stats: ReadStats) -> None:
    frames: list[int] = []

    def handler(buf: bytes, off: int, caplen: int, ts: float, linktype: int, frame_no: int) -> None:
        if off < 0 or caplen < 0 or off + caplen > len(buf):
            raise AssertionError(f"frame {frame_no} points outside its buffer ({off}+{caplen} > {len(buf)})")
        if not 0.0 <= ts < MAX_READER_TS:
            raise AssertionError(f"frame {frame_no}: timestamp {ts} outside what a reader may hand on")
        frames.append(frame_no)

    try:
        read_capture(stream, handler, stats)
    except CaptureFormatError:
        return
    if stats.first_ts is not None:
        iso(stats.first_ts)


def pcap(data: bytes) -> None:
    """Classic pcap reader (any byte order, micro or nanosecond)."""
    _read(io.BytesIO(b"\xd4\xc3\xb2\xa1" + data if data[:4] not in _PCAP_HEADS else data), ReadStats())


def pcapng(data: bytes) -> None:
    """pcapng reader: sections, interfaces and their options, EPB/SPB/PB blocks."""
    _read(io.BytesIO(b"\x0a\x0d\x0d\x0a" + data if data[:4] != b"\x0a\x0d\x0d\x0a" else data), ReadStats())


_PCAP_HEADS = {b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"}


def gzip_capture(data: bytes) -> None:
    """Gzipped input: the streaming gunzip (damaged, truncated, concatenated members) then the readers."""
    raw = data if data[:2] == b"\x1f\x8b" else gzip.compress(data, 1, mtime=0)
    reader = GunzipReader(io.BytesIO(raw))  # type: ignore[arg-type]
    head = reader.read(8192)
    kind = sniff_kind(head)
    rest = io.BytesIO(head + reader.read(1 << 20))
    if kind in ("pcap", "pcapng"):
        _read(rest, ReadStats())


def scan_file(data: bytes) -> None:
    """The whole pipeline on one file: sniffing, gunzip, decoders, detectors, rules classification."""
    from detector.session.policy import classify

    scan, ruleset = _scan_setup()
    with tempfile.NamedTemporaryFile(prefix="shadowit-fuzz-", dir=_tmp_dir()) as handle:
        handle.write(data)
        handle.flush()
        scan.add_file(Path(handle.name))
    if scan.internal_errors:
        raise AssertionError(scan.internal_errors[0])
    for finding in classify(scan.finish(), ruleset):
        finding.as_dict()


_SETUP: dict = {}


def _scan_setup():
    from detector.policy import load_ruleset
    from detector.policy.catalog import load_catalog
    from detector.session.pipeline import Scan, ScanConfig

    if "ruleset" not in _SETUP:
        _SETUP["ruleset"] = load_ruleset([])
        _SETUP["catalog"] = load_catalog()
    ruleset = _SETUP["ruleset"]
    return Scan(ScanConfig(ruleset.settings, _SETUP["catalog"], None)), ruleset


def _tmp_dir() -> Optional[str]:
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() else None


# ---------------------------------------------------------------- logs


WATCHED = {"162.125.1.1", "2001:db8::1", "10.0.0.1"}


def _fuzz_relevant(name: str) -> bool:
    """A stand-in catalog for the prefilters: a few names and their subdomains."""
    return name.endswith(("dropbox.com", "mega.nz", "example.org"))


def _log_target(decoder_cls: type) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        decoder = next(d for d in log_decoders() if type(d) is decoder_cls)
        head_lines = data[:8192].decode("utf-8", "replace").splitlines()[:200]
        score = decoder.sniff(head_lines)
        if not 0.0 <= score <= 1.0:
            raise AssertionError(f"sniff score {score}")
        prefilters = len(data) % 2 == 0  # half the inputs as in a scan: the raw-bytes prefilters on (EVE, Zeek)
        ctx = LogContext("fuzz.log", 2026, None if data[:1] != b"+" else ONE_HOUR_EAST,
                         watched=WATCHED if prefilters else None, relevant_name=_fuzz_relevant if prefilters else None)
        stats = LogStats()
        read_log(io.BytesIO(data), decoder, ctx, checked_emit(), stats)
        if stats.failed:  # read_log contains parser exceptions for the scan; here they are bugs
            raise AssertionError(f"parser raised: {stats.first_error}")

    return run


def log_sniff(data: bytes) -> None:
    """Format choice over every line format, and the line splitter."""
    choose_format(data[:8192], log_decoders())
    for _ in iter_lines(io.BytesIO(data), chunk=997):
        pass


# ---------------------------------------------------------------- whole-file exports

DOCUMENT_ERRORS = (OSError, ValueError)  # what Scan._document turns into a warning on the input


def _document_target(decoder_cls: type) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        decoder = next(d for d in document_decoders(_settings()) if type(d) is decoder_cls)
        score = decoder.sniff(data[:8192])
        if not 0.0 <= score <= 1.0:
            raise AssertionError(f"sniff score {score}")
        try:
            stats = decoder.decode(io.BytesIO(data), LogContext("fuzz/export.json", 2026, None), checked_emit())
        except DOCUMENT_ERRORS:
            return
        if stats.records < 0 or stats.malformed < 0:
            raise AssertionError("negative counts")

    return run


# ---------------------------------------------------------------- rules


def rules_file(data: bytes) -> None:
    """Rules loader and validator on one site file: YAML, schema, match language, examples."""
    from detector.policy import RuleLoadError, load_ruleset, validate_files

    with tempfile.NamedTemporaryFile(prefix="shadowit-fuzz-", suffix=".yaml", dir=_tmp_dir()) as handle:
        handle.write(data)
        handle.flush()
        for error in validate_files([Path(handle.name)]):
            str(error)
        try:
            ruleset = load_ruleset([Path(handle.name)])
        except RuleLoadError:
            return
        for rule in ruleset.rules:
            rule.describe()
        ruleset.run_examples()
        for finding in _hostile_findings(data[:256]):
            ruleset.classify(finding)


def rules_yaml(data: bytes) -> None:
    """The line-aware YAML layer alone (depth, alias and size limits)."""
    from detector.policy.yamlsrc import parse_bytes

    parse_bytes(data, "fuzz.yaml", [])


# ---------------------------------------------------------------- report


def _hostile_findings(data: bytes) -> list:
    from detector.findings.credentials import CleartextLoginAttributes
    from detector.findings.filesharing import ServiceUseAttributes
    from detector.findings.finding import SEVERITIES, Evidence, Finding
    from detector.findings.wifi import OutageAttributes, RecurringDropAttributes

    text = data.decode("utf-8", "replace")
    cut = len(text) // 2
    numbers = [int.from_bytes(data[i:i + 8], "little", signed=True) for i in range(0, min(len(data), 48), 8)] or [0]

    def number(i: int) -> float:
        raw = numbers[i % len(numbers)]
        return [raw, raw / 7.0, float("nan"), float("inf"), -1.0, TS][i % 6] if i % 3 == 0 else raw

    findings = []
    kinds = (ServiceUseAttributes, CleartextLoginAttributes, RecurringDropAttributes, OutageAttributes)
    for index, kind in enumerate(kinds):
        # load() as from a damaged database: any value under any declared name, nothing type-checked
        attributes = kind.load({"service": text[:40], "bytes_up": number(index + 2), "username": text,
                                "users": text, "outages": [{"start": number(3), "end": text[:5]}],
                                "heatmap": {"window": text[:11], "dates": [text[:10]]}, "time_of_day": text[:5],
                                "clients": [text[:30], number(4)], "server": text[:30], "server_port": number(4),
                                "per_host": [{"host": text[:8] or "k", "nested": [text]}]})
        findings.append(Finding(
            id=f"{text[:12]}{index}", title=text[:200] or "<script>", first_seen=number(index),
            last_seen=number(index + 1), count=numbers[0] % 1000 if index % 2 else numbers[0],
            hosts=[text[cut:], text[:cut], "10.0.0.1"], attributes=attributes,
            evidence=[Evidence(iso(number(5)) if isinstance(number(5), float) else text[:30], text[:50], text)],
            severity=SEVERITIES[numbers[0] % len(SEVERITIES)], tags=[text[:9]], compliance=[text[:7]],
            remediation=text[cut:],
        ))
    return findings


def report(data: bytes) -> None:
    """The HTML renderer fed hostile findings: it must render, and never let markup through unescaped."""
    from detector.findings.result import InputRecord, ScanResult
    from reports.render import SiteReport, render_report

    findings = _hostile_findings(data)
    text = data.decode("utf-8", "replace")
    result = ScanResult(started=TS, finished=TS + 60, tool_version="0", rules_sha256="ab" * 32,
                        inputs=[InputRecord(path=text[:60], sha256="cd" * 32, bytes=len(data), kind=text[:10],
                                            records=len(data), warnings=[text], first_ts=findings[0].first_seen,
                                            last_ts=findings[0].last_seen)],
                        findings=findings, site=text[:30], operator=text[5:25])
    page = render_report([SiteReport(result=result, history=[], compliance={}, expired_allows=[],
                                     operator=text[:20], generated=TS, zone=None)])
    if "<script>alert" in page or "<img src=x" in page:
        raise AssertionError("hostile markup reached the report unescaped")


def logo(data: bytes) -> None:
    """The SVG logo sanitiser: a one-line BrandingError, or an SVG of allowed parts only that is bounded as drawn."""
    import xml.etree.ElementTree as ElementTree

    from reports.branding import MAX_SVG_DEPTH, SVG_ATTRIBUTES, SVG_ELEMENTS, BrandingError, sanitize_svg

    try:
        clean = sanitize_svg(data, "logo")
    except BrandingError as refused:
        if "\n" in str(refused):
            raise AssertionError("a logo refusal must be one line") from None
        return
    depth = {ElementTree.fromstring(clean): 1}
    for parent, level in list(depth.items()):
        for child in parent:
            depth[child] = level + 1
        if level > MAX_SVG_DEPTH or parent.tag.rsplit("}", 1)[-1] not in SVG_ELEMENTS:
            raise AssertionError(f"sanitised SVG keeps {parent.tag!r} at depth {level}")
        if any(name not in SVG_ATTRIBUTES or (name == "href" and not value.startswith("#"))
               for name, value in parent.attrib.items()):
            raise AssertionError(f"sanitised SVG keeps attributes {parent.attrib!r}")
    if sanitize_svg(clean, "logo") != clean:
        raise AssertionError("sanitising a sanitised SVG changed it")


# ---------------------------------------------------------------- outputs that hold hostile text


def csv_export(data: bytes) -> None:
    """The CSV writer fed hostile findings: no field of any row, split as any locale splits, starts a formula."""
    import csv

    from detector.findings.result import ScanResult
    from detector.outputs.export import neutralise_formula, write_csv

    text = data.decode("utf-8", "replace")
    out = io.StringIO()
    write_csv(ScanResult(TS, TS + 60, "0", "ab" * 32, [], _hostile_findings(data), site=text[:30], scan_id=1), out)
    for row in csv.reader(io.StringIO(out.getvalue(), newline="")):
        for cell in row:
            if neutralise_formula(cell) != cell:
                raise AssertionError(f"CSV cell left a formula live: {cell[:80]!r}")


def command_line(data: bytes) -> None:
    """Command-line redaction: a --notify-webhook URL's path token, query values and user-info never survive."""
    from detector.secrets import redacted_command_line

    text = data.decode("utf-8", "replace")
    token = "T0KEN" + str(len(data))
    url = f"https://user:{token}@{text[:20]}/services/{text[20:40]}/{token}?key={token}#{token}"
    for arguments in (["scan", text, "--notify-webhook", url], ["scan", f"--notify-webhook={url}", text[40:]],
                      text.split(" ")):
        shown = redacted_command_line(arguments)
        if token in shown and token not in " ".join(a for a in arguments if "--notify-webhook" not in a and a != url):
            raise AssertionError(f"a webhook token survived redaction: {shown[:200]!r}")


# ---------------------------------------------------------------- registry


@dataclass
class Registry:
    targets: dict[str, Target] = field(default_factory=dict)

    def add(self, target: Target) -> None:
        self.targets[target.name] = target


def _snake(name: str) -> str:
    out = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    return out.replace("_decoder", "")


def _first_line(doc: Optional[str]) -> str:
    return (doc or "").strip().splitlines()[0]


def build_registry() -> dict[str, Target]:
    registry = Registry()
    registry.add(Target("dispatch", dispatch, "frame", 16384, _first_line(dispatch.__doc__)))
    for decoder in packet_decoders(_settings()):
        cls = type(decoder)
        name = "pkt_" + _snake(cls.__name__)
        if isinstance(decoder, DatagramDecoder):
            registry.add(Target(name, _datagram_target(cls), f"datagram:{decoder.name}", 2048,
                                f"{cls.__name__}.decode on one UDP payload, both directions"))
        elif isinstance(decoder, StreamDecoder):
            registry.add(Target(name, _stream_target(cls), f"stream:{decoder.name}", 8192,
                                f"{cls.__name__}: accepts, session, feed both directions, close"))
        elif isinstance(decoder, (FrameDecoder, EtherDecoder)):
            registry.add(Target(name, _frame_target(cls), "dot11" if isinstance(decoder, FrameDecoder) else "ether",
                                2048, f"{cls.__name__}.decode on one frame payload"))
    registry.add(Target("pcap", pcap, "capture", 65536, _first_line(pcap.__doc__)))
    registry.add(Target("pcapng", pcapng, "capture", 65536, _first_line(pcapng.__doc__)))
    registry.add(Target("gzip", gzip_capture, "gzip", 65536, _first_line(gzip_capture.__doc__)))
    registry.add(Target("log_sniff", log_sniff, "log", 65536, _first_line(log_sniff.__doc__)))
    for decoder in log_decoders():
        registry.add(Target("log_" + _snake(type(decoder).__name__), _log_target(type(decoder)), "log", 65536,
                            f"{type(decoder).__name__}: sniff, then read_log through its line parser"))
    for decoder in document_decoders(_settings()):
        registry.add(Target("doc_" + _snake(type(decoder).__name__), _document_target(type(decoder)), "doc", 65536,
                            f"{type(decoder).__name__}: sniff and decode the whole file"))
    registry.add(Target("rules_yaml", rules_yaml, "rules", 65536, _first_line(rules_yaml.__doc__)))
    registry.add(Target("rules", rules_file, "rules", 65536, _first_line(rules_file.__doc__)))
    registry.add(Target("report", report, "report", 4096, _first_line(report.__doc__)))
    registry.add(Target("csv_export", csv_export, "report", 4096, _first_line(csv_export.__doc__)))
    registry.add(Target("command_line", command_line, "report", 1024, _first_line(command_line.__doc__)))
    registry.add(Target("scan_file", scan_file, "file", 65536, _first_line(scan_file.__doc__)))
    registry.add(Target("logo", logo, "logo", 16384, _first_line(logo.__doc__)))
    return registry.targets


TARGETS = build_registry()
