"""The site model's parts: local networks (declared or inferred) and the time-aware name directory."""

from __future__ import annotations

import random

import pytest

from detector.site.names import DEFAULT_VALIDITY, MAX_NAMES_PER_ADDRESS, MAX_VALIDITY, NameDirectory
from detector.site.networks import MAX_INFERRED, LocalNetworks, NetworkSpecError, parse_networks

# ---------------------------------------------------------------- local networks


@pytest.mark.parametrize("address", ["10.1.2.3", "172.16.0.9", "172.31.255.1", "192.168.178.20", "169.254.10.10",
                                     "fd12:3456:789a::1", "fe80::1%eth0", "fe80::a00:27ff:fe4e:66a1"])
def test_private_and_link_local_addresses_are_local_without_a_declaration(address):
    assert LocalNetworks().is_local(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "52.114.128.10", "172.32.0.1", "100.64.0.1", "2a03:2880::1",
                                     "not-an-address", "", "224.0.0.251", "ff02::fb"])
def test_public_multicast_and_garbage_are_remote_without_a_declaration(address):
    assert not LocalNetworks().is_local(address)


def test_a_declaration_replaces_the_private_ranges():
    site = LocalNetworks(parse_networks(["10.20.0.0/16", "2001:db8:1::/48", "198.51.100.7"]))
    assert site.is_local("10.20.5.5") and site.is_local("2001:db8:1:ff::2") and site.is_local("198.51.100.7")
    assert not site.is_local("10.21.0.1")  # private, but not this site's: another office behind a VPN
    assert not site.is_local("198.51.100.8")
    assert site.describe() == {"source": "declared",
                               "networks": ["10.20.0.0/16", "2001:db8:1::/48", "198.51.100.7/32"], "observed": []}
    devices = ["10.20.5.5", "10.20.5.9", "10.20.9.1", "2001:db8:1:ff::2", "10.21.0.1", "10.20.5.5"]
    assert site.describe(devices)["observed"] == [  # per /24 and /64, most devices first; not the other office
        {"network": "10.20.5.0/24", "devices": 2}, {"network": "10.20.9.0/24", "devices": 1},
        {"network": "2001:db8:1:ff::/64", "devices": 1}]


def test_host_bits_are_accepted_like_zeek_and_errors_name_the_entry():
    assert [str(n) for n in parse_networks(["10.1.2.3/24"])] == ["10.1.2.0/24"]
    with pytest.raises(NetworkSpecError, match="'10.1.2/33'"):
        parse_networks(["10.0.0.0/8", "10.1.2/33"])


@pytest.mark.parametrize("evidence", ["dhcp-lease", "arp", "netbios", "llmnr", "mdns"])
def test_public_hosts_with_lan_behaviour_make_their_network_local(evidence):
    site = LocalNetworks()
    assert not site.is_local("193.175.4.10")  # a university office with public addresses
    site.note_lan_host("193.175.4.10", evidence)
    assert site.is_local("193.175.4.10") and site.is_local("193.175.4.200")
    assert not site.is_local("193.175.5.1")
    assert "193.175.4.0/24 (" + evidence + ")" in site.describe()["networks"]


def test_lan_evidence_does_not_widen_a_declaration_and_is_bounded():
    declared = LocalNetworks(parse_networks(["10.0.0.0/8"]))
    declared.note_lan_host("193.175.4.10", "arp")
    assert not declared.is_local("193.175.4.10")
    flooded = LocalNetworks()
    rng = random.Random(7)
    for _ in range(MAX_INFERRED * 4):
        flooded.note_lan_host(f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.1", "arp")
    assert len(flooded.inferred) <= MAX_INFERRED


def test_ipv6_lan_evidence_infers_the_slash_64():
    site = LocalNetworks()
    site.note_lan_host("2001:db8:aa:bb::10", "mdns")
    assert site.is_local("2001:db8:aa:bb:1::1") and not site.is_local("2001:db8:aa:bc::1")


# ---------------------------------------------------------------- name directory


def test_a_name_learned_after_the_flow_still_applies_within_its_window():
    names = NameDirectory()
    names.learn("162.125.1.1", "dl.dropboxusercontent.com.", 1000.0, "dns", "a.pcap:frame 9")
    assert [s.name for s in names.names_at("162.125.1.1", 1000.0 - 60)] == ["dl.dropboxusercontent.com"]
    assert names.names_at("162.125.1.1", 1000.0 - DEFAULT_VALIDITY - 1) == []
    assert names.names_at("162.125.1.1", 1000.0 + DEFAULT_VALIDITY + 1) == []


def test_ttl_widens_the_window_but_is_bounded():
    names = NameDirectory()
    names.learn("1.2.3.4", "a.example", 0.0, "dns", ttl=86400)
    names.learn("5.6.7.8", "b.example", 0.0, "dns", ttl=10 ** 9)
    assert names.names_at("1.2.3.4", 80000.0)
    assert not names.names_at("5.6.7.8", MAX_VALIDITY + 1)


def test_re_use_of_an_address_cuts_the_earlier_names_window():
    names = NameDirectory()
    names.learn("203.0.113.5", "files.old-tenant.example", 0.0, "dns", ttl=86400)
    names.learn("203.0.113.5", "www.wetransfer.com", 7200.0, "tls-sni")
    assert [s.name for s in names.names_at("203.0.113.5", 3000.0)] == ["files.old-tenant.example"]
    assert [s.name for s in names.names_at("203.0.113.5", 7300.0)] == ["www.wetransfer.com"]


def test_a_cdn_address_answers_for_several_names_at_once():
    names = NameDirectory()
    for i, name in enumerate(["a.example", "b.example", "a.example", "b.example"]):
        names.learn("198.51.100.1", name, 100.0 * i, "dns")
    assert {s.name for s in names.names_at("198.51.100.1", 150.0)} == {"a.example", "b.example"}


def test_flow_spans_match_names_valid_at_any_moment_of_the_flow():
    names = NameDirectory()
    names.learn("192.0.2.9", "upload.example", 50_000.0, "dns")
    assert names.names_during("192.0.2.9", 40_000.0, 48_000.0)  # the answer came while the flow still ran
    assert not names.names_during("192.0.2.9", 10_000.0, 20_000.0)


def test_the_directory_is_bounded_per_address_and_overall():
    names = NameDirectory(max_addresses=100)
    for i in range(MAX_NAMES_PER_ADDRESS * 3):
        names.learn("10.9.9.9", f"n{i}.example", float(i), "dns")
    assert len(names.names_during("10.9.9.9", 0, 10 ** 6)) == MAX_NAMES_PER_ADDRESS
    for i in range(1000):
        names.learn(f"192.0.2.{i % 250}-{i}", "x.example", float(i), "dns")
    assert len(names._by_address) <= 100


def test_sightings_round_trip_through_merge_keep_their_span():
    first = NameDirectory()
    first.learn("192.0.2.1", "www.dropbox.com", 10.0, "tls-sni", "a.pcap:frame 1")
    first.learn("192.0.2.1", "www.dropbox.com", 500.0, "tls-sni")
    later = NameDirectory()
    later.merge(first.sightings())
    (sighting,) = later.sightings()
    assert (sighting.first_seen, sighting.last_seen, sighting.source, sighting.where) == \
        (10.0, 500.0, "tls-sni", "a.pcap:frame 1")
