"""`data_contracts.synthetic`: deterministic, contract-valid CRM data whose truth is known.

Statistical checks use tolerances of about three standard errors at these sizes, on a fixed
seed, so they are deterministic; they guard the generator's promises to the model tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from data_contracts.cross_table import cross_table_failures
from data_contracts.schemas import Account, EngagementEvent, Lead, Outcome
from data_contracts.synthetic import generate_to_folder
from data_contracts.synthetic_accounts import roles_covered
from data_contracts.synthetic_events import Events, latent_interest
from data_contracts.synthetic_leads import _C_LEVEL
from data_contracts.validate import validate_folder
from data_contracts.vocab import EVENT_TYPES, FREE_MAIL_DOMAINS

N_LEADS = 5_000
US = "datetime64[us, UTC]"


@dataclass
class Generated:
    path: Path
    summary: dict[str, object]
    leads: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    accounts: pd.DataFrame
    truth: pd.DataFrame
    manifest: dict[str, object]

    @property
    def end(self) -> pd.Timestamp:
        return pd.Timestamp(str(self.manifest["extracted_at"]))

    def stage_time(self, stage: str) -> pd.Series:
        rows = self.outcomes[self.outcomes["stage"] == stage]
        return rows.set_index("lead_id")["occurred_at"]

    def snapshot(self) -> pd.Series:
        """MQL time, else created_at: the hand-off moment the truth's interest is taken at."""
        snap = self.leads.set_index("lead_id")["created_at"].copy()
        mql = self.stage_time("mql")
        snap.loc[mql.index] = mql
        return snap


def _micros(stamps: pd.Series) -> np.ndarray:
    """UTC timestamps as integer microseconds since the epoch, as the generator keeps them."""
    return stamps.dt.tz_convert(None).to_numpy().astype("datetime64[us]").astype(np.int64)


def _generate(root: Path, n: int, seed: int) -> Generated:
    summary = generate_to_folder(n_leads=n, seed=seed, out_dir=root)
    return Generated(
        path=root,
        summary=summary,
        leads=pd.read_parquet(root / "leads.parquet"),
        events=pd.read_parquet(root / "events.parquet"),
        outcomes=pd.read_parquet(root / "outcomes.parquet"),
        accounts=pd.read_parquet(root / "accounts.parquet"),
        truth=pd.read_parquet(root / "truth.parquet"),
        manifest=json.loads((root / "manifest.json").read_text()),
    )


@pytest.fixture(scope="module")
def gen(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    return _generate(tmp_path_factory.mktemp("syn_a"), N_LEADS, seed=7)


@pytest.fixture(scope="module")
def small_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Generated, Generated]:
    """Two small generations with the same seed, into different folders."""
    return (
        _generate(tmp_path_factory.mktemp("syn_b"), 2_000, seed=3),
        _generate(tmp_path_factory.mktemp("syn_c"), 2_000, seed=3),
    )


def test_generate_same_seed_identical_frames(small_pair: tuple[Generated, Generated]) -> None:
    a, b = small_pair
    for name in ("leads", "events", "outcomes", "accounts", "truth"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.manifest == b.manifest


def test_generate_different_seed_differs(
    small_pair: tuple[Generated, Generated], tmp_path: Path
) -> None:
    other = _generate(tmp_path, 2_000, seed=4)
    a = small_pair[0]
    assert not a.truth["p_win"].equals(other.truth["p_win"])
    assert not a.leads["created_at"].equals(other.leads["created_at"])
    assert len(a.events) != len(other.events)


def test_generate_multiple_chunks_valid_and_continuous(tmp_path: Path) -> None:
    summary = generate_to_folder(n_leads=1_500, seed=1, out_dir=tmp_path, chunk_size=600)
    assert validate_folder(tmp_path).ok
    leads = pd.read_parquet(tmp_path / "leads.parquet")
    assert leads["lead_id"].is_unique and leads["created_at"].is_monotonic_increasing
    assert leads["lead_id"].iloc[-1] == "L0001500"
    assert summary["events"] == len(pd.read_parquet(tmp_path / "events.parquet"))


def test_generate_rejects_zero_leads(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_leads"):
        generate_to_folder(n_leads=0, seed=0, out_dir=tmp_path)


def test_output_validates_against_each_contract(gen: Generated) -> None:
    Lead.validate(gen.leads, lazy=True)
    EngagementEvent.validate(gen.events, lazy=True)
    Outcome.validate(gen.outcomes, lazy=True)
    Account.validate(gen.accounts, lazy=True)


def test_output_every_lead_has_an_account_with_its_firmographics(gen: Generated) -> None:
    accounts = gen.accounts.set_index("account_id")
    assert gen.leads["account_id"].notna().all()
    assert gen.leads["account_id"].isin(accounts.index).all()
    mine = accounts.loc[gen.leads["account_id"]]
    shown = gen.leads["country"].notna().to_numpy()
    assert (gen.leads["country"].to_numpy()[shown] == mine["country"].to_numpy()[shown]).all()
    assert (gen.leads["is_named_account"].to_numpy() == mine["is_named_account"].to_numpy()).all()
    assert gen.accounts["domain"].is_unique
    assert (gen.accounts["abm_tier"].notna() == gen.accounts["is_named_account"]).all()
    assert gen.accounts["parent_account_id"].notna().sum() > 0


def test_output_passes_cross_table_rules_and_folder_validation(gen: Generated) -> None:
    assert cross_table_failures(gen.leads, gen.events, gen.outcomes).empty
    result = validate_folder(gen.path)
    assert result.ok, result.report_text()


def test_output_timestamps_utc_microseconds(gen: Generated) -> None:
    assert str(gen.leads["created_at"].dtype) == US
    assert str(gen.events["occurred_at"].dtype) == US
    assert str(gen.outcomes["occurred_at"].dtype) == US
    assert gen.events["occurred_at"].max() < gen.end
    assert gen.outcomes["occurred_at"].max() < gen.end


def test_output_lead_ids_rise_with_creation_time(gen: Generated) -> None:
    ids = gen.leads["lead_id"]
    assert ids.iloc[0] == "L0000001" and ids.iloc[-1] == f"L{N_LEADS:07d}"
    assert gen.leads["created_at"].is_monotonic_increasing
    span = gen.end - gen.leads["created_at"].min()
    assert pd.Timedelta(days=700) < span <= pd.Timedelta(days=730)


def test_summary_counts_match_files(gen: Generated) -> None:
    s = gen.summary
    assert s["leads"] == len(gen.leads) == len(gen.truth)
    assert s["events"] == len(gen.events)
    assert s["outcomes"] == len(gen.outcomes)
    assert s["won"] == (gen.outcomes["stage"] == "closed_won").sum()
    assert 15 <= float(str(s["events_per_lead"])) <= 25


def test_manifest_records_extraction_and_generator(gen: Generated) -> None:
    generator = gen.manifest["generator"]
    assert isinstance(generator, dict)
    assert generator["seed"] == 7 and generator["n_leads"] == N_LEADS
    assert set(generator["coefficients"]) == {"a", "b", "c", "d", "e"}


def test_leads_firmographics_plausible_with_gaps(gen: Generated) -> None:
    leads = gen.leads
    assert leads["industry"].nunique() >= 12
    assert 0.02 < leads["employees"].isna().mean() < 0.5
    assert 0.2 < leads["phone"].isna().mean() < 0.6
    both = leads.dropna(subset=["employees", "annual_revenue"])
    corr = np.corrcoef(np.log(both["employees"].astype(float)), np.log(both["annual_revenue"]))
    assert corr[0, 1] > 0.6
    assert 0.01 < leads["is_named_account"].mean() < 0.08


def test_leads_titles_consistent_with_seniority(gen: Generated) -> None:
    leads = gen.leads
    c_titles = {t for titles in _C_LEVEL.values() for t in titles}
    assert leads.loc[leads["seniority"] == "c_level", "title"].isin(c_titles).all()
    vp = leads.loc[leads["seniority"] == "vp", "title"]
    assert vp.str.contains("VP|Vice President").all()
    assert leads.loc[leads["title"].isna(), "seniority"].eq("unknown").all()


def test_leads_emails_mix_corporate_and_free_mail(gen: Generated) -> None:
    domain = gen.leads["email"].dropna().str.split("@").str[1]
    free = domain.isin(FREE_MAIL_DOMAINS).mean()
    assert 0.1 < free < 0.5


def test_truth_p_win_calibrated_per_quintile_on_resolved_leads(gen: Generated) -> None:
    snap = gen.snapshot()
    resolved = snap.index[snap <= gen.end - pd.Timedelta(days=400)]
    p = gen.truth.set_index("lead_id")["p_win"].reindex(resolved)
    won = pd.Series(resolved.isin(gen.stage_time("closed_won").index), index=resolved)
    assert len(resolved) > 1_000
    bins = pd.qcut(p, 5, labels=False)
    for _, group in pd.DataFrame({"p": p, "won": won}).groupby(bins):
        mean_p = group["p"].mean()
        se = np.sqrt(mean_p * (1 - mean_p) / len(group))
        assert abs(group["won"].mean() - mean_p) < 3 * se + 0.01
    assert abs(won.sum() - p.sum()) < 3 * np.sqrt((p * (1 - p)).sum())


def test_truth_p_win_ranks_wins_auc_above_075(gen: Generated) -> None:
    snap = gen.snapshot()
    resolved = snap.index[snap <= gen.end - pd.Timedelta(days=400)]
    p = gen.truth.set_index("lead_id")["p_win"].reindex(resolved)
    won = resolved.isin(gen.stage_time("closed_won").index)
    assert roc_auc_score(won, p) > 0.75


def test_win_rate_overall_a_few_percent(gen: Generated) -> None:
    assert 0.03 < float(str(gen.summary["win_rate"])) < 0.12


def test_wins_close_mostly_within_horizon(gen: Generated) -> None:
    won = gen.stage_time("closed_won")
    lag = won - gen.snapshot().reindex(won.index)
    within = (lag <= pd.Timedelta(days=180)).mean()
    assert 0.8 < within < 0.99


def test_censored_open_deals_exist_and_are_recent(gen: Generated) -> None:
    opp = gen.stage_time("opportunity")
    closed = gen.outcomes.loc[gen.outcomes["stage"].str.startswith("closed_"), "lead_id"]
    open_deals = opp.drop(closed, errors="ignore")
    assert len(open_deals) > 20
    assert open_deals.min() > gen.end - pd.Timedelta(days=400)
    assert open_deals.median() > gen.end - pd.Timedelta(days=120)
    assert gen.summary["censored_180d"] > 0


def test_post_conversion_events_after_opportunity_heavier_for_wins(gen: Generated) -> None:
    opp = gen.stage_time("opportunity")
    ev = gen.events[gen.events["lead_id"].isin(opp.index)]
    after = ev[ev["occurred_at"] > ev["lead_id"].map(opp)]
    per_lead = after.groupby("lead_id").size().reindex(opp.index, fill_value=0)
    won = opp.index.isin(gen.stage_time("closed_won").index)
    lost = opp.index.isin(gen.stage_time("closed_lost").index)
    assert per_lead[won].mean() > 1.5 * per_lead[lost].mean()
    assert after["type"].isin(["pricing_page", "email_click"]).any()


def test_truth_interest_uses_only_pre_snapshot_events(gen: Generated) -> None:
    """Recompute latent_interest from the files: only events before the hand-off count."""
    snap = gen.snapshot()
    position = pd.Series(np.arange(len(snap)), index=snap.index)
    ev = gen.events
    events = Events(
        lead=position.reindex(ev["lead_id"]).to_numpy(),
        t=_micros(ev["occurred_at"]),
        type=ev["type"].map({t: i for i, t in enumerate(EVENT_TYPES)}).to_numpy(np.int8),
        sales=np.zeros(len(ev), dtype=bool),
    )
    snap_us = _micros(snap)
    expected = gen.truth.set_index("lead_id")["latent_interest"].reindex(snap.index)
    np.testing.assert_allclose(latent_interest(events, snap_us), expected.to_numpy(), atol=1e-9)


def test_high_interest_leads_show_more_high_intent_before_snapshot(gen: Generated) -> None:
    snap = gen.snapshot()
    ev = gen.events[gen.events["occurred_at"] < gen.events["lead_id"].map(snap)]
    high = ev["type"].isin(["pricing_page", "demo_request", "contact_us", "free_trial"])
    share = high.groupby(ev["lead_id"]).mean()
    interest = gen.truth.set_index("lead_id")["latent_interest"].reindex(share.index)
    top = share[interest >= interest.quantile(0.8)].mean()
    bottom = share[interest <= interest.quantile(0.2)].mean()
    assert top > bottom + 0.05


def test_drift_source_and_industry_mix_shift_first_vs_last_quarter(gen: Generated) -> None:
    created = gen.leads["created_at"]
    first = gen.leads[created < created.min() + pd.Timedelta(days=91)]
    last = gen.leads[created > gen.end - pd.Timedelta(days=91)]
    for column, min_distance in (("source", 0.15), ("industry", 0.08)):
        a = first[column].value_counts(normalize=True)
        b = last[column].value_counts(normalize=True)
        distance = 0.5 * a.sub(b, fill_value=0).abs().sum()
        assert distance > min_distance, column
    assert len(last) > 1.5 * len(first)  # volume grows


def test_roles_covered_counts_group_roles_touching_in_the_window() -> None:
    day = 86_400 * 1_000_000
    company = np.array([0, 0, 0, 1])
    role = np.array([0, 1, 4, 0])  # decision maker, buyer, unknown; another company's DM
    snap = np.array([100, 100, 100, 100]) * day
    lead = np.array([0, 1, 2, 3, 1])
    t = np.array([95, 5, 99, 99, 100]) * day  # the buyer's touches: too old, and at the snapshot
    assert roles_covered(company, role, snap, lead, t).tolist() == [1, 1, 1, 1]
    t[1] = 15 * day  # 85 days before: in the window
    assert roles_covered(company, role, snap, lead, t).tolist() == [2, 2, 2, 1]


def test_buying_group_effect_zero_leaves_the_truth_and_positive_moves_it(
    small_pair: tuple[Generated, Generated], tmp_path: Path
) -> None:
    a = small_pair[0]
    same = _generate(tmp_path / "zero", 2_000, seed=3)
    pd.testing.assert_frame_equal(same.truth, a.truth)
    summary = generate_to_folder(
        n_leads=2_000, seed=3, out_dir=tmp_path / "g", buying_group_effect=1.0
    )
    truth = pd.read_parquet(tmp_path / "g" / "truth.parquet")
    pd.testing.assert_series_equal(truth["latent_fit"], a.truth["latent_fit"])
    assert not truth["p_win"].equals(a.truth["p_win"])
    manifest = json.loads((tmp_path / "g" / "manifest.json").read_text())
    assert manifest["generator"]["buying_group_effect"] == 1.0
    assert summary["leads"] == 2_000
