"""The files of the run just finished: the findings document (``--json``) and the HTML report (``--report``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional, TextIO

from detector.findings.result import ScanResult
from detector.outputs import OutputError
from detector.outputs.export import findings_document
from detector.outputs.report import write_run_report
from detector.session.scan import ScanOutcome
from reports.options import ReportOptions

if TYPE_CHECKING:  # the store loads only with --db (start-up)
    from detector.store import SiteState, Store


@dataclass(kw_only=True, frozen=True, eq=False, repr=False)  # never compared or printed
class OutputRequest:
    """Where a scan's or capture's result goes."""

    json_path: Optional[str] = None  # '-': standard output
    report_path: Optional[Path] = None
    db: Optional[Path] = None  # the run's database: the report shows the scans before it, and marks this one
    window: Optional[float] = None  # --window: seconds of assessment before the run (None: since the first scan)
    presentation: ReportOptions = field(default_factory=ReportOptions)
    pseudonymize: Optional[bool] = None  # --pseudonymize / --no-pseudonymize; None: the rules' site setting


def pseudonymized_run(outcome: ScanOutcome, request: OutputRequest, store: Optional[Store]) -> bool:
    """Whether the run's outputs show pseudonyms: the command line, else the rules' ``site: pseudonymize``, else
    whether the site's earlier scans were pseudonymised (a site once pseudonymised stays so)."""
    if request.pseudonymize is not None:
        return request.pseudonymize
    return outcome.policy.ruleset.settings.site_pseudonymize or (
        store is not None and store.site_pseudonymized(outcome.result.site))


def prepare_run(outcome: ScanOutcome, request: OutputRequest) -> tuple[ScanOutcome, Optional[SiteState]]:
    """Store the run's report settings, and return the run as every output shows it (pseudonymised when asked)
    with the site's state as of it (with a database; a failed run has none): the JSON, the report, the terminal
    summary and the notification all read these."""
    if request.db is None or outcome.result.scan_id is None:
        if pseudonymized_run(outcome, request, None):
            raise OutputError("--pseudonymize needs --db: the site's pseudonym key and the mapping back to the real "
                              "names are kept only there")
        return outcome, None
    from detector.store import Store, StoreError

    try:
        with Store(request.db) as store:
            pseudonymize = pseudonymized_run(outcome, request, store)
            store.save_report_settings(outcome.result.scan_id,
                                       {**request.presentation.settings(), "pseudonymize": pseudonymize})
            store.pseudonymize = pseudonymize
            shown = dataclasses.replace(outcome, result=store.pseudonymized(outcome.result))
            if outcome.failed:
                return shown, None
            if request.window is None and outcome.state is not None and not pseudonymize:
                return shown, outcome.state  # the state the run stored its grade from
            return shown, store.site_state(outcome.result.scan_id, window=request.window)
    except StoreError as exc:
        raise OutputError(f"{request.db}: {exc}") from None


def write_outputs(outcome: ScanOutcome, request: OutputRequest, stdout: TextIO,
                  state: Optional[SiteState] = None) -> None:
    if request.json_path:
        write_findings_json(outcome.result, request.json_path, stdout, state)
    if request.report_path:
        write_run_report(outcome, request.report_path, request.db, request.presentation, state)


def write_findings_json(result: ScanResult, target: str, stdout: TextIO, state: Optional[SiteState] = None) -> None:
    """The findings document (shadowit.findings/1), ASCII only, to a file or standard output ('-')."""
    from detector.jsontext import dumps_indented

    text = dumps_indented(findings_document(result, state))
    if target == "-":
        stdout.write(text + "\n")
        return
    try:
        Path(target).write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
