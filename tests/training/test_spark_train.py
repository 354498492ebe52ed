"""The labelled feature table built on Spark is the one a single machine builds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts.synthetic import generate_to_folder
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
    before = prepare_training_data(tmp_path / "crm")
    lead = str(before.X.index[0])
    with_event_at(tmp_path / "crm", lead, before.snapshot.iloc[0])
    single = prepare_training_data(tmp_path / "crm")
    on_spark = prepare_on_spark(spark, tmp_path / "crm")

    assert_same_features(single.X, on_spark.X)
    np.testing.assert_array_equal(on_spark.y, single.y)
    for fold in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(on_spark.split, fold), getattr(single.split, fold))
    pd.testing.assert_frame_equal(on_spark.labels, single.labels[list(on_spark.labels.columns)])
    assert on_spark.validation.counts == single.validation.counts
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


def test_spark_train_guards_leakage_and_registers_the_same_version_as_one_machine(
    spark, tmp_path: Path
) -> None:
    """A mapped export with a sales-entered leak through `handoff train` on both engines:
    the guard excludes the same column, the verdict and metrics agree, and both versions
    carry the same tags."""
    from models.settings import Settings
    from tests.conftest import export_mapping, write_mapped_export
    from training.spark_train import train_on_spark
    from training.train import run_training
    from training.versions import registry_client

    export = write_mapped_export(tmp_path / "export")
    mapping = tmp_path / "export.toml"
    mapping.write_text(export_mapping())
    settings = Settings(home=tmp_path / "home")
    single = run_training(export, mapping=mapping, settings=settings)
    on_spark = train_on_spark(spark, export, mapping=mapping, settings=settings)

    assert on_spark.summary["leakage"] == single.summary["leakage"]
    assert on_spark.summary["leakage"]["excluded"] == ["x_business_type"]
    assert on_spark.verdict is not None and single.verdict is not None
    assert on_spark.verdict.word == single.verdict.word
    assert on_spark.metrics.keys() == single.metrics.keys()
    for name, value in single.metrics.items():
        assert on_spark.metrics[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
    assert on_spark.summary["engine"]["name"] == "spark"
    assert "feature table built on Spark" in on_spark.summary_text()
    client = registry_client(settings)
    tags = [
        client.get_model_version(settings.model_name, r.version).tags for r in (single, on_spark)
    ]
    assert tags[0].keys() == tags[1].keys()
