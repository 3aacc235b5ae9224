"""Published address ranges: files, longest-prefix lookup, and the offline parsers of the refresh tool."""

from __future__ import annotations

import ipaddress
import json
import sys
from pathlib import Path

import pytest

from detector.policy.catalog import load_catalog
from detector.policy.ipranges import IpRanges, RangeError, RangeSet, default_ranges_dir, load_ranges, read_range_file

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import refresh_ipranges  # noqa: E402


def test_every_shipped_range_set_names_catalog_services_a_source_and_a_date():
    catalog = load_catalog()
    files = sorted(default_ranges_dir().glob("*.yaml"))
    assert len(files) >= 8
    for path in files:
        range_set, networks = read_range_file(path)
        assert range_set.source.startswith("https://") and len(range_set.date) == 10, path
        assert networks, path
        for service in range_set.services:
            assert catalog.named(service) is not None, f"{path.name}: {service} not in the catalog"
        for network in networks:
            ipaddress.ip_network(network)  # strict: no host bits in the shipped data


@pytest.mark.parametrize("address,service,owner", [
    ("91.108.8.7", "Telegram", "Telegram"),
    ("149.154.167.51", "Telegram", "Telegram"),
    ("2001:67c:4e8::1", "Telegram", "Telegram"),
    ("134.224.90.111", "Zoom", "Zoom"),
    ("162.125.19.131", "Dropbox", "Dropbox"),
    ("66.22.196.173", "Discord", "Discord"),
    ("157.240.20.53", None, "Meta"),          # shared: owner known, service not
    ("52.113.194.132", None, "Microsoft 365"),
    ("17.253.144.10", None, "Apple"),
    ("2a00:1450:4001::1", None, "Google"),
    ("8.8.4.4", None, "Google"),
    ("192.0.2.1", None, None),
    ("not an address", None, None),
])
def test_lookup(address, service, owner):
    match = load_ranges().service_of(address)
    assert (match.range_set.name if match else None) == owner
    assert (match.service if match else None) == service


def test_most_specific_prefix_wins_whatever_the_load_order():
    wide = RangeSet("Wide", ("Wide",), False, "https://example.org/a", "2026-11-29")
    narrow = RangeSet("Narrow", ("Narrow",), False, "https://example.org/b", "2026-11-29")
    for order in ([(wide, ["10.0.0.0/8"]), (narrow, ["10.1.2.0/24"])],
                  [(narrow, ["10.1.2.0/24"]), (wide, ["10.0.0.0/8"])]):
        ranges = IpRanges(order)
        assert ranges.service_of("10.1.2.3").service == "Narrow"
        assert ranges.service_of("10.9.9.9").service == "Wide"
        assert ranges.service_of("11.0.0.1") is None


def test_lookup_probes_prefix_lengths_not_ranges():
    """Thousands of ranges still cost one probe per distinct prefix length."""
    big = RangeSet("Big", ("Big",), False, "https://example.org", "2026-11-29")
    ranges = IpRanges([(big, [f"10.{i // 256}.{i % 256}.0/24" for i in range(5000)])])
    assert ranges.table.lengths[4] == [24] and ranges.table.count == 5000
    assert ranges.service_of("10.19.135.7").network == "10.19.135.0/24"


def test_bad_range_files_name_the_file_and_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: X\nsource: http://insecure\ndate: '2026-11-29'\nranges: [1.2.3.0/24]\n")
    with pytest.raises(RangeError, match="bad.yaml:2:9: source must be an https"):
        read_range_file(bad)
    bad.write_text("name: X\nsource: https://x\ndate: '2026-11-29'\nranges: [1.2.3.0/33]\n")
    with pytest.raises(RangeError, match=r"bad.yaml:4:10: bad network '1.2.3.0/33'"):
        load_ranges(tmp_path)


def test_refresh_parsers_read_each_source_format_offline():
    assert refresh_ipranges.parse_lines(b"91.108.4.0/22\n# note\n\n2001:b28:f23d::/48\nbogus\n") == \
        ["91.108.4.0/22", "2001:b28:f23d::/48"]
    google = json.dumps({"prefixes": [{"ipv4Prefix": "8.8.8.0/24"}, {"ipv6Prefix": "2001:4860::/32"}]}).encode()
    assert refresh_ipranges.parse_google(google) == ["8.8.8.0/24", "2001:4860::/32"]
    microsoft = json.dumps([{"category": "Optimize", "ips": ["52.112.0.0/14"]},
                            {"category": "Default", "ips": ["1.2.3.0/24"]}]).encode()
    assert refresh_ipranges.parse_microsoft(microsoft) == ["52.112.0.0/14"]
    ripe = json.dumps({"data": {"prefixes": [{"prefix": "162.125.0.0/16"}, {"prefix": "162.125.0.0/16"}]}}).encode()
    assert refresh_ipranges.parse_ripestat(ripe) == ["162.125.0.0/16"]
    rdap = json.dumps({"cidr0_cidrs": [{"v4prefix": "66.22.192.0", "length": 18}]}).encode()
    assert refresh_ipranges.parse_rdap(rdap) == ["66.22.192.0/18"]
    onionoo = json.dumps({"relays": [{"or_addresses": ["38.229.70.53:443", "[2001:db8::1]:9001"]}]}).encode()
    assert refresh_ipranges.parse_onionoo(onionoo) == ["38.229.70.53/32", "2001:db8::1/128"]
    assert refresh_ipranges.parser_for("https://core.telegram.org/resources/cidr.txt") is refresh_ipranges.parse_lines
    assert refresh_ipranges.parser_for("https://support.apple.com/en-us/101555") is None


def test_bpf_expression_for_live_capture_lists_owned_ranges_only():
    from detector.capture.live import check_filter

    expression = load_ranges().bpf_filter()
    assert expression.startswith("udp and (") and "net 91.108.4.0/22" in expression
    assert "157.240.0.0/16" not in expression  # Meta is shared: no single service
    check_filter(expression)  # libpcap accepts it


@pytest.mark.parametrize("text", ["192.0.2.7", "255.255.255.255", "0.0.0.0", "2001:db8::1", "::ffff:192.0.2.7", "::",
                                  "fe80::1%eth0", "01.2.3.4", "1.2.3", " 192.0.2.7", "192.0.2.7\x00", "dropbox.com", "",
                                  "2001:db8::g"])
def test_address_values_match_the_ipaddress_module(text):
    """The C parser's fast answer and the fallback agree with ipaddress on every spelling, good or bad."""
    from detector.policy.ipranges import address_value

    try:
        ip = ipaddress.ip_address(text)
        expected = (ip.version, int(ip))
    except ValueError:
        expected = None
    assert address_value(text) == expected


@pytest.mark.parametrize("text", ["10.0.0.1", "10.0.0.255", "255.255.255.255", "0.0.0.0", "224.0.0.251", "239.1.2.3",
                                  "223.255.255.254", "240.0.0.1", "::", "::1", "ff02::fb", "fe80::1%eth0",
                                  "2001:db8::ff", "::ffff:224.0.0.1", " 10.0.0.7 ", "01.2.3.4", "printer", ""])
def test_client_devices_are_told_apart_from_group_and_broadcast_addresses(text):
    """is_device reads integers; the ipaddress module's properties give the same answer."""
    from detector.detectors.base import is_device

    try:
        ip = ipaddress.ip_address(text.strip().split("%", 1)[0])
        expected = not (ip.is_multicast or ip.is_unspecified
                        or (ip.version == 4 and str(ip).endswith(".255")))
    except ValueError:
        expected = False
    assert is_device(text) is expected
