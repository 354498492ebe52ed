"""Feature sets: declared, described, phrased, serialisable, extendable with mapped columns."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from features.feature_sets import FIT_READS, FIT_V1, INTEREST_V1, FeatureSet, FeatureSpec


def test_every_feature_described_and_phrased_default() -> None:
    for fs in (FIT_V1, INTEREST_V1):
        for spec in fs.features:
            assert spec.description and spec.phrase, spec.name
            assert spec.kind in ("numeric", "categorical")
            assert spec.phrase.format(value=3.0, Value=3.0, description="d")


def test_interest_set_compact_size() -> None:
    assert 25 <= len(INTEREST_V1.columns) <= 40


def test_to_dict_round_trips_through_json() -> None:
    data = json.loads(json.dumps(FIT_V1.to_dict()))
    assert data["name"] == "fit_v1" and data["version"]
    assert FeatureSet.from_dict(data) == FIT_V1


def test_with_extras_prefixes_and_avoids_collisions() -> None:
    fs = FIT_V1.with_extras({"Lead Score": "numeric", "industry": "categorical"})
    assert fs.columns[-2:] == ["x_lead_score", "x_industry"]
    assert fs.spec("x_industry").kind == "categorical"
    assert fs.extras == {"Lead Score": "numeric", "industry": "categorical"}
    again = FIT_V1.with_extras({"lead score": "numeric"}, taken=["x_lead_score"])
    assert again.columns[-1] == "x_lead_score_2"
    assert "{{" not in fs.spec("x_lead_score").phrase


def test_with_extras_rejects_bad_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        FIT_V1.with_extras({"x": "text"})


def test_duplicate_feature_names_rejected() -> None:
    spec = FeatureSpec("a", "numeric", "float64", "A")
    with pytest.raises(ValueError, match="duplicate"):
        FeatureSet("s", "1", (spec, spec))


def test_label_differs_when_inputs_differ_and_only_then() -> None:
    from features.build import feature_sets

    plain_fit, plain_interest = feature_sets({}, {})
    mapped_fit, _ = feature_sets({"Lead Origin": "categorical"}, {})
    _, slow_interest = feature_sets({}, {}, half_life_days=30.0)
    assert plain_fit.label.startswith("fit_v1@1.0.0+")
    assert mapped_fit.name == plain_fit.name and mapped_fit.label != plain_fit.label
    assert slow_interest.label != plain_interest.label
    assert feature_sets({}, {})[0].label == plain_fit.label
    first, *rest = plain_fit.features
    reworded = replace(plain_fit, features=(replace(first, description="Reworded"), *rest))
    assert reworded.label == plain_fit.label  # wording is not an input


def test_from_dict_refuses_a_digest_that_does_not_match() -> None:
    data = INTEREST_V1.to_dict()
    assert FeatureSet.from_dict(data) == INTEREST_V1
    data["features"] = data["features"][:-1]
    with pytest.raises(ValueError, match="digest"):
        FeatureSet.from_dict(data)


def test_fit_reads_names_a_contract_field_for_every_fit_feature() -> None:
    from data_contracts.schemas import ABSENTABLE_FIELDS

    assert set(FIT_READS) == set(FIT_V1.columns)
    assert {f for fields in FIT_READS.values() for f in fields} <= set(ABSENTABLE_FIELDS)


def test_without_fields_drops_their_features_and_changes_the_label() -> None:
    fs = FIT_V1.without_fields(["seniority", "employees", "account_id"], FIT_READS)
    assert not {"seniority", "log_employees", "employees_missing"} & set(fs.columns)
    assert "function" in fs.columns and "log_revenue" in fs.columns
    assert fs.absent_fields == ("employees", "seniority")  # account_id builds no feature
    assert fs.label != FIT_V1.label
    assert FIT_V1.without_fields(["account_id"], FIT_READS) is FIT_V1
    assert FeatureSet.from_dict(json.loads(json.dumps(fs.to_dict()))) == fs


def test_with_extras_takes_a_mappings_words() -> None:
    words = {"Landing Page": {"description": "Landing page", "phrase": "Landed on {value}"}}
    fs = FIT_V1.with_extras({"Landing Page": "categorical", "Other": "numeric"}, words=words)
    assert fs.spec("x_landing_page").description == "Landing page"
    assert fs.spec("x_landing_page").phrase == "Landed on {value}"
    assert fs.spec("x_other").phrase == "Other: {value}"
    assert fs.label == FIT_V1.with_extras({"Landing Page": "categorical", "Other": "numeric"}).label
