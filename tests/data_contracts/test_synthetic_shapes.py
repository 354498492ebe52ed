"""synthetic_shapes.py with the shipped mappings: the generator's truth written as a Salesforce
or a HubSpot export reads back, through `mappings/<shape>.toml`, as the native folder's leads,
events, outcomes and censoring (times to the millisecond, as both CRMs keep them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts.crm_data import CrmData
from data_contracts.mapping import shipped_mapping
from data_contracts.synthetic import export_lead_ids, generate_to_folder
from data_contracts.validate import ValidationResult, validate_folder
from data_contracts.vocab import STAGES
from features.labels import make_labels

N_LEADS = 1_500
SEED = 3
SHAPES = ("salesforce", "hubspot")


@dataclass
class Read:
    native: CrmData
    shaped: dict[str, ValidationResult]
    folders: dict[str, Path]


@pytest.fixture(scope="module")
def read(tmp_path_factory: pytest.TempPathFactory) -> Read:
    root = tmp_path_factory.mktemp("shapes")
    folders = {shape: root / shape for shape in ("native", *SHAPES)}
    for shape, folder in folders.items():
        generate_to_folder(N_LEADS, SEED, folder, shape=shape)
    native = validate_folder(folders["native"], quarantine_dir=root / "q")
    assert native.ok
    shaped = {
        shape: validate_folder(folders[shape], shipped_mapping(shape), quarantine_dir=root / "q")
        for shape in SHAPES
    }
    return Read(native=native.valid, shaped=shaped, folders=folders)


def _comparable(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Plain values (categories decoded, times to the millisecond), sorted by `keys`."""
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.CategoricalDtype):
            out[name] = out[name].astype(object)
        if isinstance(out[name].dtype, pd.DatetimeTZDtype):
            out[name] = out[name].dt.floor("ms")
        out[name] = out[name].astype(object).where(out[name].notna(), None)
    return out.sort_values(keys).reset_index(drop=True)


def _native(read: Read, table: str, shape: str) -> pd.DataFrame:
    frame = read.native.table(table).copy()
    frame["lead_id"] = export_lead_ids(shape, frame["lead_id"].astype("str")).to_numpy()
    return frame


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_passes_the_contracts_through_its_mapping(read: Read, shape: str) -> None:
    result = read.shaped[shape]
    assert result.ok, result.report_text()
    assert result.counts["leads"]["valid"] == N_LEADS


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_reads_back_the_native_leads(read: Read, shape: str) -> None:
    native = _native(read, "leads", shape)
    shaped = read.shaped[shape].valid.leads
    assert shaped["account_id"].notna().all()  # every lead has its account key
    # Each CRM numbers its accounts its own way: the same account, under another key.
    keys = pd.DataFrame(
        {
            "native": _comparable(native, ["lead_id"])["account_id"].to_numpy(),
            "shaped": _comparable(shaped[list(native.columns)], ["lead_id"])[
                "account_id"
            ].to_numpy(),
        }
    )
    assert (keys.groupby("native")["shaped"].nunique() == 1).all()
    assert (keys.groupby("shaped")["native"].nunique() == 1).all()
    columns = [c for c in native.columns if c != "account_id"]
    pd.testing.assert_frame_equal(
        _comparable(shaped[columns], ["lead_id"]),
        _comparable(native[columns], ["lead_id"]),
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_reads_back_the_native_events(read: Read, shape: str) -> None:
    keys = ["lead_id", "occurred_at", "type", "channel", "campaign"]
    native = _native(read, "events", shape)
    shaped = read.shaped[shape].valid.events[list(native.columns)]
    assert len(shaped) == len(native) > 10 * N_LEADS
    pd.testing.assert_frame_equal(_comparable(shaped, keys), _comparable(native, keys))


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_reads_back_the_native_outcomes(read: Read, shape: str) -> None:
    keys = ["lead_id", "stage"]
    native = _comparable(_native(read, "outcomes", shape), keys)
    shaped = _comparable(read.shaped[shape].valid.outcomes[list(native.columns)], keys)
    assert set(native["stage"]) == set(STAGES)
    if shape == "hubspot":
        # A HubSpot deal has one amount, the latest: a won deal's opening amount is gone.
        won = set(native.loc[native["stage"] == "closed_won", "lead_id"])
        opening = (native["stage"] == "opportunity") & native["lead_id"].isin(won)
        closing = native.loc[native["stage"] == "closed_won"].set_index("lead_id")["amount"]
        assert (
            shaped.loc[opening, "amount"].to_numpy()
            == closing.reindex(native.loc[opening, "lead_id"]).to_numpy()
        ).all()
        native.loc[opening, "amount"] = shaped.loc[opening, "amount"]
    pd.testing.assert_frame_equal(shaped, native)


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_gives_the_native_censoring(read: Read, shape: str) -> None:
    def labels(crm: CrmData) -> pd.DataFrame:
        return make_labels(crm.leads, crm.outcomes, horizon_days=180, data_end=crm.data_end)

    native = labels(read.native)
    native.index = export_lead_ids(shape, pd.Series(native.index)).to_numpy()
    shaped = labels(read.shaped[shape].valid).reindex(native.index)
    assert read.shaped[shape].valid.data_end == read.native.data_end
    assert native["censored"].sum() > 0 and native["open"].sum() > 0
    for column in ("censored", "open", "label"):
        pd.testing.assert_series_equal(shaped[column], native[column], check_names=False)


def test_shapes_agree_on_accounts_and_named_accounts(read: Read) -> None:
    sf, hs = (read.shaped[s].valid.leads for s in SHAPES)
    pairs = pd.DataFrame({"sf": sf["account_id"].to_numpy(), "hs": hs["account_id"].to_numpy()})
    assert pairs.groupby("sf")["hs"].nunique().max() == 1  # one account is one account
    assert pairs["sf"].nunique() == pairs["hs"].nunique() < N_LEADS
    named = read.native.leads["is_named_account"].to_numpy(dtype=bool)
    assert (sf["is_named_account"].to_numpy(dtype=bool) == named).all()  # joined from Account


def test_shape_native_is_the_default(tmp_path: Path) -> None:
    generate_to_folder(200, 1, tmp_path / "a")
    generate_to_folder(200, 1, tmp_path / "b", shape="native")
    for name in ("leads", "events", "outcomes", "truth"):
        a, b = (tmp_path / f / f"{name}.parquet" for f in ("a", "b"))
        assert a.read_bytes() == b.read_bytes()
    assert not list((tmp_path / "a").glob("*.csv"))


def test_shape_truth_carries_the_export_ids(read: Read) -> None:
    truth = pd.read_parquet(read.folders["salesforce"] / "truth.parquet")
    native = pd.read_parquet(read.folders["native"] / "truth.parquet")
    assert truth["lead_id"].tolist() == export_lead_ids("salesforce", native["lead_id"]).tolist()
    assert np.allclose(truth["p_win"], native["p_win"])


def test_shape_unknown_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="salesforce"):
        generate_to_folder(10, 1, tmp_path, shape="pipedrive")
