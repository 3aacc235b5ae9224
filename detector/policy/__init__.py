"""The rule language: classify findings, sanction known services, cite controls.

Packs in ``rules/*.yaml`` ship with the tool; site policy files (``rules.yaml``
or ``--rules FILE``) adjust them. See rules/README.md for the language.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Iterable, Optional, Sequence

from detector.data import rules_dir, rules_file
from detector.policy.loader import CATALOG_FILES, COMPLIANCE_FILE, Loader
from detector.policy.model import DEFAULT_RULE_ID, LAYER_PACK, LAYER_SITE, RuleError, RuleLoadError
from detector.policy.ruleset import RuleSet
from detector.policy.texts import mark_packs_loaded

__all__ = [
    "DEFAULT_RULE_ID", "RuleError", "RuleLoadError", "RuleSet",
    "default_packs_dir", "default_site_files", "example_site_policy", "load_ruleset", "pack_files", "validate_files",
]

SITE_FILE = "rules.yaml"


def default_packs_dir() -> Path:
    """The shipped ``rules/`` package directory (installed or in a checkout)."""
    return rules_dir()


def default_site_files() -> list[Path]:
    """``./rules.yaml`` if present, else none: no site policy applies unless the user has one.

    The example policy ships in the package (``rules/examples/site-policy.yaml``);
    ``shadowit rules init`` writes it out for editing.
    """
    local = Path(SITE_FILE)
    return [local] if local.is_file() else []


def example_site_policy() -> Path:
    """The annotated example site policy shipped with the package."""
    return rules_file("examples", "site-policy.yaml")


def pack_files(packs_dir: Path) -> list[Path]:
    """Rule packs in file-name order; the service and compliance catalogs are not packs."""
    return sorted(
        (path for path in Path(packs_dir).glob("*.yaml") if path.name not in CATALOG_FILES),
        key=lambda path: path.name,
    )


def load_ruleset(
    site_files: Optional[Sequence[Path]] = None,
    packs_dir: Optional[Path] = None,
    today: Optional[date] = None,
) -> RuleSet:
    """Load the compliance catalog, the packs, then the site files; raise RuleLoadError on any error."""
    packs = Path(packs_dir) if packs_dir is not None else default_packs_dir()
    sites = [Path(path) for path in site_files] if site_files is not None else default_site_files()
    loader = Loader()
    loader.load_catalog(packs / COMPLIANCE_FILE)
    for path in pack_files(packs):
        loader.load_rules_file(path, LAYER_PACK)
    mark_packs_loaded()
    for path in sites:
        loader.load_rules_file(path, LAYER_SITE)
    if loader.errors:
        raise RuleLoadError(loader.sorted_errors())
    return loader.build(today or date.today())


def validate_files(paths: Iterable[Path], packs_dir: Optional[Path] = None) -> list[RuleError]:
    """Every error in ``paths`` (empty list = valid), checked against the packs' compliance catalog.

    Files inside ``packs_dir`` are checked as packs, the rest as site policy,
    so a site rule reusing a pack id is not reported as a duplicate.
    """
    packs = (Path(packs_dir) if packs_dir is not None else default_packs_dir()).resolve()
    loader = Loader()
    loader.load_catalog(packs / COMPLIANCE_FILE)
    for path in (Path(item) for item in paths):
        if path.name in CATALOG_FILES and path.resolve().parent == packs:
            continue  # the compliance catalog is checked above; the service and signature maps have their own checks
        layer = LAYER_PACK if path.resolve().parent == packs else LAYER_SITE
        loader.load_rules_file(path, layer)
    return loader.sorted_errors()
