"""Where packaged data lives: the one locator for rule packs, catalogs, address ranges and shipped tables.

The ``rules`` package (installed, or beside ``detector/`` in a checkout) holds
every YAML the tool ships; ``detector/`` holds its own small tables.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def rules_dir() -> Path:
    """The shipped ``rules/`` directory: the installed package, else the source tree."""
    try:
        candidate = Path(str(resources.files("rules")))
        if candidate.is_dir():
            return candidate
    except (ModuleNotFoundError, TypeError, ValueError):
        pass
    return _CHECKOUT / "rules"


def rules_file(*parts: str) -> Path:
    """A file or folder inside the shipped ``rules/`` directory."""
    return rules_dir().joinpath(*parts)


def package_file(name: str) -> Path:
    """A table shipped inside ``detector/`` itself (e.g. the fallback MAC vendor list)."""
    return Path(__file__).resolve().parent / name
