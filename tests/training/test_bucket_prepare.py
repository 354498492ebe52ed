"""Training data built a lead-id bucket at a time is the training data of the whole folder:
the same features per lead, labels, split, quarantine and refusals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data_contracts.synthetic import generate_to_folder
from models.settings import Settings
from tests.conftest import backend_overrides
from training.feedback_eval import sales_feedback
from training.labelled import NO_ACCOUNTS_TABLE
from training.prepare import TrainingData, TrainingRefused, prepare_training_data
from training.train import run_training

N_LEADS = 1_500
BUCKET_LEADS = 400  # the folder's leads in 4 buckets


def plain_folder(out: Path, seed: int) -> Path:
    """Generated CRM tables without the accounts table (which keeps a folder whole), one
    lead given an industry no other has (so its bucket's categories differ from the rest)
    and another an event exactly at its snapshot (which no feature may see)."""
    generate_to_folder(n_leads=N_LEADS, seed=seed, out_dir=out)
    (out / "accounts.parquet").unlink()
    leads = pd.read_parquet(out / "leads.parquet")
    leads["industry"] = leads["industry"].astype(object)
    leads.loc[7, "industry"] = "Aardvark farming"
    leads.to_parquet(out / "leads.parquet", index=False)
    first = prepare_training_data(out)
    events = pd.read_parquet(out / "events.parquet")
    extra = events.iloc[:1].assign(
        lead_id=str(first.X.index[0]),
        occurred_at=pd.Series([first.snapshot.iloc[0]], dtype="datetime64[us, UTC]").to_numpy(),
        type="demo_request",
    )
    pd.concat([events, extra], ignore_index=True).to_parquet(out / "events.parquet", index=False)
    return out


def broken_folder(out: Path) -> Path:
    """A plain folder with a value outside its vocabulary, an orphan event and a bad stage."""
    folder = plain_folder(out, seed=4)
    for name, column, row, value in (
        ("leads", "seniority", 3, "overlord"),
        ("events", "lead_id", 11, "ghost"),
        ("outcomes", "stage", 2, "bogus"),
    ):
        frame = pd.read_parquet(folder / f"{name}.parquet")
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def assert_same_training_data(whole: TrainingData, split: TrainingData) -> None:
    none = {"account_features": NO_ACCOUNTS_TABLE}  # a bucketed folder has no accounts
    assert split.engine == {"name": "single-machine", "buckets": 4, **none}
    assert whole.engine == {"name": "single-machine", **none}
    pd.testing.assert_frame_equal(split.features.frame, whole.features.frame)
    pd.testing.assert_frame_equal(split.X, whole.X)
    pd.testing.assert_frame_equal(split.labels, whole.labels)
    pd.testing.assert_series_equal(split.snapshot, whole.snapshot)
    assert split.y.tolist() == whole.y.tolist()
    for fold in ("train", "val", "test"):
        assert getattr(split.split, fold).tolist() == getattr(whole.split, fold).tolist()
    assert split.features.feature_sets == whole.features.feature_sets
    assert split.leakage.to_dict() == whole.leakage.to_dict()
    assert split.validation.counts == whole.validation.counts
    assert split.validation.report_text() == whole.validation.report_text()
    pd.testing.assert_frame_equal(
        sales_feedback(split.crm.outcomes, split.X.index),
        sales_feedback(whole.crm.outcomes, whole.X.index),
    )


def test_bucketed_training_data_is_the_whole_folders(tmp_path: Path) -> None:
    folder = plain_folder(tmp_path / "crm", seed=3)
    whole = prepare_training_data(folder)
    split = prepare_training_data(folder, bucket_leads=BUCKET_LEADS)
    assert "Aardvark farming" in whole.features.frame["industry"].cat.categories
    assert_same_training_data(whole, split)


def test_bucketed_training_skipping_invalid_rows_quarantines_what_the_whole_does(
    tmp_path: Path,
) -> None:
    folder = broken_folder(tmp_path / "crm")
    whole = prepare_training_data(folder, skip_invalid_rows=True)
    held = {name: path.read_bytes() for name, path in whole.validation.quarantined.items()}
    split = prepare_training_data(folder, skip_invalid_rows=True, bucket_leads=BUCKET_LEADS)
    assert not whole.validation.ok and len(held) == 3
    assert_same_training_data(whole, split)
    assert {n: p.read_bytes() for n, p in split.validation.quarantined.items()} == held


def test_bucketed_training_refuses_failing_data_with_the_whole_report(tmp_path: Path) -> None:
    folder = broken_folder(tmp_path / "crm")
    with pytest.raises(TrainingRefused) as whole:
        prepare_training_data(folder)
    with pytest.raises(TrainingRefused) as split:
        prepare_training_data(folder, bucket_leads=BUCKET_LEADS)
    assert str(split.value) == str(whole.value)
    assert "leads.parquet row 3: seniority" in str(split.value)


def test_bucketed_training_registers_a_version(tmp_path: Path) -> None:
    folder = plain_folder(tmp_path / "crm", seed=3)
    settings = Settings(home=tmp_path / "home", **backend_overrides("bucket_prepare"))
    result = run_training(folder, settings=settings, bucket_leads=BUCKET_LEADS)
    assert result.version
    assert result.summary["n_leads"] == N_LEADS
