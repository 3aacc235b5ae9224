"""Tell someone when an unattended scan finds something new.

"New" means not in the previous complete scan of the same site, matched by
stable finding id (``Store.diff``), so a nightly scan alerts once per problem,
not every night. Payloads are built from finding dicts, which hold only secret
masks. A failed notification is a warning: the scan itself succeeded.
"""

from __future__ import annotations

import json
import socket
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from detector import __version__
from detector.findings.finding import SEVERITY_RANK, Finding
from detector.findings.result import ScanResult
from detector.secrets import masked_url
from detector.store import ScanNotFound, StoreError
from detector.times import iso

if TYPE_CHECKING:  # smtplib, urllib.request and email load only when a notification is sent (start-up)
    from email.message import EmailMessage

NOTIFY_SCHEMA = "shadowit.notify/1"
DEFAULT_SMTP_PORT = 25


class NotifyConfigError(ValueError):
    """Notification options that cannot work (bad URL, missing recipient)."""


@dataclass
class NotifyConfig:
    """Where new findings are sent (webhook, SMTP) and from which severity."""

    webhook: Optional[str] = None
    smtp: Optional[str] = None  # host[:port]
    to: list[str] = field(default_factory=list)
    sender: str = ""
    min_severity: str = "high"
    timeout: float = 15.0

    @property
    def enabled(self) -> bool:
        return bool(self.webhook or self.smtp)

    def check(self) -> None:
        """Reject unusable options before a long capture starts, not after it."""
        if self.webhook and urllib.parse.urlsplit(self.webhook).scheme not in ("http", "https"):
            raise NotifyConfigError("--notify-webhook must be an http:// or https:// URL")
        if self.smtp and not self.to:
            raise NotifyConfigError("--notify-smtp needs at least one --notify-to address")
        if self.to and not self.smtp:
            raise NotifyConfigError("--notify-to needs --notify-smtp HOST[:PORT]")
        if self.smtp:
            smtp_address(self.smtp)


def smtp_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    try:
        return host or text, int(port) if port else DEFAULT_SMTP_PORT
    except ValueError:
        raise NotifyConfigError(f"--notify-smtp {text!r}: use HOST or HOST:PORT") from None


def new_findings(result: ScanResult, db: Optional[Path]) -> list[Finding]:
    """Findings of ``result`` absent from the site's previous complete scan (all of them without history)."""
    if db is None or result.scan_id is None:
        return list(result.findings)
    from detector.store import Store  # sqlite3 only when a database is given

    try:
        with Store(db) as store:
            new_ids = {f.id for f in store.diff(None, result.scan_id).new}
    except ScanNotFound:
        return list(result.findings)
    return [f for f in result.findings if f.id in new_ids]


def worth_telling(findings: list[Finding], min_severity: str) -> list[Finding]:
    threshold = SEVERITY_RANK[min_severity]
    return [f for f in findings if not f.sanctioned and SEVERITY_RANK.get(f.severity, 0) >= threshold]


def build_payload(result: ScanResult, findings: list[Finding], min_severity: str) -> dict[str, Any]:
    return {
        "schema": NOTIFY_SCHEMA,
        "tool_version": __version__,
        "host": socket.gethostname(),
        "site": result.site,
        "scan_id": result.scan_id,
        "started": iso(result.started),
        "finished": iso(result.finished),
        "complete": result.complete,
        "min_severity": min_severity,
        "new_findings": [f.as_dict() for f in findings],
    }


def send_webhook(url: str, payload: dict[str, Any], timeout: float) -> None:
    import urllib.request

    request = urllib.request.Request(
        url, data=json.dumps(payload).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": f"shadowit/{__version__}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked
        response.read()


def mail_message(payload: dict[str, Any], sender: str, to: list[str]) -> EmailMessage:
    from email.message import EmailMessage

    findings = payload["new_findings"]
    where = f" at {payload['site']}" if payload["site"] else ""
    message = EmailMessage()
    message["Subject"] = f"shadowit: {len(findings)} new finding(s){where}"
    message["From"] = sender
    message["To"] = ", ".join(to)
    lines = [f"shadowit scan #{payload['scan_id']}{where} on {payload['host']} found "
             f"{len(findings)} new finding(s) at or above {payload['min_severity']}:", ""]
    lines += [f"  [{f['severity']}] {f['title']}  ({', '.join(f['hosts'][:5])})" for f in findings]
    lines += ["", "Secrets are shown only as masks. The full list is attached (shadowit.notify/1)."]
    message.set_content("\n".join(lines) + "\n")
    message.add_attachment(json.dumps(payload, indent=2).encode("utf-8"), maintype="application",
                           subtype="json", filename="shadowit-notify.json")
    return message


def send_mail(smtp: str, sender: str, to: list[str], payload: dict[str, Any], timeout: float) -> None:
    import smtplib

    host, port = smtp_address(smtp)
    sender = sender or f"shadowit@{socket.gethostname()}"
    with smtplib.SMTP(host, port, timeout=timeout) as client:
        client.ehlo()
        if client.has_extn("starttls"):
            client.starttls()
            client.ehlo()
        client.send_message(mail_message(payload, sender, to))


def notify(result: ScanResult, config: NotifyConfig, db: Optional[Path]) -> tuple[int, list[str]]:
    """Send what is new and severe enough; returns (findings sent, warnings)."""
    if not config.enabled:
        return 0, []
    try:
        findings = worth_telling(new_findings(result, db), config.min_severity)
    except StoreError as exc:
        return 0, [f"notification skipped: cannot read previous scan: {exc}"]
    if not findings:
        return 0, []
    import smtplib
    import urllib.error

    payload = build_payload(result, findings, config.min_severity)
    warnings: list[str] = []
    if config.webhook:
        try:
            send_webhook(config.webhook, payload, config.timeout)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            warnings.append(f"webhook {masked_url(config.webhook)} failed: {reason}")
    if config.smtp:
        try:
            send_mail(config.smtp, config.sender, config.to, payload, config.timeout)
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            warnings.append(f"e-mail via {config.smtp} failed: {exc}")
    return len(findings), warnings
