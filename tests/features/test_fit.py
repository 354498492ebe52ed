"""Fit features from the lead row: firmographics, role, reachability, mapped extras."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_contracts.vocab import SENIORITIES
from features.feature_sets import FIT_V1
from features.fit import fit_features


def test_columns_match_declared_set_default(leads: pd.DataFrame) -> None:
    out = fit_features(leads)
    assert list(out.columns) == FIT_V1.columns
    assert list(out.index) == list(leads["lead_id"])
    assert out.index.name == "lead_id"
    for spec in FIT_V1.features:
        assert str(out[spec.name].dtype) == spec.dtype, spec.name


def test_email_domain_corporate_vs_free_mail(leads: pd.DataFrame) -> None:
    out = fit_features(leads)
    assert out["email_corporate"].tolist() == [1, 0, 0, 0]  # gmail (any case), none, no '@'
    assert out["email_present"].tolist() == [1, 1, 0, 1]


def test_contact_flags_blank_is_missing(leads: pd.DataFrame) -> None:
    out = fit_features(leads)
    assert out["phone_present"].tolist() == [1, 0, 0, 0]  # " " counts as missing
    assert out["mobile_present"].tolist() == [0, 1, 0, 0]
    assert out["is_named_account"].tolist() == [1, 0, 0, 1]


def test_firmographics_log_scale_and_missing_flags(leads: pd.DataFrame) -> None:
    out = fit_features(leads)
    assert out["log_employees"].iloc[0] == pytest.approx(np.log10(250))
    assert np.isnan(out["log_employees"].iloc[1])
    assert out["employees_missing"].tolist() == [0, 1, 0, 0]
    assert out["log_revenue"].iloc[2] == 0.0
    assert out["revenue_missing"].tolist() == [0, 1, 0, 0]


def test_title_keywords_head_and_chief(leads: pd.DataFrame) -> None:
    out = fit_features(leads)
    assert out["title_head_of"].tolist() == [1, 0, 0, 0]
    assert out["title_chief"].tolist() == [0, 1, 0, 0]  # "Vice President" is not a chief
    assert out["title_present"].tolist() == [1, 1, 1, 0]


def test_categoricals_closed_vocab_and_observed(leads: pd.DataFrame) -> None:
    out = fit_features(leads)
    assert list(out["seniority"].cat.categories) == list(SENIORITIES)
    assert list(out["industry"].cat.categories) == ["Retail", "Software"]  # stripped
    assert out["industry"].tolist()[:2] == ["Software", "Retail"]
    assert pd.isna(out["industry"].iloc[2])


def test_unseen_category_outside_vocab_is_missing(leads: pd.DataFrame) -> None:
    odd = leads.assign(seniority=["director", "emperor", "vp", None], source="carrier_pigeon")
    out = fit_features(odd)
    assert out["seniority"].tolist()[0] == "director"
    assert pd.isna(out["seniority"].iloc[1])
    assert out["source"].isna().all()


def test_missing_columns_do_not_crash_sparse_payload() -> None:
    out = fit_features(pd.DataFrame({"lead_id": ["x"], "email": ["x@corp.com"]}))
    assert out.loc["x", "email_corporate"] == 1
    assert out.loc["x", "employees_missing"] == 1
    assert pd.isna(out.loc["x", "industry"])


def test_extras_prefixed_and_kinds_inferred(leads: pd.DataFrame) -> None:
    out = fit_features(leads, ["lead_score_crm", "segment"])
    assert out["x_lead_score_crm"].dtype == np.float64
    assert isinstance(out["x_segment"].dtype, pd.CategoricalDtype)


def test_extras_explicit_kind_coerces_numbers(leads: pd.DataFrame) -> None:
    odd = leads.assign(lead_score_crm=["10", "n/a", None, "3.5"])
    out = fit_features(odd, {"lead_score_crm": "numeric"})
    assert out["x_lead_score_crm"].tolist()[::3] == [10.0, 3.5]
    assert out["x_lead_score_crm"].isna().tolist() == [False, True, True, False]


def test_one_row_equals_bulk_row_each(leads: pd.DataFrame) -> None:
    bulk = fit_features(leads, ["lead_score_crm"])
    for i in range(len(leads)):
        one = fit_features(leads.iloc[[i]], {"lead_score_crm": "numeric"})
        got, want = one.iloc[0], bulk.iloc[i]
        for col in bulk.columns:
            assert (pd.isna(got[col]) and pd.isna(want[col])) or got[col] == want[col], col


def test_large_frame_path_matches_small_path(leads: pd.DataFrame) -> None:
    """Above `SMALL` rows strings are mapped per distinct value: same result."""
    big = pd.concat([leads] * 30, ignore_index=True)
    big["lead_id"] = [f"L{i}" for i in range(len(big))]
    out = fit_features(big).iloc[: len(leads)]
    small = fit_features(leads)
    pd.testing.assert_frame_equal(
        out.reset_index(drop=True).astype(object), small.reset_index(drop=True).astype(object)
    )
