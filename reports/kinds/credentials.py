"""How the report shows clear-text credential findings: logins, brute force, reuse, passwords in messages."""

from __future__ import annotations

from typing import Any, Optional

from detector.findings.credentials import (
    BruteForceAttributes,
    CleartextLoginAttributes,
    ReuseAttributes,
    SharedPasswordAttributes,
)
from detector.findings.finding import Finding
from reports.advice import ENCRYPT, Advice
from reports.attributes import Combined, server_text, strength_text
from reports.events import CREDENTIAL, TimelineEvent, actors, simple_events
from reports.fmt import clip, joined, number
from reports.i18n import N_, _
from reports.kinds.base import A, Presentation, presents, title_of

SERVER = Combined(("server", "server_port"), lambda attrs: server_text(attrs.server, attrs.server_port))
STRENGTH = Combined(("weak", "default"), lambda attrs: strength_text(attrs.weak, attrs.default), N_("Strength"))


class CredentialPresentation(Presentation[A]):
    """What every credential kind shares: the advice, and a timeline entry per login unless sanctioned."""

    advice = Advice(N_("Password in clear text"), ENCRYPT)

    def timeline_events(self, finding: Finding[A], index: int) -> list[TimelineEvent]:
        if finding.sanctioned:
            return []
        return simple_events(finding, index, CREDENTIAL, _credential_label(self.protocol(finding)),
                             self.actors(finding))

    def protocol(self, finding: Finding[A]) -> str:
        """How the secret travelled (protocol or message channel), empty when the kind does not say."""
        return ""

    def actors(self, finding: Finding[A]) -> list[str]:
        return actors(finding)


@presents(CleartextLoginAttributes)
class CleartextLoginPresentation(CredentialPresentation[CleartextLoginAttributes]):
    combined = (SERVER, STRENGTH)

    def title(self, finding: Finding[CleartextLoginAttributes]) -> str:
        attrs = finding.attributes
        user = attrs.username or _("(no user)")
        if attrs.domain:
            user = f"{attrs.domain}\\{user}"
        where = f"{attrs.server}:{attrs.server_port}"
        if len(attrs.servers) > 1:
            where = _("{server} and {count} other server(s)").format(server=where, count=len(attrs.servers) - 1)
        several = _(" ({count} different secrets)").format(count=len(attrs.secrets)) if len(attrs.secrets) > 1 else ""
        values = {"protocol": attrs.protocol.upper(), "user": user, "where": where, "several": several}
        if not attrs.secret_captured:
            text = _("Clear-text {protocol} login by {user} to {where} (seen in a log, password not captured)")
        elif attrs.kind == "cleartext" and attrs.username:
            text = _("Clear-text {protocol} password for {user} to {where}{several}")
        elif attrs.kind == "cleartext":
            text = _("Clear-text {protocol} secret (community or key) to {where}{several}")
        elif attrs.kind == "token":
            text = _("Clear-text {protocol} token to {where}{several}")
        else:
            text = _("{protocol} login material for {user} to {where}{several}")
        return text.format(**values)

    def subject(self, finding: Finding[CleartextLoginAttributes]) -> str:
        attrs = finding.attributes
        return _subject(finding, attrs.protocol, clip(attrs.username, 40), attrs.server, attrs.server_port)

    def advice_target(self, finding: Finding[CleartextLoginAttributes]) -> str:
        """The site's server that accepts the secret is the box to change (the clients are listed as "used by")."""
        attrs = finding.attributes
        servers = {str(s).rpartition(":")[0] or str(s) for s in attrs.servers} | {attrs.server}
        local = [str(h) for h in finding.hosts if str(h) in servers]
        return _("Server to fix: {servers}.").format(servers=joined(local, max_items=4, limit=60)) if local else ""

    def protocol(self, finding: Finding[CleartextLoginAttributes]) -> str:
        return finding.attributes.protocol

    def actors(self, finding: Finding[CleartextLoginAttributes]) -> list[str]:
        return actors(finding, finding.attributes.clients, finding.attributes.client)

    def device_users(self, finding: Finding[CleartextLoginAttributes]) -> list[str]:
        return [clip(finding.attributes.username, 60)] if finding.attributes.username else []


@presents(BruteForceAttributes)
class BruteForcePresentation(CredentialPresentation[BruteForceAttributes]):
    combined = (SERVER,)

    def title(self, finding: Finding[BruteForceAttributes]) -> str:
        attrs = finding.attributes
        if attrs.pattern == "password-spraying":
            text = _("Password spraying over {protocol} from {client} to {server}:{port}: {count} attempts, {outcome}")
        else:
            text = _("Brute force over {protocol} from {client} to {server}:{port}: {count} attempts, {outcome}")
        outcome = _("one succeeded") if attrs.succeeded else _("none succeeded")
        return text.format(protocol=attrs.protocol.upper(), client=attrs.client, server=attrs.server,
                           port=attrs.server_port, count=attrs.attempts, outcome=outcome)

    def subject(self, finding: Finding[BruteForceAttributes]) -> str:
        attrs = finding.attributes
        return _subject(finding, attrs.protocol, _users(attrs.usernames), attrs.server, attrs.server_port)

    def protocol(self, finding: Finding[BruteForceAttributes]) -> str:
        return finding.attributes.protocol

    def actors(self, finding: Finding[BruteForceAttributes]) -> list[str]:
        return actors(finding, client=finding.attributes.client)

    def device_users(self, finding: Finding[BruteForceAttributes]) -> list[str]:
        return [clip(u, 60) for u in finding.attributes.usernames[:20]]


@presents(ReuseAttributes)
class ReusePresentation(CredentialPresentation[ReuseAttributes]):
    combined = (STRENGTH,)

    def title(self, finding: Finding[ReuseAttributes]) -> str:
        users, protocols = finding.attributes.usernames, finding.attributes.protocols
        parts = []
        if len(users) >= 2:
            parts.append(_("by {count} users").format(count=len(users)))
        elif users:
            parts.append(_("by {user}").format(user=users[0]))
        if len(protocols) >= 2:
            parts.append(_("over {count} protocols ({protocols})").format(count=len(protocols),
                                                                          protocols=", ".join(protocols[:4])))
        return _("One password reused {details}").format(details=" ".join(parts)).rstrip()

    def subject(self, finding: Finding[ReuseAttributes]) -> str:
        return _subject(finding, "", _users(finding.attributes.usernames))

    def actors(self, finding: Finding[ReuseAttributes]) -> list[str]:
        return actors(finding, finding.attributes.clients)

    def device_users(self, finding: Finding[ReuseAttributes]) -> list[str]:
        return [clip(u, 60) for u in finding.attributes.usernames[:20]]


@presents(SharedPasswordAttributes)
class SharedPasswordPresentation(CredentialPresentation[SharedPasswordAttributes]):
    combined = (Combined(("weak",), lambda attrs: strength_text(attrs.weak), N_("Strength")),)

    def title(self, finding: Finding[SharedPasswordAttributes]) -> str:
        attrs = finding.attributes
        return _("Password pasted into a {channel} message by {sender}").format(
            channel=attrs.channel, sender=attrs.sender or _("an unknown sender"))

    def subject(self, finding: Finding[SharedPasswordAttributes]) -> str:
        return _subject(finding, finding.attributes.channel, "")

    def protocol(self, finding: Finding[SharedPasswordAttributes]) -> str:
        return finding.attributes.channel

    def actors(self, finding: Finding[SharedPasswordAttributes]) -> list[str]:
        return actors(finding, client=finding.attributes.sender)

    def device_users(self, finding: Finding[SharedPasswordAttributes]) -> list[str]:
        return [clip(finding.attributes.sender, 60)] if finding.attributes.sender else []


def _users(usernames: list[str]) -> str:
    return joined(usernames, max_items=3, limit=30) if usernames else ""


def _subject(finding: Finding[Any], protocol: str, who: str, server: str = "", port: Optional[int] = None) -> str:
    """``protocol user → server:port``, from what the kind has of these."""
    where = f"{clip(server, 60)}:{int(port)}" if server and number(port) else clip(server, 60)
    parts = (clip(protocol, 30), who, f"\u2192 {where}" if where else "")
    return " ".join(p for p in parts if p) or clip(title_of(finding), 120)


def _credential_label(protocol: str) -> str:
    if protocol:
        return _("password in clear ({protocol})").format(protocol=clip(protocol, 30))
    return _("password in clear")
