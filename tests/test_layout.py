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


def _module_level_names(path: Path) -> set[str]:
    """Dotted names of the modules a file imports when it is imported (not inside
    functions, nor under `if TYPE_CHECKING:`)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_layout_spark_is_imported_only_inside_the_spark_path() -> None:
    """The default install has no pyspark: only `spark_*` modules (and the CLI, inside its
    commands) name it, never at import time, and nothing imports a `spark_*` module then."""
    stages = [p for folder in FORBIDDEN for p in sorted((ROOT / folder).rglob("*.py"))]
    spark_modules = {p.stem for p in stages if p.stem.startswith("spark_")}
    assert spark_modules, "the Spark path moved: update this test"
    offending: dict[str, list[str]] = {}
    top = [ROOT / f"{name}.py" for name in sorted(TOP)]
    for path in [*stages, *top]:
        at_import = _module_level_names(path)
        bad = sorted(n for n in at_import if n.split(".")[0] == "pyspark")
        if not path.stem.startswith("spark_"):
            bad += sorted(n for n in at_import if n.rsplit(".", 1)[-1] in spark_modules)
            if path not in top:
                bad += sorted(_imported_roots(path) & {"pyspark"})
        if bad:
            offending[str(path.relative_to(ROOT))] = bad
    assert not offending
