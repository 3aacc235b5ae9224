"""Shared infrastructure never attributes a service alone; the most specific entry wins; confidence is stated."""

from __future__ import annotations

from dataclasses import replace

from fs_packets import T0, certificate_der, client_hello_without_sni, save, server_flight
from scanning import by_detector, scan_files

from detector.detectors.identification import identification, looks_like_tor
from detector.findings.filesharing import ServiceUseAttributes
from detector.findings.finding import Finding
from detector.policy import load_ruleset
from detector.policy.catalog import load_catalog
from detector.samples import client_hello, tcp_session

CLIENT = "10.2.2.20"


def services(path):
    findings, _, _ = scan_files(path)
    return {f.attributes.service: f for f in by_detector(findings, "filesharing.service")}


def test_most_specific_entry_and_shared_marks():
    catalog = load_catalog()
    assert catalog.match("vpn-api.proton.me").service.name == "ProtonVPN"
    assert catalog.match("mail.proton.me").service.name == "Proton Mail"
    assert catalog.match("account.proton.me").shared
    teams = catalog.match("teams.skype.com")
    assert teams.service.name == "Microsoft Teams (free)" and teams.shared
    assert catalog.match("web.skype.com").service.name == "Skype" and not catalog.match("web.skype.com").shared
    assert catalog.match("mqtt-mini.facebook.com").service.name == "Facebook Messenger"
    assert catalog.match("www.facebook.com").shared
    assert catalog.match("notfacebook.com") is None  # label boundaries still hold


def test_facebook_shared_certificate_alone_claims_no_messenger(tmp_path):
    flight = server_flight(certificate_der("*.facebook.com", ["*.facebook.com", "*.messenger.com", "*.fbcdn.net"]))
    packets = tcp_session(CLIENT, "157.240.7.35", 50000, 443, [(True, client_hello_without_sni()), (False, flight)],
                          T0)
    assert services(save(tmp_path, packets)) == {}


def test_shared_name_counts_once_another_signal_agrees(tmp_path):
    packets = tcp_session(CLIENT, "157.240.7.36", 50001, 443, [(True, client_hello("www.facebook.com"))], T0)
    packets += tcp_session(CLIENT, "157.240.7.32", 50002, 443, [(True, client_hello("edge-mqtt.facebook.com"))],
                           T0 + 5)
    messenger = services(save(tmp_path, packets))["Facebook Messenger"]
    assert set(messenger.attributes.domains) == {"www.facebook.com", "edge-mqtt.facebook.com"}


def test_teams_hosts_under_skype_com_are_not_skype(tmp_path):
    packets = tcp_session(CLIENT, "52.113.194.132", 50003, 443, [(True, client_hello("teams.skype.com"))], T0)
    packets += tcp_session(CLIENT, "52.113.194.133", 50004, 443,
                           [(True, client_hello("api.flightproxy.teams.skype.com"))], T0 + 1)
    assert services(save(tmp_path, packets)) == {}


def test_protonvpn_api_host_is_protonvpn_not_proton_mail(tmp_path):
    packets = tcp_session(CLIENT, "185.159.159.140", 50005, 443, [(True, client_hello("vpn-api.proton.me"))], T0)
    assert set(services(save(tmp_path, packets))) == {"ProtonVPN"}


def test_identification_order_name_signature_range():
    assert identification({"tls-sni", "ip-range"}) == ("name", "high")
    assert identification({"dns"}) == ("name", "medium")
    assert identification({"signature"}) == ("signature", "high")
    assert identification({"lan-sync"}) == ("signature", "high")
    assert identification({"heuristic", "ip-range"}) == ("signature", "medium")
    assert identification({"ip-range"}) == ("ip-range", "low")


def test_tor_tls_shape():
    assert looks_like_tor("www.q4cyamnc6mtokjurvdclt.com", ("www.fcsyvnlemwxv5p.net",))
    assert not looks_like_tor("www.q4cyamnc6mtokjurvdclt.com", ("www.q4cyamnc6mtokjurvdclt.net",))
    assert not looks_like_tor("www.example.com", ("www.example.net",))  # same name: an ordinary site
    assert not looks_like_tor("www.ct7ctrgb6cr7.com", ("www.g6ghvisevf3ibuu5.net", "g6ghvisevf3ibuu5.net"))
    assert not looks_like_tor("www.google.com", ("www.google.com", "google.com"))


def test_tor_tls_in_a_capture(tmp_path):
    flight = server_flight(certificate_der("www.g6ghvisevf3ibuu5.net", []))
    packets = tcp_session(CLIENT, "91.143.93.242", 50006, 443,
                          [(True, client_hello("www.ct7ctrgb6cr7.com")), (False, flight)], T0)
    tor = services(save(tmp_path, packets))["Tor Project"]
    assert tor.attributes.methods == ["heuristic"] and tor.attributes.confidence == "medium"


def test_rules_can_match_on_confidence():
    ruleset = load_ruleset([])
    finding = Finding(id="x", title="t", first_seen=None, last_seen=None, count=1, hosts=["10.0.0.1"],
                      attributes=ServiceUseAttributes(service="Zoom", service_category="collaboration", risk="low",
                                                      methods=["ip-range"], identified_by="ip-range",
                                                      confidence="low", bytes_up=None, dns_only=False, domains=[]))
    ruleset.classify(finding)
    assert finding.rule == "fs-address-range-only"
    finding.attributes = replace(finding.attributes, confidence="high")
    finding.rule = ""
    ruleset.classify(finding)
    assert finding.rule != "fs-address-range-only"
