"""Shared fixtures: every test gets its own fingerprint key and never touches ~/.config."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("shadowit-home")
    monkeypatch.setenv("SHADOWIT_HOME", str(home))
    from detector import secrets

    secrets._KEY_CACHE.clear()
    return home


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("public corpus ../shared/corpus is absent")
    return CORPUS
