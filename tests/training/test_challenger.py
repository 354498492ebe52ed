"""The challenger alias: given only when promotion's gates pass (sign-offs not needed),
refused with every reason, cleared, audit-logged, listed, and cleared by promotion."""

from __future__ import annotations

import pytest

from models.mlflow_layout import CHALLENGER, CHAMPION
from tests.conftest import OneRunStore, appended_byte
from tests.serving.conftest import LENIENT
from training.audit import read_events
from training.challenger import clear_challenger, set_challenger
from training.promote import PromotionRefused, promote_version, rollback_champion
from training.signoff import record_signoff
from training.versions import registry_client, versions_table

pytestmark = pytest.mark.e2e


def _aliases(store: OneRunStore) -> dict[str, str]:
    client = registry_client(store.settings)
    aliases = client.get_registered_model(store.settings.model_name).aliases
    return {alias: str(version) for alias, version in aliases.items()}


def test_challenger_refused_with_every_reason(one_run: OneRunStore) -> None:
    store = one_run
    version = store.new_version()
    record_signoff(
        version, team="bdr", by="Ben", approve=False, comment="too many", settings=store.settings
    )
    strict = {**LENIENT, "baseline_margin": 1.0}  # no model leads a baseline by a whole AUC
    with appended_byte(store.artifact_files(version)[1]), pytest.raises(PromotionRefused) as no:
        set_challenger(version, settings=store.settings, **strict)
    reasons = no.value.reasons
    assert any("bdr rejected it (Ben" in r and "too many" in r for r in reasons)
    assert any("files changed after registration" in r for r in reasons)
    assert any("below the margin +1.0000" in r for r in reasons)
    assert not any("has not signed off" in r for r in reasons)  # the shadow needs no sign-off
    assert CHALLENGER not in _aliases(store)
    record = read_events(store.settings)[-1]
    assert record["action"] == "refusal" and record["reasons"] == reasons
    assert record["refused"] == f"challenger alias for version {version}"
    assert record["gates"]["baseline_margin"] == 1.0


def test_challenger_refuses_the_champion_and_an_unknown_version(one_run: OneRunStore) -> None:
    store = one_run
    champion = store.new_version()
    store.approve(champion)
    promote_version(champion, settings=store.settings, **LENIENT)
    with pytest.raises(PromotionRefused, match="is the champion: it already answers"):
        set_challenger(champion, settings=store.settings, **LENIENT)
    with pytest.raises(PromotionRefused, match="known versions"):
        set_challenger("999", settings=store.settings, **LENIENT)
    assert _aliases(store) == {CHAMPION: champion}


def test_challenger_accepted_unsigned_listed_then_cleared(one_run: OneRunStore) -> None:
    store = one_run
    champion, first, second = (store.new_version() for _ in range(3))
    store.approve(champion)
    promote_version(champion, settings=store.settings, **LENIENT)

    said = set_challenger(first, settings=store.settings, by="Ada", **LENIENT)
    assert f"version {first} is now the challenger" in said
    assert _aliases(store) == {CHAMPION: champion, CHALLENGER: first}
    event = read_events(store.settings)[-1]
    assert (event["action"], event["version"], event["by"]) == ("challenger", first, "Ada")
    assert event["champion"] == champion and event["gates"]["max_ece"] == LENIENT["max_ece"]
    (row,) = [
        line
        for line in versions_table(settings=store.settings).splitlines()
        if line.strip().startswith(f"{first} ")
    ]
    assert "[challenger: scored in the shadow, never answered]" in row

    said = set_challenger(second, settings=store.settings, **LENIENT)
    assert f"it replaces version {first}" in said
    assert read_events(store.settings)[-1]["replaced"] == first
    assert "already the challenger" in set_challenger(second, settings=store.settings, **LENIENT)

    assert f"version {second} is no longer" in clear_challenger(settings=store.settings, by="Ada")
    assert _aliases(store) == {CHAMPION: champion}
    event = read_events(store.settings)[-1]
    assert (event["action"], event["version"]) == ("challenger_cleared", second)
    assert "nothing changed" in clear_challenger(settings=store.settings)


def test_promoting_the_challenger_clears_its_alias(one_run: OneRunStore) -> None:
    store = one_run
    version = store.new_version()
    set_challenger(version, settings=store.settings, **LENIENT)
    store.approve(version)
    promote_version(version, settings=store.settings, **LENIENT)
    assert _aliases(store) == {CHAMPION: version}
    assert read_events(store.settings)[-1]["was_challenger"] is True


def test_rolling_back_to_the_challenger_clears_its_alias(one_run: OneRunStore) -> None:
    store = one_run
    first, second = store.new_version(), store.new_version()
    for version in (first, second):
        store.approve(version)
        promote_version(version, settings=store.settings, **LENIENT)
    set_challenger(first, settings=store.settings, **LENIENT)  # the previous champion
    assert _aliases(store) == {CHAMPION: second, "previous": first, CHALLENGER: first}
    rollback_champion(settings=store.settings)
    assert _aliases(store) == {CHAMPION: first}
    assert read_events(store.settings)[-1]["was_challenger"] is True
