"""Recall and precision of service identification against nDPI's own labels.

Usage:
    python bench/ndpi_recall.py DIR [--manifest MANIFEST.md] [--benign DIR] [--cli] [-v]

DIR holds nDPI test captures (e.g. ../shared/corpus/ndpi/); their labels are
read from the MANIFEST.md in DIR or above it: the ``ndpi/`` table's last
column ("Label, Label — flows ...") and, for ``ndpi_*`` files in other folders
when DIR is the corpus root, the labels after "nDPI expected output".

Each capture is scanned (in-process, or with ``shadowit scan F --json -`` when
``--cli`` is given) and the services of its ``filesharing.service`` findings
are compared with the (capture, service) pairs whose nDPI label maps to a
catalog service (``NDPI_TO_CATALOG`` below). Figures:

* recall: labelled pairs shadowit reports / labelled pairs;
* precision: reported pairs nDPI labels / reported pairs in the categories the
  manifest keeps (file sharing, messaging, remote access, VPN, P2P, webmail,
  calls): a generative-AI or productivity service nDPI calls plain "Google"
  or "Microsoft" cannot be judged from these labels, so it is listed, not
  counted;
* captures whose manifest row quotes only some of nDPI's labels ("nDPI
  expected output includes ...") count for recall only;
* benign: every service finding on the ``benign/`` captures (target: none
  beyond those it already had).

Prints figures; exits 0 whatever they are (a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# nDPI protocol name -> the catalog service(s) that name means. A tuple lists
# equally right answers (nDPI's Skype_TeamsCall does not say which of the two).
NDPI_TO_CATALOG: dict[str, tuple[str, ...]] = {
    "Dropbox": ("Dropbox",),
    "BitTorrent": ("BitTorrent",),
    "WhatsApp": ("WhatsApp",),
    "WhatsAppCall": ("WhatsApp",),
    "WhatsAppFiles": ("WhatsApp",),
    "Telegram": ("Telegram",),
    "TelegramVoip": ("Telegram",),
    "Discord": ("Discord",),
    "Zoom": ("Zoom",),
    "FacebookMessenger": ("Facebook Messenger",),
    "Messenger": ("Facebook Messenger",),
    "Outlook": ("Outlook.com (personal)",),
    "Hotmail": ("Outlook.com (personal)",),
    "Teams": ("Microsoft Teams (free)", "Microsoft Teams / Skype calls"),
    "Skype_Teams": ("Microsoft Teams (free)", "Skype", "Microsoft Teams / Skype calls"),
    "Skype_TeamsCall": ("Microsoft Teams / Skype calls", "Microsoft Teams (free)", "Skype"),
    "Skype": ("Skype",),
    "AppleiCloud": ("iCloud", "iCloud Drive"),
    "GMail": ("Gmail",),
    "Gmail": ("Gmail",),
    "AnyDesk": ("AnyDesk",),
    "TeamViewer": ("TeamViewer",),
    "NordVPN": ("NordVPN",),
    "ProtonVPN": ("ProtonVPN",),
    "Psiphon": ("Psiphon",),
    "Windscribe": ("Windscribe",),
    "Surfshark": ("Surfshark",),
    "HotspotShield": ("Hotspot Shield",),
    "TunnelBear": ("TunnelBear",),
    "Mullvad": ("Mullvad VPN",),
    "ExpressVPN": ("ExpressVPN",),
    "OpenVPN": ("OpenVPN tunnel",),
    "WireGuard": ("WireGuard tunnel",),
    "Tor": ("Tor Project",),
    "Signal": ("Signal",),
    "SignalVoip": ("Signal",),
    "Line": ("LINE",),
    "LineCall": ("LINE",),
    "Viber": ("Viber",),
    "WeChat": ("WeChat",),
    "Slack": ("Slack",),
    "Box": ("Box",),
    "MEGA": ("MEGA",),
    "MS_OneDrive": ("Microsoft OneDrive (personal)",),
    "GoogleDrive": ("Google Drive",),
    "GoogleDocs": ("Google Docs",),
    "Pastebin": ("Pastebin",),
    "HuaweiCloud": ("Huawei Cloud",),
    "YandexDisk": ("Yandex Disk",),
    "YandexMail": ("Yandex Mail",),
    "Yahoo": ("Yahoo Mail",),
    "ProtonMail": ("Proton Mail",),
    "ChatGPT": ("ChatGPT",),
    "OpenAI": ("ChatGPT", "OpenAI API"),
    "Claude": ("Claude",),
    "Perplexity": ("Perplexity",),
    "GoogleGemini": ("Google Gemini",),
    "Copilot": ("Microsoft Copilot (consumer)",),
    "DeepSeek": ("DeepSeek",),
    "Anthropic": ("Claude",),
    "Webex": ("Webex",),
    "GoTo": ("LogMeIn / GoTo",),
    "Splashtop": ("Splashtop",),
    "RustDesk": ("RustDesk",),
}

# Catalog categories the manifest keeps nDPI labels for: a report outside them cannot be judged.
JUDGED_CATEGORIES = {"cloud-storage", "file-transfer", "paste", "webmail", "messaging", "remote-access", "p2p",
                     "vpn-proxy", "collaboration"}

ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$")
LABEL = re.compile(r"\b(?:[A-Z][A-Za-z0-9]*\.)?([A-Z][A-Za-z0-9_]+)\b")


def find_manifest(directory: Path) -> Optional[Path]:
    for folder in (directory, *directory.parents):
        candidate = folder / "MANIFEST.md"
        if candidate.is_file():
            return candidate
    return None


def ndpi_labels(text: str) -> set[str]:
    """nDPI protocol names in a manifest cell, kept only when the mapping table knows them."""
    labels = set()
    for match in LABEL.finditer(text):
        name = match.group(1)
        if name in NDPI_TO_CATALOG:
            labels.add(name)
    return labels


def read_manifest(manifest: Path) -> tuple[dict[str, set[str]], set[str]]:
    """Relative capture path -> nDPI labels that map to catalog services; and the captures whose list is partial.

    "nDPI expected output includes ..." quotes only some labels: such a capture counts for recall, and what
    shadowit reports beyond the quoted labels is listed as not judged rather than counted false.
    """
    result: dict[str, set[str]] = {}
    partial: set[str] = set()
    for line in manifest.read_text(encoding="utf-8").splitlines():
        row = ROW.match(line)
        if not row:
            continue
        rel, rest = row.group(1), row.group(2)
        name = Path(rel).name
        if not name.startswith("ndpi_"):
            continue
        last = rest.rsplit("|", 1)[-1]
        if rel.startswith("ndpi/") and " — " in last:
            result[rel] = ndpi_labels(last.split(" — ", 1)[0])
            continue
        marker = last.find("nDPI expected output")
        if marker >= 0:
            rest = last[marker + len("nDPI expected output"):]
            result[rel] = ndpi_labels(rest)
            if rest.lstrip().startswith("includes"):
                partial.add(rel)
    return result, partial


def scan_in_process(path: Path) -> list[dict]:
    from detector.policy.catalog import load_catalog
    from detector.policy.settings import Settings
    from detector.session.pipeline import Scan, ScanConfig

    scan = Scan(ScanConfig(Settings(), load_catalog()))
    scan.add_file(path)
    return [{"detector": f.detector, "attributes": f.attributes.as_dict()} for f in scan.finish()]


def scan_cli(path: Path) -> list[dict]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run([sys.executable, "-m", "detector.cli", "scan", str(path), "--json", "-"],
                          capture_output=True, text=True, env=env, check=False)
    try:
        return json.loads(done.stdout).get("findings", [])
    except ValueError:
        print(f"  {path.name}: shadowit failed: {done.stderr.strip()[:200]}")
        return []


def services_of(findings: Iterable[dict]) -> dict[str, dict]:
    """Service name -> the finding's attributes, for filesharing.service findings."""
    found = {}
    for finding in findings:
        if finding.get("detector") == "filesharing.service":
            attributes = finding.get("attributes") or {}
            found[str(attributes.get("service"))] = attributes
    return found


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--manifest", type=Path)
    parser.add_argument("--benign", type=Path, help="captures that must yield no service (default: DIR/../benign)")
    parser.add_argument("--cli", action="store_true", help="run `shadowit scan F --json -` per file")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every capture's pairs")
    args = parser.parse_args(argv)
    directory = args.directory.resolve()
    manifest = args.manifest or find_manifest(directory)
    if manifest is None:
        print(f"no MANIFEST.md in {directory} or above it", file=sys.stderr)
        return 2
    root = manifest.parent
    labels, partial = read_manifest(manifest)
    captures = sorted(p for p in directory.rglob("ndpi_*") if p.is_file())
    run = scan_cli if args.cli else scan_in_process
    from detector.policy.catalog import load_catalog

    catalog = load_catalog()
    totals = defaultdict(lambda: [0, 0])  # service -> [found, labelled]
    tp = fn = fp = unjudged = 0
    misses, false_pos, extra = [], [], []
    how = defaultdict(lambda: defaultdict(int))  # service -> method -> count of pairs
    for path in captures:
        rel = str(path.relative_to(root))
        if rel not in labels:
            continue
        expected = {label: NDPI_TO_CATALOG[label] for label in labels[rel]}
        reported = services_of(run(path))
        wanted = {names for names in expected.values()}
        for names in sorted(wanted):
            hit = next((n for n in names if n in reported), None)
            totals[names[0]][1] += 1
            if hit:
                tp += 1
                totals[names[0]][0] += 1
                for method in reported[hit].get("methods", []):
                    how[names[0]][method] += 1
            else:
                fn += 1
                misses.append(f"{rel}: {names[0]}")
        accepted = {n for names in wanted for n in names}
        for service, attributes in sorted(reported.items()):
            if service in accepted:
                continue
            entry = catalog.named(service)
            line = f"{rel}: {service} ({', '.join(attributes.get('methods', []))}; {attributes.get('domains', [])[:3]})"
            if entry is not None and entry.category in JUDGED_CATEGORIES and rel not in partial:
                fp += 1
                false_pos.append(line)
            else:
                unjudged += 1
                extra.append(line)
        if args.verbose:
            print(f"{rel}: nDPI {sorted(labels[rel])} shadowit {sorted(reported)}")
    reported_judged = tp + fp
    print(f"captures: {sum(1 for p in captures if str(p.relative_to(root)) in labels)} (labels from {manifest})")
    print(f"recall:    {tp}/{tp + fn} = {100 * tp / max(tp + fn, 1):.1f} %")
    print(f"precision: {tp}/{reported_judged} = {100 * tp / max(reported_judged, 1):.1f} % "
          f"({unjudged} further report(s) not judged: a category nDPI's kept labels skip, or a partial label list)")
    print("by service (found/labelled, how):")
    for service, (found, wanted_count) in sorted(totals.items()):
        methods = ", ".join(f"{m} {c}" for m, c in sorted(how[service].items()))
        print(f"  {service:32} {found}/{wanted_count}  {methods}")
    for title, lines in (("missed", misses), ("false positives", false_pos), ("not judged", extra)):
        if lines:
            print(f"{title}:")
            for line in lines:
                print(f"  {line}")
    benign = args.benign or (directory.parent / "benign" if directory.name != root.name else root / "benign")
    if benign.is_dir():
        flagged = []
        for path in sorted(p for p in benign.iterdir() if p.is_file()):
            for service, attributes in sorted(services_of(run(path)).items()):
                flagged.append(f"{path.name}: {service} ({', '.join(attributes.get('methods', []))})")
        print(f"benign ({benign}): {len(flagged)} service finding(s)")
        for line in flagged:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
