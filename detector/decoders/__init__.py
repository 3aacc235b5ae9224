"""Decoder registry: one module per protocol or log format, listed here once.

To add a protocol: write ``decoders/<proto>.py`` with a DatagramDecoder,
StreamDecoder, FrameDecoder, LogDecoder or DocumentDecoder subclass, add it to
its family's list below, add its test.
"""

from __future__ import annotations

from ..settings import Settings
from .base import DatagramDecoder, DocumentDecoder, FrameDecoder, LogDecoder, StreamDecoder
from .dns import DnsDecoder
from .dot11 import Dot11Decoder
from .ftp import FtpDecoder
from .hostapd import HostapdDecoder
from .http import HttpDecoder
from .tls import TlsDecoder

# -- imports: credentials family --

# -- imports: file-sharing family --

# -- imports: wifi family --


def packet_decoders(settings: Settings) -> list:
    """Fresh decoder instances for one scan (stream decoders hold no state between flows)."""
    decoders: list = [
        DnsDecoder(),
        TlsDecoder(),
        HttpDecoder(tuple(settings.password_field_names)),
        FtpDecoder(),
        Dot11Decoder(),
    ]
    decoders += [
        # -- packet decoders: credentials family --
    ]
    decoders += [
        # -- packet decoders: file-sharing family --
    ]
    decoders += [
        # -- packet decoders: wifi family --
    ]
    return decoders


def log_decoders() -> list[LogDecoder]:
    """Line-oriented log formats, sniffed from the first lines of a text file."""
    decoders: list[LogDecoder] = [HostapdDecoder()]
    decoders += [
        # -- log decoders: credentials family --
    ]
    decoders += [
        # -- log decoders: file-sharing family --
    ]
    decoders += [
        # -- log decoders: wifi family --
    ]
    return decoders


def document_decoders(settings: Settings) -> list[DocumentDecoder]:
    """Whole-file formats (JSON exports, mailboxes, .evtx) that are not read line by line."""
    decoders: list[DocumentDecoder] = []
    decoders += [
        # -- document decoders: credentials family --
    ]
    decoders += [
        # -- document decoders: file-sharing family --
    ]
    decoders += [
        # -- document decoders: wifi family --
    ]
    return decoders


__all__ = ["packet_decoders", "log_decoders", "document_decoders", "DatagramDecoder", "StreamDecoder",
           "FrameDecoder", "LogDecoder", "DocumentDecoder"]
