"""How the report shows file-sharing findings: a service used, or a file moved by FTP, TFTP or mail."""

from __future__ import annotations

from typing import Any, Optional

from detector.findings.filesharing import FileMovedAttributes, ServiceUseAttributes
from detector.findings.finding import Finding
from reports.advice import SHARE_DECISION, Advice
from reports.attributes import Combined, server_text
from reports.events import MAX_HOSTS_PER_EVENT, UPLOAD, TimelineEvent, actors, simple_events
from reports.fmt import clip, human_bytes, joined, number, to_timestamp
from reports.i18n import N_, _
from reports.kinds.base import Presentation, ServiceShare, presents, title_of

SHARING_ADVICE = Advice(N_("File sharing outside IT"), SHARE_DECISION)
# How a file moved, in words (the stored channel is the protocol command: ftp-stor, tftp-rrq, ...).
CHANNEL_WORDS = {"ftp-stor": "FTP", "ftp-retr": "FTP", "tftp-wrq": "TFTP", "tftp-rrq": "TFTP",
                 "smtp-attachment": N_("e-mail"), "mail-log": N_("e-mail")}


@presents(ServiceUseAttributes)
class ServiceUsePresentation(Presentation[ServiceUseAttributes]):
    advice = SHARING_ADVICE

    def title(self, finding: Finding[ServiceUseAttributes]) -> str:
        attrs = finding.attributes
        name = _("{service} (tenant {tenant})").format(service=attrs.service, tenant=attrs.tenant) if attrs.tenant \
            else attrs.service
        if attrs.devices:
            text = _("{name} used by {count} device(s)").format(name=name, count=attrs.devices)
        else:
            text = _("{name} seen between addresses outside the site's networks").format(name=name)
        if attrs.bytes_up:
            text = _("{text}, {size} uploaded").format(text=text, size=human_bytes(attrs.bytes_up))
        return text

    def subject(self, finding: Finding[ServiceUseAttributes]) -> str:
        attrs = finding.attributes
        if not attrs.service:
            return clip(title_of(finding), 120)
        return clip(f"{attrs.service} ({attrs.tenant})" if attrs.tenant else attrs.service, 120)

    def timeline_events(self, finding: Finding[ServiceUseAttributes], index: int) -> list[TimelineEvent]:
        if finding.sanctioned:
            return []
        rows = _per_host_rows(finding.attributes)
        if rows:
            return _per_host_events(finding, rows, index)
        return simple_events(finding, index, UPLOAD, _upload_label(finding), actors(finding))

    def service_share(self, finding: Finding[ServiceUseAttributes]) -> ServiceShare:
        attrs = finding.attributes
        return ServiceShare(name=clip(attrs.service or title_of(finding), 80), service_category=attrs.service_category,
                            service_risk=attrs.risk, bytes_up=attrs.bytes_up, bytes_down=attrs.bytes_down)


@presents(FileMovedAttributes)
class FileMovedPresentation(Presentation[FileMovedAttributes]):
    advice = SHARING_ADVICE
    combined = (Combined(("server",), lambda attrs: server_text(attrs.server)),)

    def title(self, finding: Finding[FileMovedAttributes]) -> str:
        attrs = finding.attributes
        channel = _(CHANNEL_WORDS.get(attrs.protocol, attrs.protocol))
        if attrs.direction == "down":
            text = _("File {name} downloaded by {channel} instead of a sanctioned share")
        else:
            text = _("File {name} sent by {channel} instead of a sanctioned share")
        return text.format(name=clip(attrs.filename, 80), channel=channel)

    def subject(self, finding: Finding[FileMovedAttributes]) -> str:
        attrs = finding.attributes
        if attrs.service:
            return clip(attrs.service, 120)
        parts = [attrs.protocol, joined(attrs.filename, max_items=2, limit=40)]
        return " ".join(clip(p, 60) for p in parts if p) or clip(title_of(finding), 120)

    def timeline_events(self, finding: Finding[FileMovedAttributes], index: int) -> list[TimelineEvent]:
        if finding.sanctioned:
            return []
        attrs = finding.attributes
        template = _("file {name} downloaded by {channel}") if attrs.direction == "down" else \
            _("file {name} uploaded by {channel}")
        label = template.format(name=clip(attrs.filename, 50), channel=clip(_channel_name(finding), 30) or "-")
        return simple_events(finding, index, UPLOAD, label, actors(finding, client=attrs.client or attrs.sender))

    def service_share(self, finding: Finding[FileMovedAttributes]) -> ServiceShare:
        attrs = finding.attributes
        return ServiceShare(name=_channel_name(finding), service_category=attrs.service_category,
                            bytes_up=attrs.bytes_up, bytes_down=attrs.bytes_down,
                            users=[clip(attrs.sender, 60)] if attrs.sender else [])


def _channel_name(finding: Finding[FileMovedAttributes]) -> str:
    """The channel a file took, as the services view lists it beside the catalog services."""
    attrs = finding.attributes
    if attrs.service:
        return clip(attrs.service, 80)
    if attrs.protocol:
        return _("{protocol} (direct file transfer)").format(protocol=clip(attrs.protocol, 40))
    return clip(title_of(finding), 80)


def _per_host_rows(attrs: ServiceUseAttributes) -> list[dict[str, Any]]:
    return [row for row in attrs.per_host if isinstance(row, dict) and row.get("host")]


def _per_host_events(finding: Finding[ServiceUseAttributes], rows: list[dict[str, Any]],
                     index: int) -> list[TimelineEvent]:
    """Each device's own use of the service, with its own upload: never the service total copied to everyone."""
    service = clip(finding.attributes.service or title_of(finding), 60)
    events = []
    for row in rows[:MAX_HOSTS_PER_EVENT]:
        up = row.get("bytes_up")
        label = _("upload to {service}").format(service=service)
        if number(up) is not None:
            label += " " + _("({size} up)").format(size=human_bytes(up))
        stamps = sorted({t for t in (to_timestamp(row.get("first_seen")), to_timestamp(row.get("last_seen")))
                         if t is not None})
        events.extend(TimelineEvent(ts, clip(row["host"], 80), UPLOAD, label, index) for ts in stamps)
    return events


def _upload_label(finding: Finding[ServiceUseAttributes]) -> str:
    up: Optional[int] = finding.attributes.bytes_up
    text = _("upload to {service}").format(service=clip(finding.attributes.service or title_of(finding), 60))
    return f"{text} ({human_bytes(up)} ↑)" if number(up) is not None else text
