"""The leakage guard: injected leaks of each kind are caught, honest signal is not, a kept
suspect is recorded, and a real export's sales-entered columns are flagged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from data_contracts.synthetic import generate_to_folder
from models import mlflow_layout as layout
from models.settings import Settings
from tests.conftest import export_mapping, write_mapped_export
from training.leakage import EXCLUDED, KEPT, UnknownKeep, check_columns
from training.prepare import TrainingData, TrainingRefused, prepare_training_data


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> TrainingData:
    folder = tmp_path_factory.mktemp("leakage") / "crm"
    generate_to_folder(n_leads=2_500, seed=21, out_dir=folder)
    return prepare_training_data(folder)


def _window(data: TrainingData) -> tuple[pd.DataFrame, np.ndarray]:
    return data.fold("train")


def _caught(X: pd.DataFrame, y: np.ndarray, data: TrainingData, **kw: Any) -> dict[str, str]:
    report = check_columns(X, y, categorical=[*data.features.categorical_columns, "leak"], **kw)
    return {f.column: f.rule for f in report.findings}


def test_guard_clean_generated_data_raises_nothing(generated: TrainingData) -> None:
    report = generated.leakage
    assert report.findings == () and report.excluded == []
    X, y = _window(generated)
    assert report.rows == len(y) and report.columns == X.shape[1]
    # the generator's strongest true signal is measured, named, and not flagged
    strongest, auc = report.strongest[0]
    assert strongest in generated.features.interest_columns and auc > 0.7


def test_guard_catches_a_column_that_is_the_outcome(generated: TrainingData) -> None:
    X, y = _window(generated)
    rng = np.random.default_rng(0)
    flipped = np.where(rng.random(len(y)) < 0.02, 1 - y, y)
    assert _caught(X.assign(leak=flipped.astype(float)), y, generated) == {"leak": "alone"}


def test_guard_catches_missingness_that_encodes_the_label(generated: TrainingData) -> None:
    """Filled for most wins and hardly any loss (sales types it in at close)."""
    X, y = _window(generated)
    rng = np.random.default_rng(1)
    filled = np.where(y == 1, rng.random(len(y)) < 0.6, rng.random(len(y)) < 0.01)
    value = pd.Categorical(np.where(filled, rng.choice(["a", "b", "c"], len(y)), None))
    assert _caught(X.assign(leak=value), y, generated) == {"leak": "missingness"}


def test_guard_catches_values_held_almost_only_by_won_leads(generated: TrainingData) -> None:
    """A tag: a quarter of the wins carry one that no loss carries; the rest look random."""
    X, y = _window(generated)
    rng = np.random.default_rng(2)
    tags = rng.choice(["call back", "emailed", "no answer"], len(y)).astype(object)
    tags[(y == 1) & (rng.random(len(y)) < 0.25)] = "closed by partner"
    assert _caught(X.assign(leak=pd.Categorical(tags)), y, generated) == {"leak": "decisive_values"}


def test_guard_catches_a_column_far_beyond_all_the_others() -> None:
    """A call length: AUC ~0.9 alone where nothing else (alone or together) passes 0.6."""
    rng = np.random.default_rng(3)
    n = 4_000
    y = (rng.random(n) < 0.15).astype(int)
    X = pd.DataFrame({f"weak_{i}": rng.normal(size=n) + 0.2 * y for i in range(5)})
    X["call_minutes"] = rng.normal(size=n) + 1.8 * y
    report = check_columns(X, y, categorical=[])
    (finding,) = report.findings
    assert (finding.column, finding.rule) == ("call_minutes", "beyond_rest")
    assert 0.85 < finding.auc < 0.95


def test_guard_catches_timestamps_after_the_snapshot(generated: TrainingData) -> None:
    X, y = _window(generated)
    snapshot = generated.snapshot.loc[X.index]
    rng = np.random.default_rng(4)
    days = np.where(rng.random(len(y)) < 0.3, 20.0, -rng.uniform(1, 100, len(y)))
    stamps = (snapshot + pd.to_timedelta(days, unit="D")).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    caught = _caught(
        X.assign(leak=pd.Categorical(stamps)),
        y,
        generated,
        raw={"leak": stamps},
        snapshot=snapshot,
    )
    assert caught == {"leak": "after_snapshot"}


def test_guard_keep_needs_a_known_column(generated: TrainingData) -> None:
    X, y = _window(generated)
    with pytest.raises(UnknownKeep, match="'no_such_column'"):
        check_columns(X, y, categorical=[], keep={"no_such_column": "because"})


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mapped_export(tmp_path_factory.mktemp("export") / "data")


def _prepared(export: Path, tmp: Path, **mapping: Any) -> TrainingData:
    path = tmp / "export.toml"
    path.write_text(export_mapping(**mapping))
    return prepare_training_data(export, mapping=path)


def test_guard_excludes_a_sales_entered_extra_from_features_and_sets(
    export: Path, tmp_path: Path
) -> None:
    data = _prepared(export, tmp_path)
    (finding,) = data.leakage.findings
    assert (finding.column, finding.source, finding.action) == (
        "x_business_type",
        "business_type",
        EXCLUDED,
    )
    assert "x_business_type" not in data.X.columns
    assert "x_business_type" not in data.features.fit_columns
    assert all("x_business_type" not in fs.columns for fs in data.features.feature_sets)
    honest = _prepared(export, tmp_path, leak=False)
    assert honest.leakage.findings == ()
    # the sets' labels say that the inputs differ from the honest run only by what was dropped
    assert [fs.label for fs in data.features.feature_sets] == [
        fs.label for fs in honest.features.feature_sets
    ]


def test_guard_keeps_a_declared_suspect_and_says_why(export: Path, tmp_path: Path) -> None:
    why = "typed in by the buyer on the sign-up form"
    data = _prepared(export, tmp_path, keep={"Business Type": why})
    (finding,) = data.leakage.findings
    assert (finding.action, finding.reason) == (KEPT, why)
    assert "x_business_type" in data.X.columns
    assert f"KEPT because the mapping says: {why}" in data.leakage.lines()[1]


def test_guard_unknown_keep_refuses_training(export: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainingRefused, match="no model input"):
        _prepared(export, tmp_path, keep={"Shoe Size": "why not"})


def test_train_records_findings_and_tags_a_kept_suspect(export: Path, tmp_path: Path) -> None:
    from mlflow.artifacts import download_artifacts

    from training.train import run_training
    from training.versions import registry_client, versions_table

    path = tmp_path / "export.toml"
    settings = Settings(home=tmp_path / "home")
    path.write_text(export_mapping())
    excluded = run_training(export, mapping=path, settings=settings)
    path.write_text(export_mapping(keep={"business_type": "entered on the form, before contact"}))
    kept = run_training(export, mapping=path, settings=settings)

    client = registry_client(settings)
    tags = {
        r.version: client.get_model_version(settings.model_name, r.version).tags
        for r in (excluded, kept)
    }
    assert layout.LEAKAGE_KEPT_TAG not in tags[excluded.version]
    assert "x_business_type" in tags[kept.version][layout.LEAKAGE_KEPT_TAG]
    assert layout.LEAKAGE_KEPT_TAG in client.get_run(kept.run_id).data.tags
    logged = json.loads(
        Path(
            download_artifacts(run_id=excluded.run_id, artifact_path=layout.LEAKAGE_FILE)
        ).read_text()
    )
    assert logged["excluded"] == ["x_business_type"] == excluded.summary["leakage"]["excluded"]
    assert excluded.metrics["n_leakage_excluded"] == 1.0
    assert "x_business_type" in excluded.summary_text().split("registered")[0]
    rows = {line.split()[0]: line for line in versions_table(settings=settings).splitlines()}
    assert "WARNING: trained with suspected leakage kept: x_business_type" in rows[kept.version]
    assert "WARNING" not in rows[excluded.version]


LEADS_X_SALES_COLUMNS = {
    "tags": "Tags",
    "lead_quality": "Lead Quality",
    "lead_profile": "Lead Profile",
    "last_activity": "Last Activity",
    "last_notable_activity": "Last Notable Activity",
    "asym_activity_score": "Asymmetrique Activity Score",
}


def test_guard_flags_leads_x_sales_entered_columns(shared_data: Path, tmp_path: Path) -> None:
    """The shipped mapping with its exclusion list removed and the sales-entered columns
    mapped as inputs. The guard flags the tag-like ones (values that nearly decide the
    outcome); the latest-state snapshots look like honest activity in the data, so only the
    mapping's exclusion list knows them (see the README)."""
    from data_contracts.mapping import shipped_mapping

    text = shipped_mapping("leads_x_education").read_text().split("[excluded]")[0]
    for name, source in LEADS_X_SALES_COLUMNS.items():
        kind = "numeric" if "Score" in source else "categorical"
        text += f'[extras.{name}]\nfrom = "{source}"\nrole = "fit"\ndtype = "{kind}"\n'
    leaky = tmp_path / "leads_x_leaky.toml"
    leaky.write_text(text)
    data = prepare_training_data(shared_data / "leads_x_education", mapping=leaky)
    flagged = {f.column: f for f in data.leakage.findings}
    assert {"x_tags", "x_lead_quality"} <= set(flagged)
    assert flagged["x_tags"].rule == "decisive_values" and flagged["x_tags"].auc > 0.85
    assert not {"x_tags", "x_lead_quality"} & set(data.X.columns)
    # and the shipped mapping, which already excludes them, raises nothing
    honest = prepare_training_data(
        shared_data / "leads_x_education", mapping=shipped_mapping("leads_x_education")
    )
    assert honest.leakage.findings == ()
