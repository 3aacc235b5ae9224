"""Stored scans read back: history, the difference between two scans, and one scan exported."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, TextIO

from detector.outputs import OutputError
from detector.policy.catalog import CatalogError
from detector.store import ScanNotFound, StoreError

if TYPE_CHECKING:  # sqlite3 loads only when a database is opened (start-up)
    from detector.store import ScanDiff, ScanSummary, Store
    from detector.store.store import Revealed


@dataclass(kw_only=True, frozen=True, eq=False, repr=False)  # never compared or printed
class DiffRequest:
    """``shadowit diff``: two scan ids (None: the two latest complete scans of the site)."""

    db: Path
    base: Optional[int] = None
    head: Optional[int] = None
    site: Optional[str] = None
    pseudonymize: Optional[bool] = None  # None: each site as its stored scans were


@dataclass(kw_only=True, frozen=True, eq=False, repr=False)
class ExportRequest:
    """``shadowit export``: one scan (None: the latest complete) as JSON, CSV or a block list."""

    db: Path
    scan_id: Optional[int] = None
    fmt: str = "json"
    style: str = "hosts"  # block lists: hosts, dnsmasq or domains
    out: Optional[Path] = None  # None: the stream given to export_scan
    pseudonymize: Optional[bool] = None  # None: each site as its stored scans were


def open_store(db: Path, pseudonymize: Optional[bool] = None) -> Store:
    """An existing database; a missing, damaged or unreadable one is a one-line OutputError (never created here).

    A database this user cannot write (an evidence archive: the file or its directory read-only) is opened
    read-only: everything but writing (re-classifying, marking scans reported) works. ``pseudonymize``: see Store.
    """
    from detector.store import Store

    if not db.exists():
        raise OutputError(f"{db}: no such database")
    try:
        return Store(db, read_only=not writable(db), pseudonymize=pseudonymize)
    except StoreError as exc:
        raise OutputError(f"{db}: {exc}") from None


def writable(db: Path) -> bool:
    """Whether this user can write the database and create its journal beside it."""
    return os.access(db, os.W_OK) and os.access(db.absolute().parent, os.W_OK)


def scan_history(db: Path, site: Optional[str]) -> list[ScanSummary]:
    with open_store(db) as store:
        return store.history(site)


def diff_scans(request: DiffRequest) -> ScanDiff:
    with open_store(request.db, request.pseudonymize) as store:
        try:
            return store.diff(request.base, request.head, request.site)
        except ScanNotFound as exc:
            raise OutputError(str(exc)) from None


def reveal(db: Path, pseudonyms: list[str]) -> list[tuple[str, list[Revealed]]]:
    """What each pseudonym stands for, from the mapping the database keeps."""
    with open_store(db, pseudonymize=False) as store:
        return [(name, store.reveal(name)) for name in pseudonyms]


def export_scan(request: ExportRequest, stdout: TextIO) -> None:
    """Write the scan to ``request.out``, or to ``stdout`` as the caller made it safe for where it goes."""
    from detector.outputs.export import write_export

    with open_store(request.db, request.pseudonymize) as store:
        try:
            result = store.load_scan(request.scan_id)
            state = store.site_state(result.scan_id) if request.fmt == "json" and result.scan_id else None
            if request.out:
                with open(request.out, "w", encoding="utf-8", newline="") as handle:
                    write_export(result, request.fmt, handle, request.style, state)
            else:
                write_export(result, request.fmt, stdout, request.style, state)
        except OSError as exc:
            raise OutputError(f"cannot write {request.out or 'standard output'}: {exc.strerror}") from None
        except (CatalogError, StoreError) as exc:  # an unknown scan, format or style; no catalog for a block list
            raise OutputError(str(exc)) from None
