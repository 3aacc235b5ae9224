"""The site's memory of names: a flow is attributed by the names its server stood for during the flow, learned
in this run, later in the same input or by an earlier run of the same site (issue 21, part 2)."""

from __future__ import annotations

import json
from pathlib import Path

from fs_packets import save
from scanning import by_detector, scan_files
from zeek_writer import zeek_tsv

from detector.detectors.base import DetectorContext
from detector.detectors.filesharing import FileSharingDetector
from detector.observations import DnsQuery, FlowVolume
from detector.policy.catalog import load_catalog
from detector.policy.settings import Settings
from detector.samples import dns_exchange, tcp_session
from detector.session.scan import ScanRequest, run_scan
from detector.site.names import NameSighting
from detector.store import Store

T0 = 1795964400.0
CLIENT, RESOLVER, DROPBOX = "10.1.0.5", "10.1.0.1", "162.125.1.1"
FLOWS = 4
UP = 1000  # bytes each conn.log flow sends: 4 flows, 3.9 KiB


def name_rows(t: float) -> tuple[str, str]:
    """dns.log and ssl.log: four lookups of www.dropbox.com and the four TLS hellos that followed them."""
    dns = [{"ts": t + n, "uid": f"D{n}", "id.orig_h": CLIENT, "id.orig_p": 41000 + n, "id.resp_h": RESOLVER,
            "id.resp_p": 53, "proto": "udp", "query": "www.dropbox.com", "qtype": 1, "qtype_name": "A",
            "answers": [DROPBOX], "TTLs": [60.0]} for n in range(FLOWS)]
    ssl = [{"ts": t + n + 0.5, "uid": f"C{n}", "id.orig_h": CLIENT, "id.orig_p": 50000 + n, "id.resp_h": DROPBOX,
            "id.resp_p": 443, "version": "TLSv13", "server_name": "www.dropbox.com", "established": True}
           for n in range(FLOWS)]
    return zeek_tsv("dns", dns), zeek_tsv("ssl", ssl)


def conn_rows(t: float) -> str:
    """conn.log: the four flows, written when they ended (in the next hourly run)."""
    return zeek_tsv("conn", [{"ts": t + n + 0.5, "uid": f"C{n}", "id.orig_h": CLIENT, "id.orig_p": 50000 + n,
                              "id.resp_h": DROPBOX, "id.resp_p": 443, "proto": "tcp", "duration": 1800.0,
                              "orig_bytes": UP, "resp_bytes": 200, "conn_state": "SF", "orig_pkts": 10,
                              "resp_pkts": 8} for n in range(FLOWS)])


def write_names(folder: Path, t: float = T0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    dns, ssl = name_rows(t)
    (folder / "dns.log").write_text(dns)
    (folder / "ssl.log").write_text(ssl)


def scan(paths: list[Path], db: Path, site: str = "", incremental: bool = False):
    request = ScanRequest(paths=[str(p) for p in paths], rules_files=[], db=db, site=site, incremental=incremental)
    return run_scan(request)


def dropbox(outcome):
    found = [f for f in by_detector(outcome.result.findings, "filesharing.service")
             if f.attributes.service == "Dropbox"]
    return found[0] if found else None


def test_an_upload_named_in_one_incremental_run_is_metered_whole_in_the_next(tmp_path):
    logs, db = tmp_path / "zeek", tmp_path / "site.db"
    write_names(logs)
    first = scan([logs], db, incremental=True)
    assert dropbox(first) is not None and dropbox(first).attributes.bytes_up is None  # no flow ended yet
    (logs / "conn.log").write_text(conn_rows(T0))
    second = scan([logs], db, incremental=True)
    read = {Path(i.path).name: i.records for i in second.result.inputs}
    assert read["dns.log"] == read["ssl.log"] == 0 and read["conn.log"] > 0  # only conn.log is new
    found = dropbox(second)
    assert found is not None, "the names read by the first run attribute the conn.log flows of the second"
    assert found.attributes.bytes_up == FLOWS * UP and found.attributes.connections == FLOWS
    assert found.title == "Dropbox used by 1 device(s), 3.9 KiB uploaded"
    whole = scan([logs], tmp_path / "whole.db")
    assert dropbox(whole).attributes.bytes_up == FLOWS * UP  # what one scan of everything says


def test_a_dns_answer_after_the_first_packets_of_a_flow_attributes_it(tmp_path):
    packets = tcp_session(CLIENT, DROPBOX, 50000, 443, [(True, bytes(900)) for _ in range(8)] + [(False, b"ok")],
                          T0, step=1.0)
    packets += dns_exchange(CLIENT, RESOLVER, "www.dropbox.com", [DROPBOX], T0 + 4.5)
    findings, _, _ = scan_files(save(tmp_path, packets), rules=False)
    (found,) = [f for f in by_detector(findings, "filesharing.service") if f.attributes.service == "Dropbox"]
    assert found.attributes.bytes_up and "dns-answer-ip" in found.attributes.methods


def test_a_flow_waits_for_a_name_learned_later_in_the_input():
    """The server is metered (named days ago, by an earlier run), but only the answer after the flow covers it."""
    detector = FileSharingDetector(DetectorContext(Settings(), load_catalog()))
    detector.names.learn(DROPBOX, "www.dropbox.com", T0 - 3 * 86400, "dns")
    detector.recall()
    detector.observe(FlowVolume(T0, "conn.log:line 1", CLIENT, DROPBOX, 443, "tcp", 5000, 100, 12, T0 + 30))
    assert detector.finish() == []
    detector.observe(DnsQuery(T0 + 600, "dns.log:line 9", CLIENT, RESOLVER, "www.dropbox.com",
                              answers=(DROPBOX,)))
    (found,) = detector.finish()
    assert found.attributes.service == "Dropbox" and found.attributes.bytes_up == 5000


def test_the_dns_ttl_sets_how_long_an_answer_names_its_address(tmp_path):
    """An answer holds for its TTL (at least an hour, at most a week); a flow after that is not attributed."""
    def upload_hours_after_lookup(ttl: int, hours: float) -> object:
        packets = dns_exchange(CLIENT, RESOLVER, "www.dropbox.com", [DROPBOX], T0, ttl=ttl)
        packets += tcp_session(CLIENT, DROPBOX, 50000, 443, [(True, bytes(900)) for _ in range(4)],
                               T0 + hours * 3600, step=1.0)
        findings, _, _ = scan_files(save(tmp_path, packets, f"ttl{ttl}-{hours}.pcap"), rules=False)
        return next((f for f in by_detector(findings, "filesharing.service")
                     if f.attributes.service == "Dropbox" and f.attributes.bytes_up), None)

    assert upload_hours_after_lookup(ttl=6 * 3600, hours=3) is not None  # inside the TTL
    assert upload_hours_after_lookup(ttl=60, hours=3) is None  # a one-minute answer does not reach three hours
    assert upload_hours_after_lookup(ttl=60, hours=0.5) is not None  # but holds the usual hour
    assert upload_hours_after_lookup(ttl=2**31 - 1, hours=24 * 8) is None  # a hostile TTL is capped at a week


def test_parse_dns_keeps_the_shortest_address_ttl():
    from scapy.layers.dns import DNS, DNSQR, DNSRR

    from detector.protocols.dns import parse_dns

    answers = [DNSRR(rrname="a.example", type="CNAME", ttl=5, rdata="b.example"),
               DNSRR(rrname="b.example", type="A", ttl=300, rdata="192.0.2.1"),
               DNSRR(rrname="b.example", type="A", ttl=120, rdata="192.0.2.2")]
    message = parse_dns(bytes(DNS(id=1, qr=1, qd=DNSQR(qname="a.example"), an=answers)))
    assert message.answers == ("192.0.2.1", "192.0.2.2") and message.ttl == 120.0  # not the CNAME's
    assert parse_dns(bytes(DNS(id=1, qr=1, qd=DNSQR(qname="a.example")))).ttl is None


def test_a_name_outside_its_window_does_not_attribute(tmp_path):
    db = tmp_path / "site.db"
    write_names(tmp_path / "monday")
    assert dropbox(scan([tmp_path / "monday"], db)) is not None
    later = tmp_path / "thursday"
    later.mkdir()
    (later / "conn.log").write_text(conn_rows(T0 + 3 * 86400))
    assert dropbox(scan([later], db)) is None  # the address may serve anyone three days on


def test_sites_in_one_database_keep_their_own_names(tmp_path):
    db = tmp_path / "all.db"
    write_names(tmp_path / "names")
    scan([tmp_path / "names"], db, site="north")
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "conn.log").write_text(conn_rows(T0))
    assert dropbox(scan([flows], db, site="south")) is None
    assert dropbox(scan([flows], db, site="north")).attributes.bytes_up == FLOWS * UP
    with Store(db) as store:
        assert {s.name for s in store.site_names("north")} >= {"www.dropbox.com"}
        assert store.site_names("south") == []


def test_the_stored_directory_keeps_the_most_recent_pairs(tmp_path, monkeypatch):
    monkeypatch.setattr("detector.store.store.MAX_SITE_NAMES", 50)
    sightings = [NameSighting(f"192.0.2.{n}", f"n{n}.example.com", "dns", T0 + n, T0 + n) for n in range(80)]
    with Store(tmp_path / "site.db") as store:
        store.save_site_names("office", sightings)
        kept = store.site_names("office")
    assert len(kept) == 50
    assert [s.address for s in kept] == [f"192.0.2.{n}" for n in range(30, 80)]  # oldest first, for merging


def test_a_run_writes_only_the_pairs_it_learned_or_widened(tmp_path, monkeypatch):
    """The stored directory is brought up to date, not rewritten: earlier pairs stay, the newest are kept."""
    from detector.site.names import NameDirectory

    monkeypatch.setattr("detector.store.store.MAX_SITE_NAMES", 100)
    db = tmp_path / "site.db"
    first = NameDirectory()
    for n in range(60):
        first.learn(f"192.0.2.{n}", f"n{n}.example.com", T0 + n, "dns")
    with Store(db) as store:
        store.save_site_names("office", first.changed())
    second = NameDirectory()
    with Store(db) as store:
        second.merge(store.site_names("office"))
    assert list(second.changed()) == []  # loading is not learning
    second.learn("192.0.2.5", "n5.example.com", T0 + 5000, "tls-sni")  # widened
    for n in range(60, 110):
        second.learn(f"198.51.100.{n}", f"m{n}.example.com", T0 + 6000 + n, "dns")
    assert len(list(second.changed())) == 51
    with Store(db) as store:
        store.save_site_names("office", second.changed())
        kept = {s.address: s for s in store.site_names("office")}
    assert len(kept) == 100  # 110 pairs, the ten least recently seen dropped
    assert kept["192.0.2.5"].first_seen == T0 + 5 and kept["192.0.2.5"].last_seen == T0 + 5000
    assert "192.0.2.6" not in kept and "192.0.2.16" in kept


def test_an_incremental_run_names_a_device_from_a_lease_an_earlier_run_read(tmp_path):
    """A device's host name (DHCP, NetBIOS, Kerberos...) goes into the site's directory with its time: the next
    incremental run, reading only a new ftp.log, still names the server behind the login; three days on the
    lease may have moved, so it does not."""
    logs, db = tmp_path / "zeek", tmp_path / "site.db"
    logs.mkdir()
    leases = [{"ts": T0, "uids": ["D1"], "client_addr": "", "server_addr": "10.1.0.1", "mac": "02:00:00:00:00:50",
               "host_name": "NAS-Office", "assigned_addr": "10.1.0.50", "lease_time": 86400.0,
               "msg_types": ["REQUEST", "ACK"]}]
    (logs / "dhcp.log").write_text(zeek_tsv("dhcp", leases))
    first = scan([logs], db, incremental=True)
    assert first.result.findings == []

    def login(t: float) -> str:
        return zeek_tsv("ftp", [{"ts": t, "uid": "F1", "id.orig_h": CLIENT, "id.orig_p": 40021,
                                 "id.resp_h": "10.1.0.50", "id.resp_p": 21, "user": "carol",
                                 "password": "Winter2026", "command": "STOR", "arg": "a.txt", "reply_code": 226}])

    (logs / "ftp.log").write_text(login(T0 + 1800))
    second = scan([logs], db, incremental=True)
    (found,) = by_detector(second.result.findings, "credentials.cleartext")
    assert found.hosts == ["10.1.0.50"] and found.host_names == {"10.1.0.50": "NAS-Office"}
    assert any(d["address"] == "10.1.0.50" and d["label"] == "NAS-Office" for d in second.result.devices)
    later = tmp_path / "later"
    later.mkdir()
    (later / "ftp.log").write_text(login(T0 + 3 * 86400))
    (stale,) = by_detector(scan([later], db).result.findings, "credentials.cleartext")
    assert stale.host_names == {}


def test_sensor_logs_carry_the_dns_ttl_into_the_directory(tmp_path):
    """Zeek's TTLs (one per answer) and EVE's per-answer ttl set the answer's window as a capture's would."""
    def lookup_then_flow(name: str, dns_log: tuple[str, str], flow_at: float) -> object:
        folder = tmp_path / name
        folder.mkdir()
        (folder / dns_log[0]).write_text(dns_log[1])
        (folder / "conn.log").write_text(conn_rows(flow_at))
        found = dropbox(scan([folder], tmp_path / f"{name}.db"))
        return found.attributes.bytes_up if found else None  # the flows' volume: attributed to Dropbox or not

    def zeek(ttl: float) -> tuple[str, str]:
        return "dns.log", zeek_tsv("dns", [{"ts": T0, "uid": "D1", "id.orig_h": CLIENT, "id.orig_p": 41000,
                                            "id.resp_h": RESOLVER, "id.resp_p": 53, "proto": "udp",
                                            "query": "www.dropbox.com", "qtype": 1, "qtype_name": "A",
                                            "answers": ["www.dropbox-dns.com", DROPBOX], "TTLs": [5.0, ttl]}])

    eve_t0 = 1796119200.0  # 2026-12-01T10:00:00Z

    def eve(ttl: int) -> tuple[str, str]:
        event = {"timestamp": "2026-12-01T10:00:00.000000+0000", "event_type": "dns", "src_ip": RESOLVER,
                 "src_port": 53, "dest_ip": CLIENT, "dest_port": 41000, "proto": "UDP",
                 "dns": {"version": 3, "type": "response", "queries": [{"rrname": "www.dropbox.com", "rrtype": "A"}],
                         "answers": [{"rrname": "www.dropbox.com", "rrtype": "A", "ttl": ttl, "rdata": DROPBOX}]}}
        return "eve.json", json.dumps(event) + "\n"

    three_hours = 3 * 3600
    assert lookup_then_flow("zeek-long", zeek(6 * 3600.0), T0 + three_hours) == FLOWS * UP
    assert lookup_then_flow("zeek-short", zeek(60.0), T0 + three_hours) is None
    assert lookup_then_flow("eve-long", eve(6 * 3600), eve_t0 + three_hours) == FLOWS * UP
    assert lookup_then_flow("eve-short", eve(60), eve_t0 + three_hours) is None
