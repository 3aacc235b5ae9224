"""Who sent how much where: per-host volume, first/last seen, severity from upload size, the report."""

from __future__ import annotations

from click.testing import CliRunner
from fs_packets import T0, save
from scanning import by_detector, scan_files

from detector.cli import main
from detector.policy.settings import Settings
from detector.samples import client_hello, dns_exchange, tcp_session

SMALL = Settings(upload_medium_bytes=10_000, upload_high_bytes=100_000, upload_critical_bytes=1_000_000)


def upload(client: str, server: str, port: int, size: int, t: float, sni: str = "www.wetransfer.com") -> list:
    return tcp_session(client, server, port, 443, [(True, client_hello(sni)), (True, bytes(size)),
                                                   (False, bytes(size // 100))], t, mss=1400)


def service(findings, name):
    return {f.attributes.service: f for f in by_detector(findings, "filesharing.service")}[name]


def test_per_host_volume_and_times(tmp_path):
    packets = upload("10.0.0.23", "52.10.0.1", 40000, 150_000, T0)
    packets += upload("10.0.0.23", "52.10.0.1", 40001, 50_000, T0 + 3600)
    packets += upload("10.0.0.24", "52.10.0.1", 40002, 2_000, T0 + 60)
    findings, _, _ = scan_files(save(tmp_path, packets), settings=SMALL, rules=False)
    found = service(findings, "WeTransfer")
    per_host = {h["host"]: h for h in found.attributes.per_host}
    big, small = per_host["10.0.0.23"], per_host["10.0.0.24"]
    assert 200_000 <= big["bytes_up"] < 201_000
    assert 2_000 <= big["bytes_down"] < 2_100
    assert big["connections"] == 2
    assert big["first_seen"] == "2026-10-26T07:33:20Z"
    assert big["last_seen"].startswith("2026-10-26T08:33")
    assert 2_000 <= small["bytes_up"] < 2_100
    assert found.attributes.bytes_up == big["bytes_up"] + small["bytes_up"]
    assert found.severity == "high"  # > 100 kB with the test thresholds
    assert "uploaded" in found.title


def test_severity_scales_with_volume_and_dns_only_is_lowest(tmp_path):
    packets = dns_exchange("10.0.0.40", "10.0.0.1", "mega.nz", [], T0)
    packets += upload("10.0.0.41", "52.10.0.2", 40010, 20_000, T0 + 10, sni="box.com")
    packets += upload("10.0.0.42", "52.10.0.3", 40011, 1_100_000, T0 + 20, sni="send-anywhere.com")
    findings, _, _ = scan_files(save(tmp_path, packets), settings=SMALL, rules=False)
    assert service(findings, "MEGA").severity == "low"
    assert service(findings, "MEGA").attributes.dns_only is True
    assert service(findings, "Box").severity == "medium"
    assert service(findings, "Send Anywhere").severity == "critical"


def test_http_uploads_are_counted_per_host(tmp_path):
    body = b"x" * 30_000
    request = (b"POST /upload HTTP/1.1\r\nHost: transfer.sh\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Length: 30000\r\n\r\n" + body)
    packets = tcp_session("10.0.0.50", "144.76.136.153", 40020, 80, [(True, request),
                                                                     (False, b"HTTP/1.1 200 OK\r\n\r\n")], T0)
    packets += tcp_session("10.0.0.50", "144.76.136.153", 40021, 80,
                           [(True, b"GET /abc/file.txt HTTP/1.1\r\nHost: transfer.sh\r\n\r\n")], T0 + 5)
    findings, _, _ = scan_files(save(tmp_path, packets), rules=False)
    found = service(findings, "transfer.sh")
    assert found.attributes.upload_requests == 1
    host = found.attributes.per_host[0]
    assert host["upload_requests"] == 1
    assert host["bytes_up"] >= 30_000
    assert found.attributes.methods == ["http-host"]


def test_report_shows_hosts_volume_and_sanction(tmp_path):
    packets = upload("10.0.0.23", "52.10.0.1", 40000, 120_000, T0)
    path = save(tmp_path, packets)
    report = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["scan", str(path), "--report", str(report)], catch_exceptions=False)
    assert result.exit_code in (0, 1, 2, 3), result.output
    html = report.read_text(encoding="utf-8")
    assert "WeTransfer" in html
    assert "10.0.0.23" in html


def test_attachment_external_flag():
    from detector.detectors.base import DetectorContext
    from detector.detectors.filesharing import FileSharingDetector
    from detector.observations import FileTransfer
    from detector.policy.catalog import load_catalog

    detector = FileSharingDetector(DetectorContext(Settings(), load_catalog()))
    cases = {
        "internal.pdf": ("a@corp.example", ("b@corp.example",), "10.0.0.5"),
        "personal.docx": ("me@aol.com", ("friend@aol.com",), "64.12.102.142"),
        "partner.xlsx": ("a@corp.example", ("x@supplier.example",), "10.0.0.5"),
        "ftp.zip": ("", (), "8.8.4.4"),
        "lan.zip": ("", (), "192.168.1.9"),
    }
    for name, (sender, recipients, server) in cases.items():
        detector.observe(FileTransfer(T0, "f", "10.0.0.23", server, "smtp-attachment", name, "up", 10,
                                      sender, recipients))
    external = {f.attributes.filename: f.attributes.external for f in detector.finish()}
    assert external == {"internal.pdf": False, "personal.docx": True, "partner.xlsx": True, "ftp.zip": True,
                        "lan.zip": False}
