"""Recall and precision of service identification against nDPI's own labels, per flow's client.

Usage:
    python bench/ndpi_recall.py DIR [DIR ...] [--benign DIR] [--cli] [-v]

Each DIR is a labelled set (see ``ndpi_labels.py``): a folder with ``pcap/`` and nDPI's ``result/NAME.out``
(``../shared/ndpi-more/``), or captures labelled by the ``ndpi/`` table of a MANIFEST.md in DIR or above it
(``../shared/corpus/ndpi/``). Without DIR both shared sets are read.

The unit is a pair (capture, client, service): every flow nDPI labels with a name ``NDPI_TO_CATALOG`` maps gives
one; shadowit finds it when a ``filesharing.service`` finding of that service lists the client (or the server,
for a flow nDPI writes server first). Figures, per set and together:

* recall: pairs found / pairs labelled. A pair nDPI labels only by the server's address (``Match by IP``)
  counts only when the service has a published range (``rules/ipranges``); otherwise it is listed, not counted.
  So is an OpenVPN or WireGuard tunnel between private addresses (the site's own link, never reported). When
  both ends of a flow are public (a capture taken outside any site) shadowit names no device, so a finding
  without devices finds the pair;
* precision: (capture, host, service) reports nDPI agrees with / reports in the categories nDPI labels
  (file sharing, messaging, remote access, VPN, P2P, webmail, calls). A manifest lists only some flows of a
  capture, so there a report counts right when the capture carries the label for any client. A report counts
  right too when nDPI read the same catalog name of that service for that client but filed it under a vendor
  umbrella or an app the catalog does not list (``weixin.qq.com``, WeChat's own domain, as ``HTTP_Proxy.QQ``);
  those are listed;
* misses by cause: ``no name`` (nDPI read a host name the catalog knows; shadowit did not read or attribute
  it), ``name not in catalog`` (nDPI's host name is not a catalog domain of that service), ``signature
  missing`` (nDPI knew it from the payload, without a name), ``address range missing`` (nDPI knew it by a
  published address range shadowit does not ship);
* benign: every service finding on the ``benign/`` captures (target: none).

Prints figures; exits 0 whatever they are (a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ndpi_labels import (  # noqa: E402,E501
    NDPI_LEFT_OUT,
    NOT_LISTED,
    PLATFORM,
    LabelledFlow,
    NamedFlow,
    find_manifest,
    manifest_set,
    results_set,
)

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
DEFAULT_SETS = (SHARED / "corpus" / "ndpi", SHARED / "ndpi-more")
JUDGED_CATEGORIES = {"cloud-storage", "file-transfer", "paste", "webmail", "messaging", "remote-access", "p2p",
                     "vpn-proxy", "collaboration"}
TUNNELS = {"OpenVPN tunnel", "WireGuard tunnel"}  # README: only tunnels to public addresses count
CAUSES = ("no name", "name not in catalog", "signature missing", "address range missing")


def scan_in_process(path: Path) -> list[dict]:
    from detector.policy.catalog import load_catalog
    from detector.policy.settings import Settings
    from detector.session.pipeline import Scan, ScanConfig

    scan = Scan(ScanConfig(Settings(), load_catalog()))
    scan.add_file(path)
    return [{"detector": f.detector, "hosts": list(f.hosts), "attributes": f.attributes.as_dict()}
            for f in scan.finish()]


def scan_cli(path: Path) -> list[dict]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run([sys.executable, "-m", "detector.cli", "scan", str(path), "--json", "-", "-q"],
                          capture_output=True, text=True, env=env, check=False)
    try:
        return json.loads(done.stdout).get("findings", [])
    except ValueError:
        print(f"  {path.name}: shadowit failed: {done.stderr.strip()[:200]}")
        return []


def services_of(findings: Iterable[dict]) -> dict[str, dict]:
    """Service name -> {"hosts": set, "attributes": ...} for filesharing.service findings."""
    found: dict[str, dict] = {}
    for finding in findings:
        if finding.get("detector") == "filesharing.service":
            attributes = finding.get("attributes") or {}
            entry = found.setdefault(str(attributes.get("service")), {"hosts": set(), "attributes": attributes})
            entry["hosts"].update(finding.get("hosts") or [])
    return found


@dataclass
class Pair:
    """(capture, client, service) with the nDPI flows behind it."""

    capture: str
    client: Optional[str]
    services: tuple[str, ...]
    flows: list[LabelledFlow] = field(default_factory=list)

    @property
    def by_address(self) -> bool:
        return all(flow.by_address for flow in self.flows)

    def ends(self) -> set[str]:
        return {end for flow in self.flows for end in (flow.client, flow.server) if end}


def is_global(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:
        return False


def outside_site(pair: Pair) -> bool:
    """Both ends public: a capture from outside a site, where shadowit names no device (README, local networks)."""
    ends = pair.ends()
    return bool(ends) and all(is_global(end) for end in ends)


def pairs_of(flows: Iterable[LabelledFlow]) -> dict[str, list[Pair]]:
    """Capture -> its labelled pairs."""
    pairs: dict[tuple, Pair] = {}
    for flow in flows:
        key = (flow.capture, flow.client, flow.services)
        pairs.setdefault(key, Pair(flow.capture, flow.client, flow.services)).flows.append(flow)
    by_capture: dict[str, list[Pair]] = defaultdict(list)
    for pair in pairs.values():
        by_capture[pair.capture].append(pair)
    return by_capture


@dataclass
class Score:
    """Counts of one set, addable for the total."""

    found: int = 0
    labelled: int = 0
    right: int = 0
    reported: int = 0
    causes: Counter = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)
    uncounted: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)
    umbrella: list[str] = field(default_factory=list)  # right: nDPI read the same name, filed under its vendor
    how: dict = field(default_factory=lambda: defaultdict(Counter))

    def add(self, other: Score) -> None:
        self.found += other.found
        self.labelled += other.labelled
        self.right += other.right
        self.reported += other.reported
        self.causes.update(other.causes)
        for service, methods in other.how.items():
            self.how[service].update(methods)


class Judge:
    """Scores one capture's reports against its pairs."""

    def __init__(self) -> None:
        from detector.policy.catalog import load_catalog
        from detector.policy.ipranges import default_ranges

        self.catalog = load_catalog()
        self.published = {service for range_set in default_ranges().sets for service in range_set.services}

    def hit(self, pair: Pair, reported: dict[str, dict]) -> Optional[str]:
        """The reported service that finds the pair: for its client, or for no device when both ends are public."""
        for service in pair.services:
            entry = reported.get(service)
            if entry and (pair.client is None or entry["hosts"] & pair.ends()
                          or (not entry["hosts"] and outside_site(pair))):
                return service
        return None

    def cause(self, pair: Pair) -> str:
        if pair.by_address:
            return "address range missing"
        hosts = {flow.host for flow in pair.flows if flow.host}
        if not hosts:
            return "signature missing"
        for host in hosts:
            match = self.catalog.match(host)
            if match is not None and match.service.name in pair.services:
                return "no name"
        return "name not in catalog"

    def same_name(self, service: str, host: str, named: list[NamedFlow]) -> Optional[NamedFlow]:
        """A flow of this client on which nDPI read a name of ``service`` but filed it under a vendor umbrella or
        an app the catalog does not list (nDPI's HTTP_Proxy.QQ for weixin.qq.com): the same name, read alike."""
        for flow in named:
            if host and host not in (flow.client, flow.server):
                continue
            match = self.catalog.match(flow.host)
            if match is not None and match.service.name == service and not match.shared \
                    and NDPI_LEFT_OUT.get(flow.ndpi_name) in (PLATFORM, NOT_LISTED):
                return flow
        return None

    def judge(self, capture: str, pairs: list[Pair], reported: dict[str, dict], hosts_complete: bool,
              score: Score, named: list[NamedFlow]) -> None:
        for pair in pairs:
            hit = self.hit(pair, reported)
            what = f"{capture}: {pair.services[0]} for {pair.client or 'any client'}"
            if hit is None and pair.by_address and pair.services[0] not in self.published:
                score.uncounted.append(f"{what} (nDPI by address; no published range)")
                continue
            if hit is None and pair.services[0] in TUNNELS and not any(is_global(end) for end in pair.ends()):
                score.uncounted.append(f"{what} (a tunnel between private addresses: the site's own link)")
                continue
            score.labelled += 1
            if hit is not None:
                score.found += 1
                score.how[pair.services[0]].update(reported[hit]["attributes"].get("methods", []))
                continue
            cause = self.cause(pair)
            score.causes[cause] += 1
            names = sorted({flow.host for flow in pair.flows if flow.host})
            score.misses.append(f"{what}: {cause}{' ' + str(names[:3]) if names else ''} "
                                f"({len(pair.flows)} flow(s), nDPI {pair.flows[0].ndpi_name})")
        for service, entry in sorted(reported.items()):
            known = self.catalog.named(service)
            if known is None or known.category not in JUDGED_CATEGORIES:
                continue
            for host in sorted(entry["hosts"]) or [""]:
                score.reported += 1
                agreeing = [p for p in pairs if service in p.services
                            and (not hosts_complete or p.client is None or host in p.ends()
                                 or (not host and outside_site(p)))]
                same_name = self.same_name(service, host, named)
                if agreeing:
                    score.right += 1
                elif same_name is not None:
                    score.right += 1
                    score.umbrella.append(f"{capture}: {service} for {host or 'no device'}: nDPI read "
                                          f"{same_name.host} too and filed it under {same_name.ndpi_name}")
                else:
                    attributes = entry["attributes"]
                    score.false.append(f"{capture}: {service} for {host} ({', '.join(attributes.get('methods', []))};"
                                       f" {attributes.get('domains', [])[:3]})")


def labelled_set(directory: Path) -> tuple[list[Path], list[LabelledFlow], bool, dict[str, list[NamedFlow]]]:
    """(captures, labelled flows, whether the labels list every flow, named flows per capture) of one set."""
    if (directory / "result").is_dir():
        captures, flows, unknown, named = results_set(directory)
        if unknown:
            print(f"nDPI names neither table lists (add them to ndpi_labels.py): {', '.join(sorted(unknown))}")
        return captures, flows, True, named
    manifest = find_manifest(directory)
    if manifest is None:
        raise SystemExit(f"{directory}: neither result/ nor a MANIFEST.md in it or above it")
    captures, flows = manifest_set(directory, manifest)
    return captures, flows, False, {}


def score_set(directory: Path, run: Callable[[Path], list[dict]], judge: Judge, verbose: bool) -> Score:
    captures, flows, complete, named = labelled_set(directory)
    by_capture = pairs_of(flows)
    score = Score()
    for path in captures:
        reported = services_of(run(path))
        judge.judge(path.name, by_capture.get(path.name, []), reported, complete, score, named.get(path.name, []))
        if verbose:
            print(f"  {path.name}: nDPI {sorted({p.services[0] for p in by_capture.get(path.name, [])})} "
                  f"shadowit {sorted(reported)}")
    print(f"\n== {directory} ({len(captures)} captures, {len(flows)} labelled flows)")
    print_score(score)
    return score


def percent(part: int, whole: int) -> str:
    return f"{part}/{whole} = {100 * part / max(whole, 1):.1f} %"


def print_score(score: Score, lists: bool = True) -> None:
    print(f"recall:    {percent(score.found, score.labelled)}")
    print(f"precision: {percent(score.right, score.reported)}")
    print("misses by cause: " + ", ".join(f"{cause} {score.causes[cause]}" for cause in CAUSES))
    if not lists:
        return
    print("by service (how found):")
    for service, methods in sorted(score.how.items()):
        print(f"  {service:32} {', '.join(f'{m} {c}' for m, c in sorted(methods.items()))}")
    for title, lines in (("missed", score.misses), ("false positives", score.false),
                         ("right, nDPI filed the same name under its vendor", score.umbrella),
                         ("not counted", score.uncounted)):
        if lines:
            print(f"{title}:")
            for line in lines:
                print(f"  {line}")


def benign_findings(benign: Path, run: Callable[[Path], list[dict]]) -> None:
    flagged = []
    for path in sorted(p for p in benign.iterdir() if p.is_file()):
        for service, entry in sorted(services_of(run(path)).items()):
            flagged.append(f"{path.name}: {service} ({', '.join(entry['attributes'].get('methods', []))})")
    print(f"\nbenign ({benign}): {len(flagged)} service finding(s)")
    for line in flagged:
        print(f"  {line}")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directories", type=Path, nargs="*")
    parser.add_argument("--benign", type=Path, help="captures that must yield no service (default: corpus/benign)")
    parser.add_argument("--cli", action="store_true", help="run `shadowit scan F --json -` per file")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every capture's services")
    args = parser.parse_args(argv)
    directories = [d.resolve() for d in args.directories] or [d for d in DEFAULT_SETS if d.is_dir()]
    run = scan_cli if args.cli else scan_in_process
    judge = Judge()
    total = Score()
    for directory in directories:
        total.add(score_set(directory, run, judge, args.verbose))
    if len(directories) > 1:
        print("\n== together")
        print_score(total, lists=False)
    benign = args.benign or next((d / "benign" for d in (p.parent for p in directories)
                                  if (d / "benign").is_dir()), SHARED / "corpus" / "benign")
    if benign.is_dir():
        benign_findings(benign, run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
