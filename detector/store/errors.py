"""Typed failures of the store; only the CLI turns them into exit codes."""

from __future__ import annotations


class StoreError(Exception):
    """The scan database cannot be opened, read or written as asked."""


class ScanNotFound(StoreError, LookupError):
    """No scan matches the id/site asked for (or too few scans to diff)."""


class SchemaTooNew(StoreError):
    """The database was written by a newer shadowit; refuse rather than damage it."""


class DuplicateFinding(StoreError, ValueError):
    """Two findings of one scan share an id, which would make diffs ambiguous."""


class LockBusy(StoreError):
    """Another run holds the lock of this database."""


class DatabaseDamaged(StoreError):
    """``PRAGMA quick_check`` found the file damaged: it is neither read nor written."""
