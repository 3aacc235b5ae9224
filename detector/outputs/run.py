"""The files of the run just finished: the findings document (``--json``) and the HTML report (``--report``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, TextIO

from detector.findings.result import ScanResult
from detector.outputs import OutputError
from detector.outputs.report import write_run_report
from detector.session.scan import ScanOutcome
from reports.options import ReportOptions


@dataclass(kw_only=True, frozen=True, eq=False, repr=False)  # never compared or printed
class OutputRequest:
    """Where a scan's or capture's result goes."""

    json_path: Optional[str] = None  # '-': standard output
    report_path: Optional[Path] = None
    db: Optional[Path] = None  # the run's database: the report shows the scans before it, and marks this one
    presentation: ReportOptions = field(default_factory=ReportOptions)


def write_outputs(outcome: ScanOutcome, request: OutputRequest, stdout: TextIO) -> None:
    if request.json_path:
        write_findings_json(outcome.result, request.json_path, stdout)
    if request.report_path:
        write_run_report(outcome, request.report_path, request.db, request.presentation)


def write_findings_json(result: ScanResult, target: str, stdout: TextIO) -> None:
    """The findings document (shadowit.findings/1), ASCII only, to a file or standard output ('-')."""
    from detector.jsontext import dumps_indented

    text = dumps_indented(result.as_dict())
    if target == "-":
        stdout.write(text + "\n")
        return
    try:
        Path(target).write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
