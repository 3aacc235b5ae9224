"""Name sources on public captures this project did not write (skips when the corpus is absent)."""

from __future__ import annotations

from cred_packets import scan

from detector.detectors import directory_of


def devices(path) -> dict:
    _, _, pipeline = scan(path)
    return {d["address"]: d for d in directory_of(pipeline.detectors).devices()}


def test_ldap_sasl_ntlm_names_workstation_and_users_without_a_credential(corpus):
    path = corpus / "benign/zeek_ldap-sasl-gss-spnego-invalid-credentials.pcap"
    found = devices(path)["192.168.66.141"]
    assert found["label"].startswith("DESKTOP-EVIL (")
    assert {"Administrator", "agent.smith", "mister.andersson"} <= {u["user"] for u in found["users"]}
    findings, _, _ = scan(path)
    assert not [f for f in findings if f.category == "plaintext-credentials"]


def test_dhcp_host_name_and_apple_vendor_of_an_iphone(corpus):
    iphone = devices(corpus / "mixed/ndpi_iphone.pcap")["192.168.2.17"]
    assert (iphone["label"], iphone["mac"], iphone["vendor"]) == ("Lucas-iPhone", "c4:61:8b:35:82:a9", "Apple, Inc.")
    assert iphone["names"][0]["source"] == "dhcp"


def test_mdns_names_a_mac_on_the_same_capture(corpus):
    found = devices(corpus / "mixed/ndpi_iphone.pcap")
    assert found["169.254.225.216"]["names"][0] == {**found["169.254.225.216"]["names"][0], "name": "lucas-imac",
                                                    "source": "mdns"}


def test_netbios_names_the_smtp_sender_laptop(corpus):
    laptop = devices(corpus / "mixed/nfpc_evidence02_smtp-auth-attachment.pcap")["192.168.1.159"]
    assert laptop["label"] == "ANN-LAPTOP" and laptop["names"][0]["source"] == "netbios"


def test_office_capture_names_windows_and_mac_laptops_with_vendors(corpus):
    found = devices(corpus / "ndpi/ndpi_1kxun.pcap")
    assert (found["192.168.5.41"]["label"], found["192.168.5.41"]["os"]) == ("kevin-PC", "Windows")
    assert found["192.168.5.45"]["label"] == "MACBOOKAIR-E1D0"
    assert found["192.168.5.16"]["vendor"] == "Apple, Inc."
