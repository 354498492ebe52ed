"""Keys as hashes from the environment; no keys outside dev mode means no start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serving.app import create_app
from serving.security import DEV_API_KEY, KeyChecker, ServingConfigError, hash_key
from serving.settings import ServingSettings


def test_key_hashes_from_env_as_json_or_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = hash_key("a"), hash_key("b")
    monkeypatch.setenv("HANDOFF_API_KEY_HASHES", json.dumps([a, b]))
    assert ServingSettings().api_key_hashes == [a, b]
    monkeypatch.setenv("HANDOFF_API_KEY_HASHES", f"{a}, {b.upper()}")
    assert ServingSettings().api_key_hashes == [a, b]
    monkeypatch.setenv("HANDOFF_API_KEY_HASHES", "not-a-hash")
    with pytest.raises(ValueError, match="sha256"):
        ServingSettings()


def test_no_keys_outside_dev_mode_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ServingConfigError, match="HANDOFF_API_KEY_HASHES"):
        create_app(ServingSettings(home=tmp_path))


def test_dev_mode_accepts_only_the_default_key(tmp_path: Path) -> None:
    """The key itself is announced once, by the app at start-up (tests/serving/test_app.py)."""
    checker = KeyChecker.from_settings(ServingSettings(home=tmp_path, dev_mode=True))
    assert checker.check(DEV_API_KEY)
    assert not checker.check("other") and not checker.check(None) and not checker.check("")


def test_serving_database_defaults_to_a_sqlite_file_in_home(tmp_path: Path) -> None:
    assert (
        ServingSettings(home=tmp_path).resolved_database_url
        == f"sqlite:///{tmp_path}/serving.sqlite"
    )


def test_score_log_path_is_the_sqlite_shorthand(tmp_path: Path) -> None:
    settings = ServingSettings(home=tmp_path, score_log_path=tmp_path / "log.sqlite")
    assert settings.resolved_database_url == f"sqlite:///{tmp_path}/log.sqlite"


def test_database_url_and_score_log_path_together_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.settings import SettingsError, load_settings

    monkeypatch.setenv("HANDOFF_DATABASE_URL", "postgresql://ann:s3cret@db/serving")
    monkeypatch.setenv("HANDOFF_SCORE_LOG_PATH", str(tmp_path / "log.sqlite"))
    with pytest.raises(SettingsError) as refused:
        load_settings(ServingSettings)
    assert "not both" in str(refused.value) and "s3cret" not in str(refused.value)


def test_malformed_database_url_names_the_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from models.settings import SettingsError, load_settings

    monkeypatch.setenv("HANDOFF_DATABASE_URL", "mysql://ann:s3cret@db/serving")
    with pytest.raises(SettingsError) as refused:
        load_settings(ServingSettings)
    text = str(refused.value)
    assert text.startswith("HANDOFF_DATABASE_URL is invalid: ") and "s3cret" not in text
