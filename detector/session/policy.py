"""What decides a run's results: the rules, the service catalog and one hash over the files they came from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from detector.findings.finding import SEVERITY_RANK, Finding
from detector.policy import RuleSet, load_ruleset
from detector.policy.catalog import Catalog, load_catalog
from detector.policy.risk import SiteRisk, score_findings


@dataclass(frozen=True, eq=False, repr=False)  # never compared or printed (start-up)
class Policy:
    """Rules and catalog for one run, loaded and hashed once; the hash is stored with every result."""

    ruleset: RuleSet
    catalog: Catalog
    sha256: str

    @classmethod
    def load(cls, rules_files: Optional[Sequence[Path]] = None) -> Policy:
        """The packs and the site files (default ./rules.yaml), and the catalog; RuleLoadError on any error."""
        ruleset = load_ruleset(rules_files)
        catalog = load_catalog()
        return cls(ruleset, catalog, policy_sha256(ruleset, catalog.path))


def policy_sha256(ruleset: RuleSet, catalog_path: Optional[str]) -> str:
    """SHA-256 over every rule file loaded, in load order, then the service catalog: what decided the results.

    The rule files were hashed as the loader read them; only the catalog's bytes are added here.
    """
    if ruleset.digest is not None:
        digest = ruleset.digest.copy()
    else:  # a rule set built in code, not read by the loader
        digest = hashlib.sha256(b"".join(Path(path).read_bytes() for path in ruleset.files))
    if catalog_path:
        digest.update(Path(catalog_path).read_bytes())
    return digest.hexdigest()


def classify(findings: list[Finding], ruleset: RuleSet) -> list[Finding]:
    """Apply rules, then score once (the stored risk every output shows), most severe first."""
    return classify_and_score(findings, ruleset)[0]


def classify_and_score(findings: list[Finding], ruleset: RuleSet,
                       reference: Optional[float] = None) -> tuple[list[Finding], SiteRisk]:
    """``reference``: the end of the assessment window (the scan's time), where recency is measured from."""
    for finding in findings:
        ruleset.classify(finding)
    risk = score_findings(findings, now=reference)
    ordered = sorted(findings, key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), f.sanctioned, -f.risk, f.title))
    return ordered, risk
