"""Promotion and rollback: sign-offs and gates enforced, one champion, exact rollback."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sklearn.metrics import roc_auc_score

from tests.conftest import OneRunStore, appended_byte
from training.audit import read_events
from training.champion_compare import ChampionComparison, load_test_features, run_verdict
from training.promote import (
    PromotionRefused,
    gate_failures,
    promote_version,
    rollback_champion,
)
from training.signoff import SignoffError, record_signoff
from training.verdict import (
    BETTER,
    TIES,
    WORSE,
    Comparison,
    Interval,
    Verdict,
    auc_difference,
)
from training.versions import registry_client

Store = Any  # tests/training/conftest.py::GovernanceStore
AUC = "test_combined_roc_auc"
# Success paths (aliases, locking, rollback) pass loose gate bounds explicitly: on 3k generated
# leads the test window is ~600 leads, too few for the production ECE bound, and the combined
# model does not reliably beat logistic regression there. The gates themselves are tested
# below with their real defaults; every bound used is recorded in the audit log.
LOOSE: dict[str, float] = {"auc_tolerance": 1.0, "max_ece": 1.0, "baseline_margin": -1.0}


def own_test_scores(store: Store, which: int, ids: Any) -> Any:
    """A trained version's own combined probabilities on its test leads, in `ids` order."""
    from mlflow.artifacts import download_artifacts

    path = download_artifacts(
        run_id=store.results[which].run_id, artifact_path="evaluation/test_scores.parquet"
    )
    import pandas as pd

    scores = pd.read_parquet(path).set_index("lead_id")
    return scores["combined_probability"].reindex(ids).to_numpy()


def _approve(store: Store, version: str) -> None:
    for team, who in (("marketing", "Mara"), ("bdr", "Ben")):
        record_signoff(version, team=team, by=who, approve=True, settings=store.settings)


def _aliases(store: Store) -> dict[str, str]:
    client = registry_client(store.settings)
    aliases = client.get_registered_model(store.settings.model_name).aliases
    return {alias: str(version) for alias, version in aliases.items()}


def _statuses(store: Store) -> dict[str, str]:
    client = registry_client(store.settings)
    return {
        v: client.get_model_version(store.settings.model_name, v).tags["handoff.status"]
        for v in store.versions
    }


@pytest.mark.parametrize("signed", [(), ("marketing",), ("bdr",)])
def test_promote_refused_without_each_signoff(governance: Store, signed: tuple[str, ...]) -> None:
    v1 = governance.versions[0]
    for team in signed:
        record_signoff(v1, team=team, by="Someone", approve=True, settings=governance.settings)
    with pytest.raises(PromotionRefused) as refused:
        promote_version(v1, settings=governance.settings, **LOOSE)
    missing = {"marketing", "bdr"} - set(signed)
    for team in missing:
        assert f"{team} has not signed off" in str(refused.value)
    assert len([r for r in refused.value.reasons if "has not signed off" in r]) == len(missing)
    assert "champion" not in _aliases(governance)
    (record,) = [r for r in read_events(governance.settings) if r["action"] == "refusal"]
    assert record["version"] == v1 and record["reasons"] == refused.value.reasons


def test_promote_refused_with_a_rejection(governance: Store) -> None:
    v1 = governance.versions[0]
    record_signoff(v1, team="marketing", by="Mara", approve=True, settings=governance.settings)
    record_signoff(
        v1, team="bdr", by="Ben", approve=False, comment="no capacity", settings=governance.settings
    )
    with pytest.raises(PromotionRefused, match=r"bdr rejected it .*no capacity"):
        promote_version(v1, settings=governance.settings, **LOOSE)
    # approving afterwards is refused: a rejected version needs a new training run
    with pytest.raises(SignoffError, match="a rejection is final"):
        record_signoff(v1, team="bdr", by="Ben", approve=True, settings=governance.settings)
    # and editing the decision tag back to approved (MLflow UI, a script) does not unblock it
    client = registry_client(governance.settings)
    client.set_model_version_tag(
        governance.settings.model_name, v1, "signoff.bdr.decision", "approved"
    )
    with pytest.raises(PromotionRefused, match="blocked by an earlier rejection"):
        promote_version(v1, settings=governance.settings, **LOOSE)
    assert "champion" not in _aliases(governance)


def test_promote_refused_when_a_signoff_is_bound_to_other_files(governance: Store) -> None:
    v1 = governance.versions[0]
    _approve(governance, v1)
    client = registry_client(governance.settings)
    client.set_model_version_tag(
        governance.settings.model_name, v1, "signoff.bdr.binding", "0" * 64
    )  # as if BDR had signed a different model or policy
    with pytest.raises(PromotionRefused, match="bdr must sign again"):
        promote_version(v1, settings=governance.settings, **LOOSE)


def test_promote_refusal_names_everything_missing(governance: Store) -> None:
    v1 = governance.versions[0]
    with pytest.raises(PromotionRefused) as refused:
        promote_version(
            v1, settings=governance.settings, auc_tolerance=0.01, max_ece=0.0, baseline_margin=1.0
        )
    text = str(refused.value)
    assert "marketing has not signed off" in text
    assert "bdr has not signed off" in text
    assert "below the margin +1.0000" in text  # no AUC lead of 1.0 over a baseline, ever


def test_promote_gate_compares_with_champion_on_the_same_window(governance: Store) -> None:
    v1, v2 = governance.versions
    _approve(governance, v1)
    _approve(governance, v2)
    promote_version(v1, settings=governance.settings, **LOOSE)
    # The champion scored on v2's test window independently of promote.py, and the paired
    # interval of v2's AUC minus the champion's on those same leads.
    import mlflow

    X, y = load_test_features(governance.results[1].run_id)
    champion = mlflow.pyfunc.load_model(f"models:/{governance.settings.model_name}@champion")
    p = champion.unwrap_python_model().scorer.predict_parts(X)["combined_probability"]
    mine = own_test_scores(governance, 1, X.index)
    assert roc_auc_score(y, mine) == pytest.approx(governance.results[1].metrics[AUC])
    high = auc_difference(y, mine, p).high
    # A tolerance just under the interval's top makes v2 "worse than the champion" ...
    with pytest.raises(PromotionRefused, match=f"champion version {v1}: AUC") as refused:
        promote_version(
            v2, settings=governance.settings, **{**LOOSE, "auc_tolerance": -high - 1e-3}
        )
    assert "more than the tolerance" in str(refused.value)
    assert _aliases(governance)["champion"] == v1
    (record,) = [r for r in read_events(governance.settings) if r["action"] == "refusal"]
    assert record["gates"]["verdict"]["champion"]["difference"]["high"] == pytest.approx(high)
    # ... and just over it lets it through.
    text = promote_version(
        v2, settings=governance.settings, **{**LOOSE, "auc_tolerance": -high + 1e-3}
    )
    assert f"version {v2} is now the champion" in text
    assert f"scored on version {v2}'s test window" in text


def test_promote_default_gates_refuse_only_a_baseline_shown_better(governance: Store) -> None:
    v1 = governance.versions[0]
    _approve(governance, v1)
    verdict = run_verdict(governance.results[0].run_id)
    assert verdict.baseline is not None
    try:
        promote_version(v1, settings=governance.settings, auc_tolerance=1.0, max_ece=1.0)
    except PromotionRefused as refused:
        assert verdict.baseline.verdict == WORSE
        assert verdict.baseline.sentence() in refused.reasons
    else:
        assert verdict.baseline.verdict in (BETTER, TIES)
        assert _aliases(governance)["champion"] == v1


def _verdict(**changes: Any) -> Verdict:
    """A verdict as training would log it, with the parts a test changes."""
    base = {
        "rows": 1_512,
        "wins": 163,
        "auc": Interval(0.74, 0.70, 0.78),
        "lift_top10": Interval(2.5, 2.0, 3.0),
        "ece": Interval(0.034, 0.02, 0.05),
        "ece_noise": 0.036,
        "baseline": Comparison(
            "baseline_logreg", "a simple logistic regression", Interval(0.003, -0.004, 0.010), TIES
        ),
    }
    return Verdict(**{**base, **changes})


GATES: dict[str, float] = {"auc_tolerance": 0.01, "max_ece": 0.03}
METRICS = {"test_combined_roc_auc": 0.74, "test_combined_ece": 0.034}


def test_gate_failures_pass_a_tie_and_an_ece_within_its_noise() -> None:
    """The two cases the issue names: a tie with logistic regression is said, not refused;
    ECE 0.034 > 0.030 on 1,512 leads is inside what chance alone gives there."""
    assert gate_failures(METRICS, _verdict(), None, **GATES) == []
    assert "consider it" in _verdict().headline()


def test_gate_failures_refuse_no_signal_whatever_the_bounds() -> None:
    chance = _verdict(auc=Interval(0.51, 0.47, 0.55))
    reasons = gate_failures(
        METRICS, chance, None, auc_tolerance=1.0, max_ece=1.0, baseline_margin=-1.0
    )
    assert len(reasons) == 1 and reasons[0].startswith("no better than chance")


def test_gate_failures_refuse_ece_only_beyond_its_noise() -> None:
    (reason,) = gate_failures({**METRICS, "test_combined_ece": 0.05}, _verdict(), None, **GATES)
    assert "ECE) 0.0500 is above the bound 0.0300" in reason and "(0.0360)" in reason
    assert gate_failures(METRICS, _verdict(ece_noise=0.01), None, **GATES) != []


def test_gate_failures_refuse_a_baseline_or_champion_only_when_the_interval_says_so() -> None:
    worse = Comparison(
        "baseline_logreg", "a simple logistic regression", Interval(-0.03, -0.05, -0.01), WORSE
    )
    (reason,) = gate_failures(METRICS, _verdict(baseline=worse), None, **GATES)
    assert reason.startswith("worse than the best baseline")
    champion = ChampionComparison(champion_version="3", metrics={"roc_auc": 0.76}, note="same")
    near = Comparison(
        "champion", "champion version 3", Interval(-0.02, -0.035, -0.005), WORSE, version="3"
    )
    assert gate_failures(METRICS, _verdict(champion=near), champion, **GATES) == []
    far = Comparison(
        "champion", "champion version 3", Interval(-0.04, -0.06, -0.02), WORSE, version="3"
    )
    (reason,) = gate_failures(METRICS, _verdict(champion=far), champion, **GATES)
    assert "worse than champion version 3" in reason and "tolerance 0.0100" in reason
    # no interval for the champion (its own older window, no logged verdict): point AUCs
    (reason,) = gate_failures(METRICS, _verdict(), champion, **GATES)
    assert "0.0200 below champion version 3" in reason and "no interval" in reason
    assert "no verdict" in gate_failures(METRICS, None, None, **GATES)[0]


def test_promote_then_rollback_restores_the_exact_previous_version(governance: Store) -> None:
    v1, v2 = governance.versions
    _approve(governance, v1)
    _approve(governance, v2)
    promote_version(v1, settings=governance.settings, **LOOSE)
    client = registry_client(governance.settings)
    name = governance.settings.model_name
    before = client.get_model_version_by_alias(name, "champion")
    promote_version(v2, settings=governance.settings, **LOOSE)
    assert _aliases(governance) == {"champion": v2, "previous": v1}
    assert _statuses(governance) == {v1: "previous", v2: "champion"}

    text = rollback_champion(settings=governance.settings, by="oncall")
    assert f"version {v1} is the champion again" in text
    after = client.get_model_version_by_alias(name, "champion")
    assert (after.version, after.source, after.run_id) == (
        before.version,
        before.source,
        before.run_id,
    )
    assert after.tags["handoff.binding"] == before.tags["handoff.binding"]
    assert _aliases(governance) == {"champion": v1}
    assert _statuses(governance) == {v1: "champion", v2: "approved"}
    assert "handoff.rolled_back_at" in client.get_model_version(name, v2).tags
    with pytest.raises(PromotionRefused, match="no previous champion"):
        rollback_champion(settings=governance.settings)
    actions = [(r["action"], r["version"]) for r in read_events(governance.settings)]
    assert actions[-3:] == [("promotion", v2), ("rollback", v1), ("refusal", v1)]


def test_promote_racing_threads_leave_exactly_one_champion(governance: Store) -> None:
    v1, v2 = governance.versions
    _approve(governance, v1)
    _approve(governance, v2)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def promote(version: str) -> None:
        barrier.wait()
        try:
            promote_version(version, settings=governance.settings, **LOOSE)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=promote, args=(v,)) for v in (v1, v2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    promotions = [r for r in read_events(governance.settings) if r["action"] == "promotion"]
    assert len(promotions) == 2
    first, second = promotions
    assert first["previous"] is None and second["previous"] == first["version"]
    assert _aliases(governance) == {"champion": second["version"], "previous": first["version"]}
    statuses = sorted(_statuses(governance).values())
    assert statuses == ["champion", "previous"]


def test_rollback_to_restores_an_earlier_champion_after_three_promotions(
    one_run: OneRunStore,
) -> None:
    store = one_run
    v1, v2, v3 = (store.new_version() for _ in range(3))
    for version in (v1, v2, v3):
        store.approve(version)
        promote_version(version, settings=store.settings, **LOOSE)
    assert _aliases_of(store) == {"champion": v3, "previous": v2}

    text = rollback_champion(settings=store.settings, by="oncall", to=v1)
    assert f"version {v1} is the champion again (rolled back from version {v3})" in text
    assert _aliases_of(store) == {"champion": v1}
    client = registry_client(store.settings)
    assert "handoff.rolled_back_at" in client.get_model_version(store.settings.model_name, v3).tags
    record = read_events(store.settings)[-1]
    assert (record["action"], record["version"], record["by"]) == ("rollback", v1, "oncall")
    assert record["rolled_back_from"] == v3 and record["restored"] == "earlier champion"

    # v2 is still an earlier champion: --to reaches it although `previous` was cleared
    with pytest.raises(PromotionRefused, match="no previous champion"):
        rollback_champion(settings=store.settings)
    rollback_champion(settings=store.settings, to=v2)
    assert _aliases_of(store) == {"champion": v2}


def test_rollback_to_refuses_with_every_reason(one_run: OneRunStore) -> None:
    store = one_run
    v0, v1, v2 = (store.new_version() for _ in range(3))
    never = store.new_version()
    for version in (v0, v1, v2):
        store.approve(version)
        promote_version(version, settings=store.settings, **LOOSE)
    rollback_champion(settings=store.settings, to=v1)  # v2 was rolled back from

    def refusal(to: str) -> list[str]:
        with pytest.raises(PromotionRefused) as refused:
            rollback_champion(settings=store.settings, to=to)
        record = read_events(store.settings)[-1]
        assert record["action"] == "refusal" and record["reasons"] == refused.value.reasons
        return refused.value.reasons

    assert refusal(v1) == [f"version {v1} is already the champion"]
    (back,) = refusal(v2)
    assert f"version {v2} was rolled back from at " in back and f"handoff promote {v2}" in back
    reasons = refusal(never)
    assert reasons[0].startswith(f"version {never} was never the champion")
    assert reasons[1:] == ["marketing has not signed off", "bdr has not signed off"]
    assert "known versions" in refusal("999")[0]
    with appended_byte(store.artifact_files(v0)[1]):  # v0's policy.json replaced in the store
        (changed,) = refusal(v0)
    assert "files changed after registration" in changed

    client = registry_client(store.settings)
    name = store.settings.model_name
    client.set_model_version_tag(name, v2, "signoff.marketing.binding", "")
    (rolled, stale) = refusal(v2)
    assert "rolled back from" in rolled and "marketing's approval" in stale
    assert _aliases_of(store) == {"champion": v1}

    # a version rolled back from returns through promotion (gates again), not --to
    client.set_model_version_tag(
        name,
        v2,
        "signoff.marketing.binding",
        client.get_model_version(name, v2).tags["handoff.binding"],
    )
    promote_version(v2, settings=store.settings, **LOOSE)
    assert _aliases_of(store) == {"champion": v2, "previous": v1}
    assert "handoff.rolled_back_at" not in client.get_model_version(name, v2).tags


def _aliases_of(store: OneRunStore) -> dict[str, str]:
    client = registry_client(store.settings)
    aliases = client.get_registered_model(store.settings.model_name).aliases
    return {alias: str(version) for alias, version in aliases.items()}
