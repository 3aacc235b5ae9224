"""The ``shadowit`` command: the only module that knows click and exit codes."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timezone, tzinfo
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

import click

from detector import __version__
from detector.findings.finding import SEVERITIES, SEVERITY_RANK
from detector.findings.result import ScanResult
from detector.inputs import InputError
from detector.interrupts import Aborted, stop_reason
from detector.outputs import OutputError
from detector.outputs.export import BLOCKLIST_STYLES, EXPORT_FORMATS
from detector.outputs.notify import NotifyConfig, NotifyConfigError, notify
from detector.outputs.report import ReportRequest, write_stored_report
from detector.outputs.run import OutputRequest, prepare_run, write_findings_json, write_outputs
from detector.outputs.stored import (
    DiffRequest,
    ExportRequest,
    diff_scans,
    export_scan,
    open_store,
    scan_history,
)
from detector.outputs.stored import reveal as reveal_pseudonyms
from detector.policy import RuleLoadError, load_ruleset, validate_files
from detector.policy.catalog import CatalogError
from detector.policy.matcher import REGEX_TIMEOUT_SECONDS, BoundedRegex
from detector.schedule import (
    DEFAULT_UNIT_DIR,
    PERIODS,
    Schedule,
    ScheduleError,
    cron_log,
    install,
    installed,
    prepare_cron_log,
    reported_scans,
)
from detector.secrets import redacted_command_line
from detector.session.scan import ScanOutcome, ScanRequest, run_scan
from detector.store import LockBusy, StoreError
from detector.termsafe import SafeLines, SafeStream, term_safe
from detector.times import ZoneError, parse_zone
from reports.i18n import LANGUAGES, N_, _, category_label, severity_label, use_language
from reports.options import ReportOptions

if TYPE_CHECKING:  # the store loads only with --db (start-up)
    from detector.store import SiteState


def parse_duration(text: str) -> float:
    """detector.session.live.parse_duration, imported when a duration option is given."""
    from detector.session.live import parse_duration as parse

    return parse(text)


def _capture_error() -> type[Exception]:
    """The error only live capture raises; imported once an exception is being matched (see _guarded)."""
    from detector.capture.live import LiveCaptureError

    return LiveCaptureError


class ExitStatus(IntEnum):
    OK = 0
    FINDINGS = 1  # --fail-on threshold reached
    ERROR = 2  # usage, unreadable input, nothing usable read, invalid rules, unwritable output
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT): what was read is stored, the scan marked incomplete
    TERMINATED = 143  # SIGTERM (128 + SIGTERM), likewise


EXIT_FOR_SIGNAL = {"SIGINT": ExitStatus.INTERRUPTED, "SIGTERM": ExitStatus.TERMINATED}


class Failure(click.ClickException):
    exit_code = ExitStatus.ERROR

    def show(self, file=None) -> None:
        _say(f"shadowit: error: {self.message}", err=True)


def _say(text: str = "", err: bool = False) -> None:
    """click.echo for any line that may hold text from the wire, a log, a file name or the store."""
    click.echo(term_safe(text, keep="\n"), err=err)


def parse_tz(value: Optional[str]) -> Optional[tzinfo]:
    """'+02:00', '-0500', 'UTC' or an IANA name (Europe/Berlin, DST-correct) -> a zone; else exit 2."""
    if value is None:
        return None
    try:
        return parse_zone(value)
    except ZoneError as exc:
        raise click.BadParameter(str(exc), param_hint="--tz") from None


def _in_existing_directory(ctx: click.Context, param: click.Parameter, value):
    """An output path whose directory exists: a typo in it fails at once, before any work, and creates nothing."""
    if value is None or str(value) == "-":
        return value
    parent = Path(value).parent
    if not parent.is_dir():
        why = "is not a directory" if parent.exists() else "does not exist"
        raise Failure(f"{param.opts[-1]} {value}: {parent} {why}; create the directory first or correct the path")
    return value


def _rules_paths(rules: tuple[str, ...]) -> Optional[list[Path]]:
    return [Path(r) for r in rules] if rules else None


class Duration(click.ParamType):
    """30s, 10m, 2h, 7d or bare seconds."""

    name = "duration"

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return self.from_text(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)

    def from_text(self, text: str) -> float:
        return parse_duration(text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="shadowit")
def main() -> None:
    """Find shadow IT in captures and logs: file sharing, clear-text passwords, recurring Wi-Fi drops."""


# ---------------------------------------------------------------- scan

SCAN_OPTIONS = [
    click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
                 callback=_in_existing_directory, help="Write the HTML risk report here."),
    click.option("--json", "json_path", type=str, callback=_in_existing_directory,
                 help="Write the findings document (shadowit.findings/1); '-' = stdout."),
    click.option("--db", type=click.Path(dir_okay=False, path_type=Path), callback=_in_existing_directory,
                 help="Keep the scan in this SQLite file."),
    click.option("--rules", "rules", multiple=True, type=click.Path(exists=True, dir_okay=False),
                 help="Site policy file (repeatable); default ./rules.yaml."),
    click.option("--site", default="", help="Site (office, client) name recorded with the scan."),
    click.option("--operator", default="", help="Who ran the scan (default: the login name)."),
    click.option("--tz", default=None,
                 help="Site time zone for log times without one and for times of day: +01:00 or Europe/Berlin."),
    click.option("--fail-on", type=click.Choice(SEVERITIES), help="Exit 1 when a finding at or above this exists."),
    click.option("--quiet", "-q", is_flag=True, help="No progress bar, summary only."),
    click.option("--local-nets", "local_nets", multiple=True, metavar="CIDR[,CIDR...]",
                 help="The site's own networks (repeatable or comma-separated), in place of the rules file's "
                      "site: networks:; default: inferred (private ranges plus LAN evidence)."),
]

# How the report looks: language and the consultant's branding (scan, capture and report).
PRESENTATION_OPTIONS = [
    click.option("--lang", "lang", type=click.Choice(LANGUAGES), default=None,
                 help="Language of the report and the terminal summary (default en, or as stored with the scan)."),
    click.option("--client", default=None, help="Client name for the report cover."),
    click.option("--logo", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                 help="Logo for the cover (PNG, JPEG, GIF, WebP or SVG, at most 256 KiB; SVG is sanitized)."),
    click.option("--classification", default=None,
                 help="Marking on the cover and every printed page, e.g. CONFIDENTIAL."),
]
PSEUDONYMIZE_OPTION = click.option(
    "--pseudonymize/--no-pseudonymize", "pseudonymize", default=None,
    help="Show user names, host names and MAC addresses as the site's stable pseudonyms in every output (needs "
         "--db, which keeps the key and the mapping; `shadowit reveal` turns one back). Default: the rules' "
         "site: pseudonymize, or as the site's stored scans were.")


def presentation_options(func):
    for option in reversed(PRESENTATION_OPTIONS):
        func = option(func)
    return func


def _presentation_given(lang: Optional[str], client: Optional[str], logo: Optional[Path],
                        classification: Optional[str]) -> dict[str, str]:
    """The presentation settings the command line gives (the others come from defaults or the stored scan);
    checked before any work starts, so a bad logo fails in one line, not after an hour of capture."""
    from reports.branding import Branding, BrandingError

    try:
        branding = Branding.from_options(client, logo, classification)
    except BrandingError as exc:
        raise Failure(f"--logo {exc}") from None
    given = {"language": lang, "client": branding.client if client is not None else None,
             "classification": branding.classification if classification is not None else None,
             "logo_data_uri": branding.logo_data_uri if logo is not None else None}
    return {key: value for key, value in given.items() if value is not None}


def _presentation(lang: Optional[str], client: Optional[str], logo: Optional[Path],
                  classification: Optional[str]) -> ReportOptions:
    return ReportOptions.from_settings(_presentation_given(lang, client, logo, classification))


UNATTENDED_OPTIONS = [
    click.option("--wait/--no-wait", "wait", default=True, show_default=True,
                 help="When another run holds the database: wait for it, or exit 2 at once."),
    click.option("--notify-webhook", metavar="URL", help="POST new findings as JSON (shadowit.notify/1) here."),
    click.option("--notify-smtp", metavar="HOST[:PORT]", help="Mail new findings through this SMTP relay."),
    click.option("--notify-to", multiple=True, metavar="ADDR", help="Mail recipient (repeatable)."),
    click.option("--notify-from", default="", metavar="ADDR", help="Mail sender (default shadowit@HOSTNAME)."),
    click.option("--notify-min-severity", type=click.Choice(SEVERITIES), default="high", show_default=True,
                 help="Only notify about new findings at or above this severity."),
]


def scan_options(func):
    for option in reversed(SCAN_OPTIONS):
        func = option(func)
    return func


def unattended_options(func):
    for option in reversed(UNATTENDED_OPTIONS):
        func = option(func)
    return func


def _notify_config(webhook, smtp, to, sender, min_severity) -> NotifyConfig:
    config = NotifyConfig(webhook, smtp, list(to), sender, min_severity)
    try:
        config.check()
    except NotifyConfigError as exc:
        raise Failure(str(exc)) from None
    return config


class TimeBound(Duration):
    """An ISO-8601 time (2026-11-29T15:00, UTC unless it says) or an age before now (2h, 7d)."""

    name = "time"

    def from_text(self, text: str) -> float:
        try:
            return time.time() - parse_duration(text)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{text!r}: use an ISO time (2026-11-29T15:00Z) or an age such as 2h or 7d") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@scan_options
@unattended_options
@click.option("--since", type=TimeBound(), help="Only records at or after this time: ISO-8601 or an age (2h, 7d).")
@click.option("--until", type=TimeBound(), help="Only records before this time: ISO-8601 or an age (30m).")
@click.option("--incremental", is_flag=True,
              help="Logs: read only lines earlier scans of --db did not (growing and rotated logs, hourly runs).")
@click.option("--window", type=Duration(), default=None,
              help="Assessment window with --db, e.g. 30d: findings of earlier scans in it that were not re-checked "
                   "stay in the grade (default: since the site's first scan).")
@presentation_options
@PSEUDONYMIZE_OPTION
def scan(inputs, report_path, json_path, db, rules, site, operator, tz, fail_on, quiet, local_nets, wait,
         notify_webhook, notify_smtp, notify_to, notify_from, notify_min_severity, since, until, incremental,
         window, lang, client, logo, classification, pseudonymize) -> None:
    """Scan captures (pcap, pcapng, .gz), logs and directories."""
    presentation = _presentation(lang, client, logo, classification)
    notify_config = _notify_config(notify_webhook, notify_smtp, notify_to, notify_from, notify_min_severity)
    if incremental and db is None:
        raise click.UsageError("--incremental keeps its reading positions in the database: add --db FILE")
    _require_db_for_pseudonyms(pseudonymize, db)
    if since is not None and until is not None and since >= until:
        raise click.UsageError("--since must be before --until")
    records = None
    if since is not None or until is not None:
        from detector.logs.incremental import TimeWindow

        records = TimeWindow(since, until)
    request = ScanRequest(paths=inputs, rules_files=_rules_paths(rules), db=db, site=site, operator=operator or None,
                          zone=parse_tz(tz), progress_stream=None if quiet else _progress_stream(), argv=_argv(),
                          wait_for_lock=wait, window=records, incremental=incremental,
                          local_nets=_local_nets(local_nets))
    outcome = _guarded(run_scan, request, json_path=json_path)
    outcome = _deliver(outcome, OutputRequest(json_path=json_path, report_path=report_path, db=db, window=window,
                                              presentation=presentation, pseudonymize=pseudonymize))
    _networks_line(outcome, quiet, presentation.language)
    _notify(outcome, notify_config, db, to_stderr=json_path == "-")
    _exit_for(outcome, fail_on)


def _require_db_for_pseudonyms(pseudonymize: Optional[bool], db: Optional[Path]) -> None:
    if pseudonymize and db is None:
        raise click.UsageError("--pseudonymize keeps the site's pseudonym key and the mapping back to the real names "
                               "in the database: add --db FILE")


def _local_nets(values: tuple[str, ...]) -> list[str]:
    """--local-nets values, each a CIDR list: one clear line and exit 2 for a bad entry."""
    from detector.site.networks import NetworkSpecError, parse_networks

    texts = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if values and not texts:
        raise Failure("--local-nets: no network given (expected CIDR[,CIDR...], e.g. 10.0.0.0/8)")
    try:
        parse_networks(texts)
    except NetworkSpecError as exc:
        raise Failure(f"--local-nets: {exc}") from None
    return texts


NETWORK_SOURCES = {"declared": N_("declared"), "inferred": N_("inferred")}


def _networks_line(outcome: ScanOutcome, quiet: bool, language: str) -> None:
    """One line on stderr: the networks that made addresses devices, and whether they were declared or inferred."""
    described = outcome.result.networks
    if quiet or not described:
        return
    observed = [f"{term_safe(str(p.get('network')))} ({p.get('devices')})"
                for p in described.get("observed") or [] if isinstance(p, dict)]
    source = str(described.get("source"))
    with use_language(language):
        if observed and source == "inferred":  # the list of every private range says less than what was seen
            _say(_("local networks (inferred from private ranges and LAN evidence): devices in {networks}").format(
                networks=_first(observed)), err=True)
            return
        networks = [term_safe(str(n)) for n in described.get("networks", [])]
        line = _("local networks ({source}): {networks}").format(
            source=_(NETWORK_SOURCES.get(source, "?")), networks=_first(networks))
        if observed:
            line += _("; devices in {networks}").format(networks=_first(observed))
        _say(line, err=True)


def _first(items: list[str], shown: int = 12) -> str:
    """The first ``shown`` items, then how many more (in the current language)."""
    listed = ", ".join(items[:shown])
    if len(items) > shown:
        return _("{networks} and {count} more").format(networks=listed, count=len(items) - shown)
    return listed


def _refuse_failed(outcome: ScanOutcome, json_path: Optional[str]) -> None:
    """A run that read nothing usable is stored as failed and never graded: exit 2 with one line.

    The ``--json`` document is still written, with ``"status": "failed"``: a script reading it finds why.
    """
    if not outcome.failed:
        return
    unwritten = ""
    if json_path:
        try:
            write_findings_json(outcome.result, json_path, sys.stdout)
        except OutputError as exc:
            unwritten = f"; {exc}"
    result = outcome.result
    skipped = [i for i in result.inputs if not i.usable]
    reason = f"{len(result.inputs)} input(s), none usable" if result.inputs else "no input files found"
    first = ""
    if skipped:
        why = skipped[0].warnings[0] if skipped[0].warnings else "empty"
        first = f" (first: {term_safe(skipped[0].path)}: {term_safe(why)})"
    stored = f"; stored as failed scan #{result.scan_id}" if result.scan_id is not None else ""
    raise Failure(f"nothing usable was read: {reason}{first}{stored}{unwritten}")


@main.command()
@click.option("-i", "--interface", "interfaces", multiple=True, required=True,
              help="Interface to capture on (repeatable); a monitor-mode interface feeds the Wi-Fi decoders.")
@click.option("--duration", type=Duration(), help="Stop after this long: 30s, 10m, 2h or seconds.")
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many frames.")
@click.option("--bpf", default=None, metavar="EXPR", help="Capture filter (libpcap syntax), see --bpf-mode.")
@click.option("--bpf-mode", type=click.Choice(["extend", "replace"]), default="extend", show_default=True,
              help="extend: default filter OR --bpf; replace: only --bpf ('' captures everything).")
@click.option("--write", "write_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the captured frames as pcapng (raw traffic: mode 0600).")
@click.option("--write-max-mb", type=click.FloatRange(min=0.1), help="Rotate --write files at this size.")
@click.option("--write-keep", type=click.IntRange(min=1), default=10, show_default=True,
              help="Rotated files to keep (oldest deleted).")
@click.option("--flush-every", type=Duration(), default="5m", show_default=True,
              help="Write findings so far to --db this often.")
@scan_options
@unattended_options
@presentation_options
@PSEUDONYMIZE_OPTION
def capture(interfaces, duration, count, bpf, bpf_mode, write_path, write_max_mb, write_keep, flush_every,
            report_path, json_path, db, rules, site, operator, tz, fail_on, quiet, local_nets, wait, notify_webhook,
            notify_smtp, notify_to, notify_from, notify_min_severity, lang, client, logo, classification,
            pseudonymize) -> None:
    """Capture live traffic (passively: never sends) and scan it like a file."""
    from detector.session.live import CaptureRequest, run_capture

    _require_db_for_pseudonyms(pseudonymize, db)
    presentation = _presentation(lang, client, logo, classification)
    notify_config = _notify_config(notify_webhook, notify_smtp, notify_to, notify_from, notify_min_severity)
    if bpf is not None and bpf_mode == "replace" and bpf.strip() == "":
        bpf = ""
    request = CaptureRequest(interfaces=interfaces, duration=duration, count=count, bpf=bpf, bpf_mode=bpf_mode,
                             write=write_path, write_max_mb=write_max_mb, write_keep=write_keep,
                             flush_every=max(flush_every, 1.0), rules_files=_rules_paths(rules), db=db, site=site,
                             operator=operator or None, zone=parse_tz(tz), argv=_argv(), wait_for_lock=wait,
                             status_stream=None if quiet else SafeStream(sys.stderr),
                             local_nets=_local_nets(local_nets))
    outcome = _guarded(run_capture, request, "capture aborted by a second interrupt; the database keeps the last flush",
                       json_path)
    for warning in outcome.warnings:
        _say(f"shadowit: {term_safe(warning)}", err=True)
    outcome = _deliver(outcome, OutputRequest(json_path=json_path, report_path=report_path, db=db,
                                              presentation=presentation, pseudonymize=pseudonymize))
    _networks_line(outcome, quiet, presentation.language)
    _notify(outcome, notify_config, db, to_stderr=json_path == "-")
    _exit_for(outcome, fail_on)


def _notify(outcome: ScanOutcome, config: NotifyConfig, db: Optional[Path], to_stderr: bool) -> None:
    if not config.enabled:
        return
    sent, warnings = notify(outcome.result, config, db)
    for warning in warnings:
        _say(f"shadowit: warning: notification failed: {term_safe(warning)}", err=True)
    if sent and not warnings:
        click.echo(f"notified: {sent} new finding(s)", err=to_stderr)


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("shadowit-demo"),
              show_default=True, help="Where the sample data and the report go.")
@click.option("--quiet", "-q", is_flag=True)
def demo(out_dir: Path, quiet: bool) -> None:
    """Write sample captures and logs, scan them, and write report.html."""
    from detector.samples import write_demo

    paths = write_demo(out_dir / "samples")
    click.echo(f"sample data written to {out_dir / 'samples'}: {', '.join(p.name for p in paths)}", err=True)
    db = out_dir / "demo.db"
    request = ScanRequest(paths=[str(p) for p in paths], db=db, site="demo-office",
                          progress_stream=None if quiet else _progress_stream(), argv="demo")
    outcome = _guarded(run_scan, request)
    _deliver(outcome, OutputRequest(json_path=str(out_dir / "findings.json"), report_path=out_dir / "report.html",
                                    db=db))
    _exit_for(outcome, None)


def _guarded(runner, request, aborted: str = "scan aborted by a second interrupt; the database keeps the inputs "
                                            "stored before it", json_path: Optional[str] = None) -> ScanOutcome:
    """Run a scan or capture, turning library errors into one-line exit-2 failures and signals into 130/143."""
    try:
        outcome = runner(request)
    except RuleLoadError as exc:
        for error in exc.errors:
            _say(term_safe(error), err=True)
        raise Failure(f"invalid rules ({len(exc.errors)} error(s))") from None
    except (InputError, CatalogError) as exc:
        raise Failure(str(exc)) from None
    except LockBusy as exc:
        raise Failure(str(exc)) from None
    except StoreError as exc:
        raise Failure(f"database: {exc}") from None
    except Aborted:
        raise Failure(aborted) from None
    except KeyboardInterrupt as exc:  # a stop signal before the run began reading (waiting for the lock)
        sys.exit(EXIT_FOR_SIGNAL[stop_reason(exc)])
    except _capture_error() as exc:  # evaluated only when an exception reaches here: no import on success
        raise Failure(str(exc)) from None
    if outcome.interrupted:
        _say("shadowit: interrupted; findings so far were stored and the scan is marked incomplete", err=True)
    _refuse_failed(outcome, json_path)
    return outcome


def _deliver(outcome: ScanOutcome, request: OutputRequest) -> ScanOutcome:
    """The run's files, then the terminal summary, all from one site state; returns the run as they show it
    (pseudonymised when asked), for the notification."""
    try:
        outcome, state = prepare_run(outcome, request)
        write_outputs(outcome, request, sys.stdout, state)
    except OutputError as exc:
        raise Failure(f"{exc}{_stored_as(outcome, request.db)}") from None
    with use_language(request.presentation.language):
        _summary(outcome, request, state)
    return outcome


def _stored_as(outcome: ScanOutcome, db: Optional[Path]) -> str:
    """Where a scan whose files could not be written is kept, and how to write them again from there."""
    scan_id = outcome.result.scan_id
    if db is None or scan_id is None:
        return "; the scan was not stored (no --db): run it again"
    return (f"; the scan is stored as scan #{scan_id} in {db}: write it again with `shadowit export --db {db} "
            f"--scan {scan_id} -o FILE.json` or `shadowit report --db {db} --scan {scan_id} -o FILE.html`")


def _summary(outcome: ScanOutcome, outputs: OutputRequest, state: Optional[SiteState] = None) -> None:
    """The terminal's account of the scan: the same counts and score the report, JSON and history show."""
    from reports.kinds import title_of  # the report's presentations: loaded once there is a summary to print
    from reports.wording import localized

    result = outcome.result
    echo = lambda text="": _say(text, err=outputs.json_path == "-")  # noqa: E731
    records = sum(i.records for i in result.inputs)
    unusable = sum(1 for i in result.inputs if not i.usable)
    echo(_("scanned {inputs} input(s), {records} records").format(inputs=len(result.inputs), records=records)
         + (_("; {count} input(s) gave nothing usable").format(count=unusable) if unusable else ""))
    for warning in [f"{i.path}: {localized(w)}" for i in result.inputs for w in i.warnings][:20]:
        echo("  " + _("warning: {text}").format(text=term_safe(warning)))
    for pattern in sorted(BoundedRegex.timed_out)[:10]:
        echo("  " + _("warning: rule regex {pattern} hit its {limit} ms limit; it did not match there (see "
                      "rules/README.md)").format(pattern=term_safe(pattern), limit=f"{REGEX_TIMEOUT_SECONDS * 1000:g}"))
    by_severity = Counter(f.severity for f in result.findings)
    by_category = Counter(f.category for f in result.findings)
    sanctioned = sum(1 for f in result.findings if f.sanctioned)
    echo(_("{count} finding(s), {sanctioned} of them sanctioned").format(count=len(result.findings),
                                                                        sanctioned=sanctioned))
    if result.findings:
        echo("  " + _("by severity: {counts}").format(counts=", ".join(
            f"{severity_label(s)} {by_severity[s]}" for s in reversed(SEVERITIES) if by_severity[s])))
        echo("  " + _("by category: {counts}").format(counts=", ".join(
            f"{term_safe(category_label(c))} {n}" for c, n in by_category.most_common())))
    risk = state.risk if state is not None else result.risk
    if risk is not None:
        echo(_("risk: grade {grade}, score {score}/100 ({points} points)").format(
            grade=risk.grade, score=risk.score, points=f"{risk.total_points:g}"))
    if state is not None:
        _state_lines(state, echo)
    active = [f for f in result.findings if not f.sanctioned]
    if active:
        echo(_("top findings:"))
        for finding in active[:5]:
            echo(f"  [{severity_label(finding.severity):8}] {term_safe(title_of(finding))}")
    for label, target in ((_("report"), outputs.report_path),
                          (_("json"), outputs.json_path if outputs.json_path != "-" else None),
                          (_("database"), outputs.db)):
        if target:
            echo(f"{label}: {term_safe(target)}")


def _state_lines(state: SiteState, echo) -> None:
    """What the grade stands on when it is the site's state, not this run alone."""
    stale = len(state.not_rechecked)
    if stale:
        echo("  " + _("{count} finding(s) of earlier scans not re-checked (their inputs were not read again): "
                      "they stay in the grade").format(count=stale))
    missing = [area for area, assessed in state.areas.items() if not assessed]
    if missing:
        areas = ", ".join(category_label(area) for area in missing)
        echo("  " + _("not assessed (no input could show them): {areas}").format(areas=areas))


def _exit_for(outcome: ScanOutcome, fail_on: Optional[str]) -> None:
    if outcome.interrupted:
        sys.exit(EXIT_FOR_SIGNAL[outcome.stopped_by])
    if fail_on is None:
        return
    threshold = SEVERITY_RANK[fail_on]
    if any(SEVERITY_RANK[f.severity] >= threshold and not f.sanctioned for f in outcome.result.findings):
        sys.exit(ExitStatus.FINDINGS)


def _progress_stream():
    return SafeStream(sys.stderr) if sys.stderr.isatty() else None


def _argv() -> str:
    """The command line, for the scan record, with webhook tokens and URL passwords masked."""
    return redacted_command_line(sys.argv[1:])[:1000]


# ---------------------------------------------------------------- stored scans


@main.command()
@click.option("--db", "dbs", multiple=True, required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Database(s) to report on; several make a consolidated multi-site report.")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              callback=_in_existing_directory)
@click.option("--scan", "scan_id", type=int, help="Scan id (default: the latest complete scan).")
@click.option("--site", default=None, help="Only this site (default: every site in the database(s)).")
@click.option("--rules", "rules", multiple=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--tz", default=None, help="Show times in this zone, e.g. +01:00 or Europe/Berlin (default UTC).")
@click.option("--window", type=Duration(), default=None,
              help="Assessment window with --db, e.g. 30d: findings of earlier scans in it that were not re-checked "
                   "stay in the grade (default: since the site's first scan).")
@presentation_options
@PSEUDONYMIZE_OPTION
def report(dbs, out, scan_id, site, rules, tz, window, lang, client, logo, classification, pseudonymize) -> None:
    """Re-render the HTML report from stored scans (one site, or every site: the MSP view).

    Client, logo, classification, language and pseudonyms are as stored with the scan unless given here.
    With --rules the stored findings are re-classified under those rules (no captures needed) and the
    result is stored as a new scan that records which scan it derives from.
    """
    request = ReportRequest(dbs=dbs, out=out, scan_id=scan_id, site=site, rules_files=_rules_paths(rules),
                            zone=parse_tz(tz), window=window, pseudonymize=pseudonymize,
                            presentation=_presentation_given(lang, client, logo, classification))

    def reclassified(result: ScanResult) -> None:
        click.echo(f"re-classified scan of site {term_safe(result.site) or '-'} under {', '.join(rules)}: "
                   f"stored as scan #{result.scan_id}", err=True)

    with _rule_errors():
        try:
            sites = write_stored_report(request, reclassified)
        except (OutputError, CatalogError) as exc:
            raise Failure(str(exc)) from None
    _say(f"report: {out} ({sites} site(s))")


@contextmanager
def _rule_errors() -> Iterator[None]:
    """Invalid rules: every error as file:line:col, then one line and exit 2."""
    try:
        yield
    except RuleLoadError as exc:
        for error in exc.errors:
            _say(term_safe(error), err=True)
        raise Failure(f"invalid rules ({len(exc.errors)} error(s))") from None


def _load_rules(rules):
    with _rule_errors():
        return load_ruleset(_rules_paths(rules))


@main.command()
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--site", default=None)
@click.option("--json", "as_json", is_flag=True)
def history(db, site, as_json) -> None:
    """List stored scans."""
    scans = _stored(scan_history, db, site)
    if as_json:
        click.echo(json.dumps([s.as_dict() for s in scans], indent=2))  # ensure_ascii: no raw control bytes
        return
    for s in scans:
        counts = ", ".join(f"{term_safe(k)} {v}" for k, v in s.counts.items() if v)
        grade = f"{s.grade} {s.score:3}/100" if s.grade is not None and s.score is not None else "no grade  "
        derived = f"  (re-classified #{s.derived_from})" if s.derived_from else ""
        expired = s.state.exception_expired if s.state is not None else 0
        lapsed = f"  {expired} exception(s) expired" if expired else ""
        _say(f"#{s.id:<4} {_history_time(s.started)}  {term_safe(s.site or '-'):15} {term_safe(s.status):10} {grade}  "
             f"{s.n_findings:4} finding(s)  {counts}{derived}{lapsed}")


def _history_time(started: float) -> str:
    """When a scan started, to the minute, in UTC (as the JSON says it)."""
    return datetime.fromtimestamp(started, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


@main.command()
@click.argument("scans", nargs=-1, type=int)
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--site", default=None)
@click.option("--json", "as_json", is_flag=True)
@PSEUDONYMIZE_OPTION
def diff(scans, db, site, as_json, pseudonymize) -> None:
    """New, resolved and persisting findings between two scans (default: the two latest)."""
    if len(scans) > 2:
        raise click.UsageError("give at most two scan ids")
    base, head = (list(scans) + [None, None])[:2]
    data = _stored(diff_scans, DiffRequest(db=db, base=base, head=head, site=site, pseudonymize=pseudonymize)).as_dict()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    _say(f"scan #{data['base']['scan_id']} -> #{data['head']['scan_id']}")
    for key, label in (("new", "new"), ("resolved", "resolved"), ("not_rechecked", "not re-checked"),
                       ("persisting", "persisting"), ("newly_sanctioned", "newly sanctioned"),
                       ("exception_expired", "exception expired")):
        _say(f"{label}: {len(data[key])}")
        for item in data[key][:50]:
            _say(f"  [{term_safe(item['severity']):8}] {term_safe(item['id'])} {term_safe(item['title'])}")


@main.command()
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--scan", "scan_id", type=int)
@click.option("--format", "fmt", type=click.Choice(list(EXPORT_FORMATS)), default="json", show_default=True)
@click.option("--style", type=click.Choice(list(BLOCKLIST_STYLES)), default="hosts", show_default=True,
              help="Block-list form: hosts (0.0.0.0 name), dnsmasq/Pi-hole (address=/name/0.0.0.0), domains.")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path),
              callback=_in_existing_directory)
@PSEUDONYMIZE_OPTION
def export(db, scan_id, fmt, style, out, pseudonymize) -> None:
    """Export one scan: JSON (the --json contract), CSV, or a block list of its unsanctioned services."""
    request = ExportRequest(db=db, scan_id=scan_id, fmt=fmt, style=style, out=out, pseudonymize=pseudonymize)
    # a terminal gets control bytes escaped (a CSV row's own line end only); a pipe or file gets the data as stored
    terminal = SafeLines(sys.stdout) if fmt == "csv" else SafeStream(sys.stdout)
    _stored(export_scan, request, terminal if sys.stdout.isatty() else sys.stdout)


@main.command()
@click.argument("pseudonyms", nargs=-1, required=True)
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path))
def reveal(pseudonyms, db) -> None:
    """Show the real user name, host name or MAC address behind pseudonyms (user-..., host-..., mac-...).

    Only the database holds the mapping: whoever has it can reveal, nobody else.
    """
    unknown = []
    for name, found in _stored(reveal_pseudonyms, db, list(pseudonyms)):
        if not found:
            unknown.append(name)
        for item in found:
            _say(f"{name} = {item.real} ({item.kind}, site {item.site or '-'})")
    if unknown:
        raise Failure(f"{', '.join(term_safe(n) for n in unknown)}: no such pseudonym in {db}")


def _stored(reader, *args):
    """Read stored scans, a missing database or scan being a one-line exit-2 failure."""
    try:
        return reader(*args)
    except OutputError as exc:
        raise Failure(str(exc)) from None


@main.command()
@click.option("--db", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--older-than", "older_than", required=True, type=Duration(), help="Age, e.g. 180d, 26w.")
@click.option("--keep", "keep", multiple=True, type=int, help="Scan id to keep whatever its age (repeatable).")
@click.option("--force", is_flag=True, help="Also delete scans a written report showed (<db>.reported.json).")
@click.option("--wait/--no-wait", "wait", default=True, show_default=True)
def prune(db, older_than, keep, force, wait) -> None:
    """Delete scans older than --older-than, keeping the ones a report showed unless --force."""
    from detector.store import ScanLock

    try:
        with ScanLock(db, wait=wait, timeout=3600), _stored(open_store, db) as store:
            protected = set(keep) | (set() if force else store.reported_scans() | reported_scans(db))
            deleted = store.prune(older_than, keep_ids=protected, force=False)
    except LockBusy as exc:
        raise Failure(str(exc)) from None
    except StoreError as exc:
        raise Failure(f"database: {exc}") from None
    kept = f"; kept {len(protected)} protected scan id(s)" if protected else ""
    click.echo(f"pruned {deleted} scan(s) older than {older_than / 86400:g} day(s){kept}")


# ---------------------------------------------------------------- schedule


@main.group()
def schedule() -> None:
    """Run scans or captures unattended (systemd timer or cron)."""


@schedule.command("install", context_settings={"ignore_unknown_options": True})
@click.option("--every", type=click.Choice(PERIODS), default="daily", show_default=True)
@click.option("--at", "at", default="02:00", show_default=True, help="HH:MM local time (hourly: the minutes).")
@click.option("--name", default="shadowit", show_default=True, help="Unit name (NAME.service, NAME.timer).")
@click.option("--unit-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_UNIT_DIR,
              show_default=True)
@click.option("--cron", is_flag=True, help="Print a crontab line instead of writing systemd units.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
def schedule_install(every, at, name, unit_dir, cron, command) -> None:
    """Schedule `shadowit COMMAND...` (after --), e.g. -- scan /srv/drop --db /var/lib/shadowit/hq.db.

    systemd runs log to the journal; a cron line appends to a log file in the state directory."""
    try:
        plan = Schedule(every, at, list(command), name)
        _check_scheduled_command(plan.args)
        if cron:
            log = cron_log(name)
            prepare_cron_log(log)
            click.echo(plan.cron_line(log))
            return
        paths = install(plan, unit_dir)
    except ScheduleError as exc:
        raise Failure(str(exc)) from None
    for path in paths:
        click.echo(f"wrote {path}")
    click.echo(f"next: systemctl daemon-reload && systemctl enable --now {name}.timer")


def _check_scheduled_command(args: list[str]) -> None:
    """Parse the command after -- with its own parser now (without running it): a misspelt option fails here,
    once, instead of every night."""
    root = click.get_current_context().find_root()
    command = main.get_command(root, args[0])
    try:  # without help options: --help after -- would print the help here, and schedules nothing
        command.make_context(args[0], list(args[1:]), parent=root, resilient_parsing=False, help_option_names=[])
    except click.ClickException as exc:
        raise ScheduleError(f"the command after --: shadowit {args[0]}: {exc.format_message()}") from None


@schedule.command("show")
@click.option("--unit-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_UNIT_DIR,
              show_default=True)
def schedule_show(unit_dir) -> None:
    """List the timers `schedule install` wrote, with when and what they run."""
    found = installed(unit_dir)
    if not found:
        click.echo(f"no shadowit schedule in {unit_dir}")
        return
    for item in found:
        _say(f"{item.name}: {item.on_calendar}  ->  {term_safe(item.command)}  ({item.timer})")


# ---------------------------------------------------------------- rules


@main.group()
def rules() -> None:
    """Check, list and test rules."""


@rules.command("validate")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
def rules_validate(files) -> None:
    """Check rule files (default: the packs and ./rules.yaml); every error as file:line:col."""
    if files:
        missing = [f for f in files if not Path(f).exists()]
        if missing:
            raise Failure(f"{missing[0]}: no such file")
        errors = validate_files([Path(f) for f in files])
    else:
        try:
            load_ruleset(None)
            errors = []
        except RuleLoadError as exc:
            errors = exc.errors
    for error in errors:
        _say(term_safe(error), err=True)
    if errors:
        sys.exit(ExitStatus.ERROR)
    click.echo("rules OK")


@rules.command("init")
@click.argument("path", required=False, default="rules.yaml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def rules_init(path: Path, force: bool) -> None:
    """Write the annotated example site policy (default ./rules.yaml) to edit: without one, none applies."""
    from detector.policy import example_site_policy

    if path.exists() and not force:
        raise Failure(f"{path} exists; use --force to overwrite it")
    try:
        path.write_bytes(example_site_policy().read_bytes())
    except OSError as exc:
        raise Failure(f"cannot write {path}: {exc.strerror or exc}") from None
    click.echo(f"wrote {path}: edit it, then check it with `shadowit rules validate {path}`")


@rules.command("list")
@click.option("--rules", "rule_files", multiple=True, type=click.Path(exists=True, dir_okay=False))
def rules_list(rule_files) -> None:
    """Print the effective rules in evaluation order."""
    ruleset = _load_rules(rule_files)
    for rule in ruleset.rules:
        _say(term_safe(rule.describe()))


@rules.command("test")
@click.option("--rules", "rule_files", multiple=True, type=click.Path(exists=True, dir_okay=False))
def rules_test(rule_files) -> None:
    """Run the examples embedded in rules (like Sigma rule tests)."""
    ruleset = _load_rules(rule_files)
    failures = ruleset.run_examples()
    for failure in failures:
        _say(term_safe(failure, keep="\n"), err=True)
    if failures:
        sys.exit(ExitStatus.FINDINGS)
    click.echo("rule examples OK")


if __name__ == "__main__":  # pragma: no cover
    main()
