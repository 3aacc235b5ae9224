"""Test helper: run the real pipeline on files and return classified findings, or one log decoder on lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta, timezone
from pathlib import Path
from typing import Optional

from detector.findings.finding import Finding
from detector.findings.result import InputRecord
from detector.logs.base import LogContext, LogDecoder
from detector.policy import load_ruleset
from detector.policy.catalog import load_catalog
from detector.policy.settings import Settings
from detector.session.pipeline import Scan, ScanConfig
from detector.session.policy import classify


def scan_files(*paths: Path, settings: Optional[Settings] = None, tz: Optional[int] = None,
               rules: bool = True) -> tuple[list[Finding], list[InputRecord], Scan]:
    ruleset = load_ruleset([]) if rules else None
    zone = None if tz is None else timezone(timedelta(seconds=tz))  # tz: a fixed offset in seconds
    config = ScanConfig(settings or (ruleset.settings if ruleset else Settings()), load_catalog(), zone)
    scan = Scan(config)
    for path in paths:
        scan.add_file(Path(path))
    findings = scan.finish()
    if ruleset is not None:
        findings = classify(findings, ruleset)
    return findings, scan.inputs, scan


def by_detector(findings: list[Finding], detector: str) -> list[Finding]:
    return [f for f in findings if f.detector == detector]


def decode_lines(decoder: LogDecoder, name: str, lines: Sequence[str]) -> tuple[list, int]:
    """Observations from one log decoder alone, and how many lines it called malformed."""
    parser = decoder.parser(LogContext(name))
    seen: list = []
    malformed = sum(not parser.parse(line, f"{name}:line {n}", seen.append) for n, line in enumerate(lines, 1))
    parser.finish(seen.append)
    return seen, malformed


def only(observations: list, kind: type) -> list:
    return [o for o in observations if isinstance(o, kind)]
