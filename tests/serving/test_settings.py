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


def test_score_log_defaults_to_home(tmp_path: Path) -> None:
    assert ServingSettings(home=tmp_path).resolved_score_log_path == tmp_path / "score_log.sqlite"
