"""Live capture end to end: real clients and servers in private network namespaces (root only).

Every address lives inside namespaces this test creates (10.99.0.0/24 on a
veth pair, or a namespace's own loopback) and is deleted afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from detector.store import Store

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parent.parent
FTP_PASSWORD = "Ftp-Cl3ar-9512"
HTTP_PASSWORD = "Basic-S3cret-7734"
SERVER, CLIENT = "10.99.0.1", "10.99.0.2"

SERVERS = r'''
import base64, logging, os, socket, sys, threading, http.server
addr, root = sys.argv[1], sys.argv[2]

class Basic(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        wanted = "Basic " + base64.b64encode(("admin:" + os.environ["HTTP_PASSWORD"]).encode()).decode()
        self.send_response(200 if self.headers.get("Authorization") == wanted else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass

def dns():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((addr, 53))
    while True:
        query, peer = sock.recvfrom(2048)
        end = query.index(b"\0", 12) + 5
        answer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton(addr)
        sock.sendto(query[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + query[12:end] + answer, peer)

def plain_tls_listener():
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((addr, 443))
    sock.listen()
    while True:
        conn, _ = sock.accept()
        conn.settimeout(2)
        try:
            conn.recv(65536)
        except OSError:
            pass
        conn.close()

logging.basicConfig(level=logging.ERROR)
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
authorizer = DummyAuthorizer()
authorizer.add_user("scanner", os.environ["FTP_PASSWORD"], root, perm="elr")
FTPHandler.authorizer = authorizer
ftp = FTPServer((addr, 21), FTPHandler)
web = http.server.HTTPServer((addr, 8080), Basic)
for target in (web.serve_forever, dns, plain_tls_listener):
    threading.Thread(target=target, daemon=True).start()
print("ready", flush=True)
ftp.serve_forever()
'''

CLIENTS = r'''
import base64, ftplib, os, socket, ssl, sys, urllib.error, urllib.request
addr = sys.argv[1]
ftp = ftplib.FTP(addr, timeout=5)
ftp.login("scanner", os.environ["FTP_PASSWORD"])
ftp.quit()
token = base64.b64encode(("admin:" + os.environ["HTTP_PASSWORD"]).encode()).decode()
request = urllib.request.Request(f"http://{addr}:8080/", headers={"Authorization": "Basic " + token})
print("http", urllib.request.urlopen(request, timeout=5).status)
query = b"\x4d\x2a\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07dropbox\x03com\x00\x00\x01\x00\x01"
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.settimeout(5)
udp.sendto(query, (addr, 53))
print("dns", len(udp.recv(2048)))
try:
    with socket.create_connection((addr, 443), timeout=5) as raw:
        ssl.create_default_context().wrap_socket(raw, server_hostname="wetransfer.com")
except (ssl.SSLError, OSError) as exc:
    print("tls ended as expected:", type(exc).__name__)
print("clients done", flush=True)
'''


def _require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: creates network namespaces and captures on them")
    if shutil.which("ip") is None:
        pytest.skip("needs the `ip` command (iproute2) to create network namespaces")


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)


def in_ns(ns: str, *args: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *args]


def env() -> dict[str, str]:
    extra = {"FTP_PASSWORD": FTP_PASSWORD, "HTTP_PASSWORD": HTTP_PASSWORD, "PYTHONPATH": str(REPO)}
    return {**os.environ, **extra, "SHADOWIT_HOME": os.environ.get("SHADOWIT_HOME", "")}


@pytest.fixture
def namespaces():
    """Two namespaces joined by a veth pair; both removed whatever happens."""
    _require_root()
    pytest.importorskip("pyftpdlib", reason="pyftpdlib is a test extra: pip install -e '.[test]'")
    tag = f"{os.getpid() % 100000}"
    server, client = f"swS{tag}", f"swC{tag}"
    veth_s, veth_c = f"vS{tag}", f"vC{tag}"
    created = []
    try:
        for ns in (server, client):
            ip("netns", "add", ns)
            created.append(ns)
        ip("netns", "exec", server, "ip", "link", "add", veth_s, "type", "veth", "peer", "name", veth_c,
           "netns", client)
        for ns, dev, addr in ((server, veth_s, SERVER), (client, veth_c, CLIENT)):
            ip("netns", "exec", ns, "ip", "addr", "add", f"{addr}/24", "dev", dev)
            ip("netns", "exec", ns, "ip", "link", "set", dev, "up")
            ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        yield server, client, veth_s
    finally:
        for ns in created:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


@pytest.fixture
def loopback_namespace():
    _require_root()
    ns = f"swL{os.getpid() % 100000}"
    try:
        ip("netns", "add", ns)
        ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


def start(cmd: list[str], tmp_path: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(tmp_path / f"{name}.err", "w"), text=True,
                            env=env(), cwd=tmp_path)


def wait_for_line(path: Path, needle: str, proc: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} not seen in {path.name}: {path.read_text() if path.exists() else ''}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def capture_cmd(ns: str, iface: str, tmp_path: Path, *extra: str) -> list[str]:
    return in_ns(ns, sys.executable, "-m", "detector.cli", "capture", "-i", iface, "--db", str(tmp_path / "live.db"),
                 "--json", str(tmp_path / "live.json"), "--report", str(tmp_path / "live.html"), "--site", "lab",
                 *extra)


def assert_no_clear_password(tmp_path: Path, texts: list[str]) -> None:
    dump = "\n".join(sqlite3.connect(tmp_path / "live.db").iterdump())
    outputs = texts + [dump] + [p.read_text(errors="replace") for p in tmp_path.glob("live.*") if p.suffix != ".db"]
    for secret in (FTP_PASSWORD, HTTP_PASSWORD):
        assert not any(secret in text for text in outputs), "a clear password reached an output"


def test_capture_on_veth_finds_credentials_and_file_sharing(namespaces, tmp_path):
    server_ns, client_ns, veth = namespaces
    (tmp_path / "ftproot").mkdir()
    servers = start(in_ns(server_ns, sys.executable, "-c", SERVERS, SERVER, str(tmp_path / "ftproot")), tmp_path,
                    "servers")
    capture = None
    try:
        assert servers.stdout is not None and servers.stdout.readline().strip() == "ready"
        capture = start(capture_cmd(server_ns, veth, tmp_path, "--duration", "6s"), tmp_path, "capture")
        wait_for_line(tmp_path / "capture.err", "capturing on", capture)
        clients = subprocess.run(in_ns(client_ns, sys.executable, "-c", CLIENTS, SERVER), capture_output=True,
                                 text=True, env=env(), timeout=30)
        assert "clients done" in clients.stdout, clients.stderr
        assert "http 200" in clients.stdout
        out, _ = capture.communicate(timeout=30)
        assert capture.returncode == 0, (tmp_path / "capture.err").read_text()
    finally:
        stop(servers)
        if capture is not None:
            stop(capture)
    document = json.loads((tmp_path / "live.json").read_text())
    creds = {f["attributes"]["protocol"]: f for f in document["findings"] if f["category"] == "plaintext-credentials"
             and "protocol" in f["attributes"]}
    assert creds["ftp"]["attributes"]["username"] == "scanner"
    assert creds["ftp"]["attributes"]["accepted"] is True
    assert creds["http-basic"]["attributes"]["username"] == "admin"
    assert creds["http-basic"]["attributes"]["server"] == SERVER
    services = {f["attributes"].get("service") for f in document["findings"] if f["category"] == "file-sharing"}
    assert {"Dropbox", "WeTransfer"} <= services
    inputs = document["scan"]["inputs"]
    assert [i["path"] for i in inputs] == [f"live:{veth}"] and inputs[0]["kind"] == "live:ethernet"
    assert inputs[0]["records"] > 10
    with Store(tmp_path / "live.db") as store:
        scan = store.load_scan(site="lab")
        assert {f.id for f in scan.findings} == {f["id"] for f in document["findings"]}
        assert store.input_drops(scan.scan_id)[f"live:{veth}"].dropped == 0
    assert "Dropbox" in (tmp_path / "live.html").read_text()
    assert_no_clear_password(tmp_path, [out, (tmp_path / "capture.err").read_text()])


TRAFFIC = r'''
import base64, os, socket, threading, http.server, urllib.error, urllib.request
class Basic(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
web = http.server.HTTPServer(("127.0.0.1", 8080), Basic)
threading.Thread(target=web.serve_forever, daemon=True).start()
token = base64.b64encode(("admin:" + os.environ["HTTP_PASSWORD"]).encode()).decode()
try:
    request = urllib.request.Request("http://127.0.0.1:8080/", headers={"Authorization": "Basic " + token})
    urllib.request.urlopen(request)
except urllib.error.HTTPError as exc:
    print("http", exc.code)
query = b"\x4d\x2a\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07dropbox\x03com\x00\x00\x01\x00\x01"
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(query, ("127.0.0.1", 53))
print("traffic done", flush=True)
'''


def test_sigterm_mid_capture_keeps_findings_and_writes_report(loopback_namespace, tmp_path):
    ns = loopback_namespace
    capture = start(capture_cmd(ns, "lo", tmp_path, "--duration", "10m", "--flush-every", "1s"), tmp_path,
                    "capture")
    try:
        wait_for_line(tmp_path / "capture.err", "capturing on", capture)
        traffic = subprocess.run(in_ns(ns, sys.executable, "-c", TRAFFIC), capture_output=True, text=True, env=env(),
                                 timeout=30)
        assert "traffic done" in traffic.stdout, traffic.stderr
        flushes = (tmp_path / "capture.err").read_text().count("flushed")
        wait_for_line(tmp_path / "capture.err", f"(flush {flushes + 1})", capture)
        with Store(tmp_path / "live.db") as store:  # the periodic flush already holds them
            flushed = store.load_scan(1)
        assert {f.attributes.as_dict().get("service") for f in flushed.findings} >= {"Dropbox"}
        capture.send_signal(signal.SIGTERM)
        out, _ = capture.communicate(timeout=30)
    finally:
        stop(capture)
    err = (tmp_path / "capture.err").read_text()
    assert capture.returncode == 143, err  # 128 + SIGTERM: stopped early, findings stored
    assert "stopped by SIGTERM" in err
    with Store(tmp_path / "live.db") as store:
        scan = store.load_scan(1)
        history = store.history()
    assert history[0].status == "incomplete"  # asked for 10 minutes, stopped early
    protocols = {f.attributes.as_dict().get("protocol") for f in scan.findings}
    services = {f.attributes.as_dict().get("service") for f in scan.findings}
    assert "http-basic" in protocols and "Dropbox" in services
    report = (tmp_path / "live.html").read_text()
    assert "Dropbox" in report and "admin" in report
    assert_no_clear_password(tmp_path, [out, err])


def test_capture_without_cap_net_raw_says_what_to_do(tmp_path):
    _require_root()
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv (util-linux) to drop CAP_NET_RAW")
    cmd = ["setpriv", "--inh-caps=-all", "--bounding-set=-net_raw", sys.executable, "-m", "detector.cli",
           "capture", "-i", "lo", "--duration", "1"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("shadowit: error: ")
    assert "CAP_NET_RAW" in lines[0] and "setcap cap_net_raw,cap_net_admin=eip" in lines[0]
