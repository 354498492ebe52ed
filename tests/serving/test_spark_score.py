"""`handoff score --engine spark`: the same answers, per lead, as `handoff score`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.crm_data import MANIFEST
from serving.batch_score import OUTPUT_COLUMNS, score_folder
from tests.conftest import OneRunStore
from tests.serving.conftest import LENIENT, Api

pytestmark = pytest.mark.spark


def with_event_at_as_of(crm_dir: Path, out_dir: Path) -> tuple[Path, str]:
    """A copy of the folder where one lead has a demo request exactly at the scoring time
    (the extraction time): seen by neither engine, since only events before `as_of` count."""
    shutil.copytree(crm_dir, out_dir)
    extracted = pd.Timestamp(json.loads((out_dir / MANIFEST).read_text())["extracted_at"])
    events = pd.read_parquet(out_dir / "events.parquet")
    lead = str(events["lead_id"].iloc[0])
    extra = events.iloc[:1].assign(
        occurred_at=pd.Series([extracted], dtype="datetime64[us, UTC]").to_numpy(),
        type="demo_request",
    )
    pd.concat([events, extra], ignore_index=True).to_parquet(out_dir / "events.parquet")
    return out_dir, lead


def by_lead(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    return frame.sort_values("lead_id").reset_index(drop=True).drop(columns="request_id")


def test_spark_scores_every_lead_as_one_machine_does(
    spark, one_run: OneRunStore, tmp_path: Path
) -> None:
    from serving.spark_score import score_on_spark
    from training.promote import promote_version

    version = one_run.new_version()
    one_run.approve(version)
    promote_version(version, settings=one_run.settings, by="test", **LENIENT)
    crm_dir = one_run.settings.home.parent / "crm"
    folder, lead = with_event_at_as_of(crm_dir, tmp_path / "crm")

    score_folder(crm_dir, out=tmp_path / "before.parquet", settings=one_run.settings)
    score_folder(folder, out=tmp_path / "single.parquet", settings=one_run.settings)
    summary = score_on_spark(spark, folder, out=tmp_path / "spark", settings=one_run.settings)

    written = pd.read_parquet(tmp_path / "spark")
    assert list(written.columns) == list(OUTPUT_COLUMNS)
    single, on_spark = by_lead(tmp_path / "single.parquet"), by_lead(tmp_path / "spark")
    assert single.dtypes.equals(on_spark.dtypes)
    pd.testing.assert_frame_equal(on_spark, single)  # scores, quadrants, reasons: every lead
    assert on_spark["fit_reasons"].str.len().gt(0).all()
    before = by_lead(tmp_path / "before.parquet")
    pd.testing.assert_frame_equal(
        single.loc[single["lead_id"] == lead], before.loc[before["lead_id"] == lead]
    )
    assert f"scored {len(single)} leads with model version {version}" in summary


def test_spark_refuses_a_champion_that_reads_account_features(
    spark, api: Api, tmp_path: Path
) -> None:
    """Spark scores a partition of leads at a time, which splits accounts: a champion that
    reads account features is refused, saying what to do, and nothing is written."""
    from serving.batch_score import AccountsOutOfReach
    from serving.spark_score import score_on_spark

    registry = api.registry
    with pytest.raises(AccountsOutOfReach, match="--no-account-features"):
        score_on_spark(spark, registry.data_dir, out=tmp_path / "spark", settings=registry.settings)
    assert not (tmp_path / "spark").exists()
