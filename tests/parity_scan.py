"""Test helper, run as a script: scan each capture given alone, print {path: its --json document, times removed}.

tests/test_build_parity.py runs it once with the compiled and once with the pure-Python build (SHADOWIT_PURE=1).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from detector.capture import dispatch
from detector.outputs.export import write_json
from detector.session.scan import ScanRequest, run_scan

VOLATILE = ("started", "finished", "command_line", "hostname", "tool_version")


def document(path: str) -> dict:
    outcome = run_scan(ScanRequest(paths=[path], rules_files=[]))
    out = io.StringIO()
    write_json(outcome.result, out)
    doc = json.loads(out.getvalue())
    for key in VOLATILE:
        doc["scan"].pop(key, None)
    return doc


def main(paths: list[str]) -> None:
    compiled = not dispatch.__file__.endswith(".py")
    json.dump({"compiled": compiled, "documents": {p: document(p) for p in paths}}, sys.stdout)


if __name__ == "__main__":
    main([line.strip() for line in Path(sys.argv[1]).read_text().splitlines() if line.strip()])
