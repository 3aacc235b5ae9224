"""One scan: inputs -> decoders -> detectors -> findings.

The Scan object is the only place that knows every stage; file scans, the demo
and live capture all feed it, so they share decoders and detectors exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, TextIO

from detector.capture.dispatch import PacketDispatcher
from detector.capture.pcap import read_capture
from detector.capture.records import CaptureFormatError, ReadStats
from detector.detectors import DetectorContext, build_detectors
from detector.detectors.base import site_devices, source_of
from detector.detectors.directory import Directory
from detector.detectors.identity import directory_of
from detector.documents import choose_document, document_decoders
from detector.documents.base import DocumentDecoder
from detector.findings.finding import Finding
from detector.findings.result import InputRecord
from detector.inputs import InputError, OpenedInput, UnreadableInput, sniff_kind
from detector.interrupts import StopSignals
from detector.logs import log_decoders
from detector.logs.base import LogContext
from detector.logs.reader import MAX_LINE, LogStats, read_log
from detector.logs.sensors.certificates import CertificateJoin
from detector.logs.sniffing import choose_format
from detector.observations import Observation
from detector.policy.catalog import Catalog
from detector.policy.settings import Settings
from detector.protocols import packet_decoders
from detector.site.names import NameDirectory
from detector.site.networks import LocalNetworks, parse_networks
from detector.termsafe import term_safe
from detector.times import TRUSTED_AHEAD, TRUSTED_FROM, TS_MAX, TS_MIN

if TYPE_CHECKING:  # incremental log reading loads only when asked for (start-up, issue 15)
    from detector.logs.incremental import PositionBook, TimeWindow

PROGRESS_MIN_BYTES = 4 * 1024 * 1024
MAX_NAMED_HOSTS = 500  # hosts per finding that get a name looked up


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class ScanConfig:
    """What every stage of one scan shares: settings, catalog, zone, progress."""

    settings: Settings
    catalog: Catalog
    zone: Optional[tzinfo] = None  # --tz
    progress_stream: Optional[TextIO] = None  # stderr when a bar should be drawn
    window: Optional[TimeWindow] = None  # --since/--until
    stop: Optional[StopSignals] = None  # the run's stop signals: incremental log reads hold them per batch
    networks: Optional[LocalNetworks] = None  # the site's networks (SiteMemory); None: the rules' site: networks:
    names: Optional[NameDirectory] = None  # the site's directory of names (SiteMemory); None: this scan's alone


class Router:
    """Delivers each observation to the detectors that consume its type."""

    def __init__(self, detectors: list) -> None:
        self.routes: dict[type, list[Callable[[Observation], None]]] = {}
        self.detectors = detectors
        self.counts: dict[str, int] = {}
        self.bad_times = 0  # observations dropped for a time outside 1970..2100
        self.scan_time = time.time()
        self.unset_clocks = 0  # kept, but flagged: a clock before 2000 was never set
        self.ahead_clocks = 0  # kept, but flagged: more than a day ahead of the scan

    def emit(self, obs: Observation) -> None:
        if not TS_MIN <= obs.ts < TS_MAX:  # also false for NaN; hostile times never reach a detector
            self.bad_times += 1
            return
        if obs.ts < TRUSTED_FROM:
            self.unset_clocks += 1
        elif obs.ts > self.scan_time + TRUSTED_AHEAD:
            self.ahead_clocks += 1
        kind = type(obs)
        targets = self.routes.get(kind)
        if targets is None:
            targets = self.routes[kind] = [d.observe for d in self.detectors if isinstance(obs, d.consumes)]
        name = kind.__name__
        self.counts[name] = self.counts.get(name, 0) + 1
        for observe in targets:
            observe(obs)


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class Scan:
    """One scan in progress: feed it files (or frames), then finish() for the findings."""

    config: ScanConfig
    inputs: list[InputRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        settings = self.config.settings
        self.internal_errors: list[str] = []  # bugs contained by add_file; the fuzz targets fail on these
        self.dispatcher: Optional[PacketDispatcher] = None
        self.watched: set[str] = set()
        self.watched_raw: set[bytes] = set()  # the same, as bytes: raw-line tests compare without decoding
        self.certificates = CertificateJoin()  # Zeek ssl.log sessions named by x509.log, whichever file comes first
        self.name_cache: dict[str, bool] = {}
        self.networks = self.config.networks if self.config.networks is not None else \
            LocalNetworks(parse_networks(settings.site_networks))
        self.names = self.config.names if self.config.names is not None else NameDirectory()
        ctx = DetectorContext(settings, self.config.catalog, self._watch, self.config.zone, self.networks, self.names)
        self.detectors = build_detectors(ctx)
        self.router = Router(self.detectors)
        base_emit = self.config.window.wrap(self.router.emit) if self.config.window else self.router.emit
        self.emit = base_emit
        self.dispatcher = PacketDispatcher(packet_decoders(settings), base_emit, settings.max_flows,
                                           settings.max_stream_bytes, self.networks.is_local)
        self.carried: list[tuple] = []  # flows an incremental run left open, for the next run (finish(carry=True))
        self.book: Optional[PositionBook] = None

    def resume(self, rows: list[dict]) -> None:
        """Read logs incrementally from the positions earlier scans committed (Store.log_positions())."""
        from detector.logs.incremental import PositionBook

        self.book = PositionBook.from_rows(rows)

    def recall(self) -> None:
        """Names earlier runs of the site learned are in the directory now: detectors act on them before reading."""
        for detector in self.detectors:
            detector.recall()

    def positions(self) -> list[dict]:
        """Where this scan stopped in each log: commit with its findings (Store.save_findings(positions=))."""
        return self.book.rows() if self.book is not None else []

    def resume_flows(self, rows: list[tuple]) -> None:
        """Flows the previous incremental run left open (Store.open_flows()): this run's packets continue them."""
        assert self.dispatcher is not None
        self.dispatcher.meter.resume(rows)

    def _watch(self, address: str) -> None:
        self.watched.add(address)  # for flow logs (Zeek conn, EVE flow): the detector bounds how many
        self.watched_raw.add(address.encode("ascii", "replace"))

    # ------------------------------------------------------------ inputs

    def add_file(self, path: Path) -> InputRecord:
        """Scan one file of any supported kind; problems become warnings on its record."""
        try:
            opened = OpenedInput(path)
        except UnreadableInput as exc:  # a FIFO, a device, a socket, no permission: recorded, never read
            record = InputRecord(str(path), "", 0, "unsupported", warnings=[exc.reason])
            self.inputs.append(record)
            return record
        record = InputRecord(str(path), "", opened.size, "unknown")
        self.inputs.append(record)
        bad_times = self.router.bad_times
        unset, ahead = self.router.unset_clocks, self.router.ahead_clocks
        try:
            head = opened.head()
            kind = sniff_kind(head)
            if not head and not opened.damage():
                record.kind = "log:unknown"
                record.warnings.append("empty once decompressed; skipped" if opened.compressed
                                       else "empty file; skipped")
            elif kind in ("pcap", "pcapng"):
                self._capture(opened, record)
            elif kind == "text":
                self._log(opened, record, head)
            else:
                self._binary(opened, record, head)
        except InputError as exc:
            record.warnings.append(str(exc))
        except Exception as exc:  # noqa: BLE001 - a reader bug on one hostile file costs that file, not the scan
            self.internal_errors.append(f"{path}: {type(exc).__name__}: {exc}"[:300])
            record.warnings.append(f"stopped reading after an internal error ({type(exc).__name__}: {exc}"[:250]
                                   + "); findings cover what was read before it")
        finally:
            record.sha256 = opened.close()
        if self.router.bad_times > bad_times:
            record.warnings.append(f"{self.router.bad_times - bad_times} record(s) with a time outside 1970..2100 "
                                   "dropped")
        kept_out = "kept out of the period covered, recency and recurrence"
        if self.router.unset_clocks > unset:
            record.warnings.append(f"{self.router.unset_clocks - unset} record(s) with a clock before 2000 "
                                   f"(never set?): {kept_out}")
        if self.router.ahead_clocks > ahead:
            record.warnings.append(f"{self.router.ahead_clocks - ahead} record(s) with a clock more than a day "
                                   f"ahead of the scan: {kept_out}")
        return record

    def _capture(self, opened: OpenedInput, record: InputRecord) -> None:
        stats = ReadStats()
        assert self.dispatcher is not None
        self.dispatcher.source = opened.path.name
        progress = self._progress(opened)
        errors_before = self.dispatcher.stats.decoder_errors
        messages_before = len(self.dispatcher.stats.errors)
        evicted_before = self.dispatcher.meter.evicted
        try:
            record.kind = read_capture(opened.reader(), self.dispatcher.handle, stats, progress)
        except CaptureFormatError as exc:
            record.kind = "capture"
            stats.warnings.append(str(exc))
        except OSError as exc:
            record.kind = record.kind if record.kind != "unknown" else "capture"
            stats.warnings.append(
                f"read error after {stats.frames} frames ({exc}); findings cover the frames before it")
        finally:
            self._end_progress(progress)
        damage = opened.damage()
        if damage:
            stats.warnings.append(f"{damage} after {stats.frames} frames; findings cover the frames before the damage")
        if opened.compressed:
            record.kind += "+gzip"
        record.records = stats.frames
        record.first_ts, record.last_ts = stats.first_ts, stats.last_ts
        record.warnings.extend(stats.warnings)
        unknown = self.dispatcher.stats.unknown_linktypes & stats.linktypes
        if unknown:
            record.warnings.append(f"link type(s) {sorted(unknown)} not decoded")
        evicted = self.dispatcher.meter.evicted - evicted_before
        if evicted:
            record.warnings.append(f"{evicted} flow(s) metered in parts: more than {self.dispatcher.meter.max_flows} "
                                   "flows of one transport were open at once")
        failures = self.dispatcher.stats.decoder_errors - errors_before
        if failures:
            record.skipped += failures
            new = self.dispatcher.stats.errors[messages_before:]
            record.warnings.append(f"{failures} packet(s) could not be decoded and were skipped"
                                   + (f" (first: {new[0]})" if new else ""))

    def _log(self, opened: OpenedInput, record: InputRecord, head: bytes) -> None:
        decoder, score = choose_format(head, log_decoders())
        document, document_score = choose_document(head, document_decoders(self.config.settings))
        if document is not None and document_score >= score:
            self._document(opened, record, document)
            return
        if decoder is None:
            record.kind = "log:unknown"
            record.warnings.append("log format not recognised; skipped")
            return
        record.kind = f"log:{decoder.name}"
        ctx = self._log_context(opened)
        stats = LogStats()
        if self.book is not None:
            self._log_incremental(opened, record, head, decoder, ctx, stats)
            return
        try:
            read_log(opened.reader(), decoder, ctx, self._timed(stats), stats)
        except OSError as exc:
            record.warnings.append(f"read error after line {stats.lines} ({exc})")
        self._log_outcome(opened, record, stats, stats.lines)

    def _timed(self, stats: LogStats) -> Callable[[Observation], None]:
        """The scan's emit, widening the period a log covers with the time of every observation it gives
        (the first and last lines give it for formats that say how to read a line's time)."""
        emit, note = self.emit, stats.note_time

        def timed(obs: Observation) -> None:
            note(obs.ts)
            emit(obs)
        return timed

    @staticmethod
    def _log_outcome(opened: OpenedInput, record: InputRecord, stats: LogStats, last_line: int) -> None:
        """What a log read gave, whole or incremental: lines, skipped lines, and why, on the input record."""
        if opened.damage():
            record.warnings.append(f"{opened.damage()} after line {last_line}")
        record.records = stats.lines
        record.first_ts, record.last_ts = stats.first_ts, stats.last_ts
        record.skipped = stats.malformed
        if stats.malformed:
            record.warnings.append(
                f"{stats.malformed} malformed line(s) skipped (first at line {stats.first_malformed})"
            )
        if stats.too_long:
            record.warnings.append(f"{stats.too_long} line(s) longer than {MAX_LINE // 1024} KiB skipped unread")
        if stats.failed:
            record.warnings.append(f"{stats.failed} line(s) could not be parsed ({stats.first_error})")

    def _log_incremental(self, opened: OpenedInput, record: InputRecord, head: bytes, decoder, ctx: LogContext,
                         stats: LogStats) -> None:
        """Only the lines earlier scans did not read; the position moves line by line."""
        assert self.book is not None
        from detector.logs.incremental import Position, identity_of, read_log_from

        identity = identity_of(opened.fileno(), head, opened.compressed)
        start = self.book.start(identity, head, opened.size)
        position = Position(str(opened.path), identity, start.offset, start.lines, opened.size, start.skip)
        self.book.reach(position)
        if start.skip:
            record.kind += " (already read)"
            return
        if start.note:
            record.warnings.append(start.note)
        try:
            read_log_from(opened.reader(), decoder, ctx, self._timed(stats), stats, start, position, opened.compressed,
                          head, self.config.stop)
        except OSError as exc:
            record.warnings.append(f"read error after line {position.lines} ({exc})")
        finally:
            record.records = stats.lines  # also when interrupted: the lines this scan read
        position.complete = opened.compressed and not opened.damage()
        self._log_outcome(opened, record, stats, position.lines)

    def _binary(self, opened: OpenedInput, record: InputRecord, head: bytes) -> None:
        document, _ = choose_document(head, document_decoders(self.config.settings))
        if document is None:
            record.kind = "unsupported"
            record.warnings.append("not a capture, a log or a known export; skipped")
            return
        self._document(opened, record, document)

    def _document(self, opened: OpenedInput, record: InputRecord, decoder: DocumentDecoder) -> None:
        record.kind = f"doc:{decoder.name}"
        ctx = self._log_context(opened)
        try:
            stats = decoder.decode(opened.reader(), ctx, self.emit)
        except (OSError, ValueError) as exc:
            record.warnings.append(f"could not read as {decoder.name}: {exc}"[:300])
            return
        record.records = stats.records
        record.skipped = stats.malformed
        record.warnings.extend(stats.warnings)
        if stats.malformed:
            record.warnings.append(f"{stats.malformed} malformed record(s) skipped")
        if opened.damage():
            record.warnings.append(f"{opened.damage()} after record {stats.records}")

    def _log_context(self, opened: OpenedInput) -> LogContext:
        year = datetime.fromtimestamp(opened.path.stat().st_mtime).year
        return LogContext(str(opened.path.name), year, self.config.zone, watched=self.watched,
                          watched_raw=self.watched_raw,
                          relevant_name=self.relevant_name, certificates=self.certificates)

    def relevant_name(self, name: str) -> bool:
        """A host name the catalog knows (cached: log records repeat the same names all day)."""
        hit = self.name_cache.get(name)
        if hit is None:
            if len(self.name_cache) >= 100_000:
                self.name_cache.clear()
            hit = self.name_cache[name] = self.config.catalog.match(name) is not None
        return hit

    # ------------------------------------------------------------ progress

    def _progress(self, opened: OpenedInput) -> Optional[Callable[[int], None]]:
        stream = self.config.progress_stream
        if stream is None or opened.size < PROGRESS_MIN_BYTES or opened.compressed:
            return None
        total = opened.size
        started = time.monotonic()
        name = term_safe(opened.path.name)[:30]  # the bar's stream keeps \r and \n: a file name must not forge lines

        def draw(done: int) -> None:
            share = min(done / total, 1.0)
            rate = done / max(time.monotonic() - started, 1e-6) / 1e6
            bar = "#" * int(share * 30)
            stream.write(f"\r{name:30} [{bar:30}] {share * 100:5.1f}% {rate:6.1f} MB/s")
            stream.flush()

        return draw

    def _end_progress(self, progress: Optional[Callable[[int], None]]) -> None:
        if progress is not None and self.config.progress_stream is not None:
            self.config.progress_stream.write("\r" + " " * 80 + "\r")
            self.config.progress_stream.flush()

    # ------------------------------------------------------------ results

    def snapshot(self) -> list[Finding]:
        """Findings so far, without closing flows or copying state (live flushes).

        Detectors' ``finish`` builds new findings from their aggregates and
        changes nothing (a test holds every detector to that), so the running
        scan goes on untouched. Flows still open count once they end.
        """
        findings = [finding for detector in self.detectors for finding in detector.finish()]
        directory = directory_of(self.detectors)
        for finding in findings:
            attribute_to_devices(finding, self.networks, directory, self.names)
        return findings

    def finish(self, carry: bool = False) -> list[Finding]:
        """Close flows and collect every detector's findings, most severe first.

        ``carry`` (an incremental run): flows still active at the end are kept in ``carried`` for the next run
        instead of being counted now.
        """
        assert self.dispatcher is not None
        self.certificates.finish(self.emit)
        self.carried = self.dispatcher.finish(carry)
        findings: list[Finding] = []
        for detector in self.detectors:
            findings.extend(detector.finish())
        directory = directory_of(self.detectors)
        for finding in findings:
            attribute_to_devices(finding, self.networks, directory, self.names)
        return findings

    def devices(self, findings: list[Finding]) -> list[dict]:
        """The contract's ``devices`` section: names, users and MACs behind the findings' addresses."""
        addresses = {host for finding in findings for host in finding.hosts}
        return directory_of(self.detectors).devices(addresses)


def attribute_to_devices(finding: Finding, networks: LocalNetworks, directory: Optional[Directory] = None,
                         names: Optional[NameDirectory] = None) -> None:
    """Every finding, whatever its detector: hosts are the site's devices (local addresses, never a remote peer,
    relay or provider server) named as well as the scan can (``names``: the site's directory, for devices this
    run's evidence does not name), file-sharing findings list the people behind them, and each names the inputs
    behind it."""
    finding.hosts = site_devices(finding.hosts, networks)
    if not finding.inputs:
        finding.inputs = sorted({source_of(e.source) for e in finding.evidence if e.source})
    if directory is None:
        return
    if names is not None and finding.first_seen is not None:
        start, end = finding.first_seen, finding.last_seen or finding.first_seen
        for host in finding.hosts[:MAX_NAMED_HOSTS]:
            directory.recall(host, names, start, end)
    labels = {host: directory.label(host) for host in finding.hosts[:MAX_NAMED_HOSTS]}
    finding.host_names = {host: label for host, label in labels.items() if label and label != host}
    if finding.attributes.carries_users:  # the people behind the devices (= hosts) the detector counted
        finding.attributes = replace(finding.attributes, users=directory.people(finding.hosts)[1][:100])

