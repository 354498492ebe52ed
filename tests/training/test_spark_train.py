"""The labelled feature table built on Spark is the one a single machine builds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts.synthetic import generate_to_folder
from training.labelled import NOT_ON_SPARK
from training.prepare import prepare_training_data

pytestmark = pytest.mark.spark


def with_event_at(crm_dir: Path, lead: str, at: pd.Timestamp) -> None:
    """Give `lead` a demo request at exactly `at` (its snapshot: not yet seen then)."""
    events = pd.read_parquet(crm_dir / "events.parquet")
    extra = events.iloc[:1].assign(
        lead_id=lead,
        occurred_at=pd.Series([at], dtype="datetime64[us, UTC]").to_numpy(),
        type="demo_request",
    )
    pd.concat([events, extra], ignore_index=True).to_parquet(crm_dir / "events.parquet")


def assert_same_features(single: pd.DataFrame, on_spark: pd.DataFrame) -> None:
    assert list(on_spark.columns) == list(single.columns)
    assert on_spark.index.equals(single.index)
    assert on_spark.dtypes.equals(single.dtypes)
    for col in single.columns:
        a, b = single[col], on_spark[col]
        if isinstance(a.dtype, pd.CategoricalDtype):
            assert b.cat.categories.equals(a.cat.categories), col
            assert np.array_equal(b.cat.codes.to_numpy(), a.cat.codes.to_numpy()), col
        else:
            np.testing.assert_allclose(
                b.to_numpy(float), a.to_numpy(float), rtol=1e-12, err_msg=col
            )


def test_spark_builds_the_same_labelled_features_and_split(spark, tmp_path: Path) -> None:
    from training.spark_train import prepare_on_spark

    generate_to_folder(n_leads=1_500, seed=5, out_dir=tmp_path / "crm")
    # Spark builds the lead's own features; account features are one machine's only.
    before = prepare_training_data(tmp_path / "crm", account_features=False)
    lead = str(before.X.index[0])
    with_event_at(tmp_path / "crm", lead, before.snapshot.iloc[0])
    single = prepare_training_data(tmp_path / "crm", account_features=False)
    on_spark = prepare_on_spark(spark, tmp_path / "crm")
    assert on_spark.engine["account_features"] == NOT_ON_SPARK

    assert_same_features(single.X, on_spark.X)
    np.testing.assert_array_equal(on_spark.y, single.y)
    for fold in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(on_spark.split, fold), getattr(single.split, fold))
    pd.testing.assert_frame_equal(on_spark.labels, single.labels[list(on_spark.labels.columns)])
    # The Spark engine checks the three lead tables; the accounts table only one machine.
    assert on_spark.validation.counts == {
        name: single.validation.counts[name] for name in ("leads", "events", "outcomes")
    }
    assert on_spark.engine["name"] == "spark"
    assert on_spark.engine["trained_on"] == f"all {len(single.X)} labelled leads"
    # the event at the snapshot instant is seen by neither engine
    assert_same_features(before.X.loc[[lead]], on_spark.X.loc[[lead]])


def test_sample_plan_all_rows_when_they_fit_else_one_fraction_for_both_classes() -> None:
    from training.spark_train import sample_plan

    assert sample_plan(1_000, 1_000) == (None, {"trained_on": "all 1000 labelled leads"})
    fraction, note = sample_plan(4_000_000, 1_000_000)
    assert fraction == 0.25 and note["sample_fraction"] == 0.25
    assert note["trained_on"].startswith("a stratified sample of the 4000000 labelled leads")


def test_spark_train_cli_guards_leakage_and_registers_the_same_version_as_one_machine(
    spark, tmp_path: Path
) -> None:
    """A mapped export with a sales-entered leak, trained by `run_training` and by
    `handoff train --engine spark` (joining the running session): the guard excludes the
    same column, the verdict and every metric agree, and both versions carry the same tags."""
    from typer.testing import CliRunner

    from handoff_cli import app
    from models.mlflow_layout import VERDICT_TAG
    from models.settings import Settings
    from tests.conftest import export_mapping, write_mapped_export
    from training.leakage import LeakageReport
    from training.train import run_training
    from training.versions import registry_client

    export = write_mapped_export(tmp_path / "export")
    mapping = tmp_path / "export.toml"
    mapping.write_text(export_mapping())
    settings = Settings(home=tmp_path / "home")
    single = run_training(export, mapping=mapping, settings=settings)
    said = CliRunner().invoke(
        app,
        ["train", str(export), "--mapping", str(mapping), "--engine", "spark"],
        env={"HANDOFF_HOME": str(settings.home)},
    )
    assert said.exit_code == 0, said.output
    assert spark.sparkContext._jsc is not None  # the command left the running session alone

    assert single.summary["leakage"]["excluded"] == ["x_business_type"]
    for line in LeakageReport.from_dict(single.summary["leakage"]).lines():
        assert line in said.output
    assert "feature table built on Spark (local[2]" in said.output
    client = registry_client(settings)
    trained = client.get_model_version(settings.model_name, single.version)
    on_spark = client.get_model_version(settings.model_name, str(int(single.version) + 1))
    runs = [client.get_run(str(v.run_id)) for v in (trained, on_spark)]
    metrics = [run.data.metrics for run in runs]
    assert metrics[1].keys() == metrics[0].keys()
    for name, value in metrics[0].items():
        assert metrics[1][name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    tags = [trained.tags, on_spark.tags]
    assert tags[1].keys() == tags[0].keys()
    assert tags[1][VERDICT_TAG] == tags[0][VERDICT_TAG]
