"""nDPI's labelled captures: each identification route on real traffic, and the recall/precision targets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from scanning import by_detector, scan_files

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import ndpi_recall  # noqa: E402

pytestmark = pytest.mark.corpus

# capture -> {service: a method that must have contributed}: one per identification route
ROUTES = {
    "ndpi/ndpi_stun_wa_call.pcapng": {"WhatsApp": "signature"},          # STUN 0x4000 attributes
    "ndpi/ndpi_wa_video.pcap": {"WhatsApp": "signature", "Dropbox": "lan-sync"},
    "ndpi/ndpi_waze.pcap": {"WhatsApp": "signature"},                    # WA\x01\x05 on TCP 443
    "ndpi/ndpi_skype-conference-call.pcap": {"Microsoft Teams / Skype calls": "signature"},
    "ndpi/ndpi_stun_zoom.pcapng": {"Zoom": "ip-range"},                  # STUN to 134.224.0.0/16
    "ndpi/ndpi_telegram.pcap": {"Telegram": "ip-range"},                 # voice to 91.108.8.0/22
    "ndpi/ndpi_riotgames.pcap": {"Discord": "signature"},                # 0x1337cafe
    "ndpi/ndpi_rtp.pcapng": {"Discord": "signature"},                    # IP discovery
    "ndpi/ndpi_tor.pcap": {"Tor Project": "heuristic"},                  # Tor's TLS shape
    "ndpi/ndpi_bt_search.pcap": {"BitTorrent": "bittorrent"},            # BT-SEARCH
    "ndpi/ndpi_bittorrent_tcp_miss.pcapng": {"BitTorrent": "heuristic"},  # MSE
    "ndpi/ndpi_bt-dns.pcap": {"BitTorrent": "dns"},                      # utorrent.com
    "ndpi/ndpi_1kxun.pcap": {"LINE": "http-host"},
    "ndpi/ndpi_tunnelbear.pcap": {"Facebook Messenger": "tls-sni", "TunnelBear": "tls-sni"},
    "ndpi/ndpi_anydesk.pcapng": {"AnyDesk": "signature"},                # certificate "anydesk client"
}


def services(path: Path) -> dict:
    findings, _, _ = scan_files(path)
    return {f.attributes.service: f for f in by_detector(findings, "filesharing.service")}


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_identification_route(corpus, name):
    found = services(corpus / name)
    for service, method in ROUTES[name].items():
        assert service in found, f"{service} not in {sorted(found)}"
        assert method in found[service].attributes.methods, found[service].attributes.methods
        assert found[service].attributes.confidence in ("high", "medium", "low")


def test_vpn_handshakes_between_private_networks_are_not_reported(corpus):
    found = services(corpus / "ndpi/ndpi_ossfuzz_seed_fake_traces_2.pcapng")  # WireGuard 10.x <-> 10.x
    assert "WireGuard tunnel" not in found


# the manifest's negatives are about credentials and file sharing; a certificate can still name a mail provider
BENIGN_MAIL_SERVERS = {"zeek_imap-starttls.pcap": {"GMX / Web.de"}}  # imap.gmx.net's certificate after STARTTLS


def test_no_service_on_benign_captures(corpus):
    for path in sorted((corpus / "benign").iterdir()):
        assert set(services(path)) == BENIGN_MAIL_SERVERS.get(path.name, set()), path.name


def figures(out: str, section: str) -> tuple[int, int, int, int]:
    """(found, labelled, right, reported) printed under ``== section``."""
    lines = out.split(f"== {section}", 1)[1].splitlines()
    recall = next(line for line in lines if line.startswith("recall:"))
    precision = next(line for line in lines if line.startswith("precision:"))
    found, total = (int(x) for x in recall.split()[1].split("/"))
    right, reported = (int(x) for x in precision.split()[1].split("/"))
    return found, total, right, reported


def test_recall_and_precision_against_ndpi_labels(corpus, capsys):
    """Issue 24's target on nDPI's labels, both sets together: recall >= 90 %, precision >= 95 %."""
    more = corpus.parent / "ndpi-more"
    sets = [corpus / "ndpi"] + ([more] if (more / "result").is_dir() else [])
    ndpi_recall.main([str(path) for path in sets])
    out = capsys.readouterr().out
    found, total, right, reported = figures(out, "together" if len(sets) > 1 else str(corpus / "ndpi"))
    assert total >= 30 and found / total >= 0.90, (found, total)
    # the corpus alone keeps two TunnelBear reports its hand-written labels leave out (bench/RESULTS.md)
    assert right / reported >= (0.95 if len(sets) > 1 else 0.90), (right, reported)
    assert "neither table lists" not in out  # every nDPI name met is mapped or left out with a reason
    expected_on_benign = sum(len(found) for found in BENIGN_MAIL_SERVERS.values())
    assert "benign" in out and f" {expected_on_benign} service finding(s)" in out
