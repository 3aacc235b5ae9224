"""Score message text for a pasted password ("pw is Xy7!...", "Passwort: ...", "mot de passe : ...").

A hit needs a password keyword (English, German, French, Spanish, Portuguese,
Italian), then a candidate token whose shape looks like a password. The score
weighs the keyword, the connector between them, the candidate's length,
character classes and entropy, and subtracts for nearby phrases that talk
*about* passwords (reset links, "forgot your password", policies, log lines).
Only the keyword travels on; the candidate goes straight into ``protect()``.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

from detector.observations import SharedPassword
from detector.secrets import Secret, protect

FLOOR = 0.5  # hits below this are not worth a Secret; the detector applies Settings.message_min_score
MAX_TEXT = 256 * 1024
MAX_HITS = 20

STRONG_KEYWORDS = (
    "password", "passwort", "kennwort", "mot de passe", "contraseña", "contrasena", "senha", "passphrase",
    "passcode", "wachtwoord", "parola d'ordine", "wifi key", "wlan-schlüssel", "wlan key",
)
WEAK_KEYWORDS = ("pw", "pwd", "passwd", "pass", "mdp", "clave", "pin", "kw", "passw", "pword")
PAIR_KEYWORDS = (
    "login details", "login data", "login info", "credentials", "creds", "zugangsdaten", "anmeldedaten",
    "logindaten", "identifiants", "informations de connexion", "credenciales", "datos de acceso",
    "user/pass", "username/password", "benutzer/passwort", "utilisateur/mot de passe", "usuario/contraseña",
) + ("login", "account")
GENERIC_PAIR_KEYWORDS = ("login", "account")

_KEYWORD = "|".join(re.escape(k) for k in sorted(STRONG_KEYWORDS + WEAK_KEYWORDS, key=len, reverse=True))
_PAIR = "|".join(re.escape(k).replace("/", r"\s*/\s*") for k in sorted(PAIR_KEYWORDS, key=len, reverse=True))
_CONNECTOR = r"(?:\s*(?::|=|->|→|\bis\b|\bist\b|\blautet\b|\best\b|\bes\b|\bé\b|\bè\b|\bwas\b|\bwill be\b)\s*){0,3}"
_CANDIDATE = (r"(?:\"(?P<q1>[^\"\r\n]{1,64})\"|'(?P<q2>[^'\r\n]{1,64})'|`(?P<q3>[^`\r\n]{1,64})`"
              r"|(?P<bare>[^\s\"'`<>]{1,64}))")

_KEYWORD_RE = rf"(?<![\w-])(?P<kw>{_KEYWORD})(?![\w-])(?P<conn>{_CONNECTOR})(?P<cand>{_CANDIDATE})"
_PAIR_RE = (rf"(?<![\w-])(?P<kw>{_PAIR})(?![\w-])\s*(?:are|is|sind|sont|son|:|=|-)*\s*"
            rf"(?P<user>[\w.@\\+-]{{1,64}})\s*(?P<sep>/|:|\|)\s*(?P<cand>{_CANDIDATE})")


@functools.cache
def patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """(KEYWORD_RE, PAIR_RE), compiled on first use: 4 ms at every start, and most scans read no message."""
    return re.compile(_KEYWORD_RE, re.IGNORECASE), re.compile(_PAIR_RE, re.IGNORECASE)


# phrases that talk about passwords without sharing one
FALSE_POSITIVE_MARKERS = (
    "reset", "forgot", "forgotten", "expire", "expiry", "policy", "must be", "must contain", "must have",
    "never share", "do not share", "don't share", "failed password", "invalid password", "wrong password",
    "incorrect", "password required", "required for", "change your", "update your", "strength",
    "vergessen", "zurücksetzen", "abgelaufen", "läuft ab", "richtlinie", "niemals", "falsches",
    "oublié", "réinitialis", "expiré", "jamais", "incorrect", "politique",
    "olvid", "restablecer", "caducad", "nunca", "incorrecta", "política",
    "esqueceu", "redefinir",
)
STOPWORDS = frozenset(
    """
    is are was were be been has have had will would should must can could may might for to of the a an and or
    in on at by with from your you my our their his her its this that these those it here there below above
    not no yes please thanks thank regards cheers hello hi dear when then than via into reset link expired
    required changed change policy field manager protected protection strength length hint hints
    ist sind war wird werden muss kann für zu von der die das den dem ein eine und oder im mit bitte danke
    gruß grüße hier unten oben ihr ihre dein deine mein meine nicht
    est sont était sera doit peut pour de du des le la les un une et ou dans avec votre vos mon ma mes merci
    es son era será debe puede para del el los las una y o en con su sus mi mis gracias aquí
    """.split()
)
TRAILING_PUNCTUATION = ".,;)]}"
PLACEHOLDER_CHARACTERS = set("*x•?.-_#")  # masks like "********" stand for a password, they are not one


@dataclass(frozen=True)
class TextHit:
    """A password-like phrase found in message text (the secret stays masked)."""

    phrase: str  # the keyword, lower-case; never the secret
    secret: Secret
    score: float


def scan_text(body: str, floor: float = FLOOR) -> list[TextHit]:
    """Password-like tokens after password keywords, best first, at most MAX_HITS."""
    body = body[:MAX_TEXT]
    hits: dict[str, TextHit] = {}
    pair_spans = []
    keyword_re, pair_re = patterns()
    for match in pair_re.finditer(body):
        if _consider(body, match, pair=True, floor=floor, hits=hits):
            pair_spans.append(match.span())
    for match in keyword_re.finditer(body):
        if not any(start <= match.start() < end for start, end in pair_spans):
            _consider(body, match, pair=False, floor=floor, hits=hits)
    return sorted(hits.values(), key=lambda h: -h.score)[:MAX_HITS]


def _consider(body: str, match: re.Match, pair: bool, floor: float, hits: dict[str, TextHit]) -> bool:
    """Score one match; True when it became (or improved) a hit."""
    candidate = _candidate(match)
    keyword = re.sub(r"\s+", " ", match.group("kw").lower())
    quoted = match.group("bare") is None
    if pair:
        connector = match.group("sep")
        user = match.group("user").lower()
        if user in STOPWORDS or user.isdigit() or (keyword in GENERIC_PAIR_KEYWORDS and char_classes(candidate) < 2):
            return False
    else:
        connector = match.group("conn").strip()
    score = candidate_score(candidate, keyword, connector, quoted, pair, _context(body, match))
    if score < floor:
        return False
    secret = protect(candidate)
    previous = hits.get(secret.fingerprint)
    if previous is None or previous.score < score:
        hits[secret.fingerprint] = TextHit(keyword, secret, round(score, 2))
    return True


def _candidate(match: re.Match) -> str:
    for name in ("q1", "q2", "q3"):
        if match.group(name):
            return match.group(name)
    bare = match.group("bare") or ""
    while len(bare) > 4 and bare[-1] in TRAILING_PUNCTUATION:
        bare = bare[:-1]
    return bare


def _context(body: str, match: re.Match) -> str:
    return body[max(0, match.start() - 60):min(len(body), match.end() + 40)].lower()


def candidate_score(candidate: str, keyword: str, connector: str, quoted: bool, pair: bool,
                    context: str) -> float:
    """0..1: how likely ``candidate`` is a password given its keyword, connector and surroundings."""
    if not _plausible(candidate, keyword):
        return 0.0
    classes = char_classes(candidate)
    if not connector and not quoted and (classes < 2 or candidate.isalpha()):
        return 0.0  # "password\nThanks": a bare word after a bare keyword is prose
    score = 0.5 if keyword in STRONG_KEYWORDS else 0.45 if pair else 0.4
    if connector in (":", "=", "/", "|", "->", "→"):
        score += 0.15
    elif connector:
        score += 0.12
    if quoted:
        score += 0.05
    length = len(candidate)
    score += 0.15 if length >= 8 else 0.08 if length >= 6 else 0.0
    score += 0.15 if classes >= 3 else 0.1 if classes == 2 else 0.0
    if entropy_bits(candidate) >= 28:
        score += 0.05
    if any(marker in context for marker in FALSE_POSITIVE_MARKERS):
        score -= 0.5
    return max(0.0, min(1.0, score))


def _plausible(candidate: str, keyword: str) -> bool:
    lowered = candidate.lower()
    if len(candidate) < 4 or lowered in STOPWORDS or lowered.rstrip(":") == keyword:
        return False
    if set(lowered) <= PLACEHOLDER_CHARACTERS or lowered.startswith(("http://", "https://", "www.", "mailto:")):
        return False
    if not_a_password(candidate):
        return False
    if lowered.strip(":") in STRONG_KEYWORDS or lowered.strip(":") in WEAK_KEYWORDS:
        return False
    return not (candidate.startswith(("<", "[", "{", "$")) and candidate.endswith((">", "]", "}")))


# what attack payloads and URLs look like: a field carrying one is probing a server, not logging in
# (pattern text: compiled through re's cache on first use, not at every start)
_INJECTION = (
    r"(?:[;|&`]\s*(?:cat|ls|id|wget|curl|nc|bash|sh|echo|uname|whoami|ping|rm|chmod|python|perl|php)\b"
    r"|\$\(|/etc/(?:passwd|shadow|hosts)|\.\./\.\./|<\?php|<script|\bphp://|\bdata://|\bexpect://"
    r"|\b(?:system|exec|passthru|shell_exec|eval|base64_decode|phpinfo|assert)\s*\("
    r"|'\s*(?:or|and)\s+['\"\w]+\s*(?:=|like)|\bunion\s+(?:all\s+)?select\b|\bselect\b.+\bfrom\b"
    r"|\b(?:or|and)\s+\d+\s*=\s*\d+|'\s*--|'\s*#|;\s*(?:drop|insert|update|delete)\s|\bsleep\s*\(\s*\d"
    r"|\bwaitfor\s+delay\b|\$\{jndi:|\{\{.*\}\}|%00|\x00)"
)
_URL = r"^(?:[a-z][a-z0-9+.-]{1,15}://|www\.[\w-]+\.)"


def not_a_password(value: str) -> str:
    """Why a value in a password position is not a password ("" when it may be one).

    Judged by shape: command, SQL and PHP injection strings and URLs are what
    scanners and exploits put into every field; people do not type them as passwords.
    """
    if re.search(_INJECTION, value[:4096], re.IGNORECASE):
        return "injection string"
    if re.match(_URL, value.strip(), re.IGNORECASE):
        return "URL"
    return ""


def char_classes(value: str) -> int:
    return sum((any(c.islower() for c in value), any(c.isupper() for c in value),
                any(c.isdigit() for c in value), any(not c.isalnum() for c in value)))


def entropy_bits(value: str) -> float:
    """Shannon entropy of the characters times the length: a rough guessing cost."""
    if not value:
        return 0.0
    counts = {c: value.count(c) for c in set(value)}
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return per_char * len(value)


def shared_passwords(body: str, channel: str, sender: str, recipients: tuple[str, ...], ts: float,
                     where: str) -> list[SharedPassword]:
    """SharedPassword observations for the password-like hits of one message."""
    return [SharedPassword(ts, where, channel, sender[:256], tuple(r[:256] for r in recipients[:50]), hit.secret,
                           hit.score, hit.phrase) for hit in scan_text(body)]
