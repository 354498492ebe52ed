"""The `handoff` command refuses bad settings in one line per variable, never echoing a value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECRET = "my-secret-key-b81e"


def _handoff(args: list[str], env: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")}
    return subprocess.run(
        [sys.executable, "-m", "handoff_cli", *args],
        cwd=ROOT,
        env={**clean, "HANDOFF_HOME": str(home), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["serve"], {"HANDOFF_API_KEY_HASHES": SECRET}, ["HANDOFF_API_KEY_HASHES"]),
        (
            ["serve", "--port", "1"],
            {"HANDOFF_API_KEY_HASHES": f'["{SECRET}"]', "HANDOFF_DEV_MODE": "maybe"},
            ["HANDOFF_API_KEY_HASHES", "HANDOFF_DEV_MODE"],
        ),
        (["models"], {"HANDOFF_PROMOTION_MAX_ECE": SECRET}, ["HANDOFF_PROMOTION_MAX_ECE"]),
    ],
)
def test_bad_settings_exit_naming_each_variable_never_its_value(
    tmp_path: Path, args: list[str], env: dict[str, str], named: list[str]
) -> None:
    done = _handoff(args, env, tmp_path)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    assert SECRET not in output and "maybe" not in output
    assert "Traceback" not in output
    problems = done.stderr.splitlines()
    assert [line.split(" is invalid: ")[0] for line in problems] == [
        f"handoff: {name}" for name in named
    ]
    assert not (tmp_path / "mlflow.db").exists()  # refused before touching the store
