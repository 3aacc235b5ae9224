"""Throughput and memory of scanning Zeek logs (TSV and JSON) and Suricata EVE JSON (a generated office log mix).

Prints records/s (CPU time of one process, the SHA-256 thread included, so other
load on the machine counts less; and of the scanning thread alone, what a second
core leaves when the hash runs there) and peak RSS at each input size, to show
memory stays flat. Never fails on timing. Usage:
    python bench/logs.py [--records 1000000 | --sizes 250000,1000000,4000000] [--repeat 3] [--keep DIR]

The mix: for Zeek, one file per log path as a logger writes them (conn 50 %,
dns 30 %, ssl 12 %, http 6 %, files 2 %), in TSV with typed ``#types`` and the
same rows as Zeek's JSON writer gives them (``LogAscii::use_json``: typed values,
unset fields left out, no ``_path``); for EVE one file (flow 40 %, dns
30 %, tls 15 %, http 8 %, fileinfo 2 %, alert 1 %, stats/anomaly 4 %).
About one name in twenty is a catalog service, as in a real office.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

T0 = 1795964400.0
SERVICE_NAMES = ["www.dropbox.com", "mega.nz", "wetransfer.com", "drive.google.com", "pastebin.com",
                 "anydesk.com", "api.openai.com", "web.whatsapp.com"]
OTHER_NAMES = [f"host{n}.example{n % 97}.com" for n in range(2000)] + [
    "www.microsoft.com", "login.microsoftonline.com", "outlook.office365.com", "update.googleapis.com",
    "ocsp.digicert.com", "cdn.jsdelivr.net", "www.bbc.co.uk", "teams.microsoft.com"]


ATTACHMENTS = [f"{stem}{n}.{ext}" for stem in ("invoice", "scan", "contract", "offer", "report") for n in range(40)
               for ext in ("pdf", "docx")]
MAIL_RELAYS = ["203.0.113.25", "203.0.113.26", "203.0.113.27"]
SERVICE_ADDRESSES = [f"162.125.{n // 250}.{n % 250 + 1}" for n in range(400)]  # a service's few hundred addresses


def _name(rng: random.Random) -> str:
    return rng.choice(SERVICE_NAMES) if rng.random() < 0.05 else rng.choice(OTHER_NAMES)


def _answer(name: str, server: str, rng: random.Random) -> str:
    """Catalog services answer from, and serve on, their own small address pool; the rest from anywhere."""
    return rng.choice(SERVICE_ADDRESSES) if name in SERVICE_NAMES else server


def _flow_server(server: str, rng: random.Random) -> str:
    """About one flow in twenty goes to a catalog service (metered), as one name in twenty is one."""
    return rng.choice(SERVICE_ADDRESSES) if rng.random() < 0.05 else server


def _hosts(rng: random.Random) -> tuple[str, str, int]:
    return f"10.1.{rng.randrange(4)}.{rng.randrange(2, 250)}", f"198.51.{rng.randrange(256)}.{rng.randrange(256)}", \
        rng.randrange(1024, 65535)


# ---------------------------------------------------------------- Zeek TSV

ZEEK_PATHS = {
    "conn": ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes "
             "conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts "
             "resp_ip_bytes tunnel_parents", 0.50),
    "dns": ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto trans_id rtt query qclass qclass_name qtype "
            "qtype_name rcode rcode_name AA TC RD RA Z answers TTLs rejected", 0.30),
    "ssl": ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p version cipher curve server_name resumed last_alert "
            "next_protocol established ssl_history cert_chain_fps client_cert_chain_fps sni_matches_cert", 0.12),
    "http": ("ts uid id.orig_h id.orig_p id.resp_h id.resp_p trans_depth method host uri referrer version "
             "user_agent origin request_body_len response_body_len status_code status_msg info_code info_msg tags "
             "username password proxied orig_fuids orig_filenames orig_mime_types resp_fuids resp_filenames "
             "resp_mime_types", 0.06),
    "files": ("ts fuid uid id.orig_h id.orig_p id.resp_h id.resp_p source depth analyzers mime_type filename "
              "duration local_orig is_orig seen_bytes total_bytes missing_bytes overflow_bytes timedout parent_fuid "
              "md5 sha1 sha256 extracted extracted_cutoff extracted_size", 0.02),  # mail and web files
}


# each field's Zeek type, as #types declares it and the JSON writer encodes it
ZEEK_TYPES = {
    "ts": "time", "id.orig_p": "port", "id.resp_p": "port", "id.orig_h": "addr", "id.resp_h": "addr",
    "proto": "enum", "duration": "interval", "orig_bytes": "count", "resp_bytes": "count", "local_orig": "bool",
    "local_resp": "bool", "missed_bytes": "count", "orig_pkts": "count", "orig_ip_bytes": "count",
    "resp_pkts": "count", "resp_ip_bytes": "count", "tunnel_parents": "set[string]", "trans_id": "count",
    "rtt": "interval", "qclass": "count", "qtype": "count", "rcode": "count", "AA": "bool", "TC": "bool",
    "RD": "bool", "RA": "bool", "Z": "count", "answers": "vector[string]", "TTLs": "vector[interval]",
    "rejected": "bool", "resumed": "bool", "established": "bool", "cert_chain_fps": "vector[string]",
    "client_cert_chain_fps": "vector[string]", "sni_matches_cert": "bool", "trans_depth": "count",
    "request_body_len": "count", "response_body_len": "count", "status_code": "count", "info_code": "count",
    "tags": "set[enum]", "proxied": "set[string]", "orig_fuids": "vector[string]",
    "orig_filenames": "vector[string]", "orig_mime_types": "vector[string]", "resp_fuids": "vector[string]",
    "resp_filenames": "vector[string]", "resp_mime_types": "vector[string]", "depth": "count",
    "analyzers": "set[string]", "is_orig": "bool", "seen_bytes": "count", "total_bytes": "count",
    "missing_bytes": "count", "overflow_bytes": "count", "timedout": "bool", "extracted_cutoff": "bool",
    "extracted_size": "count",
}
NUMBERS = {"time": float, "interval": float, "double": float, "count": int, "port": int, "int": int}


def _json_value(kind: str, text: str):
    """One TSV value as Zeek's JSON writer gives it: typed numbers and booleans, sets and vectors as lists."""
    if kind.startswith(("set[", "vector[")):
        inner = kind[kind.index("[") + 1:-1]
        return [] if text == "(empty)" else [_json_value(inner, item) for item in text.split(",")]
    if kind == "bool":
        return text == "T"
    return NUMBERS[kind](text) if kind in NUMBERS else text


def _zeek_json_line(names: list[str], row: list[str]) -> str:
    record = {name: _json_value(ZEEK_TYPES.get(name, "string"), value)
              for name, value in zip(names, row) if value != "-"}
    return json.dumps(record, separators=(",", ":"))


def _zeek_row(path: str, n: int, rng: random.Random) -> list[str]:
    client, server, port = _hosts(rng)
    ts = f"{T0 + n * 0.001:.6f}"
    uid = f"C{n:x}Xk3s9"
    if path == "conn":
        return [ts, uid, client, str(port), _flow_server(server, rng), "443", "tcp", "ssl", f"{rng.random() * 30:.6f}",
                str(rng.randrange(200, 90000)), str(rng.randrange(200, 900000)), "SF", "T", "F", "0",
                "ShADadFf", "12", "1200", "14", "22000", "-"]
    if path == "dns":
        name = _name(rng)
        return [ts, uid, client, str(port), "10.1.0.1", "53", "udp", str(rng.randrange(65535)), "0.012", name,
                "1", "C_INTERNET", "1", "A", "0", "NOERROR", "F", "F", "T", "T", "0", _answer(name, server, rng),
                "300.000000", "F"]
    if path == "ssl":
        name = _name(rng)
        return [ts, uid, client, str(port), _answer(name, server, rng), "443", "TLSv13", "TLS_AES_128_GCM_SHA256",
                "x25519", name, "F", "-", "h2", "T", "CsiI", "(empty)", "(empty)", "-"]
    if path == "http":
        name = _name(rng)
        return [ts, uid, client, str(port), _answer(name, server, rng), "80", "1", rng.choice(["GET", "GET", "POST"]),
                name,
                "/index.html", "-", "1.1", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "-", "0",
                str(rng.randrange(100, 90000)), "200", "OK", "-", "-", "(empty)", "-", "-", "-", "-", "-", "-",
                "FhT3", "-", "text/html"]
    if rng.random() < 0.9:  # most files Zeek sees are web downloads
        return [ts, f"F{n:x}", uid, server, "80", client, str(port), "HTTP", "0", "(empty)", "text/html", "-",
                "0.1", "F", "F", "9000", "9000", "0", "0", "F", "-", "-", "-", "-", "-", "-", "-"]
    return [ts, f"F{n:x}", uid, client, str(port), rng.choice(MAIL_RELAYS), "25", "SMTP", "3", "(empty)",
            "application/pdf", rng.choice(ATTACHMENTS), "0.1", "T", "T", "81000", "81000", "0", "0", "F", "-", "-",
            "-", "-", "-", "-", "-"]


def write_zeek(folder: Path, records: int, seed: int = 7, encoding: str = "tsv") -> int:
    """One file per log path: TSV with its header block, or one JSON object a line (``<path>.log``)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for path, (fields, share) in ZEEK_PATHS.items():
        count = int(records * share)
        names = fields.split()
        with (folder / f"{path}.log").open("w") as handle:
            if encoding == "tsv":
                handle.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
                             f"#path\t{path}\n#open\t2026-11-29-15-00-00\n#fields\t" + "\t".join(names) + "\n"
                             "#types\t" + "\t".join(ZEEK_TYPES.get(name, "string") for name in names) + "\n")
            for n in range(count):
                row = _zeek_row(path, n, rng)
                assert len(row) == len(names), path
                handle.write(("\t".join(row) if encoding == "tsv" else _zeek_json_line(names, row)) + "\n")
            if encoding == "tsv":
                handle.write("#close\t2026-11-29-16-00-00\n")
        written += count
    return written


# ---------------------------------------------------------------- EVE

def _eve_time(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e6):06d}+0000"


def _eve(n: int, rng: random.Random) -> dict:
    client, server, port = _hosts(rng)
    ts = T0 + n * 0.001
    # Suricata's key order: event_type right after in_iface (filled in below, keeping its place)
    base = {"timestamp": _eve_time(ts), "flow_id": 1000000 + n, "in_iface": "eth0", "event_type": "", "src_ip": client,
            "src_port": port, "dest_ip": server, "dest_port": 443, "proto": "TCP"}
    roll = rng.random()
    if roll < 0.40:
        base.update(event_type="flow", app_proto="tls", dest_ip=_flow_server(server, rng), flow={
            "pkts_toserver": 12, "pkts_toclient": 14, "bytes_toserver": rng.randrange(500, 90000),
            "bytes_toclient": rng.randrange(500, 900000), "start": _eve_time(ts - 5), "end": _eve_time(ts),
            "age": 5, "state": "closed", "reason": "timeout", "alerted": False}, tcp={"tcp_flags": "1b"})
    elif roll < 0.70:
        name = _name(rng)
        address = _answer(name, server, rng)
        base.update(event_type="dns", dest_port=53, proto="UDP", dns={
            "version": 2, "type": "answer", "id": rng.randrange(65535), "flags": "8180", "qr": True, "rd": True,
            "ra": True, "rrname": name, "rrtype": "A", "rcode": "NOERROR",
            "answers": [{"rrname": name, "rrtype": "A", "ttl": 300, "rdata": address}], "grouped": {"A": [address]}})
    elif roll < 0.85:
        name = _name(rng)
        base.update(event_type="tls", dest_ip=_answer(name, server, rng), tls={
            "subject": "CN=example", "issuerdn": "CN=R3", "serial": "04:AB", "fingerprint": "aa:bb", "sni": name,
            "version": "TLS 1.3",
                                           "notbefore": "2026-01-01T00:00:00", "notafter": "2027-01-01T00:00:00",
                                           "ja3": {"hash": "e7d705a3286e19ea42f587b344ee6865"}})
    elif roll < 0.93:
        name = _name(rng)
        base.update(event_type="http", dest_ip=_answer(name, server, rng), dest_port=80, http={
            "hostname": name, "url": "/index.html", "http_user_agent": "Mozilla/5.0", "http_content_type":
                "text/html", "http_method": rng.choice(["GET", "GET", "POST"]), "protocol": "HTTP/1.1",
            "status": 200, "length": rng.randrange(100, 90000)})
    elif roll < 0.95:
        smtp = rng.random() < 0.1
        base.update(event_type="fileinfo", app_proto="smtp" if smtp else "http",
                    dest_ip=rng.choice(MAIL_RELAYS) if smtp else server, fileinfo={
            "filename": rng.choice(ATTACHMENTS), "gaps": False, "state": "CLOSED", "stored": False, "size": 81000,
            "tx_id": 0}, email={"from": "a@example.com", "to": ["b@example.org"], "status": "PARSE_DONE"})
    elif roll < 0.96:
        base.update(event_type="alert", alert={
            "action": "allowed", "gid": 1, "signature_id": 2027397, "rev": 3,
            "signature": rng.choice(["ET POLICY Dropbox.com Offsite File Backup in Use",
                                     "ET INFO Observed DNS Query to .cloud TLD"]),
            "category": "Potential Corporate Privacy Violation", "severity": 1})
    else:
        base.update(event_type=rng.choice(["stats", "anomaly"]), anomaly={"type": "stream",
                                                                            "event": "stream.pkt_invalid_ack"})
    return base


def write_eve(path: Path, records: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        for n in range(records):
            handle.write(json.dumps(_eve(n, rng), separators=(",", ":")) + "\n")
    return records


# ---------------------------------------------------------------- measuring

def child(target: str) -> None:
    """Scan ``target`` in this process and print records, CPU and wall seconds as JSON."""
    from detector.inputs import discover
    from detector.policy import load_ruleset
    from detector.policy.catalog import load_catalog
    from detector.session.pipeline import Scan, ScanConfig

    ruleset = load_ruleset([])
    scan = Scan(ScanConfig(ruleset.settings, load_catalog(), None))
    cpu, main, wall = time.process_time(), time.thread_time(), time.perf_counter()
    for path in discover([target]):
        scan.add_file(path)
    findings = scan.finish()
    cpu, main, wall = time.process_time() - cpu, time.thread_time() - main, time.perf_counter() - wall
    records = sum(i.records for i in scan.inputs)
    print(json.dumps({"records": records, "cpu": cpu, "main": main, "wall": wall, "findings": len(findings)}))


def measure(target: Path) -> dict:
    process = subprocess.Popen([sys.executable, __file__, "--child", str(target)], stdout=subprocess.PIPE,
                               text=True)
    out, _ = process.communicate()
    _, status, usage = os.wait4(process.pid, 0) if process.returncode is None else (0, 0, None)
    result = json.loads(out)
    result["rss_mib"] = (usage.ru_maxrss / 1024) if usage else None
    return result


def measure_rss(target: Path) -> dict:
    code = ("import resource, runpy, sys; sys.argv = [sys.argv[1], '--child', sys.argv[2]]; "
            "runpy.run_path(sys.argv[0], run_name='__main__'); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code, __file__, str(target)], capture_output=True, text=True,
                          check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["rss_mib"] = int(done.stderr.strip().splitlines()[-1]) / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--sizes", help="Comma-separated record counts to measure (default: records/4 and records); "
                                         "e.g. 250000,1000000,4000000 to show RSS stays flat.")
    parser.add_argument("--repeat", type=int, default=1, help="Runs per size and format; the best CPU time counts.")
    parser.add_argument("--keep", type=Path, help="Write the generated logs here and keep them.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    from detector.logs.sensors.jsonline import FAST

    folder = args.keep or Path(tempfile.mkdtemp(prefix="shadowit-bench-logs-"))
    print(f"JSON parser: {'orjson' if FAST else 'json (stdlib)'}")
    print(f"{'format':10} {'records':>10} {'records/s (CPU)':>16} {'(scan thread)':>14} {'wall s':>8} "
          f"{'peak RSS MiB':>13}")
    sizes = [int(n) for n in args.sizes.split(",")] if args.sizes else [args.records // 4, args.records]
    for size in sizes:
        zeek = folder / f"zeek-{size}"
        zeek_json = folder / f"zeek-json-{size}"
        eve = folder / f"eve-{size}" / "eve.json"
        if not (args.keep and zeek.is_dir()):  # --keep: logs already written there are reused
            write_zeek(zeek, size)
        if not (args.keep and zeek_json.is_dir()):
            write_zeek(zeek_json, size, encoding="json")
        if not (args.keep and eve.is_file()):
            write_eve(eve, size)
        for label, target in (("zeek-tsv", zeek), ("zeek-json", zeek_json), ("eve-json", eve.parent)):
            runs = [measure_rss(target) for _ in range(max(args.repeat, 1))]
            result = min(runs, key=lambda run: run["cpu"])
            result["rss_mib"] = max(run["rss_mib"] for run in runs)
            rate = result["records"] / max(result["cpu"], 1e-9)
            scan_rate = result["records"] / max(result["main"], 1e-9)
            print(f"{label:10} {result['records']:>10} {rate:>16,.0f} {scan_rate:>14,.0f} {result['wall']:>8.2f} "
                  f"{result['rss_mib']:>13.1f}")
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
