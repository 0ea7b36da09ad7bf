"""The package's layers (docs/design.md, "Map of the package"): imports point one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "reconcile"

# What each top-level package may import from the others. Stages never reach up:
# ingest and judge do not know publishing, nothing below `ops` knows how a night is run.
ALLOWED: dict[str, frozenset[str]] = {
    "config": frozenset(),
    "normalise": frozenset({"config"}),
    "store": frozenset({"config", "normalise"}),
    "ingest": frozenset({"config", "normalise", "store"}),
    "judge": frozenset({"config", "normalise", "store"}),
    "publish": frozenset({"config", "normalise", "store", "judge"}),
    "testing": frozenset({"config", "normalise", "store", "ingest", "judge", "publish"}),
    "ops": frozenset({"config", "normalise", "store", "ingest", "judge", "publish", "testing"}),
    "cli": frozenset({"config", "normalise", "store", "ingest", "judge", "publish", "ops"}),
}


def _imports(path: Path) -> set[str]:
    """Top-level `reconcile` packages a module imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "reconcile" and len(parts) > 1:
                found.add(parts[1])
    return found


def _package(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if _package(p) != "__init__")


def test_every_package_is_placed_in_a_layer():
    assert {_package(p) for p in MODULES} == set(ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_layers(path):
    own = _package(path)
    reaching_up = _imports(path) - ALLOWED[own] - {own}
    assert not reaching_up, f"{own} may not import {sorted(reaching_up)}"
