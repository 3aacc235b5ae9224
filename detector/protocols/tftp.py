"""TFTP (RFC 1350) read and write requests: which file went to or came from which host.

TFTP has no authentication and no encryption; a write request is a file
leaving by a channel nobody audits.
"""

from __future__ import annotations

from detector.observations import Emit, FileTransfer
from detector.protocols.base import Datagram, DatagramDecoder

TFTP_PORT = 69
MAX_NAME = 255
OPCODES = {1: ("tftp-rrq", "down"), 2: ("tftp-wrq", "up")}


def request_filename(payload: bytes) -> str | None:
    """The printable file name of an RRQ/WRQ, '(unreadable name)' when garbled, None if not a request."""
    end = payload.find(b"\x00", 2)
    if end < 0:
        return None
    raw = payload[2:end][:MAX_NAME]
    text = raw.decode("latin-1")
    printable = "".join(c for c in text if c.isprintable())
    if not printable or len(printable) < len(text) / 2:
        return "(unreadable name)"
    return printable


class TftpDecoder(DatagramDecoder):
    name = "tftp"
    udp_ports = frozenset({TFTP_PORT})

    def decode(self, dgram: Datagram, emit: Emit) -> None:
        payload = dgram.payload
        if dgram.dport != TFTP_PORT or len(payload) < 4 or payload[0] != 0 or payload[1] not in OPCODES:
            return
        filename = request_filename(payload)
        if filename is None:
            return
        protocol, direction = OPCODES[payload[1]]
        emit(FileTransfer(dgram.ts, dgram.where, dgram.src, dgram.dst, protocol, filename, direction))
