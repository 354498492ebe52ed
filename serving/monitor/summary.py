"""The hand-off monitor's judgement: what was served, joined with what happened next.

Pure: frames in, one JSON-able dict out (`summarise`), so `handoff monitor`, the endpoint's
stored summary and the tests all read the same numbers. Served leads are taken at their
hand-off, the first time a version scored them (later re-scores of the same lead are the
same hand-off, not new leads); the quadrant, scores and clock start from that row.

Outcome of a handed-off lead, as training labels it (`features.labels`): won when it closed
won within the horizon, lost when it closed lost or the AE rejected it, or when the horizon
passed without a win; otherwise it is still open and *censored*: left out of win rates, never
counted as a loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.feedback import AE_ACCEPTED_STAGE, REJECTED_STAGE, TOUCH_STAGE
from data_contracts.vocab import QUADRANTS, TIERS
from models.calibration import equal_count_bands, wilson
from models.drift import PSI_MAJOR, FeatureProfile, psi
from models.scorer import SCORES

# Realised AUC and calibration need both classes in numbers; fewer say nothing.
MIN_OUTCOMES_PER_CLASS = 20
# A drift window (one week of hand-offs) needs this many leads for a PSI worth reading.
MIN_WINDOW_LEADS = 50
# A week of served features needs more: an unchanged feature's PSI over its ~11 bins is
# about chi-square(10) / n by chance alone, which passes 0.25 in a quarter of the weeks at
# n = 50 and in about 1 in 20,000 at n = 150 (and a version has dozens of features a week).
MIN_FEATURE_WINDOW_LEADS = 150
DRIFT_WINDOW = "W-SUN"  # weeks ending on Sunday: Monday to Sunday
# Calibration bands: resolved leads in equal numbers by predicted win probability.
CALIBRATION_BANDS = 5
SCORE_COLUMNS: tuple[str, ...] = tuple(f"{s}_score" for s in SCORES)
# The served feature counts, summed over workers: one row per (version, day, feature, bin).
COUNT_COLUMNS: tuple[str, ...] = ("model_version", "day", "feature", "bin_index", "n")
WON, LOST = "closed_won", ("closed_lost", REJECTED_STAGE)


@dataclass(frozen=True)
class VersionProfile:
    """What a version promised at sign-off and what its serving is compared with."""

    version: str
    promised_win_rate: dict[str, float]  # quadrant -> test-window win rate its run logged
    targets: dict[str, tuple[int, int]]  # quadrant -> (tier, speed-to-lead minutes)
    reference_scores: pd.DataFrame = field(default_factory=pd.DataFrame)  # test-window scores
    # The training rows' feature bins (None: its run predates them, `FEATURE_PROFILE_FILE`).
    feature_profile: FeatureProfile | None = None


def handoffs(served: pd.DataFrame) -> pd.DataFrame:
    """One row per (version, lead): its first score."""
    frame = served.copy()
    frame["scored_at"] = pd.to_datetime(frame["scored_at"], utc=True, format="ISO8601")
    frame = frame.sort_values("scored_at", kind="stable")
    return frame.drop_duplicates(["model_version", "lead_id"], keep="first").reset_index(drop=True)


def _first_at(
    outcomes: pd.DataFrame, stage: str | tuple[str, ...], leads: pd.DataFrame
) -> pd.Series:
    """When each handed-off lead first reached `stage` (NaT: never), in UTC."""
    stages = (stage,) if isinstance(stage, str) else stage
    rows = outcomes[outcomes["stage"].isin(stages)]
    first = _per_lead(rows.groupby("lead_id")["occurred_at"].min(), leads)
    return pd.to_datetime(first, utc=True)


def _per_lead(values: pd.Series, leads: pd.DataFrame) -> pd.Series:
    """`values` (indexed by lead id) aligned to the hand-off rows (`map` loses the dtype of
    an empty series)."""
    return pd.Series(values.reindex(leads["lead_id"]).to_numpy(), index=leads.index)


def outcome_columns(
    leads: pd.DataFrame, outcomes: pd.DataFrame, *, now: pd.Timestamp, horizon_days: int
) -> pd.DataFrame:
    """`won` (1/0, <NA> censored) and the first touch, AE decision and rating per hand-off."""
    out = leads.copy()
    outcomes = outcomes.copy()
    outcomes["occurred_at"] = pd.to_datetime(outcomes["occurred_at"], utc=True, format="ISO8601")
    horizon = pd.Timedelta(days=horizon_days)
    won_at = _first_at(outcomes, WON, out)
    lost_at = _first_at(outcomes, LOST, out)
    start = out["scored_at"]
    won = won_at.notna() & (won_at <= start + horizon)
    lost = ~won & (lost_at.notna() | (now >= start + horizon))
    out["won"] = pd.array(np.where(won, 1, np.where(lost, 0, -1)), dtype="Int8")
    out.loc[out["won"] == -1, "won"] = pd.NA
    out["touched_at"] = _first_at(outcomes, TOUCH_STAGE, out)
    decided = outcomes[outcomes["stage"].isin((AE_ACCEPTED_STAGE, REJECTED_STAGE))]
    decided = decided.sort_values("occurred_at").drop_duplicates("lead_id")
    out["ae_decision"] = _per_lead(decided.set_index("lead_id")["stage"], out)
    out["reject_reason"] = _per_lead(decided.set_index("lead_id")["reject_reason"], out)
    rated = outcomes.dropna(subset=["meeting_rating"]).sort_values("occurred_at")
    rating = rated.drop_duplicates("lead_id", keep="last").set_index("lead_id")
    out["meeting_rating"] = _per_lead(rating["meeting_rating"], out).astype(float)
    return out


def _rate(wins: int, n: int) -> dict[str, Any]:
    lo, hi = wilson(wins, n)
    return {
        "n": n,
        "wins": wins,
        "rate": wins / n if n else None,
        "low": _num(lo),
        "high": _num(hi),
    }


def _num(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def calibration_bands(done: pd.DataFrame, bands: int = CALIBRATION_BANDS) -> list[dict[str, Any]]:
    """Predicted against realised win rate per band of the combined probability, lowest
    first, each band the same number of resolved leads (give or take one), the realised rate
    with its Wilson interval. `done` holds resolved hand-offs only: open leads are censored
    here as in every win rate, so a band's rate is not pulled down by deals still running."""
    if done.empty:
        return []
    p = done["combined_probability"].astype(float).to_numpy()
    y = done["won"].astype(int).to_numpy()
    band = equal_count_bands(p, bands)
    rows = []
    for b in range(bands):
        mask = band == b
        if not mask.any():
            continue
        rate = _rate(int(y[mask].sum()), int(mask.sum()))
        predicted = float(p[mask].mean())
        rows.append(
            {
                "band": b + 1,
                "predicted_low": float(p[mask].min()),
                "predicted_high": float(p[mask].max()),
                "mean_predicted": predicted,
                "realised": rate,
                "predicted_within_interval": bool(rate["low"] <= predicted <= rate["high"]),
            }
        )
    return rows


def _outcomes(leads: pd.DataFrame, profile: VersionProfile) -> dict[str, Any]:
    per_q: list[dict[str, Any]] = []
    for q in QUADRANTS:
        in_q = leads[leads["quadrant"] == q]
        resolved = in_q["won"].dropna()
        rate = _rate(int(resolved.sum()), len(resolved))
        promised = profile.promised_win_rate.get(q)
        keeps = (
            None
            if promised is None or rate["n"] == 0
            else bool(rate["low"] <= promised <= rate["high"])
        )
        per_q.append(
            {
                "quadrant": q,
                "served": len(in_q),
                "censored": int(in_q["won"].isna().sum()),
                "realised": rate,
                "promised": promised,
                "promise_within_interval": keeps,
            }
        )
    done = leads.dropna(subset=["won"])
    n_won = int(done["won"].sum())
    quality: dict[str, Any] = {"auc": None, "mean_predicted": None, "realised_rate": None}
    if min(n_won, len(done) - n_won) >= MIN_OUTCOMES_PER_CLASS:
        from sklearn.metrics import roc_auc_score

        y = done["won"].astype(int).to_numpy()
        p = done["combined_probability"].astype(float).to_numpy()
        quality = {
            "auc": float(roc_auc_score(y, p)),
            "mean_predicted": float(p.mean()),
            "realised_rate": float(y.mean()),
        }
    return {
        "quadrants": per_q,
        "resolved": len(done),
        "quality": quality,
        "calibration": calibration_bands(done),
    }


def _speed(leads: pd.DataFrame, profile: VersionProfile, now: pd.Timestamp) -> dict[str, Any]:
    """Score to first touch against the quadrant's target. A lead not yet touched counts as
    missed once its target has passed, and is left out until then (it may still make it)."""
    frame = leads.copy()
    targets = frame["quadrant"].map(lambda q: profile.targets.get(q, (None, None)))
    frame["tier"] = [t[0] for t in targets]
    frame["target_minutes"] = [t[1] for t in targets]
    frame = frame.dropna(subset=["target_minutes"])
    minutes = (frame["touched_at"] - frame["scored_at"]).dt.total_seconds() / 60
    due = frame["scored_at"] + pd.to_timedelta(frame["target_minutes"].astype(float), unit="m")
    judged = frame["touched_at"].notna() | (due <= now)
    frame["minutes"] = minutes
    frame["within"] = minutes.le(frame["target_minutes"]) & frame["touched_at"].notna()
    frame = frame[judged]
    per_q: list[dict[str, Any]] = []
    for q in QUADRANTS:
        in_q = frame[frame["quadrant"] == q]
        if in_q.empty:
            continue
        per_q.append(
            {
                "quadrant": q,
                "tier": int(in_q["tier"].iloc[0]),
                "target_minutes": int(in_q["target_minutes"].iloc[0]),
                "judged": len(in_q),
                "untouched": int(in_q["touched_at"].isna().sum()),
                "median_minutes": _num(float(in_q["minutes"].median())),
                "within_target_share": float(in_q["within"].mean()),
            }
        )
    per_tier = [
        {"tier": tier, "judged": len(t), "within_target_share": float(t["within"].mean())}
        for tier in TIERS
        if len(t := frame[frame["tier"] == tier])
    ]
    slowest = (
        min(
            per_q, key=lambda r: (float(r["within_target_share"]), -float(r["median_minutes"] or 0))
        )
        if per_q
        else None
    )
    return {
        "quadrants": per_q,
        "tiers": per_tier,
        "slowest_quadrant": slowest["quadrant"] if slowest else None,
    }


def _sales(leads: pd.DataFrame) -> dict[str, Any]:
    per_q: list[dict[str, Any]] = []
    for q in QUADRANTS:
        in_q = leads[leads["quadrant"] == q]
        decided = in_q["ae_decision"].dropna()
        accepted = int((decided == AE_ACCEPTED_STAGE).sum())
        ratings = in_q["meeting_rating"].dropna()
        per_q.append(
            {
                "quadrant": q,
                "decided": len(decided),
                "accepted": accepted,
                "acceptance_rate": accepted / len(decided) if len(decided) else None,
                "rated": len(ratings),
                "mean_rating": float(ratings.mean()) if len(ratings) else None,
            }
        )
    rejected = leads[leads["ae_decision"] == REJECTED_STAGE]
    sales_now = rejected[rejected["quadrant"] == QUADRANTS[0]]
    return {
        "quadrants": per_q,
        "reject_reasons": _ranked(rejected["reject_reason"]),
        "sales_now_rejected": {
            "n": len(sales_now),
            "reasons": _ranked(sales_now["reject_reason"]),
            "leads": [
                {
                    "lead_id": str(r["lead_id"]),
                    "combined_score": int(r["combined_score"]),
                    "reject_reason": str(r["reject_reason"]),
                    "meeting_rating": _num(float(r["meeting_rating"])),
                }
                for r in sales_now.sort_values("combined_score", ascending=False).to_dict("records")
            ],
        },
    }


def _ranked(reasons: pd.Series) -> list[dict[str, Any]]:
    counts = reasons.dropna().value_counts()
    total = int(counts.sum())
    return [
        {"reason": str(k), "n": int(v), "share": int(v) / total}
        for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    ]


def _drift(leads: pd.DataFrame, profile: VersionProfile, threshold: float) -> dict[str, Any]:
    """PSI of each served score against the version's test-window scores, overall and per
    week; `since` is the first week past the threshold."""
    ref = profile.reference_scores
    columns = [c for c in SCORE_COLUMNS if c in ref.columns]
    if ref.empty or not columns:
        return {"overall": [], "weeks": [], "since": None, "worst": None}
    overall: list[dict[str, Any]] = sorted(
        ({"score": c, "psi": psi(ref[c], leads[c])} for c in columns),
        key=lambda r: -float(r["psi"]),
    )
    weeks = []
    by_week = leads.groupby(leads["scored_at"].dt.tz_localize(None).dt.to_period(DRIFT_WINDOW))
    for period, rows in by_week:
        if len(rows) < MIN_WINDOW_LEADS:
            continue
        values = {c: psi(ref[c], rows[c]) for c in columns}
        worst = max(values, key=lambda c: values[c])
        weeks.append(
            {
                "week": str(period.start_time.date()),
                "leads": len(rows),
                "psi": values,
                "worst": worst,
                "past_threshold": values[worst] > threshold,
            }
        )
    since = next((w["week"] for w in weeks if w["past_threshold"]), None)
    return {"overall": overall, "weeks": weeks, "since": since, "worst": overall[0]}


def _feature_psis(counts: pd.DataFrame, profile: FeatureProfile) -> dict[str, float]:
    """PSI of each profiled feature's served histogram in `counts`, worst first."""
    hist = counts.groupby(["feature", "bin_index"])["n"].sum()
    out: dict[str, float] = {}
    for feature, per_bin in hist.groupby(level="feature"):
        bins = profile.features.get(str(feature))
        if bins is None:
            continue
        served = np.zeros(bins.n_bins, dtype=np.int64)
        index = per_bin.index.get_level_values("bin_index").to_numpy(dtype=np.int64)
        keep = (index >= 0) & (index < bins.n_bins)
        served[index[keep]] = per_bin.to_numpy(dtype=np.int64)[keep]
        out[str(feature)] = bins.psi(served)
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _unmeasured(reason: str) -> dict[str, Any]:
    return {"measured": False, "reason": reason, "overall": [], "weeks": [], "since": None}


def feature_drift(
    counts: pd.DataFrame, profile: FeatureProfile | None, threshold: float, version: str
) -> dict[str, Any]:
    """PSI of each served feature against the version's training rows, overall and per week,
    from the counts serving flushed (`COUNT_COLUMNS`); worst first, and every feature past
    the threshold named per week; `since` is the first week with one."""
    if profile is None or not profile.features:
        return _unmeasured(
            f"version {version}'s training run has no feature profile (trained before "
            "served features were profiled): retrain to measure its feature drift"
        )
    if counts.empty:
        return _unmeasured(f"no feature counts from serving version {version} yet")
    periods = pd.to_datetime(counts["day"]).dt.to_period(DRIFT_WINDOW)
    counts = counts.assign(week=periods.dt.start_time.dt.strftime("%Y-%m-%d"))
    overall = _feature_psis(counts, profile)
    weeks = []
    for week, rows in counts.groupby("week", sort=True):
        leads = int(rows.groupby("feature")["n"].sum().max())  # each lead once per feature
        if leads < MIN_FEATURE_WINDOW_LEADS:
            continue
        values = _feature_psis(rows, profile)
        if not values:
            continue
        worst = next(iter(values))
        weeks.append(
            {
                "week": str(week),
                "leads": leads,
                "worst": worst,
                "psi": values,
                "past_threshold": [
                    {"feature": f, "psi": v} for f, v in values.items() if v > threshold
                ],
            }
        )
    since = next((w["week"] for w in weeks if w["past_threshold"]), None)
    return {
        "measured": True,
        "overall": [{"feature": f, "psi": v} for f, v in overall.items()],
        "weeks": weeks,
        "since": since,
    }


def _retrain(
    outcomes: dict[str, Any],
    drift: dict[str, Any],
    threshold: float,
    features: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Retrain when served scores or served features moved past the threshold in the latest
    week, or a quadrant's realised win rate left its promise's interval below it (the model
    over-promises)."""
    why = []
    latest = drift["weeks"][-1] if drift["weeks"] else None
    if latest and latest["past_threshold"]:
        why.append(
            f"{latest['worst']} PSI {latest['psi'][latest['worst']]:.2f} > {threshold:g} in the "
            f"week of {latest['week']} (past the threshold since {drift['since']})"
        )
    week = features["weeks"][-1] if features and features["weeks"] else None
    if features and week and week["past_threshold"]:
        first, *more = week["past_threshold"]
        also = f"; {len(more)} more feature(s) past it" if more else ""
        why.append(
            f"feature {first['feature']} PSI {first['psi']:.2f} > {threshold:g} in the week of "
            f"{week['week']} (features past the threshold since {features['since']}){also}"
        )
    for row in outcomes["quadrants"]:
        r, promised = row["realised"], row["promised"]
        if promised is not None and r["n"] and r["high"] < promised:
            why.append(
                f"{row['quadrant']} realised win rate {r['rate']:.1%} (95% up to "
                f"{r['high']:.1%}) below the promised {promised:.1%}"
            )
    return {"recommended": bool(why), "why": why}


def challenger_comparison(leads: pd.DataFrame, shadow: pd.DataFrame) -> list[dict[str, Any]]:
    """Champion against challenger on the same hand-offs (joined on request and lead):
    quadrant agreement, where they disagree, and realised win rates by each one's quadrant."""
    if shadow.empty or leads.empty:
        return []
    pairs = leads.merge(
        shadow[["request_id", "lead_id", "model_version", "quadrant", "combined_score"]],
        on=["request_id", "lead_id"],
        suffixes=("", "_challenger"),
    )
    out = []
    for (champion, challenger), rows in pairs.groupby(
        ["model_version", "model_version_challenger"], sort=True
    ):
        agree = rows["quadrant"] == rows["quadrant_challenger"]
        moves = (
            rows[~agree]
            .groupby(["quadrant", "quadrant_challenger"])
            .size()
            .sort_values(ascending=False)
        )
        by_quadrant = []
        for q in QUADRANTS:
            mine = rows.loc[rows["quadrant"] == q, "won"].dropna()
            theirs = rows.loc[rows["quadrant_challenger"] == q, "won"].dropna()
            by_quadrant.append(
                {
                    "quadrant": q,
                    "champion": _rate(int(mine.sum()), len(mine)),
                    "challenger": _rate(int(theirs.sum()), len(theirs)),
                }
            )
        out.append(
            {
                "champion": str(champion),
                "challenger": str(challenger),
                "leads": len(rows),
                "agreement": float(agree.mean()),
                "disagreements": [
                    {
                        "champion": str(m["quadrant"]),
                        "challenger": str(m["quadrant_challenger"]),
                        "n": int(m["n"]),
                    }
                    for m in moves.reset_index(name="n").to_dict("records")
                ],
                "realised_by_quadrant": by_quadrant,
            }
        )
    return out


def summarise(
    served: pd.DataFrame,
    outcomes: pd.DataFrame,
    profiles: dict[str, VersionProfile],
    *,
    now: pd.Timestamp,
    horizon_days: int = 180,
    since: pd.Timestamp | None = None,
    drift_threshold: float = PSI_MAJOR,
    shadow: pd.DataFrame | None = None,
    feature_counts: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The monitor's summary, per version served: outcomes against the promise, speed to
    lead, sales feedback, drift of scores and features, and whether to retrain.

    `feature_counts` (`COUNT_COLUMNS`) are per UTC day: `since` keeps the days from its
    date on."""
    leads = handoffs(served)
    counts = feature_counts if feature_counts is not None else pd.DataFrame(columns=COUNT_COLUMNS)
    if since is not None:
        leads = leads[leads["scored_at"] >= since]
        counts = counts[counts["day"] >= since.date().isoformat()]
    leads = outcome_columns(leads, outcomes, now=now, horizon_days=horizon_days)
    versions = []
    for version, rows in leads.groupby("model_version", sort=False):
        profile = profiles.get(str(version), VersionProfile(str(version), {}, {}))
        result = _outcomes(rows, profile)
        drift = _drift(rows, profile, drift_threshold)
        features = feature_drift(
            counts[counts["model_version"].astype(str) == str(version)],
            profile.feature_profile,
            drift_threshold,
            str(version),
        )
        versions.append(
            {
                "version": str(version),
                "leads": len(rows),
                "first_scored_at": rows["scored_at"].min().isoformat(),
                "last_scored_at": rows["scored_at"].max().isoformat(),
                "outcomes": result,
                "speed_to_lead": _speed(rows, profile, now),
                "sales_feedback": _sales(rows),
                "drift": drift,
                "feature_drift": features,
                "retrain": _retrain(result, drift, drift_threshold, features),
            }
        )
    versions.sort(key=lambda v: (len(v["version"]), v["version"]))
    return json_safe(
        {
            "computed_at": now.isoformat(),
            "since": since.isoformat() if since is not None else None,
            "horizon_days": horizon_days,
            "drift_threshold": drift_threshold,
            "versions": versions,
            "retrain_recommended": any(v["retrain"]["recommended"] for v in versions),
            "challengers": challenger_comparison(
                leads, shadow if shadow is not None else pd.DataFrame()
            ),
        }
    )


def json_safe(value: Any) -> Any:
    """NaN and infinities as None, numpy scalars as Python ones: strict JSON for alerting."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
