"""The decision box, built from a real verdict and real scores (no store needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_contracts.vocab import QUADRANTS
from models.mlflow_layout import signoff_problems
from models.policy import QuadrantPolicy, to_score
from training.champion_compare import ChampionComparison
from training.decision import box_shares, build_decision, verdict_line
from training.promote import GateCheck
from training.verdict import Comparison, against_champion, verdict_for

WINDOW = {"start": "2030-01-01T00:00:00Z", "end": "2030-01-29T00:00:00Z"}  # four weeks
LEADS = 800


def _scores(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    fit = rng.uniform(0.02, 0.9, LEADS)
    interest = rng.uniform(0.02, 0.9, LEADS)
    combined = np.sqrt(fit * interest)
    y = (rng.uniform(size=LEADS) < combined).astype(int)
    frame = pd.DataFrame(
        {
            "fit_probability": fit,
            "interest_probability": interest,
            "combined_probability": combined,
            "label": y,
        },
        index=pd.Index([f"L{i}" for i in range(LEADS)], name="lead_id"),
    )
    return frame, y


def _check(
    scores: pd.DataFrame,
    y: np.ndarray,
    *,
    failures: list[str] | None = None,
    comparison: ChampionComparison | None = None,
    champion: Comparison | None = None,
) -> GateCheck:
    """What `check_gates` returns, around a real verdict on these scores."""
    baseline = np.clip(scores["fit_probability"].to_numpy() + 0.1, 0, 1)
    verdict = verdict_for(y, scores["combined_probability"], {"baseline_logreg": baseline})
    return GateCheck(failures or [], {}, comparison, verdict.with_champion(champion), {})


def test_decision_without_a_champion_counts_each_box_and_names_the_signoffs() -> None:
    scores, y = _scores()
    check = _check(scores, y)
    policy = QuadrantPolicy(fit_threshold=40, interest_threshold=60)
    decision = build_decision(
        check,
        tags={},
        scores=scores,
        policy=policy,
        test_window=WINDOW,
        champion_policy=None,
        is_champion=False,
    )
    codes = policy.codes(
        to_score(scores["fit_probability"]), to_score(scores["interest_probability"])
    )
    expected = np.bincount(codes, minlength=len(QUADRANTS))
    assert [b.leads for b in decision.shares] == expected.tolist()
    assert [b.per_week for b in decision.shares] == [n / 4 for n in expected]
    assert decision.passes and decision.gate_reasons == []
    assert check.verdict is not None and check.verdict.baseline is not None
    assert decision.against_baseline == check.verdict.baseline.sentence()
    assert "95% interval" in decision.against_baseline and "95% interval" in decision.chance
    assert decision.against_champion.startswith("there is no champion")
    assert decision.champion_shares is None
    sales_now = decision.team_changes[0]
    assert sales_now.startswith(f"sales now (tier 1, immediate_contact): {expected[0] / LEADS:.0%}")
    assert "within 5 minutes" in sales_now and "champion" not in sales_now
    assert decision.team_changes[-1].startswith("speed-to-lead load: ")
    assert "leads a week to reach within 7 days" in decision.team_changes[-1]
    assert decision.signoffs_needed == signoff_problems({})
    assert decision.family == ""  # issue 11's sentence: absent until a run records one


def test_decision_against_a_champion_counts_its_boxes_on_the_same_leads() -> None:
    scores, y = _scores()
    theirs = scores[["fit_probability", "interest_probability"]] * 0.8
    comparison = ChampionComparison(
        champion_version="3", note="champion version 3 scored here", parts=theirs
    )
    champ_p = scores["combined_probability"].to_numpy() * 0.8
    champion = against_champion(y, scores["combined_probability"], "3", champion_p=champ_p)
    assert champion is not None
    check = _check(scores, y, comparison=comparison, champion=champion)
    old_policy = QuadrantPolicy(fit_threshold=50, interest_threshold=50)
    decision = build_decision(
        check,
        tags={},
        scores=scores,
        policy=QuadrantPolicy(fit_threshold=40, interest_threshold=40),
        test_window=WINDOW,
        champion_policy=old_policy,
        is_champion=False,
    )
    assert decision.champion_shares == box_shares(
        theirs["fit_probability"],
        theirs["interest_probability"],
        old_policy,
        pd.Timestamp(WINDOW["start"]),
        pd.Timestamp(WINDOW["end"]),
    )
    assert decision.against_champion == champion.sentence()
    assert decision.champion_shares is not None
    ours, old = decision.shares[0], decision.champion_shares[0]
    assert ours.leads > old.leads  # lower thresholds, higher scores: more sales-now leads
    assert f"({(ours.per_week - old.per_week):,.0f} a week more)" in decision.team_changes[0]
    assert "under champion version 3" in decision.team_changes[-1]
    line = verdict_line(check, None)
    assert line is not None and champion.sentence() in line


def test_decision_lists_every_failing_gate_and_a_champion_not_countable() -> None:
    scores, y = _scores()
    failures = ["calibration error (ECE) too high", "worse than the best baseline"]
    comparison = ChampionComparison(champion_version="3", note="its feature sets differ")
    check = _check(scores, y, failures=failures, comparison=comparison)
    decision = build_decision(
        check,
        tags={},
        scores=scores,
        policy=QuadrantPolicy(),
        test_window=WINDOW,
        champion_policy=QuadrantPolicy(),
        is_champion=False,
    )
    assert not decision.passes and decision.gate_reasons == failures
    assert decision.champion_shares is None
    assert "could not be counted on the same leads (its feature sets differ)" in (
        decision.leads_counted
    )
    assert "cannot be judged against champion version 3" in decision.against_champion
