"""Scan history in SQLite (via sqlite-utils): save, reload, diff, prune, lock.

Names are loaded on first use (PEP 562): a scan without ``--db`` never imports
sqlite3 or the store's dataclasses, and the error classes stay cheap to import
for the CLI's ``except`` clauses (start-up, issue 15).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from detector.store.errors import DatabaseDamaged, DuplicateFinding, LockBusy, ScanNotFound, SchemaTooNew, StoreError

if TYPE_CHECKING:
    from detector.store.diff import DIFF_SCHEMA, ScanDiff, SeverityChange
    from detector.store.lock import ScanLock, lock_path
    from detector.store.schema import SCHEMA_VERSION
    from detector.store.state import SiteState, StoredScan, diff_results, site_state
    from detector.store.store import CaptureDrops, ScanSummary, Store, TrendPoint

_LAZY = {
    "DIFF_SCHEMA": "diff", "ScanDiff": "diff", "SeverityChange": "diff",
    "SiteState": "state", "StoredScan": "state", "diff_results": "state", "site_state": "state",
    "ScanLock": "lock", "lock_path": "lock",
    "SCHEMA_VERSION": "schema",
    "CaptureDrops": "store", "ScanSummary": "store", "Store": "store", "TrendPoint": "store",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "DIFF_SCHEMA",
    "SCHEMA_VERSION",
    "CaptureDrops",
    "DatabaseDamaged",
    "DuplicateFinding",
    "LockBusy",
    "ScanDiff",
    "ScanLock",
    "ScanNotFound",
    "ScanSummary",
    "SchemaTooNew",
    "SeverityChange",
    "SiteState",
    "Store",
    "StoreError",
    "StoredScan",
    "TrendPoint",
    "diff_results",
    "lock_path",
    "site_state",
]
