"""The pipeline's folders import downward only: no module reaches into a folder above it.

A packet goes capture -> protocols -> observations -> detectors -> findings ->
policy -> store -> reports, and each folder may use only what lies below it
(the types it consumes and the shared helpers): the session drives the stages
and never imports the outputs or the report, which read its finished result. The table is the README's
layout section in code; a new top-level module or folder must be placed here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# higher imports lower; equal ranks never import each other (rank None: the package root, __version__ only)
LAYERS: dict[str, int] = {
    "cli": 100,
    "schedule": 95,
    "samples": 95,
    "outputs": 90,  # JSON, report, CSV, notifications: written from a finished ScanResult
    "reports": 85,
    "session": 80,  # one run, from policy and lock to a stored ScanResult; never imports outputs or reports
    "store": 50,
    "capture": 45,
    "protocols": 40,
    "documents": 35,
    "logs": 30,
    "detectors": 25,
    "site": 22,  # the audited site: its networks, a directory of names, state across scans
    "policy": 20,
    "findings": 15,
    "textscan": 12,
    "observations": 10,
    "inputs": 5,
    "secrets": 4,
    "times": 3,
    "bounded": 2,
    "data": 2,
    "jsontext": 2,
    "termsafe": 2,
    "interrupts": 2,  # the one stop mechanism for SIGINT/SIGTERM: scans, incremental log reads, live capture
    "__init__": 0,
}


def unit_of(module: str) -> str:
    """The layer a dotted module name belongs to: ``reports``, or the folder or module below ``detector``."""
    parts = module.split(".")
    if parts[0] == "reports":
        return "reports"
    return parts[1] if len(parts) > 1 else "__init__"


def module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """Every absolute project import in a module, at any depth (lazy imports inside functions count)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative imports hide the layer they reach; write detector.<folder>..."
            if node.module == "detector":
                found.extend((node.lineno, f"detector.{alias.name}") for alias in node.names)
            elif node.module and node.module.split(".")[0] in ("detector", "reports"):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names
                         if alias.name.split(".")[0] in ("detector", "reports"))
    return found


def sources() -> list[Path]:
    return sorted([*ROOT.joinpath("detector").rglob("*.py"), *ROOT.joinpath("reports").rglob("*.py")])


def test_every_unit_has_a_layer():
    units = {unit_of(module_of(path)) for path in sources()}
    assert units <= set(LAYERS), f"place these in LAYERS (and the README's layout): {sorted(units - set(LAYERS))}"


def test_imports_point_downward():
    wrong = []
    for path in sources():
        here = unit_of(module_of(path))
        for line, target in imported_modules(ast.parse(path.read_text(encoding="utf-8"))):
            there = unit_of(target)
            if target == "detector.__version__" or there == here:
                continue
            if LAYERS.get(there, 0) >= LAYERS.get(here, 0):
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {here} imports {target} ({there} is not below it)")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("layer", ["protocols", "logs", "documents"])
def test_each_input_kind_has_one_registry(layer):
    """Adding a protocol or format touches its module, its registration in the folder's __init__ and its test."""
    init = ROOT / "detector" / layer / "__init__.py"
    text = init.read_text(encoding="utf-8")
    assert "_decoders(" in text, f"{init} lists the {layer} modules"
