"""The `handoff` command's `rollback` command, through Typer's runner."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from handoff_cli import app
from tests.conftest import OneRunStore
from tests.serving.conftest import LENIENT


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HANDOFF_HOME", "HANDOFF_TRACKING_URI", "HANDOFF_MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_rollback_to_from_the_command_line(
    clean_env: pytest.MonkeyPatch, one_run: OneRunStore
) -> None:
    from training.promote import promote_version

    store = one_run
    v1, v2 = (store.new_version() for _ in range(2))
    for version in (v1, v2):
        store.approve(version)
        promote_version(version, settings=store.settings, **LENIENT)
    clean_env.setenv("HANDOFF_HOME", str(store.settings.home))
    runner = CliRunner()

    refused = runner.invoke(app, ["rollback", "--to", v2])
    assert refused.exit_code == 1
    assert f"rollback to version {v2} refused" in refused.output
    assert f"version {v2} is already the champion" in refused.output

    restored = runner.invoke(app, ["rollback", "--to", v1])
    assert restored.exit_code == 0, restored.output
    assert f"version {v1} is the champion again (rolled back from version {v2})" in restored.output
