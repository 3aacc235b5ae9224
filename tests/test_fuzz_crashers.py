"""Every input that ever crashed or hung a fuzz target stays a regression test.

``python -m fuzz`` saves crashers under fuzz/crashers/<target>/; the issue 13
crashers were added there by hand (issue13-*). Each must now run through its
target without an exception and in well under the fuzzer's 10 s hang limit.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fuzz.targets import TARGETS

CRASHERS = Path(__file__).resolve().parent.parent / "fuzz" / "crashers"
FILES = sorted(p for p in CRASHERS.glob("*/*") if p.is_file() and not p.name.startswith("."))


def test_crasher_folders_name_real_targets():
    assert FILES, "the issue 13 crashers are missing"
    assert {p.parent.name for p in FILES} <= set(TARGETS)


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_crasher_no_longer_crashes(path):
    started = time.process_time()
    TARGETS[path.parent.name].run(path.read_bytes())
    assert time.process_time() - started < 5
