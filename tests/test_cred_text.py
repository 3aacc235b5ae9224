"""Passwords pasted into messages: the scorer in four languages, its false-positive set, and the
message files a consultant is handed (.eml, mbox, Slack and Teams JSON, plain chat logs)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Optional

import pytest
from cred_packets import CLIENT, SERVER, T0, ftp_exchange, scan, smtp_mail
from scanning import by_detector

from detector.detectors.base import DetectorContext
from detector.detectors.credentials import CredentialDetector
from detector.observations import Credential, SharedPassword
from detector.policy.catalog import load_catalog
from detector.policy.settings import Settings
from detector.samples import tcp_session, write_pcap
from detector.secrets import protect
from detector.textscan import scan_text

POSITIVES_BY_LANGUAGE = {  # language: [(message, trigger phrase, the secret in it)]
    "en": [("Hi Tom, the password: Xy7!pq9Lm for the NAS", "password", "Xy7!pq9Lm"),
           ("pw is hunter2", "pw", "hunter2"),
           ('the wifi password is "CoffeeBean#77" today', "password", "CoffeeBean#77"),
           ("login details: bob / Tr0ub4dor&3", "login details", "Tr0ub4dor&3"),
           ("user/pass: admin / S3cure-Admin", "user/pass", "S3cure-Admin")],
    "de": [("Das Passwort lautet: Sommer2024!", "passwort", "Sommer2024!"),
           ("Zugangsdaten: admin / Geheim123", "zugangsdaten", "Geheim123"),
           ("Kennwort ist Fruehling#25", "kennwort", "Fruehling#25")],
    "fr": [("le mot de passe est : Chat!Noir42", "mot de passe", "Chat!Noir42"),
           ("mdp: Bonjour2026$", "mdp", "Bonjour2026$")],
    "es": [("la contraseña es: Gato#2023", "contraseña", "Gato#2023"),
           ("clave: Madrid_2025x", "clave", "Madrid_2025x")],
}
POSITIVES = [(language, *case) for language, cases in POSITIVES_BY_LANGUAGE.items() for case in cases]

FALSE_POSITIVES = [
    "Click the password reset link below",
    "Forgot your password? Click here",
    "Your password must be at least 8 characters long",
    "password: ********",
    "Passwort: " + "X" * 6,
    "Failed password for invalid user admin from 10.0.0.5 port 22 ssh2",
    "+OK password required for user alice",
    "Please enter your password",
    "the password is on the wiki",
    "Passwort vergessen? Hier klicken",
    "Ihr Passwort läuft ab in 3 Tagen",
    "mot de passe oublié ?",
    "Réinitialiser votre mot de passe: https://example.com/reset",
    "¿Olvidó su contraseña?",
    "Restablecer contraseña: haga clic aquí",
    "Account 12345: renewal",
    "Here is the password\n\nThanks",
    "We never share your password with anyone",
    "password policy: 12 characters",
]


@pytest.mark.parametrize("language,text,phrase,clear", POSITIVES)
def test_password_phrases_in_each_language(language, text, phrase, clear):
    hits = scan_text(text)
    assert [h.phrase for h in hits] == [phrase]
    assert hits[0].secret.fingerprint == protect(clear).fingerprint
    assert hits[0].score >= Settings().message_min_score


@pytest.mark.parametrize("text", FALSE_POSITIVES)
def test_false_positive_set_yields_nothing(text):
    assert [h for h in scan_text(text) if h.score >= Settings().message_min_score] == []


def test_score_weighs_the_shape_of_the_candidate():
    strong = scan_text("password: Xk9#mQ2!vL7p")[0].score
    weak = scan_text("password: summer")[0].score
    assert strong > weak


# ---------------------------------------------------------------- message files


def test_eml_file(tmp_path):
    path = tmp_path / "handover.eml"
    path.write_bytes(smtp_mail("boss@example.com", ["new@example.com"]) + b"\r\n")
    findings, inputs, _ = scan(path)
    assert inputs[0].kind == "doc:mailbox"
    hit = by_detector(findings, "credentials.shared-in-message")[0]
    assert (hit.attributes.channel, hit.attributes.sender) == ("mailbox", "boss@example.com")
    assert hit.attributes.recipients == ["new@example.com"]


def test_mbox_with_several_messages(tmp_path):
    first = b"From: a@x.org\nTo: b@x.org\nDate: Mon, 2 Nov 2026 09:00:00 +0000\nSubject: hi\n\npw is Qwer!y2026\n"
    second = b"From: c@x.org\nTo: d@x.org\nSubject: reset\n\nForgot your password? Use the reset link.\n"
    third = b"From: e@x.org\nTo: f@x.org\nSubject: fr\n\nmot de passe : Lyon#Part-Dieu\n"
    body = b"".join(b"From sender@x.org Mon Nov  2 09:00:00 2026\n" + m + b"\n" for m in (first, second, third))
    path = tmp_path / "archive.mbox"
    path.write_bytes(body)
    findings, inputs, _ = scan(path)
    assert inputs[0].records == 3
    hits = sorted((f.attributes.sender, f.attributes.phrase) for f in
                  by_detector(findings, "credentials.shared-in-message"))
    assert hits == [("a@x.org", "pw"), ("e@x.org", "mot de passe")]
    first_hit = [f for f in by_detector(findings, "credentials.shared-in-message")
                 if f.attributes.sender == "a@x.org"][0]
    assert first_hit.first_seen == 1793610000.0


def test_slack_export(tmp_path):
    messages = [
        {"type": "message", "user": "U1", "text": "morning!", "ts": "1793610000.000100",
         "user_profile": {"real_name": "Ann"}},
        {"type": "message", "user": "U2", "text": "the vpn pw is Vpn!2026ok", "ts": "1793610060.000200",
         "user_profile": {"real_name": "Ben"}},
        {"type": "message", "user": "U2", "text": "reset your password at https://sso", "ts": "1793610120.0"},
    ]
    path = tmp_path / "2026-11-02.json"
    path.write_text(json.dumps(messages, indent=1))
    findings, inputs, _ = scan(path)
    assert inputs[0].kind == "doc:slack-export" and inputs[0].records == 3
    hits = by_detector(findings, "credentials.shared-in-message")
    assert [(h.attributes.channel, h.attributes.sender) for h in hits] == [("slack", "Ben")]


def test_teams_export(tmp_path):
    document = {"value": [
        {"id": "1", "createdDateTime": "2026-11-02T09:00:00Z", "from": {"user": {"displayName": "Cleo"}},
         "body": {"contentType": "html",
                  "content": "<p>Kennwort f&uuml;r den Drucker:</p><p>Kennwort: Dr&amp;ucker9</p>"},
         "chatId": "19:abc"},
        {"id": "2", "createdDateTime": "2026-11-02T09:01:00Z", "from": {"user": {"displayName": "Dan"}},
         "body": {"contentType": "text", "content": "thanks, got it"}},
    ]}
    path = tmp_path / "teams.json"
    path.write_text(json.dumps(document))
    findings, inputs, _ = scan(path)
    assert inputs[0].kind == "doc:teams-export"
    hits = by_detector(findings, "credentials.shared-in-message")
    assert [(h.attributes.sender, h.attributes.recipients) for h in hits] == [("Cleo", ["19:abc"])]
    assert hits[0].attributes.secret_mask == "D******** (9)"  # Dr&ucker9, entity decoded


def test_plain_text_chat_log(tmp_path):
    path = tmp_path / "ops.log"
    path.write_text("[09:00] <ann> morning\n[09:01] <ben> root pw is Sr!v3r-42\n[09:02] <ann> danke\n"
                    "02/11/2026, 09:03 - Cleo: la contraseña es: Gato#2023\n"
                    "02/11/2026, 09:04 - Dan: ¿Olvidó su contraseña?\n")
    findings, inputs, _ = scan(path)
    assert inputs[0].kind == "log:chat-log"
    hits = {h.attributes.sender: h for h in by_detector(findings, "credentials.shared-in-message")}
    assert sorted(hits) == ["Cleo", "ben"]
    assert hits["Cleo"].first_seen == datetime(2026, 11, 2, 9, 3, tzinfo=timezone.utc).timestamp()


def test_syslog_with_password_words_is_not_a_chat(tmp_path):
    path = tmp_path / "auth.log"
    path.write_text("".join(f"2026-11-02 09:0{i}:00 host sshd[12{i}]: Failed password for root from 10.0.0.{i} "
                            "port 22 ssh2\n" for i in range(9)))
    findings, inputs, _ = scan(path)
    assert inputs[0].kind != "log:chat-log"
    assert by_detector(findings, "credentials.shared-in-message") == []


# ---------------------------------------------------------------- detector: dedup, reuse, threshold


def detector(settings: Optional[Settings] = None) -> CredentialDetector:
    return CredentialDetector(DetectorContext(settings or Settings(), load_catalog()))


def credential(protocol: str, user: str, password: str, server: str = SERVER, ts: float = T0,
               accepted=None) -> Credential:
    return Credential(ts, "f:frame 1", protocol, CLIENT, server, 21, user, protect(password), accepted=accepted)


def test_dedup_counts_and_first_last_seen():
    d = detector()
    for i in range(3):
        d.observe(credential("ftp", "web", "Dup!Pass1", ts=T0 + i * 60, accepted=i == 2))
    [finding] = d.finish()
    assert (finding.count, finding.first_seen, finding.last_seen) == (3, T0, T0 + 120)
    assert finding.attributes.accepted is True


def test_reuse_across_users_services_and_messages():
    d = detector()
    d.observe(credential("ftp", "web", "Same#Pass1"))
    d.observe(credential("imap", "anna", "Same#Pass1", server="10.9.9.9"))
    d.observe(SharedPassword(T0, "x", "slack", "Ben", ("#ops",), protect("Same#Pass1"), 0.9, "pw"))
    d.observe(credential("ftp", "other", "Unique#Pass2"))
    [reuse] = [f for f in d.finish() if f.detector == "credentials.reuse"]
    assert reuse.attributes.usernames == ["Ben", "anna", "web"]
    assert reuse.attributes.protocols == ["ftp", "imap", "message:slack"]
    assert reuse.first_seen == T0


def test_weak_and_default_flags():
    d = detector()
    d.observe(credential("telnet", "admin", "admin"))
    d.observe(credential("telnet", "ops", "Long&Strong-2026"))
    by_user = {f.attributes.username: f.attributes for f in d.finish()}
    admin = protect("admin").mask  # the password is the user name: the user name is shown masked (issue 25)
    assert (by_user[admin].weak, by_user[admin].default) == (True, True)
    assert (by_user["ops"].weak, by_user["ops"].default) == (False, False)


def test_message_threshold_comes_from_settings():
    hit = SharedPassword(T0, "x", "irc", "eve", (), protect("maybe1"), 0.62, "pw")
    low, high = detector(Settings(message_min_score=0.6)), detector(Settings(message_min_score=0.7))
    low.observe(hit)
    high.observe(hit)
    assert len(low.finish()) == 1 and high.finish() == []


def test_same_login_on_two_ports_of_one_server_is_one_finding(tmp_path):
    packets = tcp_session(CLIENT, SERVER, 43000, 21, ftp_exchange("web", "Two#Ports1"), T0)
    packets += tcp_session(CLIENT, SERVER, 43001, 2121, ftp_exchange("web", "Two#Ports1"), T0 + 1)
    findings, _, _ = scan(write_pcap(tmp_path / "two.pcap", packets))
    [finding] = by_detector(findings, "credentials.cleartext")
    assert finding.count == 2
