"""Ground truth of ../shared/corpus/MANIFEST.md for file sharing: every listed service found, negatives quiet."""

from __future__ import annotations

import pytest
from scanning import by_detector, scan_files

from detector.policy import load_ruleset

SHARING_CATEGORIES = {"cloud-storage", "file-transfer", "paste", "p2p"}

# file -> {service: hosts that must be among the finding's hosts}
EXPECTED_SERVICES = {
    "filesharing/ndpi_dropbox.pcap": {"Dropbox": {"192.168.1.105", "192.168.1.6", "192.168.1.64"}},
    "filesharing/sv_dns-eve_dropbox.pcap": {"Dropbox": {"10.16.1.11"}},
    "filesharing/ndpi_bittorrent.pcap": {"BitTorrent": {"192.168.1.3"}},
    "filesharing/sv_bittorrent-dht.pcap": {"BitTorrent": {"190.0.0.1"}},
    "filesharing/zeek_bittorrent-tracker.pcap": {"BitTorrent": {"10.0.0.201"}},
    "filesharing/ndpi_yandex.pcapng": {"Yandex Disk": {"192.168.1.249"}},
    "mixed/ndpi_sites.pcapng": {"Google Drive": set(), "Microsoft OneDrive (personal)": set(), "Pastebin": set(),
                                "Huawei Cloud": set()},
    "mixed/ndpi_iphone.pcap": {"Dropbox": {"192.168.2.1"}},
    "mixed/zeek_var-services-std-ports.pcap": {"Dropbox": {"172.16.238.1"}},
    "logs/loghub_Proxifier_2k.log": {"Dropbox": {"log:loghub_Proxifier_2k.log"}},  # the log's computer
}

# file -> the networks its site declares: a lab capture on public addresses with no LAN evidence has no devices
SITE_NETWORKS = {"filesharing/sv_bittorrent-dht.pcap": ("190.0.0.0/24",)}

# file -> the only file-sharing-category services allowed (anything else in those categories is a false positive)
SHARING_ALLOWED = {
    "filesharing/ndpi_yandex.pcapng": {"Yandex Disk"},
    "filesharing/sv_dns-eve_dropbox.pcap": {"Dropbox"},
    "mixed/ndpi_sites.pcapng": {"Google Drive", "Microsoft OneDrive (personal)", "Pastebin", "Huawei Cloud"},
    "mixed/ndpi_iphone.pcap": {"Dropbox"},
    "mixed/zeek_var-services-std-ports.pcap": {"Dropbox"},
    "mixed/zeek_smtp.pcap": set(),
    "benign/sv_tls-subjectaltname.pcap": set(),
    "benign/chrissanders_http_google.pcapng": set(),
}

# file -> services that must not appear at all
NEVER = {
    "mixed/ndpi_sites.pcapng": {"Microsoft OneDrive for Business", "Outlook.com (personal)"},
    "mixed/ndpi_iphone.pcap": {"iCloud Drive"},
    "mixed/zeek_smtp.pcap": {"iCloud Drive"},
    "mixed/zeek_var-services-std-ports.pcap": {"Google Drive"},
    "benign/sv_tls-subjectaltname.pcap": {"Yandex Disk"},
}

TRANSFERS = {
    "filesharing/ndpi_tftp.pcap": {("tftp-wrq", "zz.bin"), ("tftp-wrq", "empty100KB"), ("tftp-rrq", "rfc1350.txt"),
                                   ("tftp-rrq", "sysman.lis")},
    "filesharing/sv_ftp-upload-passive.pcap": {("ftp-stor", "index.html")},
}


def services(corpus, name):
    settings = load_ruleset([]).settings.updated({"site_networks": SITE_NETWORKS.get(name, ())})
    findings, inputs, _ = scan_files(corpus / name, settings=settings)
    assert not any("could not be decoded" in w for w in inputs[0].warnings), inputs[0].warnings
    return {f.attributes.service: f for f in by_detector(findings, "filesharing.service")}


@pytest.mark.parametrize("name", sorted(EXPECTED_SERVICES))
def test_listed_services_found(corpus, name):
    found = services(corpus, name)
    for service, hosts in EXPECTED_SERVICES[name].items():
        assert service in found, f"{service} not found in {name}: {sorted(found)}"
        assert hosts <= set(found[service].hosts), found[service].hosts


@pytest.mark.parametrize("name", sorted(SHARING_ALLOWED))
def test_no_false_file_sharing(corpus, name):
    found = services(corpus, name)
    sharing = {s for s, f in found.items() if f.attributes.service_category in SHARING_CATEGORIES}
    assert sharing <= SHARING_ALLOWED[name]
    assert not NEVER.get(name, set()) & set(found)


def test_sites_messaging_is_categorised_as_messaging(corpus):
    found = services(corpus, "mixed/ndpi_sites.pcapng")
    assert found["Telegram"].attributes.service_category == "messaging"
    assert {"web.telegram.org", "t.me"} <= set(found["Telegram"].attributes.domains)


def test_proxifier_dropbox_upload_volume(corpus):
    dropbox = services(corpus, "logs/loghub_Proxifier_2k.log")["Dropbox"]
    assert dropbox.attributes.bytes_up >= 861480
    assert "block-edge.dropbox.com" in dropbox.attributes.domains


@pytest.mark.parametrize("name", sorted(TRANSFERS))
def test_cleartext_transfers(corpus, name):
    findings, _, _ = scan_files(corpus / name)
    transfers = by_detector(findings, "filesharing.attachment")
    got = {(f.attributes.protocol, f.attributes.filename) for f in transfers}
    assert TRANSFERS[name] <= got
