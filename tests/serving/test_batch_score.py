"""`handoff score`: a folder scored by the champion, same answers as the API, flat columns."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from data_contracts.schemas import ScoredLead
from data_contracts.vocab import REASON_TEXT_MAX
from serving.batch_score import (
    OUTPUT_COLUMNS,
    NoChampion,
    UnsupportedOutput,
    checked_output,
    score_folder,
)
from serving.scoring import ScoringFailed
from tests.conftest import ACKNOWLEDGED
from tests.data_contracts.test_partition import write_broken
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
    assert frame["combined_reason_text"].str.len().between(1, REASON_TEXT_MAX).all()
    downs = frame["fit_reasons"].str.split("; ").explode()
    assert not downs[downs.str.endswith("(-)")].str.contains(r"\+").any()
    ScoredLead.validate(frame)  # what was written is what the contract says
    assert f"scored {len(frame)} leads" in summary

    csv = tmp_path / "scores.csv"
    score_folder(reg.data_dir, out=csv, settings=reg.settings, chunk_leads=100_000)
    again = pd.read_csv(csv, keep_default_na=False)
    by_lead = frame.set_index("lead_id")["combined_score"]  # buckets come out in their order
    assert (
        again.set_index("lead_id")["combined_score"]
        .astype(int)
        .equals(by_lead.loc[again["lead_id"]])
    )


def test_score_folder_in_buckets_answers_as_the_whole_folder(api: Api, tmp_path: Path) -> None:
    """Both sides of the switch: a folder larger than one chunk, read and checked a
    lead-id bucket at a time, scores and leaves out exactly what the whole-table read does."""
    reg = api.registry
    folder = write_broken(tmp_path)
    n = len(pd.read_parquet(folder / "leads.parquet"))
    runs = {}
    for chunk in (n, 80):
        out = tmp_path / f"scores-{chunk}.parquet"
        summary = score_folder(folder, out=out, settings=reg.settings, chunk_leads=chunk)
        scored = pd.read_parquet(out).drop(columns=["request_id"])
        runs[chunk] = (scored.sort_values("lead_id").reset_index(drop=True), summary)
    whole, split = runs[n], runs[80]
    assert whole[0]["lead_id"].is_unique and len(whole[0]) == n - 3  # a duplicate, a bad value
    pd.testing.assert_frame_equal(split[0], whole[0])
    left_out = whole[1].splitlines()[-1]
    assert left_out.startswith("left out by the contracts: 3 leads, ")
    assert split[1].splitlines()[-1] == left_out


def test_rows_out_of_contract_are_refused_naming_the_column(api: Api, tmp_path: Path) -> None:
    reg = api.registry
    out = tmp_path / "scores.parquet"
    score_folder(reg.data_dir, out=out, settings=reg.settings)
    frame = pd.read_parquet(out).head(5)
    checked_output(frame)
    broken = frame.assign(quadrant="call_them_maybe")
    with pytest.raises(ScoringFailed, match="quadrant"):
        checked_output(broken)
    with pytest.raises(ScoringFailed, match="combined_score"):
        checked_output(frame.assign(combined_score=101))


def test_score_folder_without_champion_says_what_to_do(tmp_path: Path, api: Api) -> None:
    settings = serving_settings(tmp_path / "empty-home")
    with pytest.raises(NoChampion, match="handoff promote"):
        score_folder(api.registry.data_dir, out=tmp_path / "x.parquet", settings=settings)


def test_score_folder_unsupported_output_refused_before_loading(tmp_path: Path) -> None:
    """Neither a champion nor a CRM folder exists: the output name is checked first."""
    settings = serving_settings(tmp_path / "empty-home")
    with pytest.raises(
        UnsupportedOutput, match=r"x\.json: the output must end in \.parquet or \.csv"
    ):
        score_folder(tmp_path / "no-such-folder", out=tmp_path / "x.json", settings=settings)


SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "leads_x_education"


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not present")
def test_score_folder_through_a_mapping_builds_the_mapped_features(tmp_path: Path) -> None:
    """A model trained on a mapped export scores that export: its extra columns are rebuilt
    from their source columns, as training built them (not looked up by feature name)."""
    from data_contracts.mapping import load_mapping, shipped_mapping
    from training.promote import promote_version
    from training.signoff import record_signoff
    from training.train import run_training

    settings = serving_settings(tmp_path / "home")
    mapping = shipped_mapping("leads_x_education")
    version = run_training(SHARED, mapping=mapping, settings=settings).version
    for team in ("marketing", "bdr"):
        record_signoff(
            version, team=team, by=f"test-{team}", approve=True, **ACKNOWLEDGED, settings=settings
        )
    # Leads X's ECE (0.041) is over the default 0.03 gate; the gate is not this test's point,
    # so a looser bound is passed explicitly (and lands in the audit record).
    promote_version(version, settings=settings, by="test", max_ece=0.1)
    out = tmp_path / "scores.parquet"
    score_folder(SHARED, out=out, mapping=mapping, settings=settings)
    frame = pd.read_parquet(out)
    assert len(frame) == 9_240 and frame["lead_id"].is_unique
    texts = " ".join(frame["fit_reasons"].head(500))
    # The mapping's words for its extras (mappings/leads_x_education.toml), not column names.
    mapped = (
        "Came in through ",
        "Source: ",
        "Chooses a course for: ",
        "Specialises in ",
        "Occupation: ",
    )
    assert any(words in texts for words in mapped), texts[:300]
    # Fields Leads X does not have are declared absent: no reason ever says their features.
    from features.feature_sets import FIT_READS, FIT_V1

    lacking = set(load_mapping(mapping).absent)
    for spec in FIT_V1.features:
        if lacking & set(FIT_READS[spec.name]):
            said = [spec.phrase_true, spec.phrase_false, re.sub(r"\{[^}]*\}", "", spec.phrase)]
            for words in filter(None, (w.strip() for w in said if w)):
                assert words not in texts, (spec.name, words)


def test_score_folder_reads_an_export_through_its_mapping(api: Api, tmp_path: Path) -> None:
    from data_contracts.mapping import shipped_mapping
    from data_contracts.synthetic import generate_to_folder

    reg = api.registry
    generate_to_folder(300, 9, tmp_path / "hs", shape="hubspot")
    out = tmp_path / "scores.parquet"
    score_folder(
        tmp_path / "hs", out=out, mapping=shipped_mapping("hubspot"), settings=reg.settings
    )
    frame = pd.read_parquet(out)
    assert len(frame) == 300 and frame["lead_id"].str.startswith("1000").all()
    ScoredLead.validate(frame)


def test_valid_leads_keep_a_mappings_absent_fields_absent() -> None:
    from data_contracts.crm_data import CrmData
    from serving.batch_score import _valid_for_scoring

    leads = pd.DataFrame(
        {
            "lead_id": ["a", "b"],
            "created_at": pd.to_datetime(["2025-01-01", "2025-01-02"], utc=True),
            "email": [None, "x@y.io"],
            "source": ["webinar", "paid"],
            "function": ["it", "sales"],
        }
    )
    absent = ("company", "phone", "mobile", "industry", "employees", "annual_revenue")
    absent += ("country", "title", "seniority", "is_named_account", "account_id")
    crm = CrmData(leads=leads, events=pd.DataFrame(), outcomes=pd.DataFrame(), absent_fields=absent)
    crm.events = pd.DataFrame(
        {
            c: pd.Series(dtype=object)
            for c in ("lead_id", "occurred_at", "type", "channel", "campaign")
        }
    )
    valid, dropped, _ = _valid_for_scoring(crm)
    assert dropped == 0 and list(valid.leads["lead_id"]) == ["a", "b"]
