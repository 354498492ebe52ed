"""How a candidate ranks what the AEs said: rejections and meeting ratings per score band.

The win label answers "did it close"; the AE's decision and the 1-5 meeting rating answer
"was this worth a meeting", weeks earlier and for every lead that reached one. Both come from
the `outcomes` contract (`sales_accepted` / `sales_rejected` rows, `meeting_rating`), so a
run reads them from the same rows as its labels, on the test window only: the model never
saw them, and they never enter a feature. Pure: frames in, a plain dict out (logged by
`training.log_run`, shown by the report).

`with_rejections_as_negative` is the option that feeds the AEs' rejections back into
training: a lead an AE turned down is already a loss in its label, and the option counts it
twice, as an explicit "no" is stronger evidence than a lead that went quiet. It changes the
training rows only: features are built as of each snapshot whatever the feedback says, and
the validation and test windows stay as they are, so the run's metrics compare with and
without it on the same leads. Why not the rejected leads still inside their horizon (the
freshest ones, censored otherwise)? They come after the test window: training on them would
learn from later leads than the ones it is judged on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import roc_auc_score

from models.calibration import equal_count_bands
from training.verdict import auc_difference, word_for

ACCEPTED = "sales_accepted"
REJECTED = "sales_rejected"
N_BANDS = 5  # score bands of equal size, band 1 the best-scored fifth
REJECTION_EXTRA_COPIES = 1  # each AE-rejected training lead counts 1 + this many times


def with_rejections_as_negative(
    X: pd.DataFrame, y: npt.NDArray[np.int64], labels: pd.DataFrame
) -> tuple[pd.DataFrame, npt.NDArray[np.int64], int]:
    """The training rows with each AE-rejected loss repeated (`REJECTION_EXTRA_COPIES`), and
    how many rows were added. `labels` (`features.labels.make_labels`, indexed by lead)
    names the rejection: the lead's first terminal stage, with no win in its horizon."""
    terminal = labels["terminal_stage"].reindex(X.index).astype("string")
    rejected = np.flatnonzero((terminal == REJECTED).fillna(False).to_numpy(dtype=bool) & (y == 0))
    extra = np.tile(rejected, REJECTION_EXTRA_COPIES)
    rows = np.concatenate([np.arange(len(X)), extra])
    return X.iloc[rows], y[rows], len(extra)


def sales_feedback(outcomes: pd.DataFrame, lead_ids: pd.Index) -> pd.DataFrame:
    """Per lead of `lead_ids`: the AE's first decision (`accepted`/`rejected`/missing), its
    reject reason, and the lead's first meeting rating."""
    out = pd.DataFrame(index=pd.Index(lead_ids, name="lead_id"))
    out["ae_decision"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["reject_reason"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["meeting_rating"] = pd.Series(pd.NA, index=out.index, dtype="Float64")
    if outcomes.empty:
        return out
    rows = outcomes[outcomes["lead_id"].isin(out.index)].sort_values("occurred_at", kind="stable")
    decisions = rows[rows["stage"].isin((ACCEPTED, REJECTED))].drop_duplicates("lead_id")
    decided = decisions.set_index("lead_id")
    out.loc[decided.index, "ae_decision"] = np.where(
        decided["stage"] == ACCEPTED, "accepted", "rejected"
    )
    out.loc[decided.index, "reject_reason"] = decided["reject_reason"].astype("string")
    rated = rows.dropna(subset=["meeting_rating"]).drop_duplicates("lead_id").set_index("lead_id")
    out.loc[rated.index, "meeting_rating"] = rated["meeting_rating"].astype(float)
    return out


def score_bands(probability: npt.ArrayLike, bands: int = N_BANDS) -> npt.NDArray[np.int64]:
    """Band 1..`bands` of each lead by its rank (1: the best-scored share); ties by order."""
    return equal_count_bands(probability, bands, best_first=True) + 1


def _mean(values: npt.NDArray[np.float64]) -> float | None:
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else None


def _band_row(
    band: int, decision: npt.NDArray[np.str_], rating: npt.NDArray[np.float64]
) -> dict[str, Any]:
    decided = int((decision != "").sum())
    rejected = int((decision == "rejected").sum())
    return {
        "band": band,
        "leads": len(decision),
        "decided": decided,
        "rejected": rejected,
        "rejected_share": rejected / decided if decided else None,
        "rated": int(np.isfinite(rating).sum()),
        "mean_rating": _mean(rating),
    }


def feedback_ranking(
    probability: npt.ArrayLike, feedback: pd.DataFrame, bands: int = N_BANDS
) -> dict[str, Any]:
    """Per score band: leads, AE decisions, the rejected share and the mean meeting rating;
    overall: the mean score percentile of rejected and of accepted leads (100: top) and the
    AUC of the score at telling accepted from rejected (0.5: the AEs' view is not in it)."""
    p = np.asarray(probability, dtype=float)
    band = score_bands(p, bands)
    percentile = 100.0 * pd.Series(p).rank(pct=True).to_numpy(dtype=float)
    decision = feedback["ae_decision"].fillna("").to_numpy(dtype=str)
    rating = feedback["meeting_rating"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    rows = [
        _band_row(b, decision[band == b], rating[band == b])
        for b in range(1, bands + 1)
        if (band == b).any()
    ]
    accepted, rejected = decision == "accepted", decision == "rejected"
    both = accepted | rejected
    auc = (
        float(roc_auc_score(accepted[both], p[both])) if accepted.any() and rejected.any() else None
    )
    reasons = feedback["reject_reason"].to_numpy(dtype=object)[rejected]
    counts = pd.Series(reasons).dropna().value_counts()
    return {
        "bands": rows,
        "n_decided": int(both.sum()),
        "n_rejected": int(rejected.sum()),
        "rejected_mean_percentile": _mean(percentile[rejected]),
        "accepted_mean_percentile": _mean(percentile[accepted]),
        "accept_auc": auc,
        "reasons": {str(k): int(v) for k, v in counts.items()},
    }


def rejection_effect(
    y: npt.ArrayLike, with_option: npt.ArrayLike, without: npt.ArrayLike
) -> dict[str, Any]:
    """Test AUC with `rejection_as_negative` and without it (the same fit on the plain
    training rows), on the same test leads, with the paired DeLong interval of the
    difference and its word (better / ties / worse)."""
    difference = auc_difference(y, with_option, without)
    return {
        "auc_with": float(roc_auc_score(y, with_option)),
        "auc_without": float(roc_auc_score(y, without)),
        "difference": difference.to_dict(),
        "word": word_for(difference),
    }


def rejection_lines(effect: dict[str, Any] | None) -> list[str]:
    """What `handoff train` says about the option, when it was on."""
    if effect is None:
        return []
    d = effect["difference"]
    return [
        f"--rejection-as-negative: test AUC {effect['auc_with']:.4f} with it, "
        f"{effect['auc_without']:.4f} without (difference {d['estimate']:+.4f}, 95% interval "
        f"{d['low']:+.4f} to {d['high']:+.4f}: {effect['word']})"
    ]


# The ranking's headline numbers and the run metrics that hold them.
RANKING_METRICS: dict[str, str] = {
    "rejected_mean_percentile": "test_ae_rejected_mean_percentile",
    "accepted_mean_percentile": "test_ae_accepted_mean_percentile",
    "accept_auc": "test_ae_accept_auc",
}


def ranking_lines(metrics: dict[str, float]) -> list[str]:
    """The line `handoff train` prints about the AEs' view, from the run's metrics."""
    got = {key: metrics.get(name) for key, name in RANKING_METRICS.items()}
    if any(v is None for v in got.values()):
        return ["AE decisions: none accepted and rejected in the test window to rank"]
    return [
        f"AE decisions (test window, {int(metrics['test_ae_decided']):,}): rejected leads at "
        f"score percentile {got['rejected_mean_percentile']:.0f} on average, accepted at "
        f"{got['accepted_mean_percentile']:.0f}; the score tells them apart with AUC "
        f"{got['accept_auc']:.3f}"
    ]


def feedback_metrics(ranking: dict[str, Any]) -> dict[str, float]:
    """The run metrics of a ranking (the parts that exist; MLflow takes no missing value)."""
    out = {
        "test_ae_decided": float(ranking["n_decided"]),
        "test_ae_rejected": float(ranking["n_rejected"]),
    }
    for key, name in RANKING_METRICS.items():
        if ranking[key] is not None:
            out[name] = float(ranking[key])
    for row in ranking["bands"]:
        if row["rejected_share"] is not None:
            out[f"test_band{row['band']}_ae_rejected_share"] = float(row["rejected_share"])
        if row["mean_rating"] is not None:
            out[f"test_band{row['band']}_meeting_rating"] = float(row["mean_rating"])
    return out
