"""Settings from the environment: bad values refused in one line each, never echoed."""

from __future__ import annotations

import pytest

from models.settings import Settings, SettingsError, load_settings
from serving.settings import ServingSettings

SECRET = "my-secret-key-3f9a"


def test_load_settings_reads_the_environment_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOFF_MODEL_NAME", "other-scorer")
    monkeypatch.setenv("HANDOFF_DEV_MODE", "true")
    assert load_settings(Settings).model_name == "other-scorer"
    serving = load_settings(ServingSettings)
    assert isinstance(serving, ServingSettings) and serving.dev_mode


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"HANDOFF_API_KEY_HASHES": SECRET}, ["HANDOFF_API_KEY_HASHES"]),
        ({"HANDOFF_API_KEY_HASHES": f'["{SECRET}"]'}, ["HANDOFF_API_KEY_HASHES"]),
        ({"HANDOFF_API_KEY_HASHES": f'["{SECRET}"'}, ["HANDOFF_API_KEY_HASHES"]),
        ({"HANDOFF_API_KEY_HASHES": "[7]"}, ["HANDOFF_API_KEY_HASHES, item 0"]),
        (
            {"HANDOFF_DEV_MODE": "maybe", "HANDOFF_MAX_BATCH": SECRET},
            ["HANDOFF_DEV_MODE", "HANDOFF_MAX_BATCH"],
        ),
    ],
)
def test_load_settings_bad_value_is_one_line_per_variable_without_the_value(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: list[str]
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(ServingSettings)
    lines = str(caught.value).splitlines()
    assert [line.split(" is invalid: ")[0] for line in lines] == named
    assert all(value not in str(caught.value) for value in env.values())
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_load_settings_base_settings_ignore_serving_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HANDOFF_API_KEY_HASHES", SECRET)
    assert load_settings(Settings).model_name == "handoff-lead-scorer"
    monkeypatch.setenv("HANDOFF_PROMOTION_MAX_ECE", SECRET)
    with pytest.raises(SettingsError, match=r"^HANDOFF_PROMOTION_MAX_ECE is invalid: ") as caught:
        load_settings(Settings)
    assert SECRET not in str(caught.value)
