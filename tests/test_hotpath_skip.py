"""The capture readers' inline skip drops exactly what the dispatcher would drop.

The record loops read a frame's Ethernet/IPv4/TCP fields in one struct call and
skip segments of ignored port pairs and bare ACKs without calling the
dispatcher. Whatever they skip, the observations must be the same as when
every frame reaches the dispatcher, in every capture layout the fast paths
read (pcap in both byte orders and resolutions, pcapng in both byte orders),
and also for frames the test must not skip: VLAN tags, IP options,
fragments, short frames, and a last record too short for the combined struct.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from pcapfiles import write_pcapng
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

from detector.capture.dispatch import PacketDispatcher
from detector.capture.pcap import read_capture
from detector.capture.records import ReadStats
from detector.policy.settings import Settings
from detector.protocols import packet_decoders

T0 = 1_764_000_000.0
CLIENT, SERVER, WATCHED = "10.0.0.1", "10.0.0.2", "10.0.0.99"


def _segment(src: str, dst: str, sport: int, dport: int, flags: str, seq: int, ack: int,
             payload: bytes = b"") -> Ether:
    frame = Ether() / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack)
    return frame / Raw(payload) if payload else frame


def _conversation(src: str, dst: str, sport: int, dport: int, client_data: list[bytes],
                  server_data: list[bytes]) -> list[Ether]:
    """A whole TCP conversation: handshake, data both ways each answered by a bare ACK, then FINs."""
    frames = [_segment(src, dst, sport, dport, "S", 1000, 0),
              _segment(dst, src, dport, sport, "SA", 5000, 1001),
              _segment(src, dst, sport, dport, "A", 1001, 5001)]
    cseq, sseq = 1001, 5001
    for index in range(max(len(client_data), len(server_data))):
        if index < len(client_data):
            data = client_data[index]
            frames.append(_segment(src, dst, sport, dport, "PA", cseq, sseq, data))
            cseq += len(data)
            frames.append(_segment(dst, src, dport, sport, "A", sseq, cseq))
        if index < len(server_data):
            data = server_data[index]
            frames.append(_segment(dst, src, dport, sport, "PA", sseq, cseq, data))
            sseq += len(data)
            frames.append(_segment(src, dst, sport, dport, "A", cseq, sseq))
    frames += [_segment(src, dst, sport, dport, "FA", cseq, sseq),
               _segment(dst, src, dport, sport, "FA", sseq, cseq + 1),
               _segment(src, dst, sport, dport, "A", cseq + 1, sseq + 1)]
    return frames


def _frames() -> list[bytes]:
    """Traffic the skip applies to, traffic it must leave alone, and a login whose observation must survive."""
    ignored = _conversation(CLIENT, SERVER, 40000, 7777, [b"\x17\x03\x03" + bytes(200)] * 6, [bytes(900)] * 6)
    metered = _conversation(CLIENT, WATCHED, 40001, 7778, [bytes(300)] * 4, [bytes(1200)] * 6)
    ftp = _conversation(CLIENT, SERVER, 40002, 21, [b"USER alice\r\n", b"PASS Sup3r-secret\r\n", b"QUIT\r\n"],
                        [b"220 ready\r\n", b"331 password\r\n", b"230 logged in\r\n", b"221 bye\r\n"])
    # segments of the ignored pair that the inline test must hand over: tagged, with IP options, fragmented
    odd = [Ether() / Dot1Q(vlan=7) / IP(src=CLIENT, dst=SERVER) / TCP(sport=40000, dport=7777, flags="A")
           / Raw(bytes(50)),
           Ether() / IP(src=CLIENT, dst=SERVER, options=b"\x01\x01\x01\x01") / TCP(sport=40000, dport=7777, flags="A")
           / Raw(bytes(50)),
           Ether() / IP(src=CLIENT, dst=SERVER, flags="MF") / TCP(sport=40000, dport=7777, flags="A") / Raw(bytes(50)),
           Ether() / IP(src=CLIENT, dst=SERVER, frag=8, proto=6) / Raw(bytes(TCP(sport=40000, dport=7777, flags="A")))]
    frames = [bytes(f) for f in ignored[:8]]  # the flow is ignored from its first data on...
    frames += [bytes(f) for f in ftp[:6]]  # ...interleaved with a login and a metered flow
    frames += [bytes(f) for f in metered]
    frames += [bytes(f) for f in ignored[8:]] + [bytes(f) for f in odd] + [bytes(f) for f in ftp[6:]]
    frames.append(bytes(_segment(CLIENT, SERVER, 40000, 7777, "A", 1, 1))[:40])  # cut short by the snap length
    frames.append(bytes(Ether())[:14])  # a last record shorter than the combined header struct
    return frames


def _pcap(frames: list[bytes], order: str, nanos: bool) -> bytes:
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)]
    for index, frame in enumerate(frames):
        frac = index * (1000 if nanos else 1)
        out.append(struct.pack(order + "IIII", int(T0) + index, frac, len(frame), len(frame)) + frame)
    return b"".join(out)


def _pcapng(tmp_path: Path, frames: list[bytes], order: str) -> bytes:
    packets = [(0, T0 + index, frame) for index, frame in enumerate(frames)]
    return write_pcapng(tmp_path / "t.pcapng", [1], packets, order=order).read_bytes()


def _scan(data: bytes, skip_inline: bool) -> tuple[list[str], int, int]:
    """(observations as text, frames the dispatcher was handed, frames read)."""
    seen: list[str] = []
    dispatcher = PacketDispatcher(packet_decoders(Settings()), lambda obs: seen.append(repr(obs)))
    dispatcher.source = "t"
    dispatcher.meter.watch(WATCHED)
    handed = 0

    def handler(buf, off, caplen, ts, linktype, frame_no) -> None:
        nonlocal handed
        handed += 1
        dispatcher.handle(buf, off, caplen, ts, linktype, frame_no)

    stats = ReadStats()
    read_capture(io.BytesIO(data), handler, stats, None, dispatcher.hot if skip_inline else None)
    dispatcher.finish()
    return seen, handed, stats.frames


@pytest.mark.parametrize("layout", ["pcap-le", "pcap-be", "pcap-le-ns", "pcapng-le", "pcapng-be"])
def test_inline_skip_changes_nothing_but_the_calls(tmp_path: Path, layout: str) -> None:
    frames = _frames()
    if layout.startswith("pcapng"):
        data = _pcapng(tmp_path, frames, "<" if layout.endswith("le") else ">")
    else:
        data = _pcap(frames, ">" if "-be" in layout else "<", layout.endswith("ns"))
    with_skip, handed_with, read_with = _scan(data, skip_inline=True)
    without, handed_without, read_without = _scan(data, skip_inline=False)
    assert with_skip == without
    assert read_with == read_without == len(frames)
    assert handed_without == len(frames)
    assert handed_with < handed_without - 10  # the ignored flow's segments and bare ACKs were skipped inline
    kinds = {text.split("(", 1)[0] for text in with_skip}
    assert {"Credential", "FlowVolume"} <= kinds  # the login and the metered flow came through


def test_segments_of_watched_addresses_are_never_skipped(tmp_path: Path) -> None:
    """A bare ACK to a metered server counts as a packet of its flow, so the reader must hand it over."""
    frames = [bytes(f) for f in _conversation(CLIENT, WATCHED, 40001, 7778, [bytes(300)], [bytes(1200)] * 3)]
    _seen, handed, _read = _scan(_pcap(frames, "<", False), skip_inline=True)
    assert handed == len(frames)


@pytest.mark.parametrize("chunk", [97, 256, 1000])
@pytest.mark.parametrize("layout", ["pcap-le", "pcapng-be"])
def test_records_across_read_chunks_are_skipped_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      chunk: int, layout: str) -> None:
    """Where the reader's window ends inside a record, the results are the same, and pcap records still skip.

    (A pcapng block cut by the window takes the general block path, which hands every frame over: a block per
    MiB of capture, so that path stays simple.)
    """
    from detector.capture import records

    frames = _frames()
    data = _pcapng(tmp_path, frames, ">") if layout == "pcapng-be" else _pcap(frames, "<", False)
    seen, handed, read = _scan(data, skip_inline=True)
    monkeypatch.setattr(records, "CHUNK", chunk)
    seen_cut, handed_cut, read_cut = _scan(data, skip_inline=True)
    assert (seen_cut, read_cut) == (seen, read)
    if layout == "pcap-le":
        assert handed_cut == handed
