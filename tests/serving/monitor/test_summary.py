"""The monitor finds what generated live traffic was built to show.

Eight weeks of hand-offs with a known win rate per quadrant (a third of the leads still
open), BDRs slow on exactly one quadrant, AEs rejecting *sales now* leads mostly for
`no_budget`, and the combined score shifted upward from one Monday on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pytest

from data_contracts.vocab import QUADRANTS
from models.calibration import wilson
from models.drift import FeatureProfile, feature_profile
from serving.monitor.page import render
from serving.monitor.summary import COUNT_COLUMNS, VersionProfile, calibration_bands, summarise

START = pd.Timestamp("2026-01-05", tz="UTC")  # a Monday
DRIFT_FROM = pd.Timestamp("2026-02-09", tz="UTC")  # week 6
NOW = START + pd.Timedelta(days=100)
WIN_RATE = {"sales_now": 0.40, "nurture": 0.20, "order_taker": 0.15, "group_resources": 0.05}
SHARE = {"sales_now": 0.3, "nurture": 0.25, "order_taker": 0.25, "group_resources": 0.2}
TARGETS = {
    "sales_now": (1, 10),
    "order_taker": (2, 60),
    "nurture": (3, 1440),
    "group_resources": (4, 10080),
}
SLOW = "order_taker"  # touched at about three times its target
P_OPEN = 0.3


@dataclass
class Traffic:
    served: pd.DataFrame
    outcomes: pd.DataFrame
    profile: VersionProfile
    resolved: dict[str, tuple[int, int]]  # quadrant -> (wins, resolved) as generated


def _scores(rng: np.random.Generator, n: int, shift: float = 0.0) -> np.ndarray:
    return np.clip(rng.normal(40 + shift, 12, n), 0, 100).astype(int)


def live_traffic(seed: int = 3, n: int = 1_600) -> Traffic:
    rng = np.random.default_rng(seed)
    scored_at = START + pd.to_timedelta(rng.uniform(0, 56 * 86_400, n), unit="s")
    quadrant = rng.choice(list(SHARE), p=list(SHARE.values()), size=n)
    shift = np.where(scored_at >= DRIFT_FROM, 25.0, 0.0)
    combined = np.clip(rng.normal(40 + shift, 12), 0, 100).astype(int)
    served = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "lead_id": [f"L{i}" for i in range(n)],
            "model_version": "1",
            "fit_score": _scores(rng, n),
            "interest_score": _scores(rng, n),
            "combined_score": combined,
            "combined_probability": combined / 100,
            "quadrant": quadrant,
            "scored_at": [t.isoformat() for t in scored_at],
        }
    )
    # A re-score of an early lead later on is the same hand-off, not a new lead.
    rescored = served.iloc[:50].copy()
    rescored["request_id"] = [f"again{i}" for i in range(50)]
    rescored["scored_at"] = (NOW - pd.Timedelta(days=1)).isoformat()
    served = pd.concat([served, rescored], ignore_index=True)

    rows: list[dict[str, object]] = []
    resolved: dict[str, list[int]] = {q: [0, 0] for q in QUADRANTS}
    for i in range(n):
        lead, q, at = f"L{i}", quadrant[i], scored_at[i]
        target = TARGETS[q][1]
        delay = target * (3.0 if q == SLOW else 0.3) * rng.uniform(0.8, 1.2)
        rows.append(_row(lead, "accepted", at + pd.Timedelta(minutes=delay)))
        if rng.uniform() < P_OPEN:
            continue  # still open: censored
        won = rng.uniform() < WIN_RATE[q]
        resolved[q][0] += int(won)
        resolved[q][1] += 1
        later = at + pd.Timedelta(days=2)
        if won:
            rows.append(_row(lead, "sales_accepted", later, rating=int(rng.integers(4, 6))))
            rows.append(_row(lead, "closed_won", later + pd.Timedelta(days=30), amount=5e4))
        elif q == "sales_now" or rng.uniform() < 0.3:
            reason = (
                rng.choice(["no_budget", "bad_timing"], p=[0.75, 0.25])
                if q == "sales_now"
                else "poor_fit"
            )
            rows.append(_row(lead, "sales_rejected", later, reason=str(reason), rating=1))
        else:
            rows.append(_row(lead, "closed_lost", later + pd.Timedelta(days=20)))
    reference = pd.DataFrame(
        {f"{s}_score": _scores(rng, 4_000) for s in ("fit", "interest", "combined")}
    )
    profile = VersionProfile("1", dict(WIN_RATE), dict(TARGETS), reference)
    return Traffic(
        served, pd.DataFrame(rows), profile, {q: (w, r) for q, (w, r) in resolved.items()}
    )


def _row(
    lead: str,
    stage: str,
    at: pd.Timestamp,
    *,
    reason: str | None = None,
    rating: int | None = None,
    amount: float | None = None,
) -> dict[str, object]:
    return {
        "lead_id": lead,
        "stage": stage,
        "occurred_at": at,
        "reject_reason": reason,
        "meeting_rating": rating,
        "amount": amount,
    }


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    return live_traffic()


@pytest.fixture(scope="module")
def version(traffic: Traffic) -> dict[str, object]:
    summary = summarise(traffic.served, traffic.outcomes, {"1": traffic.profile}, now=NOW)
    (only,) = summary["versions"]
    return dict(only)


def test_monitor_win_rates_match_the_generator_within_intervals(
    traffic: Traffic, version: dict
) -> None:
    for row in version["outcomes"]["quadrants"]:
        realised = row["realised"]
        assert (realised["wins"], realised["n"]) == traffic.resolved[row["quadrant"]]
        assert realised["low"] <= WIN_RATE[row["quadrant"]] <= realised["high"]
        assert row["promise_within_interval"] is True


def test_monitor_open_leads_censored_not_lost(traffic: Traffic, version: dict) -> None:
    served = {q: int((traffic.served.iloc[:1600]["quadrant"] == q).sum()) for q in QUADRANTS}
    for row in version["outcomes"]["quadrants"]:
        q = row["quadrant"]
        assert row["served"] == served[q]  # the re-scored leads are not counted twice
        assert row["censored"] == served[q] - traffic.resolved[q][1] > 0


def test_monitor_names_the_slow_quadrant_and_tier(version: dict) -> None:
    speed = version["speed_to_lead"]
    assert speed["slowest_quadrant"] == SLOW
    shares = {r["quadrant"]: r["within_target_share"] for r in speed["quadrants"]}
    assert shares[SLOW] == 0.0
    assert all(share == 1.0 for q, share in shares.items() if q != SLOW)
    tiers = {t["tier"]: t["within_target_share"] for t in speed["tiers"]}
    assert tiers[TARGETS[SLOW][0]] == 0.0 and tiers[1] == 1.0


def test_monitor_ranks_rejection_reasons_and_lists_sales_now_rejected(
    traffic: Traffic, version: dict
) -> None:
    sales = version["sales_feedback"]
    rejected = traffic.outcomes[traffic.outcomes["stage"] == "sales_rejected"]
    sales_now_ids = set(traffic.served.loc[traffic.served["quadrant"] == "sales_now", "lead_id"])
    expected = rejected[rejected["lead_id"].isin(sales_now_ids)]
    now_rejected = sales["sales_now_rejected"]
    assert now_rejected["n"] == len(expected)
    assert {r["lead_id"] for r in now_rejected["leads"]} == set(expected["lead_id"])
    assert now_rejected["reasons"][0]["reason"] == "no_budget"
    assert sales["reject_reasons"][0]["reason"] == "no_budget"
    by_q = {r["quadrant"]: r for r in sales["quadrants"]}
    assert by_q["sales_now"]["acceptance_rate"] < by_q["nurture"]["acceptance_rate"]
    assert by_q["sales_now"]["mean_rating"] < by_q["nurture"]["mean_rating"]


def test_monitor_finds_drift_from_the_injected_week(version: dict) -> None:
    drift = version["drift"]
    assert drift["since"] == str(DRIFT_FROM.date())
    assert drift["worst"]["score"] == "combined_score"
    before = [w for w in drift["weeks"] if w["week"] < drift["since"]]
    assert before and not any(w["past_threshold"] for w in before)
    assert version["retrain"]["recommended"] is True
    assert "combined_score" in version["retrain"]["why"][0]


def test_monitor_since_leaves_earlier_handoffs_out(traffic: Traffic) -> None:
    summary = summarise(
        traffic.served, traffic.outcomes, {"1": traffic.profile}, now=NOW, since=DRIFT_FROM
    )
    (v,) = summary["versions"]
    n_after = int((pd.to_datetime(traffic.served.iloc[:1600]["scored_at"]) >= DRIFT_FROM).sum())
    assert v["leads"] == n_after
    assert v["drift"]["since"] == str(DRIFT_FROM.date())


def test_wilson_interval_contains_the_rate_and_narrows_with_n() -> None:
    lo, hi = wilson(10, 50)
    lo2, hi2 = wilson(100, 500)
    assert lo < 0.2 < hi and lo2 < 0.2 < hi2 and hi2 - lo2 < hi - lo
    assert wilson(0, 20)[0] == 0.0


def test_monitor_with_no_feedback_yet_counts_every_lead_open(traffic: Traffic) -> None:
    from data_contracts.feedback import outcome_rows

    empty = outcome_rows(pd.DataFrame())
    summary = summarise(traffic.served, empty, {"1": traffic.profile}, now=NOW)
    (v,) = summary["versions"]
    assert all(r["realised"]["n"] == 0 for r in v["outcomes"]["quadrants"])
    assert sum(r["censored"] for r in v["outcomes"]["quadrants"]) == v["leads"]
    assert all(r["within_target_share"] == 0.0 for r in v["speed_to_lead"]["quadrants"])


def test_monitor_calibration_bands_count_resolved_leads_only(version: dict) -> None:
    outcomes = version["outcomes"]
    bands = outcomes["calibration"]
    assert [b["band"] for b in bands] == [1, 2, 3, 4, 5]
    assert sum(b["realised"]["n"] for b in bands) == outcomes["resolved"]  # open: censored
    means = [b["mean_predicted"] for b in bands]
    assert means == sorted(means)


def _resolved(p: np.ndarray, seed: int = 1) -> pd.DataFrame:
    won = np.random.default_rng(seed).uniform(size=len(p)) < p
    return pd.DataFrame({"combined_probability": p, "won": pd.array(won.astype(int), "Int8")})


def test_monitor_calibration_holds_a_calibrated_model_and_flags_an_over_promise() -> None:
    p = np.random.default_rng(0).uniform(0.02, 0.45, 3_000)
    calibrated = calibration_bands(_resolved(p))
    assert sum(b["predicted_within_interval"] for b in calibrated) >= 4  # 95% intervals
    for b in calibrated:
        assert b["predicted_low"] <= b["mean_predicted"] <= b["predicted_high"]
    # The same outcomes, served by a model that promised twice the odds it delivers.
    over = calibration_bands(_resolved(p).assign(combined_probability=np.minimum(2 * p, 1)))
    assert [b["predicted_within_interval"] for b in over][1:] == [False] * 4
    assert all(b["mean_predicted"] > b["realised"]["high"] for b in over[1:])
    assert calibration_bands(_resolved(p).iloc[:0]) == []


# Served features: counted per UTC day into the training profile's bins, as each serving
# worker does, with a fit feature (log_employees) shifted from one Monday on.
FEATURE_DRIFT_FROM = pd.Timestamp("2026-01-26", tz="UTC")  # week 4
SHIFTED = "log_employees"


def _feature_rows(rng: np.random.Generator, n: int, shift: np.ndarray | float) -> dict:
    return {
        SHIFTED: rng.normal(2.0 + shift, 0.5, n),
        "n_touches_30d": rng.poisson(3, n).astype(np.int32),
        "industry": pd.Categorical(
            rng.choice(["software", "retail", "finance"], size=n, p=[0.5, 0.3, 0.2])
        ),
    }


def served_feature_counts(
    served: pd.DataFrame, *, drift: bool, seed: int = 5
) -> tuple[FeatureProfile, pd.DataFrame]:
    """The training profile and the counts two workers would flush, summed (COUNT_COLUMNS)."""
    rng = np.random.default_rng(seed)
    profile = feature_profile(pd.DataFrame(_feature_rows(rng, 5_000, 0.0)))
    at = pd.to_datetime(served["scored_at"], utc=True, format="ISO8601")
    rows = []
    for day, leads in served.groupby(at.dt.strftime("%Y-%m-%d")):
        when = pd.Timestamp(day, tz="UTC")
        shift = 0.8 if drift and when >= FEATURE_DRIFT_FROM else 0.0
        for worker in np.array_split(np.arange(len(leads)), 2):  # two workers' totals
            counts = profile.count(_feature_rows(rng, len(worker), shift))
            rows += [
                ("1", day, f, b, int(k)) for f, c in counts.items() for b, k in enumerate(c) if k
            ]
    counts = pd.DataFrame(rows, columns=list(COUNT_COLUMNS))
    keys = list(COUNT_COLUMNS[:-1])
    return profile, pd.DataFrame(counts.groupby(keys, as_index=False)["n"].sum())


def _with_features(traffic: Traffic, drift: bool, **kw: object) -> dict:
    profile, counts = served_feature_counts(traffic.served, drift=drift)
    version = replace(traffic.profile, feature_profile=profile)
    return summarise(
        traffic.served, traffic.outcomes, {"1": version}, now=NOW, feature_counts=counts, **kw
    )


def test_monitor_names_the_drifted_feature_in_the_weeks_after_the_date_only(
    traffic: Traffic,
) -> None:
    v = _with_features(traffic, drift=True)["versions"][0]
    fd = v["feature_drift"]
    assert fd["measured"]
    week_of_drift = str(FEATURE_DRIFT_FROM.date())
    assert fd["since"] == week_of_drift
    assert len(fd["weeks"]) == 8
    for week in fd["weeks"]:
        past = [p["feature"] for p in week["past_threshold"]]
        if week["week"] < week_of_drift:
            assert past == [], week
        else:
            assert past == [SHIFTED], week
            assert week["worst"] == SHIFTED
    assert fd["overall"][0]["feature"] == SHIFTED
    assert any(
        why.startswith(f"feature {SHIFTED} PSI ") and "> 0.25 in the week of" in why
        for why in v["retrain"]["why"]
    )


def test_monitor_without_feature_drift_puts_no_feature_past_the_threshold(
    traffic: Traffic,
) -> None:
    v = _with_features(traffic, drift=False)["versions"][0]
    fd = v["feature_drift"]
    assert fd["measured"] and fd["since"] is None
    assert all(w["past_threshold"] == [] for w in fd["weeks"])
    assert max(r["psi"] for r in fd["overall"]) < 0.1
    assert not any(why.startswith("feature ") for why in v["retrain"]["why"])


def test_monitor_since_keeps_the_feature_counts_of_its_days_on(traffic: Traffic) -> None:
    since = FEATURE_DRIFT_FROM + pd.Timedelta(days=7)
    fd = _with_features(traffic, drift=True, since=since)["versions"][0]["feature_drift"]
    assert fd["weeks"][0]["week"] == str(since.date())
    assert fd["since"] == str(since.date())


def test_monitor_says_a_version_without_a_feature_profile_is_not_measured(
    traffic: Traffic,
) -> None:
    _, counts = served_feature_counts(traffic.served, drift=True)
    summary = summarise(
        traffic.served, traffic.outcomes, {"1": traffic.profile}, now=NOW, feature_counts=counts
    )
    fd = summary["versions"][0]["feature_drift"]
    assert not fd["measured"]
    assert "no feature profile" in fd["reason"]
    assert "not measured" in render(summary).lower()
    no_counts = summarise(
        traffic.served,
        traffic.outcomes,
        {"1": replace(traffic.profile, feature_profile=feature_profile(pd.DataFrame({"x": [1]})))},
        now=NOW,
    )
    assert "no feature counts" in no_counts["versions"][0]["feature_drift"]["reason"]


def test_monitor_page_shows_the_feature_drift_table(traffic: Traffic) -> None:
    page = render(_with_features(traffic, drift=True))
    assert "Drift of served features" in page
    assert f"<td>{SHIFTED}</td>" in page
    assert 'alt="feature drift"' in page
