"""Hostile and broken input through the real command: terminal safety, rules limits, exit codes (issue 13)."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from detector.samples import tcp_session, write_pcap
from detector.termsafe import SafeStream, term_safe
from tests.cred_packets import CLIENT, SERVER, T0, ftp_exchange

ROOT = Path(__file__).resolve().parent.parent
OSC_TITLE = "\x1b]0;pwned\x07"
OSC_CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07"
BIDI = "\u202egpj.exe"
RAW_BYTES = re.compile(rb"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]")


def shadowit(*args: object, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    """The installed command as a user runs it, from this tree."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="120")
    return subprocess.run([sys.executable, "-m", "detector.cli", *map(str, args)], capture_output=True,
                          timeout=timeout, env=env, **kwargs)


def hostile_ftp_capture(path: Path) -> Path:
    user = f"adm{OSC_TITLE}in{OSC_CLIPBOARD}x{BIDI}"
    packets = tcp_session(CLIENT, SERVER, 50123, 21, ftp_exchange(user, "Hunter2!secret"), T0)
    return write_pcap(path, packets)


# ---------------------------------------------------------------- terminal


def test_term_safe_escapes_controls_escape_sequences_and_bidi():
    shown = term_safe(f"a{OSC_TITLE}b\x9b31m\x7f{BIDI}\u2066x\u2069\nz\tq")
    assert shown == "a\\x1b]0;pwned\\x07b\\x9b31m\\x7f\\u202egpj.exe\\u2066x\\u2069\\x0az\\x09q"
    assert term_safe("plain text: ünïcode ok") == "plain text: ünïcode ok"
    assert term_safe("two\nlines", keep="\n") == "two\nlines"


def test_safe_stream_keeps_progress_redraws_but_escapes_the_rest():
    class Sink:
        def __init__(self):
            self.text = ""

        def write(self, text):
            self.text += text

        def flush(self):
            pass

    sink = Sink()
    SafeStream(sink).write(f"\rfile{OSC_TITLE}.pcap [###]\n")
    assert sink.text == "\rfile\\x1b]0;pwned\\x07.pcap [###]\n"


def test_scan_of_hostile_ftp_user_prints_no_raw_escape_bytes(tmp_path):
    capture = hostile_ftp_capture(tmp_path / "hostile.pcap")
    junk = tmp_path / f"evil{OSC_TITLE}{BIDI}.pcap"  # a file name is input too: its warning line names it
    junk.write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 10)
    rules = tmp_path / "site.yaml"
    rules.write_text("version: 1\n")
    proc = shadowit("scan", capture, junk, "--rules", rules, "--db", tmp_path / "s.db", "--json", tmp_path / "f.json",
                    "--site", f"hq{OSC_CLIPBOARD}")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output.decode(errors="replace")
    assert b"top findings:" in proc.stdout and b"warning:" in proc.stdout
    assert b"\\x1b]0;pwned\\x07" in proc.stdout or b"\\x1b]52" in proc.stdout, proc.stdout.decode()
    assert not RAW_BYTES.search(output), output
    for command in (("history", "--db", tmp_path / "s.db"), ("diff", "--db", tmp_path / "s.db")):
        shown = shadowit(*command)
        assert not RAW_BYTES.search(shown.stdout + shown.stderr), shown


def test_rule_errors_quoting_hostile_text_are_escaped(tmp_path):
    rules = tmp_path / "evil.yaml"
    rules.write_text(f"version: 1\nrules:\n  - id: r1\n    title: t\n    severity: high\n"
                     f"    match: {{user: {{regex: '(\"{OSC_TITLE}'}}}}\n    bogus{BIDI}: 1\n", encoding="utf-8")
    proc = shadowit("rules", "validate", rules)
    assert proc.returncode == 2
    assert not RAW_BYTES.search(proc.stdout + proc.stderr), proc.stderr


# ---------------------------------------------------------------- rules that attack the validator


def _rules_file(path: Path, body: str) -> Path:
    path.write_text("version: 1\n" + body, encoding="utf-8")
    return path


def test_rules_nested_a_thousand_deep_are_refused_quickly(tmp_path):
    deep = _rules_file(tmp_path / "deep.yaml", "rules:\n  - id: x\n    title: t\n    severity: low\n    match:\n"
                       "      " + "all: [" * 1000 + "]" * 1000 + "\n")
    for command in (("rules", "validate", deep), ("scan", tmp_path / "deep.yaml", "--rules", deep)):
        proc = shadowit(*command)
        assert proc.returncode == 2, proc.stderr
        assert b"nested too deeply" in proc.stderr and b"Traceback" not in proc.stderr


def test_yaml_alias_bomb_is_refused(tmp_path):
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    bomb = _rules_file(tmp_path / "bomb.yaml", "\n".join(lines) + "\n")
    started = time.monotonic()
    proc = shadowit("rules", "validate", bomb)
    assert proc.returncode == 2 and b"alias bombs are refused" in proc.stderr, proc.stderr
    assert time.monotonic() - started < 20


def test_twenty_thousand_rules_are_rejected_fast(tmp_path):
    rules = "".join(f"  - id: r{i}\n    title: rule {i}\n    severity: low\n    match:\n      category: file-sharing\n"
                    for i in range(20_000))
    many = _rules_file(tmp_path / "many.yaml", "rules:\n" + rules)
    started = time.monotonic()
    proc = shadowit("rules", "validate", many)
    elapsed = time.monotonic() - started
    assert proc.returncode == 2 and b"more than 1000 rules" in proc.stderr, proc.stderr
    assert elapsed < 10, f"took {elapsed:.1f} s"  # 19 s before; ~1 s now, most of it interpreter start-up


def test_catastrophic_rule_regex_cannot_hang_a_scan(tmp_path):
    user = "a" * 30 + "!"
    capture = write_pcap(tmp_path / "ftp.pcap",
                         tcp_session(CLIENT, SERVER, 50124, 21, ftp_exchange(user, "Hunter2!secret"), T0))
    rules = _rules_file(tmp_path / "slow.yaml", "rules:\n  - id: slow-regex\n    title: slow\n    severity: high\n"
                        "    match:\n      username: {regex: '(a+)+$'}\n")
    assert shadowit("rules", "validate", rules).returncode == 0
    started = time.monotonic()
    proc = shadowit("scan", capture, "--rules", rules, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 30


def test_tz_out_of_range_is_a_usage_error(tmp_path):
    proc = shadowit("scan", hostile_ftp_capture(tmp_path / "a.pcap"), "--tz", "+25:00")
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr
    assert b"--tz" in proc.stderr


# ---------------------------------------------------------------- output errors, garbage, interruptions (app.py)


@pytest.mark.parametrize("where", ["missing-dir", "a-directory", "read-only"])
def test_json_output_that_cannot_be_written_exits_2_with_one_line(tmp_path, where):
    capture = hostile_ftp_capture(tmp_path / "a.pcap")
    target = {"missing-dir": tmp_path / "nope" / "f.json", "a-directory": tmp_path}.get(where)
    if where == "read-only":
        target = tmp_path / "ro.json"
        target.write_text("{}")
        target.chmod(0o444)
        if os.access(target, os.W_OK):
            pytest.skip("running as root: a read-only file is still writable")
    proc = shadowit("scan", capture, "--json", target)
    assert proc.returncode == 2, proc.stderr
    assert b"Traceback" not in proc.stderr
    assert len(proc.stderr.decode().strip().splitlines()) == 1, proc.stderr


def test_json_output_on_a_full_disk_exits_2(tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    proc = shadowit("scan", hostile_ftp_capture(tmp_path / "a.pcap"), "--json", "/dev/full")
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr, proc.stderr


def test_scan_of_nothing_but_random_bytes_exits_2(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(64 * 1024))
    proc = shadowit("scan", junk)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert b"Traceback" not in proc.stderr


@pytest.mark.parametrize("signame, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_interrupted_scan_exits_130_or_143(tmp_path, signame, code):
    import signal

    folder = tmp_path / "drop"
    folder.mkdir()
    hostile_ftp_capture(folder / "a.pcap")
    (folder / "b-huge.bin").touch()
    os.truncate(folder / "b-huge.bin", 1 << 40)  # sparse: still being hashed when the signal comes (FIFOs are not read)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "detector.cli", "scan", str(folder), "--db", str(tmp_path / "t.db"),
                             "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    time.sleep(3)
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert b"Traceback" not in err


def test_database_stays_readable_after_a_full_disk(tmp_path):
    """history and report keep working after a scan failed to write for lack of space."""
    db = tmp_path / "s.db"
    capture = hostile_ftp_capture(tmp_path / "a.pcap")
    assert shadowit("scan", capture, "--db", db).returncode == 0
    limit = "import resource; resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))"  # no room to write
    script = (f"import os, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); db_size = os.path.getsize("
              f"{str(db)!r}); {limit}; sys.argv = ['shadowit', 'scan', {str(capture)!r}, '--db', {str(db)!r}]; "
              "from detector.cli import main; main()")
    full = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert full.returncode == 2 and b"Traceback" not in full.stderr, full.stderr
    history = shadowit("history", "--db", db)
    assert history.returncode == 0 and b"disk I/O error" not in history.stderr, history.stderr
    assert shadowit("report", "--db", db, "-o", tmp_path / "r.html").returncode == 0


# ---------------------------------------------------------------- terminal: invisible characters and forged lines


def test_term_safe_escapes_tags_variation_selectors_and_other_invisible_characters():
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "rm -rf")  # ASCII smuggled as tag characters
    shown = term_safe(f"ok{hidden}\U000e0001\ufe0f\U000e0100\u200b\u00ad\u2028\u180e\u2061\u3164.")
    assert shown == ("ok\\U000e0072\\U000e006d\\U000e0020\\U000e002d\\U000e0072\\U000e0066\\U000e0001\\ufe0f\\U000e0100"
                     "\\u200b\\xad\\u2028\\u180e\\u2061\\u3164.")
    assert term_safe("Köln 東京 🙂 ü") == "Köln 東京 🙂 ü"  # visible text, emoji included, is kept


def _pty_run(args: tuple, tty: str) -> bytes:
    """The command with stdout or stderr on a terminal (a pty), as a user at a console sees it."""
    import pty
    import threading

    master, slave = pty.openpty()
    seen = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    streams = {"stdout": slave, "stderr": subprocess.PIPE} if tty == "stdout" else {"stdout": subprocess.PIPE,
                                                                                     "stderr": slave}
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="120")
    proc = subprocess.run([sys.executable, "-m", "detector.cli", *map(str, args)], timeout=120, env=env, **streams)
    os.close(slave)
    reader.join(10)
    os.close(master)
    assert proc.returncode == 0, proc
    return bytes(seen)


def test_a_file_name_cannot_forge_lines_in_the_progress_bar_or_a_csv_on_a_terminal(tmp_path):
    capture = write_pcap(tmp_path / "ftp.pcap",
                         tcp_session(CLIENT, SERVER, 50125, 21, ftp_exchange("alice", "Hunter2!secret"), T0))
    data = capture.read_bytes()
    order = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    junk = struct.pack(order + "IIII", int(T0) + 60, 0, 1500, 1500) + b"\x00" * 1500  # big enough for the bar
    forged = tmp_path / "ftp\r\nFORGED,row.pcap"
    forged.write_bytes(data + junk * 3000)
    db = tmp_path / "s.db"
    progress = _pty_run(("scan", forged, "--db", db), tty="stderr")
    assert b"ftp\\x0d\\x0aFORGED" in progress, progress
    assert b"\nFORGED" not in progress and b"\rFORGED" not in progress
    exported = _pty_run(("export", "--db", db, "--format", "csv"), tty="stdout")
    assert b"ftp\\x0d\\x0aFORGED" in exported, exported
    assert b"\nFORGED" not in exported and b"\rFORGED" not in exported
