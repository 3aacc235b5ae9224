"""Decoder registry: one module per protocol or log format, listed here once.

To add a protocol: write ``decoders/<proto>.py`` with a DatagramDecoder,
StreamDecoder, FrameDecoder or LogDecoder subclass, add it below, add its test.
"""

from __future__ import annotations

from ..settings import Settings
from .base import DatagramDecoder, FrameDecoder, LogDecoder, StreamDecoder
from .dns import DnsDecoder
from .dot11 import Dot11Decoder
from .ftp import FtpDecoder
from .hostapd import HostapdDecoder
from .http import HttpDecoder
from .tls import TlsDecoder


def packet_decoders(settings: Settings) -> list:
    """Fresh decoder instances for one scan (stream decoders hold no state between flows)."""
    decoders: list = [
        DnsDecoder(),
        TlsDecoder(),
        HttpDecoder(tuple(settings.password_field_names)),
        FtpDecoder(),
        Dot11Decoder(),
    ]
    return decoders


def log_decoders() -> list[LogDecoder]:
    return [
        HostapdDecoder(),
    ]


__all__ = ["packet_decoders", "log_decoders", "DatagramDecoder", "StreamDecoder", "FrameDecoder", "LogDecoder"]
