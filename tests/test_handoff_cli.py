"""The `handoff` command's `models` and `rollback` commands, through Typer's runner."""

from __future__ import annotations

from pathlib import Path

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


def test_models_from_another_folder_says_which_store_it_read(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, one_run: OneRunStore
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clean_env.chdir(elsewhere)
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0
    home = (elsewhere / ".handoff").resolve()
    assert "no versions of handoff-lead-scorer yet" in result.output
    assert f"read home {home} (tracking URI sqlite:///{home / 'mlflow.db'})" in result.output
    assert "set HANDOFF_HOME" in result.output
    assert not home.exists()  # listing creates no store

    clean_env.setenv("HANDOFF_HOME", str(one_run.settings.home))
    listed = CliRunner().invoke(app, ["models"])
    assert listed.exit_code == 0
    rows = [line.split()[0] for line in listed.output.splitlines()[2:]]
    assert one_run.trained_version in rows


def test_models_hides_a_tracking_uri_password(
    tmp_path: Path, clean_env: pytest.MonkeyPatch
) -> None:
    from models.settings import Settings
    from training.versions import where_versions_are_read

    text = where_versions_are_read(
        Settings(home=tmp_path, tracking_uri="postgresql://ann:s3cret@db:5432/mlflow")
    )
    assert "s3cret" not in text and "postgresql://ann:***@db:5432/mlflow" in text


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
