"""The one-way flow of the house: no stage imports a later one, nothing imports the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Each folder, and what it must never import (a later stage, or the modules on top).
TOP = {"handoff_cli", "handoff_demo"}
FORBIDDEN: dict[str, set[str]] = {
    "data_contracts": {"features", "models", "training", "serving", *TOP},
    "features": {"models", "training", "serving", *TOP},
    "models": {"training", "serving", *TOP},
    "training": {"serving", *TOP},
    "serving": {"training", *TOP},
}


def _imported_roots(path: Path) -> set[str]:
    """Top-level names of every module a file imports, also inside functions."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_layout_folder_never_imports_later_stages_or_the_top(folder: str) -> None:
    offending = {
        str(path.relative_to(ROOT)): sorted(_imported_roots(path) & FORBIDDEN[folder])
        for path in sorted((ROOT / folder).rglob("*.py"))
    }
    assert not {k: v for k, v in offending.items() if v}


def test_layout_cli_imports_the_stages_inside_its_commands() -> None:
    """`handoff --help` stays fast: the CLI imports each stage inside its command."""
    tree = ast.parse((ROOT / "handoff_cli.py").read_text(encoding="utf-8"))
    top_level = {
        node.module.split(".")[0]
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not top_level & {"handoff_demo", "training", "serving", "data_contracts"}
