"""The parse cache of the YAML loader (detector/policy/yamlsrc.py), for the files read at every start.

Rule packs, site rules, the compliance and service catalogs, the address
ranges and the Suricata signature map are read by every scan and rarely
change. Served from here, a start imports no PyYAML and parses nothing, which
saves about 50-70 ms (10 %) of a small scan's wall time and 16 % of its
instructions (measured for issue 20). Only yamlsrc uses this module.

An entry is keyed by a hash of the file's bytes (not its name or time stamp),
the kind of parse and CACHE_VERSION, so an edited file simply misses. Entries
hold plain data only and are written with ``marshal`` (never pickle): loading
one can build no object but dict/list/tuple/str/bytes/number.

The cache is an optimisation only: any failure to read, decode or write it
(read-only home, corrupt or foreign file) falls back to parsing, silently.
Only documents that parsed without error are stored, so errors are always
worded by the parser itself.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Optional

# bump when an encoding below, or what a parser produces, changes: older entries are then never read
CACHE_VERSION = 1
_MAGIC = b"shadowit-parse-cache\0"
_MARSHAL_VERSION = 4
DISABLE_ENV = "SHADOWIT_NO_CACHE"  # set (non-empty) to parse every time

_PLAIN = (str, int, float, bool, type(None))


class Unencodable(Exception):
    """A value the cache does not store (the document is then simply parsed every time)."""


def cache_dir() -> Path:
    """``$SHADOWIT_HOME/cache`` when set (tests and bench isolate state there), else the XDG cache home."""
    home = os.environ.get("SHADOWIT_HOME")
    if home:
        return Path(home) / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "shadowit"


def _entry_path(kind: str, data: bytes) -> Path:
    digest = hashlib.blake2b(data, digest_size=20, person=b"shadowit-yaml")
    digest.update(f"{kind}\0{CACHE_VERSION}".encode())
    return cache_dir() / f"{kind}-{digest.hexdigest()}.marshal"


def _enabled() -> bool:
    return not os.environ.get(DISABLE_ENV)


def _checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=16).digest()


def load(kind: str, data: bytes) -> Optional[Any]:
    """The stored value for ``data`` parsed as ``kind``, or None on a miss or any problem.

    An entry is MAGIC, a checksum of the rest, then the marshalled (CACHE_VERSION, value):
    a truncated, overwritten or foreign file is refused before marshal reads it.
    """
    if not _enabled():
        return None
    try:
        with open(_entry_path(kind, data), "rb") as handle:
            blob = handle.read()
        start = len(_MAGIC) + 16
        payload = blob[start:]
        if not blob.startswith(_MAGIC) or blob[len(_MAGIC):start] != _checksum(payload):
            return None
        stored = marshal.loads(payload)
        if type(stored) is not tuple or len(stored) != 2 or stored[0] != CACHE_VERSION:
            return None
        return stored[1]
    except Exception:  # noqa: BLE001 - a cache must never be the reason a scan fails
        return None


def store(kind: str, data: bytes, value: Any) -> None:
    """Keep ``value`` (already plain, see ``encode``) for ``data``; atomically, best effort."""
    if not _enabled():
        return
    tmp = None
    try:
        path = _entry_path(kind, data)
        payload = marshal.dumps((CACHE_VERSION, value), _MARSHAL_VERSION)
        blob = _MAGIC + _checksum(payload) + payload
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            handle.write(blob)
        os.replace(tmp, path)
        tmp = None
    except Exception:  # noqa: BLE001 - unwritable cache: parse next time too
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def cached(kind: str, data: bytes, parse: Callable[[], tuple[Any, bool]],
           encode: Callable[[Any], Any], decode: Callable[[Any], Any]) -> Any:
    """``decode(entry)`` on a hit; else ``parse()`` -> (value, ok), storing ``encode(value)`` when ok.

    ``decode`` failing on an entry (a foreign or damaged one) is a miss as well.
    """
    entry = load(kind, data)
    if entry is not None:
        try:
            return decode(entry)
        except Exception:  # noqa: BLE001
            pass
    value, ok = parse()
    if ok:
        try:
            encoded = encode(value)
        except Unencodable:
            return value
        store(kind, data, encoded)
    return value


# ---------------------------------------------------------------- scalars
# Tuples never come out of the YAML loader, so a tuple marks a value marshal cannot hold as such.

def encode_scalar(value: Any) -> Any:
    """A YAML scalar as marshal can store it; dates and times become tagged tuples."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is datetime:
        offset = value.utcoffset()
        if value.tzinfo is not None and value.tzinfo is not timezone.utc and type(value.tzinfo) is not timezone:
            raise Unencodable(value)
        return ("t", value.year, value.month, value.day, value.hour, value.minute, value.second,
                value.microsecond, None if offset is None else offset.total_seconds())
    if kind is date:
        return ("d", value.toordinal())
    raise Unencodable(value)


def decode_scalar(value: tuple) -> Any:
    if value[0] == "d":
        return date.fromordinal(value[1])
    if value[0] == "t":
        offset = value[8]
        zone = None if offset is None else timezone(timedelta(seconds=offset))
        return datetime(*value[1:8], tzinfo=zone)
    raise ValueError(f"unknown cache tag {value[0]!r}")
