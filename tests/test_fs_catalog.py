"""The service catalog (rules/services.yaml) and site sanctioning by service, tenant and category."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fs_packets import T0, save
from scanning import by_detector

from detector.policy import load_ruleset
from detector.policy.catalog import CATEGORIES, CatalogError, default_catalog_path, load_catalog
from detector.policy.yamlsrc import load_file, plain
from detector.samples import client_hello, tcp_session
from detector.session.pipeline import Scan, ScanConfig
from detector.session.policy import classify


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_catalog_size_categories_and_entries(catalog):
    assert len(catalog.services) >= 80
    assert {s.category for s in catalog.services} == set(CATEGORIES)
    for service in catalog.services:
        assert service.vendor_url.startswith("https://"), service.name
        assert service.domains or service.ports, service.name
        assert service.risk in ("low", "medium", "high"), service.name


def test_no_domain_listed_twice(catalog):
    raw = plain(load_file(default_catalog_path()))["services"]
    domains = [d.lower() for entry in raw for d in entry.get("domains") or ()]
    assert len(domains) == len(set(domains))
    names = [entry["name"].lower() for entry in raw]
    assert len(names) == len(set(names))


def test_loader_rejects_duplicates_and_bad_entries(tmp_path):
    def write(entries) -> Path:
        path = tmp_path / "services.yaml"
        path.write_text(yaml.safe_dump({"services": entries}), encoding="utf-8")
        return path

    base = {"name": "A", "category": "paste", "domains": ["a.example"], "vendor_url": "https://a.example"}
    with pytest.raises(CatalogError, match="listed for"):
        load_catalog(write([base, {**base, "name": "B"}]))
    with pytest.raises(CatalogError, match="unknown category"):
        load_catalog(write([{**base, "category": "games"}]))
    with pytest.raises(CatalogError, match="bad port"):
        load_catalog(write([{**base, "ports": ["tcp/99999"]}]))
    with pytest.raises(CatalogError, match="bad domain"):
        load_catalog(write([{**base, "domains": ["*.a.example"]}]))
    with pytest.raises(CatalogError, match="vendor_url"):
        load_catalog(write([{**base, "vendor_url": "a.example"}]))
    assert load_catalog(write([{**base, "domains": [], "ports": ["udp/6881-6889"]}])).named("A").ports


@pytest.mark.parametrize("host,service", [
    ("dropbox.com", "Dropbox"),
    ("dl.dropboxusercontent.com", "Dropbox"),
    ("DL.DROPBOX.COM.", "Dropbox"),
    ("notdropbox.com", None),
    ("dropbox.com.evil.example", None),
    ("onedrive.live.com", "Microsoft OneDrive (personal)"),
    ("login.live.com", None),
    ("1.downloader.disk.yandex.kz", "Yandex Disk"),
    ("mc.yandex.ru", None),
    ("cloud.yandex.ru", None),
    ("mail.yandex.kz", "Yandex Mail"),
    ("p31-keyvalueservice.icloud.com", "iCloud"),  # device sync (productivity), not iCloud Drive
    ("gateway.icloud.com", "iCloud"),
    ("teams.office.com", None),
    ("outlook.office365.com", None),
    ("docs.google.com", "Google Docs"),
    ("drive.google.com", "Google Drive"),
    ("www.google.com", None),
    ("id7.cloud.huawei.com", "Huawei Cloud"),
    ("web.telegram.org", "Telegram"),
    ("chatgpt.com", "ChatGPT"),
])
def test_label_boundary_matching(catalog, host, service):
    match = catalog.match(host)
    assert (match.service.name if match else None) == service


def test_tenants_and_signatures(catalog):
    assert catalog.match("contoso-my.sharepoint.com").tenant == "contoso"
    assert catalog.match("fabrikam.sharepoint.com").tenant == "fabrikam"
    assert catalog.match("acme.slack.com").tenant == "acme"
    assert catalog.match("app.slack.com").tenant is None
    assert catalog.signed("lan-sync").name == "Dropbox"
    bittorrent = catalog.named("BitTorrent")
    assert bittorrent.category == "p2p" and "utorrent.com" in bittorrent.domains and bittorrent.ports


def test_match_answers_are_remembered_bounded_and_forgotten_when_the_catalog_changes(monkeypatch):
    """Every name seen asks the catalog; the answer for a host is computed once, then reused."""
    import dataclasses

    from detector.policy import catalog as catalog_module
    from detector.policy.catalog import Service

    catalog = load_catalog()  # its own: this test adds an entry
    first = catalog.match("Drive.Google.com.")
    assert first is catalog.match("Drive.Google.com.")  # remembered...
    assert catalog.match("drive.google.com") == first  # ...per spelling, with the same answer
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.tenant = "changed"  # one shared answer: nobody may change it
    assert catalog.match("unlisted.example") is None
    assert catalog.match("unlisted.example") is None
    monkeypatch.setattr(catalog_module, "MAX_MATCHES", 3)
    for index in range(10):
        catalog.match(f"host{index}.example")
    assert len(catalog._matches) <= 3  # hostile traffic with random names cannot grow it
    catalog.add(Service(name="Example Share", category="file-sharing", domains=("unlisted.example",)))
    assert catalog.match("unlisted.example").service.name == "Example Share"  # a new entry is seen at once


SITE_POLICY = """
version: 1
rules:
  - id: site-allow-sharepoint-contoso
    title: Contoso SharePoint is the company's storage
    action: allow
    match: {service: Microsoft OneDrive for Business, tenant: contoso}
    reason: Company Microsoft 365 tenant.
  - id: site-allow-genai
    title: Generative AI approved
    action: allow
    match: {service_category: genai}
    reason: Company AI policy signed.
"""


def test_site_policy_sanctions_own_tenant_and_category_only(tmp_path):
    policy = tmp_path / "rules.yaml"
    policy.write_text(SITE_POLICY, encoding="utf-8")
    ruleset = load_ruleset([policy])
    packets = []
    for number, sni in enumerate(["contoso.sharepoint.com", "fabrikam-my.sharepoint.com", "claude.ai",
                                  "wetransfer.com"]):
        packets += tcp_session("10.0.0.23", f"52.0.0.{number + 1}", 40000 + number, 443,
                               [(True, client_hello(sni))], T0 + number)
    scan = Scan(ScanConfig(ruleset.settings, load_catalog()))
    scan.add_file(save(tmp_path, packets))
    findings = classify(scan.finish(), ruleset)
    sanctioned = {(f.attributes.service, f.attributes.tenant): f.sanctioned
                  for f in by_detector(findings, "filesharing.service")}
    assert sanctioned == {
        ("Microsoft OneDrive for Business", "contoso"): True,
        ("Microsoft OneDrive for Business", "fabrikam"): False,
        ("Claude", None): True,
        ("WeTransfer", None): False,
    }
