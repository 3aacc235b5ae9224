"""Throughput and memory of `shadowit scan` on a generated mixed capture (and of tshark, when installed).

Prints figures; never fails on timing. Usage:
    python bench/run.py [--packets 1000000] [--keep FILE]
The capture is built from byte templates (scapy would take minutes for a
million packets): mostly bulk TCP, plus DNS, TLS ClientHellos, HTTP with
Basic auth and FTP logins, with correct TCP sequence numbers.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scapy.layers.dns import DNS, DNSQR  # noqa: E402
from scapy.layers.inet import IP, TCP, UDP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

from detector.samples import client_hello  # noqa: E402

PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)


class Writer:
    def __init__(self, path: Path):
        self.handle = open(path, "wb")
        self.handle.write(PCAP_HEADER)
        self.count = 0
        self.ts = 1_790_000_000.0
        self.chunks: list[bytes] = []

    def frame(self, data: bytes) -> None:
        self.ts += 0.00002
        sec = int(self.ts)
        self.chunks.append(struct.pack("<IIII", sec, int((self.ts - sec) * 1e6), len(data), len(data)))
        self.chunks.append(data)
        self.count += 1
        if len(self.chunks) > 20000:
            self.flush()

    def flush(self) -> None:
        self.handle.write(b"".join(self.chunks))
        self.chunks = []

    def close(self) -> None:
        self.flush()
        self.handle.close()


def tcp_frames(src: str, dst: str, sport: int, dport: int, payloads: list[tuple[bool, bytes]]) -> list[bytes]:
    """Frames of one connection; bulk payload bytes are patched into a template for speed."""
    out = []
    cseq, sseq = 1000, 90000
    for flags, from_client, payload in ([("S", True, b""), ("SA", False, b""), ("A", True, b"")]
                                        + [("PA", c, p) for c, p in payloads]
                                        + [("FA", True, b""), ("FA", False, b"")]):
        s, d, sp, dp = (src, dst, sport, dport) if from_client else (dst, src, dport, sport)
        seq, ack = (cseq, sseq) if from_client else (sseq, cseq)
        pkt = Ether() / IP(src=s, dst=d) / TCP(sport=sp, dport=dp, flags=flags, seq=seq, ack=ack)
        out.append(bytes(pkt / payload) if payload else bytes(pkt))
        step = len(payload) + (1 if "S" in flags or "F" in flags else 0)
        if from_client:
            cseq += step
        else:
            sseq += step
    return out


def bulk_template() -> tuple[bytes, int]:
    pkt = Ether() / IP(src="10.1.0.10", dst="93.184.216.34") / TCP(sport=50000, dport=443, flags="A", seq=1)
    head = bytes(pkt)
    return head, len(head)


def generate(path: Path, total: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    writer = Writer(path)
    head, head_len = bulk_template()
    body = bytes(rng.getrandbits(8) for _ in range(1400))
    seq = 1
    hellos = ["www.dropbox.com", "wetransfer.com", "mega.nz", "www.example.org", "drive.google.com"]
    events = 0
    while writer.count < total:
        roll = rng.random()
        if roll < 0.004:
            name = rng.choice(hellos + ["intranet.lan", "cdn.example.net"])
            q = Ether() / IP(src="10.1.0.11", dst="10.1.0.1") / UDP(sport=rng.randint(1024, 65000), dport=53)
            writer.frame(bytes(q / DNS(rd=1, qd=DNSQR(qname=name))))
            events += 1
        elif roll < 0.006:
            for frame in tcp_frames("10.1.0.12", "52.1.2.3", rng.randint(1024, 65000), 443,
                                    [(True, client_hello(rng.choice(hellos)))]):
                writer.frame(frame)
            events += 1
        elif roll < 0.007:
            request = (b"GET /admin HTTP/1.1\r\nHost: printer\r\nAuthorization: Basic YWRtaW46YmVuY2gtcGFzcw==\r\n\r\n")
            for frame in tcp_frames("10.1.0.13", "10.1.0.9", rng.randint(1024, 65000), 80,
                                    [(True, request), (False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")]):
                writer.frame(frame)
            events += 1
        elif roll < 0.0075:
            ftp = [(False, b"220 ftp ready\r\n"), (True, b"USER bench\r\n"), (False, b"331 pw\r\n"),
                   (True, b"PASS bench-pass\r\n"), (False, b"230 ok\r\n")]
            for frame in tcp_frames("10.1.0.14", "10.1.0.5", rng.randint(1024, 65000), 21, ftp):
                writer.frame(frame)
            events += 1
        else:
            frame = bytearray(head + body)
            struct.pack_into("!I", frame, 38, seq)  # TCP sequence number
            struct.pack_into("!H", frame, 16, len(frame) - 14)  # IP total length
            seq = (seq + 1400) & 0xFFFFFFFF
            writer.frame(bytes(frame))
    writer.close()
    return events


RSS_PROBE = ("import resource, subprocess, sys; "
             "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def measure(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one command, measured in a fresh parent so peaks do not mix."""
    started = time.perf_counter()
    probe = subprocess.run([sys.executable, "-c", RSS_PROBE, *cmd], check=False, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    return elapsed, int(probe.stdout.strip() or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="keep the generated capture at this path")
    parser.add_argument("--reuse", type=Path, help="scan this existing capture instead of generating one")
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration; the best is shown (noisy VMs)")
    parser.add_argument("--no-tshark", action="store_true", help="skip the tshark comparison")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="shadowit-bench-"))
    capture = args.reuse or args.keep or folder / "mix.pcap"
    if not args.reuse:
        started = time.perf_counter()
        events = generate(capture, args.packets)
        print(f"generated {args.packets} packets ({events} protocol events) "
              f"in {time.perf_counter() - started:.1f} s")
    size = capture.stat().st_size
    print(f"capture: {capture} ({size / 1e6:.0f} MB)")
    env = dict(os.environ, SHADOWIT_HOME=str(folder))
    os.environ.update(env)
    shadowit = [sys.executable, "-m", "detector.cli", "scan", str(capture), "-q", "--json", str(folder / "out.json")]
    runs = [("all cores (SHA-256 of the input on its own thread)", shadowit)]
    if shutil.which("taskset"):
        runs.append(("pinned to one core", ["taskset", "-c", "0", *shadowit]))
    for label, cmd in runs:
        timings = [measure(cmd) for _ in range(args.repeat)]
        elapsed = min(t for t, _ in timings)
        rss = max(r for _, r in timings)
        print(f"shadowit scan, {label}: best of {args.repeat} {elapsed:.2f} s, "
              f"{args.packets / elapsed:,.0f} packets/s, "
              f"{size / elapsed / 1e6:.0f} MB/s, peak RSS {rss / 1024:.0f} MB")
    if args.no_tshark:
        pass
    elif shutil.which("tshark"):
        elapsed, rss = measure(["tshark", "-r", str(capture), "-q", "-z", "credentials"])
        print(f"tshark -z credentials: {elapsed:.2f} s, {args.packets / elapsed:,.0f} packets/s, "
              f"peak RSS {rss / 1024:.0f} MB")
    else:
        print("tshark not installed: no comparison")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
