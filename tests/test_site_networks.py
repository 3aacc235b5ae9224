"""The site's networks decide what a device is (issue 21 part 1), and one secret on several servers is one finding.

Captures are scapy-built: a remote BitTorrent peer, Microsoft relays, a clear-text login to a local server,
a public office network inferred from a DHCP lease, one SNMP community answered by four agents.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from cred_packets import T0, ftp_exchange, snmp_message, udp
from names_packets import dhcp_ack
from scanning import by_detector, scan_files

from detector.detectors.base import finding_id
from detector.findings.credentials import CleartextLoginAttributes
from detector.policy import RuleLoadError, load_ruleset
from detector.samples import tcp_session, write_pcap
from detector.session.scan import ScanRequest, run_scan
from reports.render import SiteReport, build_site_view

ROOT = Path(__file__).resolve().parent.parent
OFFICE_PC, NAS = "192.168.1.20", "192.168.1.50"


def utp_syn() -> bytes:
    """A BEP 29 ST_SYN: type 4 version 1, no extension, zero timestamp difference and ack number."""
    return struct.pack("!BBHIIIHH", 0x41, 0, 0x1234, 123456, 0, 1 << 20, 1, 0)


def stun_request(attribute: int) -> bytes:
    """An RFC 5389 Binding request carrying one (Microsoft) vendor attribute."""
    attributes = struct.pack("!HH", attribute, 4) + b"\x00\x00\x00\x01"
    return struct.pack("!HH", 0x0001, len(attributes)) + b"\x21\x12\xa4\x42" + bytes(12) + attributes


def settings_with(networks: tuple[str, ...]):
    return load_ruleset([]).settings.updated({"site_networks": networks})


def one(findings, detector: str):
    found = by_detector(findings, detector)
    assert len(found) == 1, [f.title for f in found]
    return found[0]


# ---------------------------------------------------------------- devices are local addresses


def test_a_remote_utp_peer_is_not_a_device_and_the_local_host_it_dialled_is(tmp_path):
    packets = [udp("203.0.113.7", OFFICE_PC, 6881, 51413, utp_syn(), T0),  # the internet peer dials the office PC
               udp("127.0.0.1", "127.0.0.1", 40000, 40001, utp_syn(), T0 + 1)]  # the client's own loopback
    findings, _, scan = scan_files(write_pcap(tmp_path / "utp.pcap", packets))
    torrent = next(f for f in by_detector(findings, "filesharing.service") if f.attributes.service == "BitTorrent")
    assert torrent.hosts == [OFFICE_PC] and torrent.attributes.devices == 1
    assert torrent.title.startswith("BitTorrent used by 1 device(s)")
    assert [h["host"] for h in torrent.attributes.per_host] == [OFFICE_PC]
    assert {d["address"] for d in scan.devices(findings)} <= {OFFICE_PC}


def test_microsoft_relays_are_not_devices(tmp_path):
    packets = [udp(OFFICE_PC, "52.114.1.10", 50000, 3478, stun_request(0x8008), T0),  # the PC asks the relay
               udp("52.113.7.7", OFFICE_PC, 3478, 50002, stun_request(0x8055), T0 + 1),  # a relay checks the path
               udp("52.112.0.9", "52.114.1.10", 3478, 3478, stun_request(0x8070), T0 + 2)]  # relay to relay
    findings, _, _ = scan_files(write_pcap(tmp_path / "teams.pcap", packets))
    calls = one(findings, "filesharing.service")
    assert calls.attributes.service == "Microsoft Teams / Skype calls"
    assert calls.hosts == [OFFICE_PC] and calls.title == "Microsoft Teams / Skype calls used by 1 device(s)"


def test_a_clear_text_login_names_the_local_server_and_used_by_its_client(tmp_path):
    packets = tcp_session(OFFICE_PC, NAS, 41000, 21, ftp_exchange("anna", "Nas!Pass9"), T0)
    packets += tcp_session(OFFICE_PC, "198.51.100.25", 41001, 21, ftp_exchange("anna", "Web!Host7"), T0 + 5)
    findings, _, _ = scan_files(write_pcap(tmp_path / "ftp.pcap", packets))
    logins = {f.attributes.server: f for f in by_detector(findings, "credentials.cleartext")}
    assert logins[NAS].hosts == [NAS] and logins[NAS].attributes.used_by == [OFFICE_PC]  # fix the NAS
    remote = logins["198.51.100.25"]  # a provider's server is no device: the client is the one to act on
    assert remote.hosts == [OFFICE_PC] and remote.attributes.used_by == [OFFICE_PC]
    assert remote.attributes.clients == [OFFICE_PC]


def test_a_declared_network_excludes_a_private_address_outside_it(tmp_path):
    packets = tcp_session("10.20.0.5", "203.0.113.80", 41000, 21, ftp_exchange("ops", "Ops!Pass1"), T0)
    packets += tcp_session("192.168.7.9", "203.0.113.80", 41001, 21, ftp_exchange("ops", "Ops!Pass1"), T0 + 1)
    path = write_pcap(tmp_path / "vpn.pcap", packets)
    findings, _, scan = scan_files(path, settings=settings_with(("10.20.0.0/16",)))
    login = one(findings, "credentials.cleartext")
    assert login.hosts == ["10.20.0.5"] and login.attributes.used_by == ["10.20.0.5"]  # the VPN peer is not ours
    assert login.attributes.clients == ["10.20.0.5", "192.168.7.9"]
    assert scan.networks.describe() == {"source": "declared", "networks": ["10.20.0.0/16"], "observed": []}
    undeclared, _, _ = scan_files(path)
    assert one(undeclared, "credentials.cleartext").hosts == ["10.20.0.5", "192.168.7.9"]


def test_a_public_office_network_is_inferred_from_a_dhcp_lease(tmp_path):
    login = tcp_session("193.175.4.10", "198.51.100.25", 41000, 21, ftp_exchange("lab", "Lab!Pass4"), T0 + 1)
    without, _, _ = scan_files(write_pcap(tmp_path / "no-lease.pcap", login))
    assert one(without, "credentials.cleartext").hosts == []  # two public addresses: nothing says which is ours
    lease = [dhcp_ack("02:00:00:00:00:31", "193.175.4.31", T0)]  # another host of the /24 took a lease
    findings, _, scan = scan_files(write_pcap(tmp_path / "lease.pcap", lease + login))
    assert one(findings, "credentials.cleartext").hosts == ["193.175.4.10"]
    described = scan.networks.describe()
    assert described["source"] == "inferred" and "193.175.4.0/24 (dhcp-lease)" in described["networks"]
    assert "10.0.0.0/8" in described["networks"]


# ---------------------------------------------------------------- one secret, several servers


def snmp_agents(community: str, agents: list[str], t0: float = T0) -> list:
    packets = []
    for index, agent in enumerate(agents):
        packets.append(udp(OFFICE_PC, agent, 50161 + index, 161, snmp_message(1, community), t0 + index))
        packets.append(udp(agent, OFFICE_PC, 161, 50161 + index, snmp_message(1, community, 0xA2), t0 + index + 0.1))
    return packets


def test_one_community_answered_by_four_agents_is_one_finding(tmp_path):
    agents = ["192.168.1.100", "192.168.1.9", "192.168.1.77", "192.168.1.10"]
    findings, _, _ = scan_files(write_pcap(tmp_path / "snmp.pcap", snmp_agents("public", agents)))
    snmp = one(findings, "credentials.cleartext")
    assert snmp.severity == "critical" and snmp.attributes.default
    assert snmp.attributes.server == "192.168.1.9"  # the lowest address stands for the group
    assert snmp.attributes.servers == ["192.168.1.9:161", "192.168.1.10:161", "192.168.1.77:161",
                                       "192.168.1.100:161"]
    assert snmp.hosts == sorted(agents) and snmp.attributes.used_by == [OFFICE_PC]
    assert len(snmp.attributes.secrets) == 1 and snmp.attributes.secrets[0]["count"] == 8
    assert "and 3 other server(s)" in snmp.title
    assert snmp.id == finding_id(CleartextLoginAttributes.detector, "snmp", "192.168.1.9", "", "cleartext")
    assert not by_detector(findings, "credentials.reuse")  # one protocol, no user: not reuse
    again, _, _ = scan_files(write_pcap(tmp_path / "again.pcap", snmp_agents("public", agents, T0 + 3600)))
    assert one(again, "credentials.cleartext").id == snmp.id  # stable across scans


def test_reuse_needs_two_users_or_two_protocols_and_never_says_zero_users(tmp_path):
    packets = snmp_agents("Sh4red!Secret", ["192.168.1.9", "192.168.1.10"])
    packets += tcp_session(OFFICE_PC, NAS, 41000, 21, ftp_exchange("anna", "Sh4red!Secret"), T0 + 10)
    findings, _, _ = scan_files(write_pcap(tmp_path / "reuse.pcap", packets))
    reuse = one(findings, "credentials.reuse")
    assert reuse.title == "One password reused by anna over 2 protocols (ftp, snmp)"
    assert reuse.attributes.used_by == [OFFICE_PC]
    assert len(by_detector(findings, "credentials.cleartext")) == 2  # the SNMP pair is one finding


# ---------------------------------------------------------------- the report and the command


def test_device_points_add_up_to_the_scan_total(tmp_path):
    packets = snmp_agents("public", ["192.168.1.9", "192.168.1.10", "192.168.1.11"])
    packets += tcp_session("192.168.1.21", NAS, 41000, 21, ftp_exchange("anna", "Nas!Pass9"), T0 + 10)
    packets += [udp("203.0.113.7", OFFICE_PC, 6881, 51413, utp_syn(), T0 + 20),
                udp("203.0.113.8", "192.168.1.22", 6881, 51414, utp_syn(), T0 + 21)]
    path = write_pcap(tmp_path / "office.pcap", packets)
    outcome = run_scan(ScanRequest(paths=[str(path)], rules_files=[], operator="test"))
    result = outcome.result
    assert all(f.hosts for f in result.findings) and len(result.findings) >= 3
    view = build_site_view(1, SiteReport(result=result), T0 + 100)
    shown = sum(float(device.points) for device in view.devices)
    assert shown == pytest.approx(result.risk.total_points, abs=0.05 * len(view.devices))
    assert result.as_dict()["scan"]["networks"]["source"] == "inferred"


def shadowit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOME": str(cwd), "SHADOWIT_HOME": str(cwd / ".shadowit"), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "detector.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300, check=False)


def test_local_nets_option_declares_the_networks_and_a_bad_value_is_one_line(tmp_path):
    path = write_pcap(tmp_path / "ftp.pcap", tcp_session(OFFICE_PC, NAS, 41000, 21, ftp_exchange("a", "B!cdef12"), T0))
    bad = shadowit("scan", str(path), "--local-nets", "garbage", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [
        "shadowit: error: --local-nets: 'garbage' is not a network (expected a CIDR prefix such as 10.1.0.0/16 or "
        "2001:db8::/48)"]
    good = shadowit("scan", str(path), "--local-nets", "192.168.1.0/24,10.0.0.0/8", "--local-nets", "fd00::/8",
                    "--json", "out.json", cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert "local networks (declared): 192.168.1.0/24, 10.0.0.0/8, fd00::/8; devices in 192.168.1.0/24 (1)" \
        in good.stderr
    document = json.loads((tmp_path / "out.json").read_text())
    assert document["scan"]["networks"] == {"source": "declared", "networks": ["192.168.1.0/24", "10.0.0.0/8",
                                                                               "fd00::/8"],
                                            "observed": [{"network": "192.168.1.0/24", "devices": 1}]}
    inferred = shadowit("scan", str(path), cwd=tmp_path)
    assert "local networks (inferred from private ranges and LAN evidence): devices in 192.168.1.0/24 (1)" \
        in inferred.stderr
    quiet = shadowit("scan", str(path), "-q", cwd=tmp_path)
    assert quiet.returncode == 0 and "local networks" not in quiet.stderr


def test_site_networks_in_a_rules_file_are_validated_with_file_line_col(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("version: 1\nsite:\n  networks: [10.0.0.0/8, 2001:db8::/48]\n")
    assert load_ruleset([good]).settings.site_networks == ("10.0.0.0/8", "2001:db8::/48")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nsite:\n  networks:\n    - 10.0.0.0/8\n    - 10.1.2/33\n  netwrks: []\n")
    with pytest.raises(RuleLoadError) as raised:
        load_ruleset([bad])
    errors = [str(e) for e in raised.value.errors]
    assert any(e.startswith(f"{bad}:5:7: site.networks: '10.1.2/33' is not a network") for e in errors), errors
    assert any(e.startswith(f"{bad}:6:3: unknown key 'netwrks' in site") for e in errors), errors
    settings_key = tmp_path / "settings.yaml"
    settings_key.write_text("version: 1\nsettings:\n  site_networks: [10.0.0.0/8]\n")
    with pytest.raises(RuleLoadError):  # the networks belong under site:, not settings:
        load_ruleset([settings_key])


def test_the_networks_are_stored_with_the_scan_and_read_back(tmp_path):
    from detector.store import Store

    path = write_pcap(tmp_path / "office.pcap", snmp_agents("public", ["192.168.1.9"]))
    db = tmp_path / "audit.db"
    outcome = run_scan(ScanRequest(paths=[str(path)], rules_files=[], operator="test", db=db,
                                   local_nets=["192.168.1.0/24"]))
    assert outcome.result.networks == {"source": "declared", "networks": ["192.168.1.0/24"],
                                       "observed": [{"network": "192.168.1.0/24", "devices": 1}]}
    with Store(db) as store:
        assert store.load_scan(outcome.result.scan_id).networks == outcome.result.networks
