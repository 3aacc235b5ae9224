"""ruff runs with the tests, so CI fails on a lint error as it does on a failing test."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_is_clean():
    ruff = shutil.which("ruff")
    command = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    try:
        done = subprocess.run([*command, "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        pytest.skip("ruff is not installed (it is in the test extras)")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
