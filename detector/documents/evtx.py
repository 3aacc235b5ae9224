"""Windows binary event logs (``.evtx``) reduced to WLAN-AutoConfig Wi-Fi observations.

EVTX means chunk headers, CRCs and BinXML templates with substitutions, so the
records are parsed by the ``evtx`` package (pyevtx-rs, a maintained and fuzzed
Rust parser). Each record comes back as event XML, which goes through the same
``parse_xml_event`` / ``emit_wlan_event`` path as a ``wevtutil`` XML export.
The package is imported lazily: without it (Python 3.9) the input gets a
warning instead of a crash.
"""

from __future__ import annotations

import io
import tempfile
from typing import IO, Any, BinaryIO, Callable, Iterator, Optional

from detector.documents.base import DocumentDecoder, DocumentStats
from detector.documents.wlan_autoconfig import PROVIDER, emit_wlan_event, parse_xml_event
from detector.logs.base import LogContext
from detector.logs.syslog import file_station
from detector.observations import Emit

MAGIC = b"ElfFile\x00"
FILE_HEADER_SIZE = 4096
CHUNK_SIZE = 65536
MAX_BYTES = 2 * 1024 * 1024 * 1024  # the parser needs a seekable copy; bound it
SPOOL_IN_MEMORY = 16 * 1024 * 1024  # larger copies go to a temporary file, so memory stays bounded
MIN_RECORD_SIZE = 28  # header (24) + size copy (4): caps how many items the parser can yield
READ_BLOCK = 1 << 20


def _parser_class() -> Optional[Callable[..., Any]]:
    """``evtx.PyEvtxParser`` when the optional package is installed, else None."""
    try:
        from evtx import PyEvtxParser
    except ImportError:
        return None
    return PyEvtxParser


def read_bounded(stream: BinaryIO, limit: int) -> tuple[IO[bytes], bool]:
    """A seekable copy of the stream up to ``limit`` (in memory while small, else on disk); True if all fit."""
    buffer: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    total = 0
    while total < limit:
        block = stream.read(min(READ_BLOCK, limit - total))
        if not block:
            return buffer, True
        buffer.write(block)
        total += len(block)
    return buffer, not stream.read(1)


def pad_last_chunk(buffer: IO[bytes]) -> int:
    """Zero-pad a last chunk cut short, so the parser still returns the records before the cut.

    Returns how many bytes were missing (0 when the file ends on a chunk boundary).
    """
    size = buffer.seek(0, io.SEEK_END)
    partial = (size - FILE_HEADER_SIZE) % CHUNK_SIZE if size > FILE_HEADER_SIZE else 0
    if partial:
        buffer.write(bytes(CHUNK_SIZE - partial))
    buffer.seek(0)
    return CHUNK_SIZE - partial if partial else 0


def parsed_records(records: Iterator[dict], limit: int, stats: DocumentStats) -> Iterator[dict]:
    """Each record the parser yields; a record or chunk it cannot parse is counted, not fatal."""
    first_error = ""
    for _ in range(limit):
        try:
            record = next(records)
        except StopIteration:
            break
        except Exception as exc:  # the Rust extension raises RuntimeError (and others) per bad record or chunk
            stats.records += 1
            stats.malformed += 1
            first_error = first_error or str(exc)
            continue
        stats.records += 1
        yield record
    if first_error:
        stats.warnings.append(f"first unreadable evtx record: {first_error}"[:300])


class EvtxDecoder(DocumentDecoder):
    name = "windows-evtx"

    def sniff(self, head: bytes) -> float:
        return 1.0 if head.startswith(MAGIC) else 0.0

    def decode(self, stream: BinaryIO, ctx: LogContext, emit: Emit) -> DocumentStats:
        stats = DocumentStats()
        parser_class = _parser_class()
        if parser_class is None:
            stats.warnings.append("reading .evtx needs the 'evtx' package (Python >= 3.10: pip install evtx); "
                                  "skipped")
            return stats
        buffer, complete = read_bounded(stream, MAX_BYTES)
        with buffer:
            return self._parse(buffer, complete, parser_class, ctx, emit, stats)

    def _parse(self, buffer: IO[bytes], complete: bool, parser_class: Callable[..., Any], ctx: LogContext,
               emit: Emit, stats: DocumentStats) -> DocumentStats:
        if not complete:
            stats.warnings.append(f"only the first {MAX_BYTES >> 20} MiB of the .evtx file were read")
        missing = pad_last_chunk(buffer)
        if missing:
            stats.warnings.append(f"file ends inside a chunk ({missing} bytes short); records from the cut on "
                                  "are lost")
        size = buffer.seek(0, io.SEEK_END)
        buffer.seek(0)
        try:
            records = parser_class(buffer, 1).records()
        except Exception as exc:  # an invalid file header: a warning on the input, not a crash
            stats.warnings.append(f"not a readable .evtx file: {exc}"[:300])
            return stats
        station = file_station(ctx).removesuffix(".evtx")
        for record in parsed_records(records, size // MIN_RECORD_SIZE + 16, stats):
            self._record(record, ctx, station, emit, stats)
        return stats

    @staticmethod
    def _record(record: dict, ctx: LogContext, station: str, emit: Emit, stats: DocumentStats) -> None:
        """One parsed record: only WLAN-AutoConfig events are read further."""
        xml = record.get("data")
        if not isinstance(xml, str) or PROVIDER not in xml:
            return
        where = f"{ctx.path}:record {record.get('event_record_id', stats.records)}"
        event = parse_xml_event(xml, where, ctx.zone)
        if event is None:
            stats.malformed += 1
            return
        if PROVIDER in event.provider:
            emit_wlan_event(event, station, emit)
