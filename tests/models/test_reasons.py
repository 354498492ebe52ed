"""Reason codes: exact additivity, agreement with LightGBM's TreeSHAP, BDR phrasing."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from features.feature_sets import FIT_V1, INTEREST_V1
from models.encoding import encode
from models.reasons import Phrasebook, _display_number, _Value, phrase


@pytest.fixture(scope="module")
def boosted(family_scorers):
    """A scorer whose every score is a LightGBM model, and its boosters by score."""
    scorer = family_scorers["lightgbm"]
    return scorer, {p: scorer.models_[p].learner.booster_ for p in ("fit", "interest")}


@pytest.mark.parametrize("part", ["fit", "interest"])
def test_path_contributions_sum_to_raw_score(boosted, synthetic_folds, part) -> None:
    scorer, boosters = boosted
    X = synthetic_folds["test"].X.head(500)
    contrib = scorer.contributions(X, part).to_numpy()
    M, _ = encode(X, scorer.columns_, scorer.categories_)
    sub = M[:, scorer.models_[part].columns]
    raw = boosters[part].predict(sub, raw_score=True)
    np.testing.assert_allclose(
        scorer.models_[part].learner.paths_.raw_score(contrib), raw, atol=1e-9
    )


@pytest.mark.parametrize("part", ["fit", "interest"])
def test_top_reasons_agree_with_pred_contrib(boosted, synthetic_folds, part) -> None:
    scorer, boosters = boosted
    X = synthetic_folds["test"].X.head(1000)
    ours = scorer.contributions(X, part).to_numpy()
    M, _ = encode(X, scorer.columns_, scorer.categories_)
    sub = M[:, scorer.models_[part].columns]
    shap = boosters[part].predict(sub, pred_contrib=True)[:, :-1]
    up1 = (np.argmax(ours, 1) == np.argmax(shap, 1)).mean()
    down1 = (np.argmin(ours, 1) == np.argmin(shap, 1)).mean()
    k = 3
    ours_up, shap_up = np.argsort(-ours, 1)[:, :k], np.argsort(-shap, 1)[:, :k]
    overlap = np.mean([len(set(a) & set(b)) / k for a, b in zip(ours_up, shap_up, strict=True)])
    sign = (np.sign(ours) == np.sign(shap))[np.abs(shap) > 0.1].mean()
    # Measured on this data: top up 85-87%, top down 86-95%, top-3 overlap 92-95%, sign 99%.
    assert up1 >= 0.8, up1
    assert down1 >= 0.8, down1
    assert overlap >= 0.85, overlap
    assert sign >= 0.95, sign


def test_reasons_directions_and_order(fitted_scorer, synthetic_folds) -> None:
    X = synthetic_folds["test"].X.head(300)
    for rs in fitted_scorer.reasons(X, "interest", top_k=2):
        ups = [r["weight"] for r in rs if r["direction"] == "up"]
        downs = [r["weight"] for r in rs if r["direction"] == "down"]
        assert len(ups) <= 2 and len(downs) <= 2
        assert all(w > 0 for w in ups) and all(w < 0 for w in downs)
        assert ups == sorted(ups, reverse=True) and downs == sorted(downs)


def test_reason_for_many_pricing_visits_is_up(fitted_scorer, synthetic_folds) -> None:
    X = synthetic_folds["test"].X.head(50).assign(pricing_page_count_7d=6.0)
    for rs in fitted_scorer.reasons(X, "interest", top_k=3):
        hit = [r for r in rs if r["feature"] == "pricing_page_count_7d"]
        assert hit and hit[0]["direction"] == "up"


def test_phrase_uses_template_and_fallback() -> None:
    assert phrase("{Value}-level title", "Seniority", "director", is_category=True) == (
        "Director-level title"
    )
    assert (
        phrase(
            "visited the pricing page {value} times in the last 7 days", "x", 3.0, is_category=False
        )
        == "visited the pricing page 3 times in the last 7 days"
    )
    assert phrase("no activity for {value:.0f} days", "x", 45.4, is_category=False) == (
        "no activity for 45 days"
    )
    assert phrase(None, "Employees (log)", 2.5, is_category=False) == "Employees (log): 2.5"
    assert phrase("{Value} seniority", "x", None, is_category=True) == "Unknown seniority"


def test_phrasebook_flags_and_pow10() -> None:
    book = Phrasebook.from_feature_sets(
        [
            {
                "name": "fit_v1",
                "features": [
                    {
                        "name": "named",
                        "description": "d",
                        "phrase": "{value}",
                        "phrase_true": "Named account",
                        "phrase_false": "Not a named account",
                    },
                    {
                        "name": "emp",
                        "description": "d",
                        "phrase": "{value:.0f} employees",
                        "display": "pow10",
                    },
                ],
            }
        ]
    )
    assert book.say_number("named", 1.0) == "Named account"
    assert book.say_number("named", 0.0) == "Not a named account"
    assert book.say_number("emp", 3.0) == "1000 employees"


def _phrase_by_format(
    template: str | None, description: str, value: Any, *, is_category: bool
) -> str:
    """`phrase` as plain `str.format` with `_Value` objects: the reference it must match."""
    if is_category:
        text = (
            "unknown"
            if value is None or (isinstance(value, float) and math.isnan(value))
            else str(value)
        )
        text = text.replace("_", " ")
        val = _Value(text)
    else:
        number = float(value) if value is not None else float("nan")
        val = _Value(_display_number(number), number)
    if template:
        try:
            return template.format(
                value=val,
                Value=_Value(val[:1].upper() + val[1:], val.number),
                description=description,
            )
        except (KeyError, IndexError, ValueError):
            pass
    return f"{description}: {val}"


def test_phrase_matches_plain_str_format_for_every_template() -> None:
    """The pre-parsed fast path says exactly what `str.format` would, for every shipped
    template and the awkward ones (escaped braces, format specs, unknown fields)."""
    templates = [spec.phrase for fs in (FIT_V1, INTEREST_V1) for spec in fs.features if spec.phrase]
    templates += [
        "{Value}-level title",
        "{{literal}} {value}",
        "{value:.0f} days",
        "{value:>6} | {Value:.1f} | {description:.3}",
        "{value:%} share",
        "{value:d} visits",
        "{value:{width}}",
        "{value!r}",
        "{unknown} {value}",
        "{description} was {value}",
        "unbalanced {value",
        "",
        None,
    ]
    numbers = [0.0, 1.0, 2.5, 3.14159, -1.25, float("nan"), 1e6, None]
    labels = ["director", "c_level", None, float("nan"), 7]
    for template in templates:
        for v in numbers:
            assert phrase(template, "Days since", v, is_category=False) == _phrase_by_format(
                template, "Days since", v, is_category=False
            ), (template, v)
        for v in labels:
            assert phrase(template, "Seniority", v, is_category=True) == _phrase_by_format(
                template, "Seniority", v, is_category=True
            ), (template, v)
