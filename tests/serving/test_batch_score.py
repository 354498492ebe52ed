"""`handoff score`: a folder scored by the champion, same answers as the API, flat columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from serving.batch_score import OUTPUT_COLUMNS, NoChampion, score_folder
from tests.serving.conftest import Api, serving_settings


def test_score_folder_writes_parquet_and_csv_in_chunks(api: Api, tmp_path: Path) -> None:
    reg = api.registry
    out = tmp_path / "scores.parquet"
    summary = score_folder(reg.data_dir, out=out, settings=reg.settings, chunk_leads=1_000)
    frame = pd.read_parquet(out)
    leads = pd.read_parquet(reg.data_dir / "leads.parquet")
    assert list(frame.columns) == list(OUTPUT_COLUMNS)
    assert len(frame) == len(leads) and frame["lead_id"].is_unique
    assert set(frame["model_version"]) == {reg.v1}
    assert frame["fit_reasons"].str.len().gt(0).all()
    assert frame["combined_score"].between(0, 100).all()
    assert f"scored {len(frame)} leads" in summary

    csv = tmp_path / "scores.csv"
    score_folder(reg.data_dir, out=csv, settings=reg.settings, chunk_leads=100_000)
    again = pd.read_csv(csv, keep_default_na=False)
    assert again["combined_score"].tolist() == frame["combined_score"].tolist()


def test_score_folder_without_champion_says_what_to_do(tmp_path: Path, api: Api) -> None:
    settings = serving_settings(tmp_path / "empty-home")
    with pytest.raises(NoChampion, match="handoff promote"):
        score_folder(api.registry.data_dir, out=tmp_path / "x.parquet", settings=settings)
