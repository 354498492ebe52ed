"""Verdicts: DeLong intervals agree with the bootstrap, the words follow the intervals, and
a model trained on outcomes with no signal is called no better than chance and refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from training.evaluate import rank_auc
from training.verdict import (
    BETTER,
    NO_SIGNAL,
    TIES,
    WORSE,
    Interval,
    Verdict,
    against_champion,
    auc_difference,
    delong,
    ece_noise,
    verdict_for,
    word_for,
)


def _scores(n: int, seed: int, noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x - 2)))).astype(int)
    return y, x + rng.normal(scale=noise, size=n) if noise else x


def test_delong_auc_is_sklearns_and_its_spread_the_bootstraps() -> None:
    y, p = _scores(3_000, 0)
    _, q = _scores(3_000, 0, noise=0.8)
    aucs, cov = delong(y, p, q)
    assert aucs == pytest.approx([roc_auc_score(y, p), roc_auc_score(y, q)])
    rng = np.random.default_rng(1)
    boot = []
    for _ in range(300):
        i = rng.integers(0, len(y), len(y))
        boot.append(rank_auc(y[i], p[i]) - rank_auc(y[i], q[i]))
    paired_sd = np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert paired_sd == pytest.approx(np.std(boot), rel=0.2)


def test_word_for_follows_the_whole_interval() -> None:
    assert word_for(Interval(0.02, 0.005, 0.035)) == BETTER
    assert word_for(Interval(0.003, -0.004, 0.010)) == TIES
    assert word_for(Interval(-0.02, -0.035, -0.005)) == WORSE


def test_verdict_random_scores_are_no_better_than_chance() -> None:
    rng = np.random.default_rng(2)
    y = (rng.random(2_000) < 0.1).astype(int)
    verdict = verdict_for(y, rng.random(2_000), {"baseline_logreg": rng.random(2_000)})
    assert verdict.no_signal and verdict.word == NO_SIGNAL
    assert verdict.headline().startswith("no better than chance")
    assert verdict.auc.includes(0.5)


def test_account_verdict_names_account_rows_and_routes_accounts() -> None:
    """The account model's verdict counts account rows and says what not to route."""
    rng = np.random.default_rng(2)
    y = (rng.random(2_000) < 0.1).astype(int)
    said = verdict_for(y, rng.random(2_000), unit="account rows", ranks="accounts")
    assert said.lines()[0].startswith("verdict on 2,000 test account rows (")
    assert "do not route accounts by it" in said.headline() and "leads" not in said.headline()
    assert "paired on the same account rows" in said.method
    assert Verdict.from_dict(said.to_dict()) == said
    older = {k: v for k, v in said.to_dict().items() if k not in ("unit", "ranks")}
    assert Verdict.from_dict(older).unit == "leads"  # a record from before the field


def test_verdict_a_baseline_as_good_is_a_tie_said_in_words() -> None:
    y, p = _scores(2_000, 3)
    _, q = _scores(2_000, 3, noise=0.05)  # nearly the same ranking
    verdict = verdict_for(y, p, {"baseline_logreg": q, "baseline_points": -p})
    assert verdict.baseline is not None and verdict.baseline.against == "baseline_logreg"
    assert verdict.word == TIES
    assert "a simple logistic regression does as well" in verdict.headline()
    assert "consider it" in verdict.headline()


def test_verdict_record_round_trips_and_names_its_intervals() -> None:
    y, p = _scores(1_500, 4)
    verdict = verdict_for(y, 1 / (1 + np.exp(-(p - 2))))
    again = Verdict.from_dict(verdict.to_dict())
    assert again == verdict
    metrics = verdict.metrics()
    assert metrics["verdict_auc_low"] < verdict.auc.estimate < metrics["verdict_auc_high"]
    assert metrics["verdict_lift_top10_low"] <= verdict.lift_top10.estimate
    assert verdict.ece.low <= verdict.ece.estimate <= verdict.ece.high


def test_ece_noise_is_what_a_calibrated_model_shows_and_shrinks_with_rows() -> None:
    """On 1,512 leads winning ~11%, chance alone gives an ECE about 0.03."""
    rng = np.random.default_rng(5)
    small = rng.uniform(0.0, 0.22, 1_512)
    large = rng.uniform(0.0, 0.22, 15_120)
    assert 0.02 < ece_noise(small) < 0.045
    assert ece_noise(large) < ece_noise(small) / 2


def test_against_champion_paired_or_across_windows() -> None:
    y, p = _scores(2_000, 6)
    _, q = _scores(2_000, 6, noise=1.0)
    paired = against_champion(y, p, "3", champion_p=q)
    assert paired is not None and paired.paired and paired.verdict == BETTER
    assert paired.difference == auc_difference(y, p, q)
    across = against_champion(y, p, "3", champion_auc=Interval(0.95, 0.94, 0.96), note="older")
    assert across is not None and not across.paired and across.verdict == WORSE
    assert "not on the same leads: older" in across.sentence()
    assert against_champion(y, p, "3") is None


def test_train_on_outcomes_without_signal_is_refused_as_chance(tmp_path: Path) -> None:
    """An export whose outcomes depend on none of its columns: the verdict says no better
    than chance, and promotion refuses it whatever the loosened bounds."""
    from models.mlflow_layout import TEAMS, VERDICT_TAG
    from models.settings import Settings
    from tests.conftest import ACKNOWLEDGED, export_mapping, write_mapped_export
    from training.promote import PromotionRefused, promote_version
    from training.signoff import record_signoff
    from training.train import run_training
    from training.versions import registry_client

    export = write_mapped_export(tmp_path / "export", signal=False)
    mapping = tmp_path / "export.toml"
    mapping.write_text(export_mapping(leak=False))
    settings = Settings(home=tmp_path / "home")
    result = run_training(export, mapping=mapping, settings=settings)
    assert result.verdict is not None and result.verdict.word == NO_SIGNAL
    assert result.summary_text().startswith("verdict on ")
    assert "no better than chance" in result.summary_text().splitlines()[0]
    tags = registry_client(settings).get_model_version(settings.model_name, result.version).tags
    assert tags[VERDICT_TAG] == NO_SIGNAL
    for team in TEAMS:
        record_signoff(
            result.version, team=team, by="someone", approve=True, **ACKNOWLEDGED, settings=settings
        )
    with pytest.raises(PromotionRefused, match="no better than chance"):
        promote_version(
            result.version,
            settings=settings,
            auc_tolerance=1.0,
            max_ece=1.0,
            baseline_margin=-1.0,
        )
