"""`run_training` end to end on small generated data, with a real SQLite-backed MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.synthetic import generate_to_folder
from models.mlflow_layout import QUARANTINED_TAG as QUARANTINE_TAG
from models.mlflow_setup import configure_mlflow
from models.settings import Settings
from training.train import TrainingRefused, TrainResult, run_training

Trained = tuple[TrainResult, Settings, Path]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    root = tmp_path_factory.mktemp("train")
    data_dir = root / "crm"
    generate_to_folder(n_leads=4_000, seed=11, out_dir=data_dir)
    settings = Settings(home=root / "home", currency="EUR")
    return run_training(data_dir, settings=settings), settings, data_dir


def test_train_records_the_revenue_currency_in_the_feature_sets(trained: Trained) -> None:
    """The reasons say revenue in the currency training was told (`HANDOFF_CURRENCY`)."""
    result, settings, _ = trained
    configure_mlflow(settings)
    from mlflow.artifacts import load_dict

    logged = load_dict(f"runs:/{result.run_id}/feature_sets.json")
    units = {f["name"]: f.get("unit") for fs in logged for f in fs["features"]}
    assert units["log_revenue"] == "EUR"


def test_train_registers_candidate_without_touching_champion(trained: Trained) -> None:
    result, settings, _ = trained
    configure_mlflow(settings)
    import mlflow

    client = mlflow.MlflowClient()
    version = client.get_model_version(settings.model_name, result.version)
    assert version.tags["handoff.status"] == "candidate"
    assert version.tags["handoff.run_id"] == result.run_id
    assert len(version.tags["handoff.binding"]) == 64
    assert "champion" not in client.get_registered_model(settings.model_name).aliases


def test_train_logs_metrics_for_models_baselines_and_oracle(trained: Trained) -> None:
    result, _, _ = trained
    for model in (
        "combined",
        "fit",
        "interest",
        "baseline_logreg",
        "baseline_naive_bayes",
        "baseline_points",
        "oracle",
    ):
        assert 0.0 <= result.metrics[f"test_{model}_roc_auc"] <= 1.0
        assert f"test_{model}_ece" in result.metrics
    assert result.metrics["test_combined_roc_auc"] > 0.6


def test_train_counts_and_excludes_censored_leads(trained: Trained) -> None:
    result = trained[0]
    summary = result.summary
    assert summary["n_censored"] > 0
    assert summary["n_labelled"] + summary["n_censored"] == summary["n_leads"]
    assert "neither a win nor a loss" in summary["censoring"]
    n_rows = sum(int(summary["windows"][fold]["rows"]) for fold in ("train", "val", "test"))
    assert n_rows == summary["n_labelled"]


def test_train_windows_are_time_ordered(trained: Trained) -> None:
    windows = trained[0].summary["windows"]
    assert pd.Timestamp(windows["train"]["end"]) < pd.Timestamp(windows["val"]["start"])
    assert pd.Timestamp(windows["val"]["end"]) < pd.Timestamp(windows["test"]["start"])


def test_train_writes_artifacts_the_reviewers_need(trained: Trained) -> None:
    result, settings, _ = trained
    configure_mlflow(settings)
    from mlflow.artifacts import download_artifacts

    local = Path(download_artifacts(run_id=result.run_id))
    for name in (
        "policy.json",
        "training_summary.json",
        "feature_sets.json",
        "contract.json",
        "feature_importance.json",
        "evaluation/metrics.json",
        "evaluation/test_scores.parquet",
        "evaluation/test_features.parquet",
        "evaluation/train_profile.parquet",
        "evaluation/examples.json",
    ):
        assert (local / name).exists(), name
    scores = pd.read_parquet(local / "evaluation/test_scores.parquet")
    assert len(scores) == int(result.metrics["n_test"])
    assert {"label", "combined_probability", "quadrant", "baseline_logreg"} <= set(scores.columns)
    phases = json.loads((local / "training_summary.json").read_text())["phases"]
    assert [p["phase"] for p in phases][:3] == ["fingerprint", "read+validate", "features"]


def test_train_reports_how_the_candidate_ranks_ae_rejections(trained: Trained) -> None:
    """The generator's AEs reject leads with worse odds more often: the run shows it."""
    result, settings, _ = trained
    configure_mlflow(settings)
    from mlflow.artifacts import download_artifacts

    path = download_artifacts(run_id=result.run_id, artifact_path="evaluation/feedback.json")
    ranking = json.loads(Path(path).read_text())
    m = result.metrics
    assert ranking["n_decided"] == m["test_ae_decided"] > 50
    assert ranking["accept_auc"] == pytest.approx(m["test_ae_accept_auc"])
    assert m["test_ae_accept_auc"] > 0.5
    assert m["test_ae_rejected_mean_percentile"] < m["test_ae_accepted_mean_percentile"]
    assert sum(b["leads"] for b in ranking["bands"]) == m["n_test"]
    assert m["test_band1_meeting_rating"] > m["test_band5_meeting_rating"]
    said = f"the score tells them apart with AUC {m['test_ae_accept_auc']:.3f}"
    assert said in result.summary_text()


def test_train_summary_text_names_version_and_models(trained: Trained) -> None:
    text = trained[0].summary_text()
    assert f"version {trained[0].version}" in text
    assert "baseline_points" in text and "oracle" in text


def test_train_refuses_data_failing_contracts(tmp_path: Path) -> None:
    data_dir = tmp_path / "crm"
    generate_to_folder(n_leads=1_000, seed=2, out_dir=data_dir)
    leads = pd.read_parquet(data_dir / "leads.parquet")
    leads.loc[3, "seniority"] = "emperor"
    leads.to_parquet(data_dir / "leads.parquet", index=False)
    with pytest.raises(TrainingRefused, match="seniority") as refused:
        run_training(data_dir, settings=Settings(home=tmp_path / "home"))
    validation = refused.value.validation
    assert validation is not None and validation.counts["leads"]["quarantined"] == 1
    assert validation.quarantined["leads"] == data_dir / "quarantine" / "leads.csv"


def test_train_skip_invalid_rows_learns_from_the_rest_and_records_the_quarantine(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "crm"
    generate_to_folder(n_leads=1_000, seed=2, out_dir=data_dir)
    leads = pd.read_parquet(data_dir / "leads.parquet")
    leads.loc[3, "seniority"] = "emperor"
    leads.to_parquet(data_dir / "leads.parquet", index=False)
    settings = Settings(home=tmp_path / "home")
    result = run_training(data_dir, settings=settings, skip_invalid_rows=True)
    assert result.summary["n_leads"] == 999
    leads_file = str(data_dir / "quarantine" / "leads.csv")
    assert result.summary["quarantined"]["leads"] == {"rows": 1, "file": leads_file}
    assert result.summary["contract_checks"]["leads"]["quarantined"] == 1
    assert "left out and quarantined: leads 1" in result.summary_text()
    configure_mlflow(settings)
    import mlflow

    run = mlflow.MlflowClient().get_run(result.run_id)
    assert json.loads(run.data.tags[QUARANTINE_TAG]) == result.summary["quarantined"]
    from mlflow.artifacts import download_artifacts

    logged = json.loads(
        Path(
            download_artifacts(run_id=result.run_id, artifact_path="training_summary.json")
        ).read_text()
    )
    assert logged["quarantined"] == result.summary["quarantined"]
    assert logged["skip_invalid_rows"] is True


def test_train_without_skipping_records_no_quarantine(trained: Trained) -> None:
    result, settings, _ = trained
    assert result.summary["quarantined"] == {} and result.summary["skip_invalid_rows"] is False
    configure_mlflow(settings)
    import mlflow

    assert QUARANTINE_TAG not in mlflow.MlflowClient().get_run(result.run_id).data.tags


def test_train_again_makes_a_new_version(trained: Trained) -> None:
    result, settings, data_dir = trained
    again = run_training(data_dir, settings=settings, horizon_days=120)
    assert int(again.version) == int(result.version) + 1
    assert again.summary["horizon_days"] == 120


def test_train_records_each_scores_learner_choice_and_runner_up(trained: Trained) -> None:
    from models.learners import FAMILIES
    from models.mlflow_layout import choice_metric, family_param, runner_up_param

    result, settings, _ = trained
    configure_mlflow(settings)
    import mlflow

    run = mlflow.MlflowClient().get_run(result.run_id)
    choice = result.summary["model_choice"]
    assert set(choice) == {"fit", "interest", "combined"}
    for score, c in choice.items():
        assert c["chosen"] in FAMILIES and c["runner_up"] in FAMILIES
        assert c["chosen"] != c["runner_up"] and "cross-fitted" in c["rule"]
        assert run.data.params[family_param(score)] == c["chosen"]
        assert run.data.params[runner_up_param(score)] == c["runner_up"]
        best = max(c["val_auc"].values())
        assert result.metrics[choice_metric(score, c["chosen"])] >= best - 1e-12
    assert "learners (chosen on the validation window): fit " in result.summary_text()


def test_train_small_data_still_registers_and_says_so_plainly(trained: Trained) -> None:
    from models.mlflow_layout import SMALL_DATA_TAG
    from training.sample_size import MIN_TRAINING_WINS

    result, settings, _ = trained
    wins = result.summary["n_train_wins"]
    assert 0 < wins < MIN_TRAINING_WINS  # 4,000 generated leads
    assert result.metrics["n_train_wins"] == wins
    assert f"only {wins:,} won deals" in result.summary["small_data"]
    assert result.summary_text().count("DATA TOO SMALL TO TRUST") == 1
    configure_mlflow(settings)
    import mlflow

    version = mlflow.MlflowClient().get_model_version(settings.model_name, result.version)
    assert version.tags[SMALL_DATA_TAG] == result.summary["small_data"]
    assert version.tags["handoff.status"] == "candidate"
