"""The compiled build (Cython, detector.COMPILED) and the pure-Python build give the same JSON.

Every capture of the public corpus (and the bench mixes when present) is scanned alone by each build, in
its own process; the documents must be identical. Skipped when the compiled modules are not built.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from detector.capture import dispatch
from detector.inputs import PCAP_MAGICS, PCAPNG_MAGIC

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CAPTURE_MAGICS = (*PCAP_MAGICS, PCAPNG_MAGIC, b"\x1f\x8b")


def captures() -> list[str]:
    found = []
    for folder in (SHARED / "corpus", SHARED / "ndpi-more"):
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if path.is_file() and path.open("rb").read(4).startswith(CAPTURE_MAGICS):
                found.append(str(path))
    return found


def scan_with(build_env: dict, listing: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")]), **build_env}
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "parity_scan.py"), str(listing)], env=env,
                          capture_output=True, text=True, timeout=1800, check=True)
    return json.loads(done.stdout)


@pytest.mark.corpus
def test_every_corpus_capture_gives_the_same_json_compiled_and_pure(tmp_path: Path) -> None:
    if os.environ.get("SHADOWIT_PURE") or not not dispatch.__file__.endswith(".py"):
        pytest.skip("the compiled modules are not built (python setup.py build_ext --inplace, or pip install .)")
    paths = captures()
    if not paths:
        pytest.skip("public corpus ../shared/corpus is absent")
    listing = tmp_path / "captures.txt"
    listing.write_text("\n".join(paths))
    compiled = scan_with({"SHADOWIT_PURE": ""}, listing)
    pure = scan_with({"SHADOWIT_PURE": "1"}, listing)
    assert compiled["compiled"] and not pure["compiled"]
    differing = [p for p in paths if compiled["documents"][p] != pure["documents"][p]]
    assert not differing, f"{len(differing)} capture(s) differ between the builds, first: {differing[0]}"


def test_an_extension_older_than_its_source_is_not_loaded(tmp_path, monkeypatch):
    """After an edit since `pip install -e .`, the edited .py runs, not the stale build beside it."""
    import detector

    package = tmp_path / "detector" / "capture"
    package.mkdir(parents=True)
    source = package / "meter.py"
    source.write_text("BUILD = 'source'\n")
    built = package / "meter.cpython-311-x86_64-linux-gnu.so"
    built.write_bytes(b"not loaded in this test")
    os.utime(built, (1_000_000, 1_000_000))
    spec = detector._SourceFinder.find_spec("detector.capture.meter", [str(package)])
    assert spec is not None and spec.origin == str(source)
    os.utime(built, None)  # rebuilt after the edit: the extension is the module again
    os.utime(source, (1_000_000, 1_000_000))
    assert detector._SourceFinder.find_spec("detector.capture.meter", [str(package)]) is None
    monkeypatch.setattr(detector, "_PURE", True)
    assert detector._SourceFinder.find_spec("detector.capture.meter", [str(package)]).origin == str(source)
    assert detector._SourceFinder.find_spec("detector.inputs", [str(package)]) is None  # not a compiled module
