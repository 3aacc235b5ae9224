"""Clear-text credentials: one finding per (protocol, user, servers), brute force grouped, reuse across them.

Only masks and keyed fingerprints reach this module (see detector.secrets), so
one secret sent over one protocol to several servers (a default SNMP community
answered by four agents) is one finding that lists the servers, and reuse is
judged on fingerprints: the same secret for two or more users, or over two or
more protocols, becomes its own finding. Finding ids never use a fingerprint
(it depends on the installation's key); they use protocol, server and user.

A finding names the device to act on: the server that accepts the secret when
it is one of the site's devices (else the clients), and ``used_by`` lists the
site's clients that sent it.

Many refused logins from one client to one server are one brute-force (or
password-spraying) finding, not one finding per guess: a consultant must not
hand over thirty pages for one attack.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

from detector.detectors.base import Detector, DetectorContext, Tally, devices, finding_id, merged
from detector.findings.credentials import (
    BruteForceAttributes,
    CleartextLoginAttributes,
    ReuseAttributes,
    SharedPasswordAttributes,
)
from detector.findings.finding import Finding
from detector.observations import Credential, Observation, SharedPassword
from detector.policy.ipranges import address_value
from detector.secrets import SECRET_IN_TEXT, Secret, is_the_secret

MAX_CREDENTIALS = 50_000
MAX_LISTED_USERS = 200
# refused tries whose secrets were not recorded (Zeek ftp.log, notice FTP::Bruteforcing) cannot be told apart:
# this many make a brute force, as for Zeek's own FTP::bruteforce_threshold
BLIND_TRIES = 20
PASSWORD_IS_USER_NAME = "password equals the user name"  # the user name is then shown as the secret's mask
PASSWORD_IN_USER_NAME = "the user name contained the password (replaced)"  # the decoder replaced it


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class CredentialUse:
    """One (protocol, server, user, secret) as seen, before grouping into findings."""

    sample: Credential
    clients: set[str] = field(default_factory=set)
    accepted: Optional[bool] = None
    tally: Tally = field(default_factory=Tally)


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class Attempts:
    """Every login from one client to one server over one protocol: the raw material of brute-force grouping."""

    protocol: str
    server_port: int
    refused: int = 0
    refused_unseen: int = 0  # refused tries whose secret the source did not record (Zeek hides it)
    accepted_users: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)
    tally: Tally = field(default_factory=Tally)


@dataclass(eq=False, repr=False)  # internal state: never compared or printed (start-up)
class SharedUse:
    """One password shared in messages, tallied across its sightings."""

    sample: SharedPassword
    tally: Tally = field(default_factory=Tally)


class CredentialDetector(Detector):
    name = "credentials"
    consumes = (Credential, SharedPassword)

    def __init__(self, ctx: DetectorContext):
        super().__init__(ctx)
        self.uses: dict[tuple, CredentialUse] = {}
        self.attempts: dict[tuple[str, str, str], Attempts] = {}
        self.shared: dict[tuple, list[SharedUse]] = {}
        self.by_fingerprint: dict[str, set[tuple[str, str, str]]] = {}
        self.reuse_clients: dict[str, set[str]] = {}
        self.fingerprint_masks: dict[str, Secret] = {}
        self.reuse_tallies: dict[str, Tally] = {}

    def observe(self, obs: Observation) -> None:
        if isinstance(obs, Credential):
            self._credential(obs)
        elif isinstance(obs, SharedPassword):
            self._shared(obs)

    def _credential(self, obs: Credential) -> None:
        if obs.username == SECRET_IN_TEXT or is_the_secret(obs.secret, obs.username):  # else shown in clear
            note = "; ".join(filter(None, (PASSWORD_IS_USER_NAME, obs.note)))
            obs = dataclasses.replace(obs, username=obs.secret.mask, note=note)
        elif SECRET_IN_TEXT in obs.username:
            obs = dataclasses.replace(obs, note="; ".join(filter(None, (PASSWORD_IN_USER_NAME, obs.note))))
        key = (obs.protocol, obs.server, obs.username, obs.kind, obs.secret.fingerprint)
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
        detail = (f"{obs.protocol} login {obs.username or '(no user)'} / {obs.secret.mask} "
                  f"{obs.client} -> {obs.server}:{obs.server_port}, {outcome}" + (f" ({obs.note})" if obs.note else ""))
        use.tally.add(obs.ts, obs.where, detail, self.ctx.settings.max_evidence)
        self._attempt(obs, detail)
        if obs.kind == "cleartext" and obs.secret.captured and obs.secret.fingerprint:
            self._remember(obs.secret, (obs.username, obs.protocol, f"{obs.server}:{obs.server_port}"), obs,
                           obs.client)

    def _attempt(self, obs: Credential, detail: str) -> None:
        key = (obs.protocol, obs.client, obs.server)
        attempts = self.attempts.get(key)
        if attempts is None:
            if len(self.attempts) >= MAX_CREDENTIALS:
                return
            attempts = self.attempts[key] = Attempts(obs.protocol, obs.server_port)
        if obs.accepted is False:
            attempts.refused += 1
            attempts.refused_unseen += not obs.secret.captured
        elif obs.accepted is True:
            attempts.accepted_users.add(obs.username)
        if len(attempts.users) < MAX_LISTED_USERS:
            attempts.users.add(obs.username)
        if len(attempts.secrets) < MAX_CREDENTIALS:
            attempts.secrets.add(obs.secret.fingerprint)
        attempts.tally.add(obs.ts, obs.where, detail, self.ctx.settings.max_evidence)

    def _remember(self, secret: Secret, use: tuple[str, str, str], obs: Observation, client: str = "") -> None:
        seen = self.by_fingerprint.get(secret.fingerprint)
        if seen is None:
            if len(self.by_fingerprint) >= MAX_CREDENTIALS:
                return
            seen = self.by_fingerprint[secret.fingerprint] = set()
            self.fingerprint_masks[secret.fingerprint] = secret
            self.reuse_tallies[secret.fingerprint] = Tally()
            self.reuse_clients[secret.fingerprint] = set()
        if len(seen) < 100:
            seen.add(use)
        if client and len(self.reuse_clients[secret.fingerprint]) < 100:
            self.reuse_clients[secret.fingerprint].add(client)
        self.reuse_tallies[secret.fingerprint].add(obs.ts, obs.where, f"{use[1]} {use[0] or '(no user)'} {use[2]}"
                                                   .strip(), self.ctx.settings.max_evidence)

    def _shared(self, obs: SharedPassword) -> None:
        if obs.score < self.ctx.settings.message_min_score:
            return
        key = (obs.channel, obs.sender)
        uses = self.shared.get(key)
        if uses is None:
            if len(self.shared) >= MAX_CREDENTIALS:
                return
            uses = self.shared[key] = []
        use = next((u for u in uses if u.sample.secret.fingerprint == obs.secret.fingerprint), None)
        if use is None:
            if len(uses) >= MAX_LISTED_USERS:
                return
            use = SharedUse(obs)
            uses.append(use)
        use.tally.add(obs.ts, obs.where,
                      f"{obs.channel}: '{obs.phrase}' followed by {obs.secret.mask} "
                      f"from {obs.sender or '?'} to {', '.join(obs.recipients) or '?'}",
                      self.ctx.settings.max_evidence)
        self._remember(obs.secret, (obs.sender, f"message:{obs.channel}", ""), obs)

    # ------------------------------------------------------------ findings

    def finish(self) -> list[Finding]:
        attacks = self._brute_forces()
        findings = [self._brute_force_finding(key, self.attempts[key]) for key in sorted(attacks)]
        kept = [use for use in self.uses.values() if not self._absorbed(use, attacks)]
        findings += [self._login_finding(uses) for uses in login_groups(kept)]
        findings += [self._shared_finding(uses) for uses in self.shared.values()]
        findings += [self._reuse_finding(fp, uses) for fp, uses in self.by_fingerprint.items() if is_reuse(uses)]
        return findings

    def _acted_on(self, servers: list[str], clients: list[str]) -> tuple[list[str], list[str]]:
        """(hosts, used_by): the site's servers that accept the secret, else its clients; the site's clients."""
        used_by = [client for client in clients if self.ctx.is_local(client)]
        local_servers = [server for server in servers if self.ctx.is_local(server)]
        return local_servers or used_by, used_by

    def _brute_forces(self) -> set[tuple[str, str, str]]:
        """(protocol, client, server) whose refused attempts are many and varied enough to be an attack."""
        s = self.ctx.settings
        return {key for key, a in self.attempts.items()
                if a.refused >= s.bruteforce_min_refused
                and (max(len(a.secrets), len(a.users)) >= s.bruteforce_min_distinct
                     or a.refused_unseen >= BLIND_TRIES)}

    @staticmethod
    def _absorbed(use: CredentialUse, attacks: set[tuple[str, str, str]]) -> bool:
        """A refused guess inside a brute force is part of that finding; an accepted login stays its own."""
        c = use.sample
        return use.accepted is not True and all((c.protocol, client, c.server) in attacks for client in use.clients)

    def _login_finding(self, uses: list[CredentialUse]) -> Finding:
        uses = sorted(uses, key=lambda u: (u.accepted is not True, -(u.tally.last or 0.0), u.sample.secret.mask))
        c = uses[0].sample  # the accepted (else the latest) secret speaks for the finding
        servers = sorted({use.sample.server for use in uses}, key=address_order)
        first = next(use.sample for use in uses if use.sample.server == servers[0])
        clients = devices(client for use in uses for client in use.clients)
        hosts, used_by = self._acted_on(servers, clients)
        outcomes = [use.accepted for use in uses]
        accepted = True if True in outcomes else False if outcomes and all(o is False for o in outcomes) else None
        tally = merged([use.tally for use in uses], self.ctx.settings.max_evidence)
        severity = {"hash": "info", "anonymous": "low", "token": "medium"}.get(
            c.kind, "medium" if c.starttls else "high")
        secrets = distinct_secrets(uses)
        attributes = CleartextLoginAttributes(
            protocol=c.protocol,
            username=c.username,
            secret_mask=c.secret.mask,
            secret_fingerprint=c.secret.fingerprint,
            secret_captured=bool(c.secret.captured),
            secrets=secrets[:MAX_LISTED_USERS],
            domain=c.domain,
            workstation=c.workstation,
            client=clients[0] if clients else "",
            clients=clients,
            used_by=used_by,
            server=first.server,
            server_port=first.server_port,
            servers=[server_text(use.sample) for use in _first_per_server(uses, servers)][:MAX_LISTED_USERS],
            accepted=accepted,
            weak=any(u.sample.secret.weak for u in uses),
            default=any(u.sample.secret.default for u in uses),
            kind=c.kind,
            note=c.note,
            starttls=c.starttls,
        )
        return Finding(
            # the lowest server stands for the group: every server belongs to one group per (protocol, user, kind)
            id=finding_id(CleartextLoginAttributes.detector, c.protocol, first.server, c.username, c.kind),
            title=self._login_title(c, len(secrets), first, len(servers)),
            first_seen=tally.first,
            last_seen=tally.last,
            count=tally.count,
            hosts=hosts,
            attributes=attributes,
            evidence=tally.evidence,
            severity=severity,
            inputs=sorted(tally.inputs),
        )

    @staticmethod
    def _login_title(c: Credential, secrets: int, first: Credential, servers: int) -> str:
        user = c.username or "(no user)"
        if c.domain:
            user = f"{c.domain}\\{user}"
        where = server_text(first) + (f" and {servers - 1} other server(s)" if servers > 1 else "")
        several = f" ({secrets} different secrets)" if secrets > 1 else ""
        if not c.secret.captured:
            return f"Clear-text {c.protocol.upper()} login by {user} to {where} (seen in a log, password not captured)"
        if c.kind == "cleartext" and c.username:
            return f"Clear-text {c.protocol.upper()} password for {user} to {where}{several}"
        if c.kind == "cleartext":
            return f"Clear-text {c.protocol.upper()} secret (community or key) to {where}{several}"
        if c.kind == "token":
            return f"Clear-text {c.protocol.upper()} token to {where}{several}"
        return f"{c.protocol.upper()} login material for {user} to {where}{several}"

    def _brute_force_finding(self, key: tuple[str, str, str], attempts: Attempts) -> Finding:
        protocol, client, server = key
        users = sorted(attempts.users)
        spraying = len(attempts.users) >= self.ctx.settings.bruteforce_min_distinct and len(attempts.secrets) <= 2
        tally = attempts.tally
        pattern = "password-spraying" if spraying else "brute-force"
        outcome = "one succeeded" if attempts.accepted_users else "none succeeded"
        _, used_by = self._acted_on([server], [client])
        # the local machine making the attempts is the one to look at; an attack from outside, the server it hits
        hosts = used_by or [server]
        return Finding(
            id=finding_id(BruteForceAttributes.detector, protocol, client, server),
            title=(f"{'Password spraying' if spraying else 'Brute force'} over {protocol.upper()} from {client} "
                   f"to {server}:{attempts.server_port}: {tally.count} attempts, {outcome}"),
            first_seen=tally.first,
            last_seen=tally.last,
            count=tally.count,
            hosts=hosts,
            attributes=BruteForceAttributes(
                protocol=protocol,
                client=client,
                used_by=used_by,
                server=server,
                server_port=attempts.server_port,
                pattern=pattern,
                attempts=tally.count,
                refused=attempts.refused,
                usernames=[u or "(no user)" for u in users[:50]],
                distinct_usernames=len(users),
                distinct_secrets=len(attempts.secrets),
                succeeded=bool(attempts.accepted_users),
                accepted_usernames=sorted(attempts.accepted_users)[:50],
                duration_s=round((tally.last or 0.0) - (tally.first or 0.0), 1),
            ),
            evidence=tally.evidence,
            severity="high" if attempts.accepted_users else "medium",
            inputs=sorted(tally.inputs),
        )

    def _shared_finding(self, uses: list[SharedUse]) -> Finding:
        uses = sorted(uses, key=lambda u: -(u.tally.last or 0.0))
        s = uses[0].sample
        tally = merged([u.tally for u in uses], self.ctx.settings.max_evidence)
        recipients = sorted({r for u in uses for r in u.sample.recipients})[:50]
        return Finding(
            id=finding_id(SharedPasswordAttributes.detector, s.channel, s.sender),
            title=f"Password pasted into a {s.channel} message by {s.sender or 'an unknown sender'}",
            first_seen=tally.first,
            last_seen=tally.last,
            count=tally.count,
            hosts=devices([s.sender, *recipients]),
            attributes=SharedPasswordAttributes(
                channel=s.channel,
                sender=s.sender,
                recipients=recipients,
                score=round(max(u.sample.score for u in uses), 2),
                phrase=s.phrase,
                secret_mask=s.secret.mask,
                secret_fingerprint=s.secret.fingerprint,
                secrets=len(uses),
                weak=any(u.sample.secret.weak for u in uses),
            ),
            evidence=tally.evidence,
            severity="high",
            inputs=sorted(tally.inputs),
        )

    def _reuse_finding(self, fingerprint: str, uses: set[tuple[str, str, str]]) -> Finding:
        ordered = sorted(uses)
        secret = self.fingerprint_masks[fingerprint]
        users = sorted({u for u, _, _ in ordered if u})
        protocols = sorted({p for _, p, _ in ordered})
        services = sorted({f"{p} {s}".strip() for _, p, s in ordered})
        tally = self.reuse_tallies[fingerprint]
        clients = devices(self.reuse_clients.get(fingerprint, ()))
        _, used_by = self._acted_on([], clients)
        return Finding(
            # the uses identify it, not the keyed fingerprint: the same reuse has the same id on any machine
            id=finding_id(ReuseAttributes.detector, *(f"{u}|{p}|{s}" for u, p, s in ordered)),
            title=reuse_title(users, protocols),
            first_seen=tally.first,
            last_seen=tally.last,
            count=len(ordered),
            hosts=clients,
            attributes=ReuseAttributes(
                secret_mask=secret.mask,
                secret_fingerprint=fingerprint,
                usernames=users,
                services=services,
                protocols=protocols,
                clients=clients,
                used_by=used_by,
                weak=secret.weak,
                default=secret.default,
            ),
            evidence=tally.evidence,
            severity="high",
            inputs=sorted(tally.inputs),
        )


def login_groups(uses: list[CredentialUse]) -> list[list[CredentialUse]]:
    """Uses grouped into login findings: one per (protocol, server, user, kind), and those groups joined when
    one captured secret (same keyed fingerprint) went to several servers over the same protocol, as that user."""
    parent: dict[tuple, tuple] = {}

    def root(key: tuple) -> tuple:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    by_secret: dict[tuple, tuple] = {}
    for use in uses:
        c = use.sample
        key = (c.protocol, c.server, c.username, c.kind)
        root(key)
        if c.secret.captured and c.secret.fingerprint:
            first = by_secret.setdefault((c.protocol, c.username, c.kind, c.secret.fingerprint), key)
            parent[root(key)] = root(first)
    groups: dict[tuple, list[CredentialUse]] = {}
    for use in uses:
        c = use.sample
        groups.setdefault(root((c.protocol, c.server, c.username, c.kind)), []).append(use)
    return list(groups.values())


def distinct_secrets(uses: list[CredentialUse]) -> list[dict]:
    """Every distinct secret of a login finding once, whatever number of servers it went to."""
    secrets: dict[tuple[str, str], dict] = {}
    for use in uses:
        key = (use.sample.secret.mask, use.sample.secret.fingerprint)
        entry = secrets.setdefault(key, {"mask": key[0], "fingerprint": key[1], "accepted": use.accepted, "count": 0})
        entry["count"] += use.tally.count
        if use.accepted is True or (use.accepted is False and entry["accepted"] is None):
            entry["accepted"] = use.accepted
    return list(secrets.values())


def _first_per_server(uses: list[CredentialUse], servers: list[str]) -> list[CredentialUse]:
    first: dict[str, CredentialUse] = {}
    for use in uses:
        first.setdefault(use.sample.server, use)
    return [first[server] for server in servers]


def server_text(c: Credential) -> str:
    return f"{c.server}:{c.server_port}"


def address_order(address: str) -> tuple:
    """Servers in address order (10.0.0.9 before 10.0.0.10), names after addresses."""
    parsed = address_value(address)
    return (0, *parsed, "") if parsed is not None else (1, 0, 0, address)


def is_reuse(uses: set[tuple[str, str, str]]) -> bool:
    """Reuse is one secret for two or more users, or over two or more protocols (or message channels):
    one user's secret on several servers of one protocol is that login finding's server list."""
    return len({user for user, _, _ in uses if user}) >= 2 or len({protocol for _, protocol, _ in uses}) >= 2


def reuse_title(users: list[str], protocols: list[str]) -> str:
    parts = []
    if len(users) >= 2:
        parts.append(f"by {len(users)} users")
    elif users:
        parts.append(f"by {users[0]}")
    if len(protocols) >= 2:
        parts.append(f"over {len(protocols)} protocols ({', '.join(protocols[:4])})")
    return "One password reused " + " ".join(parts)
