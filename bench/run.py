"""Throughput, CPU and memory of `shadowit scan` on two mixes, beside tshark's credentials tap when installed.

Prints figures; never fails on timing. Usage:
    python bench/run.py [--packets 1000000] [--repeat 3] [--only bulk|mix] [--mix FILE]
Two captures: the bulk mix built here from byte templates (mostly 1,454-byte
bulk TCP, which the record loop skips, plus DNS, TLS ClientHellos, HTTP Basic
and FTP logins), and the reference office mix that ../shared/bench/gen_pcap.py
writes (about 64 interleaved flows of HTTPS, HTTP logins, DNS, mail, FTP,
Telnet, LDAP, SNMP, NTP, QUIC-like UDP). Each runs pinned to one core
(taskset -c 0) and on all cores, compiled and pure (SHADOWIT_PURE=1). Figures: best wall
and CPU seconds of --repeat runs, packets/s, largest peak
RSS of any process, and the ratio to `tshark -r F -q -z credentials`.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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


RSS_PROBE = ("import resource, subprocess, sys, time; "
             "t = time.perf_counter(); "
             "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
             "w = time.perf_counter() - t; "
             "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
             "print(w, r.ru_utime + r.ru_stime, r.ru_maxrss)")
DEFAULT_GEN = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "gen_pcap.py"


@dataclass
class Figure:
    wall: float
    cpu: float
    rss_kib: int


def measure(cmd: list[str]) -> Figure:
    """Wall and CPU seconds (every process of the command, workers included) and the largest peak RSS (KiB).

    Measured in a fresh parent so that peaks of different runs do not mix.
    """
    probe = subprocess.run([sys.executable, "-c", RSS_PROBE, *cmd], check=False, capture_output=True, text=True)
    wall, cpu, rss = (probe.stdout.split() + ["0", "0", "0"])[:3]
    return Figure(float(wall), float(cpu), int(rss))


def best(cmd: list[str], repeat: int) -> Figure:
    """Best wall and CPU of ``repeat`` runs (a shared machine only ever adds time), the largest RSS."""
    runs = [measure(cmd) for _ in range(repeat)]
    return Figure(min(r.wall for r in runs), min(r.cpu for r in runs), max(r.rss_kib for r in runs))


def reference_mix(path: Path, packets: int, generator: Path) -> None:
    """The office mix of ../shared/bench/gen_pcap.py, generated now (not copied into this repository)."""
    subprocess.run([sys.executable, str(generator), "-n", str(packets), "-o", str(path)], check=True,
                   stdout=subprocess.DEVNULL)


def bench_capture(label: str, capture: Path, packets: int, args: argparse.Namespace, folder: Path) -> None:
    size = capture.stat().st_size
    print(f"\n== {label}: {capture} ({packets:,} packets, {size / 1e6:.0f} MB)")
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    tshark = None
    if not args.no_tshark and shutil.which("tshark"):
        tshark = {}
        for where, prefix in (("pinned", pin), ("all cores", [])):
            if where == "pinned" and not pin:
                continue
            tshark[where] = best([*prefix, "tshark", "-r", str(capture), "-q", "-z", "credentials"], args.repeat)
            t = tshark[where]
            print(f"tshark -z credentials, {where:9}: {t.wall:6.2f} s wall, {t.cpu:6.2f} CPU-s, "
                  f"{packets / t.wall:9,.0f} packets/s, peak RSS {t.rss_kib / 1024:5.0f} MB")
    elif not args.no_tshark:
        print("tshark not installed: no comparison")
    for build, flag in (("compiled", ""), ("pure", "1")):
        shadowit = ["env", f"SHADOWIT_PURE={flag}", sys.executable, "-m", "detector.cli", "scan", str(capture), "-q",
                    "--json", str(folder / "out.json")]
        for where, prefix in (("pinned", pin), ("all cores", [])):
            if where == "pinned" and not pin:
                continue
            f = best([*prefix, *shadowit], args.repeat)
            ratio = ""
            if tshark and where in tshark:
                ratio = (f", {tshark[where].wall / f.wall:4.2f}x tshark wall, "
                         f"{tshark[where].cpu / f.cpu:4.2f}x tshark CPU")
            print(f"shadowit {build:8}, {where:9}: {f.wall:6.2f} s wall, {f.cpu:6.2f} CPU-s, "
                  f"{packets / f.wall:9,.0f} packets/s, peak RSS {f.rss_kib / 1024:5.0f} MB{ratio}")


def bench_startup(folder: Path, repeat: int) -> None:
    """`shadowit scan small.pcap --json -`: start-up dominates the many small files of real use."""
    small = folder / "small.pcap"
    generate(small, 10)
    f = best([sys.executable, "-m", "detector.cli", "scan", str(small), "--json", "-"], repeat)
    bare = best([sys.executable, "-c", "pass"], repeat)
    print(f"\nstart-up, scan of a 10-packet capture to JSON: {f.wall:.3f} s wall, {f.cpu:.3f} CPU-s "
          f"(python -c pass: {bare.wall:.3f} s, {bare.cpu:.3f} CPU-s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="keep the generated bulk capture at this path")
    parser.add_argument("--reuse", type=Path, help="scan this existing capture instead of generating the bulk mix")
    parser.add_argument("--mix", type=Path, help="use this reference-mix capture instead of generating one")
    parser.add_argument("--gen-pcap", type=Path, default=DEFAULT_GEN, help="the reference mix generator")
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration; the best is shown (noisy VMs)")
    parser.add_argument("--only", choices=["bulk", "mix"], help="measure one mix only")
    parser.add_argument("--no-tshark", action="store_true", help="skip the tshark comparison")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="shadowit-bench-"))
    os.environ["SHADOWIT_HOME"] = str(folder)
    # an installed package has its bytecode: measure that, not the compiler (one unmeasured run writes it)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "detector.cli", "--version"], check=False, capture_output=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPU(s), {platform.processor() or '?'}, "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
    try:
        bench_startup(folder, args.repeat)
        if args.only != "mix":
            capture = args.reuse or args.keep or folder / "bulk.pcap"
            if not args.reuse:
                started = time.perf_counter()
                events = generate(capture, args.packets)
                print(f"generated {args.packets} bulk-mix packets ({events} protocol events) "
                      f"in {time.perf_counter() - started:.1f} s")
            bench_capture("bulk mix (bench/run.py: mostly 1,454-byte TCP)", capture, args.packets, args, folder)
        if args.only != "bulk":
            mix = args.mix or folder / "mix.pcap"
            if not args.mix:
                if not args.gen_pcap.exists():
                    print(f"\n{args.gen_pcap} not found: no reference mix")
                    return
                reference_mix(mix, args.packets, args.gen_pcap)
            bench_capture("reference office mix (../shared/bench/gen_pcap.py)", mix, args.packets, args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
