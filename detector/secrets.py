"""Turn a clear password into a Secret (mask + keyed fingerprint) and forget it.

The fingerprint is an HMAC keyed per installation, so the same password seen
twice gives the same fingerprint (reuse is visible) while a leaked report
cannot be checked against a dictionary without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets as _random
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union


@dataclass(frozen=True)
class Secret:
    """A password as the rest of the pipeline may see it: never the clear text.

    Built only by ``detector.secrets.protect`` (or ``protect_missing`` when a log
    hid the password); the clear value is dropped there.
    """

    mask: str
    fingerprint: str
    length: int
    weak: bool = False
    default: bool = False
    captured: bool = True  # False: the log proves a login but never held the secret (see protect_missing)

    def __str__(self) -> str:  # defensive: formatting a Secret never leaks
        return self.mask

    __repr__ = __str__


_KEY_CACHE: dict[str, bytes] = {}
_KEY_PATHS: dict[tuple, str] = {}
_KEYED: dict[bytes, hmac.HMAC] = {}  # an HMAC per key with its pads derived: each secret copies it

# A small list of defaults and very common passwords; only their fingerprints
# matter at run time, the list itself is public knowledge.
COMMON_PASSWORDS = frozenset(
    """
    password password1 passw0rd 123456 12345678 123456789 1234567890 qwerty abc123 letmein
    welcome admin administrator root toor changeme default guest public private secret
    test test123 user login master monkey dragon iloveyou 111111 000000 1234 12345 pass
    cisco manager support sysadmin ubnt raspberry alpine
    1234567 123123 654321 666666 121212 987654321 qwerty123 qwertz qwertz123 azerty azerty123 password123
    admin123 admin1234 adminadmin root123 welcome1 welcome123 letmein1 abc12345 p@ssw0rd p@ssword pa55word
    passwort passwort1 kennwort motdepasse contrasena contraseña senha 1q2w3e4r 1qaz2wsx zaq12wsx
    cisco123 netgear1 motorola system oracle tomcat vagrant postgres mysql redis pi ftp anonymous
    private123 public123 community snmp manager1 supervisor service operator security
    """.split()
)


def home_dir() -> Path:
    """Where per-installation state (the fingerprint key) lives."""
    env = os.environ.get("SHADOWIT_HOME")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "shadowit"


def _key_path() -> str:
    """home_dir()/fingerprint.key, remembered per environment: it is asked for every secret seen."""
    env = (os.environ.get("SHADOWIT_HOME"), os.environ.get("XDG_CONFIG_HOME"), os.environ.get("HOME"))
    path = _KEY_PATHS.get(env)
    if path is None:
        if len(_KEY_PATHS) >= 16:
            _KEY_PATHS.clear()
        path = _KEY_PATHS[env] = str(home_dir() / "fingerprint.key")
    return path


def installation_key() -> bytes:
    """The HMAC key, created on first use with mode 0600."""
    cached = _KEY_CACHE.get(_key_path())
    if cached:
        return cached
    path = Path(_key_path())
    try:
        key = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        key = _random.token_bytes(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key.hex() + "\n")
    _KEY_CACHE[str(path)] = key
    return key


def mask(length: int, first: str) -> str:
    """At most the first character and the length; nothing for short secrets."""
    if length < 4 or not first.isprintable():
        return f"{'*' * min(length, 12)} ({length})"
    return f"{first}{'*' * min(length - 1, 11)} ({length})"


def is_weak(clear: str) -> bool:
    classes = sum(
        (
            any(c.islower() for c in clear),
            any(c.isupper() for c in clear),
            any(c.isdigit() for c in clear),
            any(not c.isalnum() for c in clear),
        )
    )
    return len(clear) < 8 or classes <= 1 or clear.lower() in COMMON_PASSWORDS


def protect(value: Union[str, bytes], key: bytes | None = None) -> Secret:
    """The only door from clear text to the pipeline: returns a Secret without it."""
    if isinstance(value, bytes):
        clear = value.decode("utf-8", "replace")
        raw = value
    else:
        clear = value
        raw = value.encode("utf-8", "replace")
    return Secret(
        mask=mask(len(clear), clear[:1]),
        fingerprint=keyed_fingerprint(raw, key),
        length=len(clear),
        weak=is_weak(clear),
        default=clear.lower() in COMMON_PASSWORDS,
    )


SECRET_IN_TEXT = "[password]"
MIN_SECRET_IN_TEXT = 3  # shorter passwords occur in names by chance ("ab" in "abbott"): only equality counts then


def without_secret(text: str, secret: Union[str, bytes]) -> str:
    """``text`` (a user or bind name sent with ``secret``) with every copy of the secret replaced.

    People type the password into the user field, or a DN carries it; the
    name is shown in findings and the device directory, so the clear value
    must not reach them through it.
    """
    clear = secret.decode("utf-8", "replace") if isinstance(secret, bytes) else secret
    if not clear or not text:
        return text
    if text == clear:
        return SECRET_IN_TEXT
    if len(clear) < MIN_SECRET_IN_TEXT:
        return text
    return text.replace(clear, SECRET_IN_TEXT)


def keyed_fingerprint(raw: bytes, key: bytes | None = None) -> str:
    """HMAC-SHA-256 of ``raw`` under the installation's key, shortened: what a Secret shows instead of its value."""
    key = key or installation_key()
    keyed = _KEYED.get(key)
    if keyed is None:
        if len(_KEYED) >= 16:
            _KEYED.clear()
        keyed = _KEYED[key] = hmac.new(key, digestmod=hashlib.sha256)
    mac = keyed.copy()
    mac.update(raw)
    return mac.hexdigest()[:16]


def is_the_secret(secret: Secret, text: str) -> bool:
    """``text`` (a user name, say) is the clear value behind ``secret``: then it must be shown masked too."""
    if not text or not secret.captured or not secret.fingerprint:
        return False
    return keyed_fingerprint(text.encode("utf-8", "replace")) == secret.fingerprint


NOT_CAPTURED = "(not captured)"


def protect_missing() -> Secret:
    """A login whose secret the source did not record (Zeek logs ``<hidden>`` by default).

    Still a clear-text login worth a finding; it has no fingerprint, so it can
    never take part in reuse detection.
    """
    return Secret(mask=NOT_CAPTURED, fingerprint="", length=0, captured=False)


# ---------------------------------------------------------------- command lines

# Options whose value is a URL that carries a token (Slack, Teams and Discord webhooks put it in the path).
SECRET_URL_OPTIONS = frozenset({"--notify-webhook"})
REDACTED = "***"
_QUERY_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")  # a name such as token or key; anything else is masked whole
_URL_USER_INFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


def masked_url(url: str) -> str:
    """Scheme, host, port and the first path segment of ``url``; user-info, later segments and values masked."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a URL a client would accept: nothing of it is kept
        return REDACTED
    user = f"{REDACTED}@" if "@" in parts.netloc else ""
    segments = parts.path.split("/")
    path = "/".join(segments[:2] + [REDACTED if s else s for s in segments[2:]])
    query = "&".join(f"{name}={REDACTED}" if sep and _QUERY_NAME.fullmatch(name) else REDACTED
                     for name, sep, _ in (pair.partition("=") for pair in parts.query.split("&")))
    return (f"{parts.scheme}://{user}{host}{port}{path}" + (f"?{query}" if parts.query else "")
            + (f"#{REDACTED}" if parts.fragment else ""))


def _redacted_argument(argument: str, after: str) -> str:
    """One argument, given the one before it: a secret option's value, or any URL's user-info, masked."""
    name, equals, value = argument.partition("=")
    if after in SECRET_URL_OPTIONS:
        return masked_url(argument)
    if equals and name in SECRET_URL_OPTIONS:
        return f"{name}={masked_url(value)}"
    return _URL_USER_INFO.sub(rf"\1{REDACTED}@", argument)


def redacted_command_line(arguments: Sequence[str]) -> str:
    """The command line as stored and shown: webhook tokens and URL passwords masked (README "Secrets")."""
    return " ".join(_redacted_argument(argument, before)
                    for before, argument in zip(["", *arguments], arguments))
