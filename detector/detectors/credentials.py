"""Clear-text credentials: one finding per (protocol, server, user, secret), plus reuse across them.

Only masks and keyed fingerprints reach this module (see detector.secrets), so
reuse is judged on fingerprints: the same secret for different users, services
or protocols becomes its own finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..model import CATEGORY_CREDENTIALS, Credential, Finding, Observation, Secret, SharedPassword
from .base import Detector, DetectorContext, Tally, finding_id

MAX_CREDENTIALS = 50_000


@dataclass
class CredentialUse:
    sample: Credential
    clients: set[str] = field(default_factory=set)
    accepted: Optional[bool] = None
    tally: Tally = field(default_factory=Tally)


@dataclass
class SharedUse:
    sample: SharedPassword
    tally: Tally = field(default_factory=Tally)


class CredentialDetector(Detector):
    name = "credentials"
    consumes = (Credential, SharedPassword)

    def __init__(self, ctx: DetectorContext):
        super().__init__(ctx)
        self.uses: dict[tuple, CredentialUse] = {}
        self.shared: dict[tuple, SharedUse] = {}
        self.by_fingerprint: dict[str, set[tuple[str, str, str]]] = {}
        self.fingerprint_masks: dict[str, Secret] = {}
        self.reuse_tallies: dict[str, Tally] = {}

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, Credential):
            self._credential(obs)
        elif isinstance(obs, SharedPassword):
            self._shared(obs)

    def _credential(self, obs: Credential) -> None:
        key = (obs.protocol, obs.server, obs.username, obs.secret.fingerprint)
        use = self.uses.get(key)
        if use is None:
            if len(self.uses) >= MAX_CREDENTIALS:
                return
            use = self.uses[key] = CredentialUse(obs)
        use.clients.add(obs.client)
        if obs.accepted is True:
            use.accepted = True
        elif obs.accepted is False and use.accepted is None:
            use.accepted = False
        outcome = {True: "accepted", False: "refused", None: "outcome unknown"}[obs.accepted]
        use.tally.add(obs.ts, obs.where,
                      f"{obs.protocol} login {obs.username or '(no user)'} / {obs.secret.mask} "
                      f"{obs.client} -> {obs.server}:{obs.server_port}, {outcome}"
                      + (f" ({obs.note})" if obs.note else ""),
                      self.ctx.settings.max_evidence)
        if obs.kind == "cleartext" and obs.secret.captured:  # an uncaptured secret has no fingerprint to compare
            self._remember(obs.secret, (obs.username, obs.protocol, f"{obs.server}:{obs.server_port}"), obs)

    def _remember(self, secret: Secret, use: tuple[str, str, str], obs: Observation) -> None:
        seen = self.by_fingerprint.get(secret.fingerprint)
        if seen is None:
            if len(self.by_fingerprint) >= MAX_CREDENTIALS:
                return
            seen = self.by_fingerprint[secret.fingerprint] = set()
            self.fingerprint_masks[secret.fingerprint] = secret
            self.reuse_tallies[secret.fingerprint] = Tally()
        if len(seen) < 100:
            seen.add(use)
        self.reuse_tallies[secret.fingerprint].add(obs.ts, obs.where, f"{use[1]} {use[0] or '(no user)'} {use[2]}"
                                                   .strip(), self.ctx.settings.max_evidence)

    def _shared(self, obs: SharedPassword) -> None:
        if obs.score < self.ctx.settings.message_min_score:
            return
        key = (obs.channel, obs.sender, obs.secret.fingerprint)
        use = self.shared.get(key)
        if use is None:
            if len(self.shared) >= MAX_CREDENTIALS:
                return
            use = self.shared[key] = SharedUse(obs)
        use.tally.add(obs.ts, obs.where,
                      f"{obs.channel}: '{obs.phrase}' followed by {obs.secret.mask} "
                      f"from {obs.sender or '?'} to {', '.join(obs.recipients) or '?'}",
                      self.ctx.settings.max_evidence)
        self._remember(obs.secret, (obs.sender, f"message:{obs.channel}", ""), obs)

    # ------------------------------------------------------------ findings

    def finish(self) -> list[Finding]:
        findings = [self._credential_finding(use) for use in self.uses.values()]
        findings += [self._shared_finding(use) for use in self.shared.values()]
        findings += [self._reuse_finding(fp, uses) for fp, uses in self.by_fingerprint.items() if len(uses) > 1]
        return findings

    def _credential_finding(self, use: CredentialUse) -> Finding:
        c = use.sample
        severity = {"hash": "info", "anonymous": "low"}.get(c.kind, "medium" if c.starttls else "high")
        user = c.username or "(no user)"
        title = (f"Clear-text {c.protocol.upper()} password for {user} to {c.server}:{c.server_port}"
                 if c.kind == "cleartext" and c.username else
                 f"Clear-text {c.protocol.upper()} secret (community or key) to {c.server}:{c.server_port}"
                 if c.kind == "cleartext" else
                 f"{c.protocol.upper()} login material for {user} to {c.server}:{c.server_port}")
        if not c.secret.captured:
            title += " (password not captured by the log)"
        attributes = {
            "protocol": c.protocol,
            "username": c.username,
            "secret_mask": c.secret.mask,
            "secret_fingerprint": c.secret.fingerprint,
            "client": sorted(use.clients)[0],
            "clients": sorted(use.clients),
            "server": c.server,
            "server_port": c.server_port,
            "accepted": use.accepted,
            "weak": c.secret.weak,
            "default": c.secret.default,
            "kind": c.kind,
            "note": c.note,
            "secret_captured": c.secret.captured,
        }
        if c.starttls is not None:
            attributes["starttls"] = c.starttls
        return Finding(
            id=finding_id("credentials.cleartext", c.protocol, c.server, c.username, c.secret.fingerprint),
            detector="credentials.cleartext",
            category=CATEGORY_CREDENTIALS,
            title=title,
            first_seen=use.tally.first,
            last_seen=use.tally.last,
            count=use.tally.count,
            hosts=sorted(use.clients | {c.server}),
            attributes=attributes,
            evidence=use.tally.evidence,
            severity=severity,
        )

    def _shared_finding(self, use: SharedUse) -> Finding:
        s = use.sample
        return Finding(
            id=finding_id("credentials.shared-in-message", s.channel, s.sender, s.secret.fingerprint),
            detector="credentials.shared-in-message",
            category=CATEGORY_CREDENTIALS,
            title=f"Password pasted into a {s.channel} message by {s.sender or 'an unknown sender'}",
            first_seen=use.tally.first,
            last_seen=use.tally.last,
            count=use.tally.count,
            hosts=[h for h in [s.sender, *s.recipients] if h][:50],
            attributes={
                "channel": s.channel,
                "sender": s.sender,
                "recipients": list(s.recipients),
                "score": round(s.score, 2),
                "phrase": s.phrase,
                "secret_mask": s.secret.mask,
                "secret_fingerprint": s.secret.fingerprint,
                "weak": s.secret.weak,
            },
            evidence=use.tally.evidence,
            severity="high",
        )

    def _reuse_finding(self, fingerprint: str, uses: set[tuple[str, str, str]]) -> Finding:
        ordered = sorted(uses)
        secret = self.fingerprint_masks[fingerprint]
        users = sorted({u for u, _, _ in ordered if u})
        services = sorted({f"{p} {s}".strip() for _, p, s in ordered})
        tally = self.reuse_tallies[fingerprint]
        return Finding(
            id=finding_id("credentials.reuse", fingerprint),
            detector="credentials.reuse",
            category=CATEGORY_CREDENTIALS,
            title=f"One password reused for {len(users)} user(s) across {len(services)} service(s)",
            first_seen=tally.first,
            last_seen=tally.last,
            count=len(ordered),
            hosts=sorted({s.rpartition(":")[0] for _, _, s in ordered if s})[:50],
            attributes={
                "secret_mask": secret.mask,
                "secret_fingerprint": fingerprint,
                "usernames": users,
                "services": services,
                "protocols": sorted({p for _, p, _ in ordered}),
                "weak": secret.weak,
                "default": secret.default,
            },
            evidence=tally.evidence,
            severity="high",
        )
