"""Scheduled runs: systemd units (checked by systemd-analyze when present) and crontab lines."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from detector.cli import main
from detector.schedule import Schedule, ScheduleError, cron_log, installed, reported_scans, service_unit

EXE = "/usr/local/bin/shadowit"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)


def verify(*units: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["systemd-analyze", "verify", *map(str, units)], capture_output=True, text=True,
                          timeout=60)


def test_install_writes_a_timer_and_a_service_that_systemd_accepts(tmp_path):
    state, reports = tmp_path / "lib", tmp_path / "reports"
    command = ["schedule", "install", "--every", "daily", "--at", "02:00", "--name", "shadowit-hq",
               "--unit-dir", str(tmp_path), "--", "scan", "/srv/drop", "--db", str(state / "hq.db"),
               "--site", "HQ office", "--report", str(reports / "hq-100%.html")]
    missing = run(*command)  # the job would fail every night: refused at install, nothing written
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert not (tmp_path / "shadowit-hq.service").exists()
    state.mkdir()
    reports.mkdir()
    result = run(*command)
    assert result.exit_code == 0, result.output
    service, timer = tmp_path / "shadowit-hq.service", tmp_path / "shadowit-hq.timer"
    text = service.read_text()
    exec_start = [line for line in text.splitlines() if line.startswith("ExecStart=")][0]
    executable = exec_start.split("=", 1)[1].split(" ")[0]
    assert Path(executable).is_absolute() and Path(executable).name == "shadowit"
    assert exec_start.endswith(f'scan /srv/drop --db {state}/hq.db --site "HQ office" '
                               f'--report {reports}/hq-100%%.html')
    assert "Type=oneshot" in text
    timer_text = timer.read_text()
    assert "OnCalendar=*-*-* 02:00:00" in timer_text and "Persistent=true" in timer_text
    assert "Unit=shadowit-hq.service" in timer_text
    shown = run("schedule", "show", "--unit-dir", str(tmp_path))
    assert "shadowit-hq: *-*-* 02:00:00" in shown.output and "scan /srv/drop" in shown.output
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not installed: unit syntax not verified by systemd")
    checked = verify(service, timer)
    assert checked.returncode == 0, checked.stderr
    timer.write_text(timer_text.replace("OnCalendar=*-*-* 02:00:00", "OnCalendar=at teatime"))
    assert verify(service, timer).returncode != 0  # the check can fail


def test_periods_and_cron_lines(tmp_path):
    log = Path("/var/lib/shadowit/logs/hq.log")
    hourly = Schedule("hourly", "00:15", ["scan", "/srv/drop"], executable=EXE)
    weekly = Schedule("weekly", "23:05", ["capture", "-i", "eth0", "--duration", "8h"], executable=EXE)
    assert hourly.on_calendar() == "*-*-* *:15:00"
    assert weekly.on_calendar() == "Mon *-*-* 23:05:00"
    assert hourly.cron_line(log) == f"15 * * * * {EXE} scan /srv/drop >> {log} 2>&1"
    assert weekly.cron_line(log) == f"5 23 * * 1 {EXE} capture -i eth0 --duration 8h >> {log} 2>&1"
    quoted = Schedule("daily", "02:00", ["scan", "/srv/my drop", "--report", "r%d.html"], executable=EXE)
    assert quoted.cron_line(Path("/srv/my logs/%h.log")) == \
        f"0 2 * * * {EXE} scan '/srv/my drop' --report r\\%d.html >> '/srv/my logs/\\%h.log' 2>&1"
    assert '"/srv/my drop"' in service_unit(quoted)
    home = tmp_path / "state"
    result = run("schedule", "install", "--cron", "--at", "03:30", "--name", "hq", "--", "scan", "/srv/drop",
                 env={"SHADOWIT_HOME": str(home)})
    assert result.exit_code == 0 and result.output.startswith("30 3 * * * /") and "scan /srv/drop" in result.output
    assert result.output.rstrip("\n").endswith(f"scan /srv/drop >> {home / 'logs' / 'hq.log'} 2>&1")
    assert (home / "logs").is_dir() and (home / "logs").stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize(("args", "message"), [
    (["scan", "/srv/drop", "--databse", "x"], "shadowit scan: No such option '--databse'. Did you mean '--db'?"),
    (["scan", "/srv/drop", "--db"], "shadowit scan: Option '--db' requires an argument."),
    (["scan", "--db", "x.db"], "shadowit scan: Missing argument 'INPUTS...'."),
    (["scan", "/srv/drop", "--fail-on", "hihg"], "Invalid value for '--fail-on': 'hihg' is not one of"),
    (["capture", "-i", "eth0", "--duration"], "shadowit capture: Option '--duration' requires an argument."),
    (["scan", "--help"], "shadowit scan: No such option '--help'."),
], ids=["typo", "no-value", "no-input", "bad-choice", "capture", "help"])
@pytest.mark.parametrize("cron", [False, True], ids=["systemd", "cron"])
def test_the_scheduled_command_is_parsed_before_anything_is_written(tmp_path, args, message, cron):
    units, home = tmp_path / "units", tmp_path / "state"
    result = run("schedule", "install", *(["--cron"] if cron else []), "--unit-dir", str(units), "--", *args,
                 env={"SHADOWIT_HOME": str(home)})
    assert result.exit_code == 2
    assert result.output.splitlines() == [result.output.splitlines()[0]]
    assert result.output.startswith("shadowit: error: the command after --: ") and message in result.output
    assert not units.exists() and not home.exists()


def test_a_cron_log_lives_in_the_state_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("SHADOWIT_HOME", str(tmp_path))
    assert cron_log("hq") == tmp_path / "logs" / "hq.log"


@pytest.mark.parametrize("every, at, args, name", [
    ("monthly", "02:00", ["scan", "x"], "s"),
    ("daily", "25:00", ["scan", "x"], "s"),
    ("daily", "02:00", [], "s"),
    ("daily", "02:00", ["demo"], "s"),
    ("daily", "02:00", ["scan", "x"], "../etc/evil"),
])
def test_bad_schedules_are_refused(every, at, args, name):
    with pytest.raises(ScheduleError):
        Schedule(every, at, args, name, executable=EXE)


def test_cli_errors_and_empty_show(tmp_path):
    result = run("schedule", "install", "--at", "7pm", "--unit-dir", str(tmp_path), "--", "scan", "x")
    assert result.exit_code == 2 and result.output.startswith("shadowit: error: --at")
    assert "no shadowit schedule" in run("schedule", "show", "--unit-dir", str(tmp_path)).output
    (tmp_path / "other.timer").write_text("[Timer]\nOnCalendar=daily\n")
    assert installed(tmp_path) == []


def test_an_older_versions_reported_sidecar_is_still_honoured(tmp_path):
    db = tmp_path / "a.db"
    assert reported_scans(db) == set()
    (tmp_path / "a.db.reported.json").write_text('{"schema": "shadowit.reported/1", "reported_scans": [1, 3, "x"]}')
    assert reported_scans(db) == {1, 3}
