"""Scan history in SQLite (via sqlite-utils): save, reload, diff, export, prune, lock."""

from __future__ import annotations

from .diff import DIFF_SCHEMA, ScanDiff, SeverityChange, diff_results
from .errors import DuplicateFinding, LockBusy, ScanNotFound, SchemaTooNew, StoreError
from .export import EXPORT_FORMATS, write_csv, write_json
from .lock import ScanLock, lock_path
from .schema import SCHEMA_VERSION
from .store import CaptureDrops, ScanSummary, Store, TrendPoint

__all__ = [
    "DIFF_SCHEMA",
    "EXPORT_FORMATS",
    "SCHEMA_VERSION",
    "CaptureDrops",
    "DuplicateFinding",
    "LockBusy",
    "ScanDiff",
    "ScanLock",
    "ScanNotFound",
    "ScanSummary",
    "SchemaTooNew",
    "SeverityChange",
    "Store",
    "StoreError",
    "TrendPoint",
    "diff_results",
    "lock_path",
    "write_csv",
    "write_json",
]
