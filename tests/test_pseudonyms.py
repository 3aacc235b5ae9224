"""Pseudonymised outputs (issue 26 point 6) and report settings kept with the scan (point 3).

One office where every protocol names Anna and Bob (DHCP, NetBIOS, LLMNR, mDNS, Kerberos, NTLM over SMB and
HTTP), Anna's FTP login under her own name, both using file-sharing services, and Wi-Fi stations dropping: in
pseudonymised mode no output (JSON, report, CSV, terminal, diff, notification) may hold a real name or MAC.
"""

from __future__ import annotations

import http.server
import json
import re
import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from cred_packets import ftp_exchange
from fs_packets import dns_cname_reply, hello_message
from names_packets import ANNA_IP, ANNA_MAC, BOB_IP, BOB_MAC, DC, T0, office_names
from scapy.utils import wrpcap

from detector.cli import main
from detector.samples import tcp_session, write_demo
from detector.store import Store
from detector.store.pseudonyms import MAC, PSEUDONYM, Pseudonymizer

REAL_NAMES = ["anna", "bob", "laptop-anna", "desktop-bob", "annas-macbook-pro", ANNA_MAC, BOB_MAC,
              "aa:bb:cc:00:00:0", "10:20:30:40:50:60", "3c:22:fb:00:00:0a"]


def leaks(text: str) -> list[str]:
    """Real names (case-insensitive) and MAC-shaped strings other than broadcast in ``text``."""
    lowered = text.lower()
    found = [name for name in REAL_NAMES if name.lower() in lowered]
    return found + [m.group(0) for m in MAC.finditer(text) if m.group(0).lower() != "ff:ff:ff:ff:ff:ff"]


def run(*args) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result.output


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("office")
    packets = office_names()
    packets += tcp_session(ANNA_IP, "10.0.0.5", 50200, 21, ftp_exchange("anna", "Sommer2024"), T0 + 20)
    packets += dns_cname_reply(BOB_IP, DC, "wetransfer.com", [], "52.1.2.3", T0 + 29)
    packets += tcp_session(BOB_IP, "52.1.2.3", 50300, 443,
                           [(True, hello_message("wetransfer.com")), (True, b"x" * 3000)], T0 + 30)
    packets += dns_cname_reply(ANNA_IP, DC, "www.dropbox.com", [], "162.125.1.1", T0 + 30)
    packets += tcp_session(ANNA_IP, "162.125.1.1", 50301, 443,
                           [(True, hello_message("www.dropbox.com")), (True, b"y" * 5000)], T0 + 31)
    pcap = folder / "office.pcap"
    wrpcap(str(pcap), packets)
    return [pcap, *write_demo(folder / "samples")]


class Hook(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        self.received.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    Hook.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", Hook.received
    server.shutdown()
    server.server_close()


def scan(inputs: list[Path], out: Path, *options) -> str:
    return run("scan", *inputs, "--db", out / "audit.db", "--site", "hq", "-q", "--json", out / "scan.json",
               "--report", out / "scan.html", *options)


def test_without_pseudonyms_the_names_are_there(inputs, tmp_path):
    """The check below can fail: the same scan, not pseudonymised, names Anna, Bob and their MACs."""
    terminal = scan(inputs, tmp_path)
    document = (tmp_path / "scan.json").read_text()
    assert {"anna", "laptop-anna", "desktop-bob", ANNA_MAC} <= set(leaks(document))
    assert "anna" in terminal and "anna" in (tmp_path / "scan.html").read_text()


def test_no_real_name_in_any_output(inputs, tmp_path, webhook):
    url, received = webhook
    db = tmp_path / "audit.db"
    outputs = {"terminal": scan(inputs, tmp_path, "--pseudonymize", "--notify-webhook", url,
                                "--notify-min-severity", "info")}
    outputs["json"] = (tmp_path / "scan.json").read_text()
    outputs["report"] = (tmp_path / "scan.html").read_text()
    outputs["notify"] = received[0]
    outputs["second scan"] = scan(inputs, tmp_path)  # the site stays pseudonymised without the option
    outputs["second json"] = (tmp_path / "scan.json").read_text()  # with the site state of both scans
    outputs["second report"] = (tmp_path / "scan.html").read_text()
    outputs["csv"] = run("export", "--db", db, "--format", "csv")
    outputs["export json"] = run("export", "--db", db)
    outputs["diff"] = run("diff", "--db", db, "1", "2", "--json") + run("diff", "--db", db)
    outputs["history"] = run("history", "--db", db, "--json")
    run("report", "--db", db, "-o", tmp_path / "again.html")
    outputs["report again"] = (tmp_path / "again.html").read_text()
    for name, text in outputs.items():
        assert not leaks(text), f"{name} leaks {leaks(text)}"
    document = json.loads(outputs["json"])
    anna = next(d for d in document["devices"] if d["address"] == ANNA_IP)
    assert re.fullmatch(r"host-[0-9a-f]{10} \(user-[0-9a-f]{10}@CORP\)", anna["label"])
    assert PSEUDONYM.fullmatch(anna["mac"]) and anna["vendor"] == "Apple, Inc."  # the vendor is no person
    dropbox = next(f for f in document["findings"] if f["title"].startswith("Dropbox"))
    assert dropbox["attributes"]["users"] == [anna["label"].split("(")[1].rstrip(")")]
    assert json.loads(outputs["notify"])["new_findings"]
    # the real names stay in the database, for reveal; unpseudonymised output is asked for explicitly
    assert "anna" in run("export", "--db", db, "--format", "csv", "--no-pseudonymize")


def test_same_person_same_pseudonym_across_scans_and_reveal(inputs, tmp_path):
    scan(inputs, tmp_path, "--pseudonymize")
    first = json.loads((tmp_path / "scan.json").read_text())
    scan(inputs, tmp_path, "--pseudonymize")
    second = json.loads((tmp_path / "scan.json").read_text())
    assert first["devices"] == second["devices"]
    user = re.search(r"user-[0-9a-f]{10}", next(d["label"] for d in first["devices"] if d["address"] == BOB_IP))
    mac = next(d["mac"] for d in first["devices"] if d["address"] == ANNA_IP)
    shown = run("reveal", "--db", tmp_path / "audit.db", user.group(0), mac)
    assert f"{user.group(0)} = bob (user, site hq)" in shown and f"{mac} = {ANNA_MAC} (mac, site hq)" in shown
    with sqlite3.connect(tmp_path / "audit.db") as conn:  # a pseudonym never stored is derived again
        conn.execute("DELETE FROM pseudonyms")
    assert f"{mac} = {ANNA_MAC} (mac, site hq)" in run("reveal", "--db", tmp_path / "audit.db", mac)
    unknown = CliRunner().invoke(main, ["reveal", "--db", str(tmp_path / "audit.db"), "user-0000000000"])
    assert unknown.exit_code == 2 and "no such pseudonym" in unknown.output
    # the mapping and the key are in the database only: another site gets other pseudonyms
    run("scan", *inputs, "--db", tmp_path / "audit.db", "--site", "branch", "-q", "--json", tmp_path / "b.json",
        "--pseudonymize")
    branch = json.loads((tmp_path / "b.json").read_text())
    assert {d["mac"] for d in branch["devices"]}.isdisjoint({d["mac"] for d in first["devices"]})
    with sqlite3.connect(tmp_path / "audit.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM site_keys").fetchone()[0] == 2


def test_site_setting_in_rules_pseudonymises(inputs, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("site:\n  pseudonymize: true\n")
    terminal = scan(inputs, tmp_path, "--rules", rules)
    assert not leaks(terminal + (tmp_path / "scan.json").read_text())
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("site:\n  pseudonymize: maybe\n")
    refused = CliRunner().invoke(main, ["rules", "validate", str(wrong)])
    assert refused.exit_code == 2 and "site.pseudonymize must be true or false" in refused.output


def test_pseudonymize_needs_a_database(inputs, tmp_path):
    refused = CliRunner().invoke(main, ["scan", str(inputs[0]), "--pseudonymize", "-q"])
    assert refused.exit_code == 2 and "--db" in refused.output


def test_names_in_free_text_follow_the_structured_ones():
    """A name the attributes give is replaced in titles and evidence too, whole words only, any case."""
    pseudonyms = Pseudonymizer(b"k" * 32)
    anna = pseudonyms.pseudonym("user", "anna")
    assert anna == pseudonyms.pseudonym("user", "ANNA") and anna != Pseudonymizer(b"j" * 32).pseudonym("user", "anna")
    assert MAC.sub("M", "on 10:20:30:40:50:60: 16 frames, fe80::aa:bb:cc:dd:ee:ff, 0011.2233.4455") == \
        "on M: 16 frames, fe80::aa:bb:cc:dd:ee:ff, M"


def test_report_reuses_the_settings_stored_with_the_scan(inputs, tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>')
    scan(inputs, tmp_path, "--client", "Muster GmbH", "--classification", "VERTRAULICH", "--lang", "de",
         "--logo", logo)
    run("report", "--db", tmp_path / "audit.db", "-o", tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert "Muster GmbH" in html and "VERTRAULICH" in html and 'lang="de"' in html and "data:image/svg+xml" in html
    run("report", "--db", tmp_path / "audit.db", "-o", tmp_path / "r2.html", "--client", "Beispiel AG", "--lang", "en")
    html = (tmp_path / "r2.html").read_text()
    assert "Beispiel AG" in html and "Muster GmbH" not in html and "VERTRAULICH" in html and 'lang="en"' in html
    with Store(tmp_path / "audit.db") as store:
        assert store.report_settings(1)["client"] == "Muster GmbH"


@pytest.mark.browser
def test_the_printed_report_names_nobody(inputs, tmp_path):
    from tests.test_report_browser import CHROMIUM
    from tests.test_report_layout import page_count, page_text, print_pdf

    if CHROMIUM is None:
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    scan(inputs, tmp_path, "--pseudonymize")
    pdf = tmp_path / "scan.pdf"
    print_pdf(tmp_path / "scan.html", pdf, tmp_path / "profile")
    text = "".join(page_text(pdf, page) for page in range(1, page_count(pdf) + 1))
    assert "user-" in text and "host-" in text and not leaks(text), leaks(text)
