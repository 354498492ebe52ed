"""Verdicts with uncertainty: is the model better than chance, than the best baseline, than
the champion, on the same test leads, and how sure can anyone be?

A test window holds a few hundred wins: a small AUC lead over logistic regression, or an ECE
just above its bound, can be inside the noise of such a window. So every comparison here is
an interval:

- AUC and AUC differences: DeLong's method (the exact variance of the Mann-Whitney AUC,
  with the covariance of two models scored on the same rows), a 95% normal interval;
- lift@10 and ECE: percentile intervals over `RESAMPLES` bootstrap resamples of the rows,
  recentred on the estimate;
- the ECE's own sampling noise: the 95th percentile of the ECE a perfectly calibrated model
  would show on this window (labels drawn from its own probabilities, `RESAMPLES` times).

Words come from `WORDS`, so the CLI, the report, the audit log and the gates say the same.
The verdict is a small record (`Verdict.to_dict`) logged as a run artifact
(`models.mlflow_layout.VERDICT_FILE`): the report and any review page read that record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import norm, rankdata

from models.baselines import BASELINE_NAMES
from training.evaluate import expected_calibration_error, lift_and_capture

FloatArray = npt.NDArray[np.float64]

CONFIDENCE = 0.95
RESAMPLES = 200  # bootstrap and noise draws; see `tests/benchmarks/bench_verdict.py`
SEED = 0
CHANCE_AUC = 0.5

BETTER = "better"
TIES = "ties"
WORSE = "worse"
NO_SIGNAL = "no_better_than_chance"

# The word as a listing's narrow column shows it (`handoff models`).
SHORT_WORDS: dict[str, str] = {
    BETTER: "beats baseline",
    TIES: "ties baseline",
    WORSE: "below baseline",
    NO_SIGNAL: "NO SIGNAL",
}

BASELINE_LABELS: dict[str, str] = {
    "baseline_logreg": "a simple logistic regression",
    "baseline_naive_bayes": "a naive-Bayes frequency table (Odoo-style)",
    "baseline_points": "a points score (Pardot-style)",
}

# Every sentence a verdict says, in one place.
WORDS: dict[str, str] = {
    NO_SIGNAL: (
        "no better than chance: test AUC {auc} includes 0.5, so its ranking of {ranks} cannot "
        "be told from a coin toss; do not route {ranks} by it"
    ),
    "signal": "better than chance: test AUC {auc}",
    f"baseline_{BETTER}": "better than the best baseline, {label}: AUC {diff}",
    f"baseline_{TIES}": ("ties the best baseline: {label} does as well (AUC {diff}); consider it"),
    f"baseline_{WORSE}": "worse than the best baseline, {label}: AUC {diff}",
    f"champion_{BETTER}": "better than champion version {version}: AUC {diff}",
    f"champion_{TIES}": "ties champion version {version}: AUC {diff}",
    f"champion_{WORSE}": "worse than champion version {version}: AUC {diff}",
    "unpaired": " (not on the same leads: {note})",
    "calibration": (
        "calibration error (ECE) {ece}; a perfectly calibrated model would show up to "
        "{noise:.4f} on this window by chance"
    ),
    "lift": "lift@10 {lift}",
}


@dataclass(frozen=True)
class Interval:
    """A point estimate and its 95% interval."""

    estimate: float
    low: float
    high: float

    def includes(self, value: float) -> bool:
        return self.low <= value <= self.high

    def text(self, spec: str = ".3f", signed: bool = False) -> str:
        f = ("+" if signed else "") + spec
        return f"{self.estimate:{f}} (95% interval {self.low:{f}} to {self.high:{f}})"

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Comparison:
    """This model against another on AUC: the difference (this minus that) and its word."""

    against: str  # a baseline name, or "champion"
    label: str  # how a reader names the other model
    difference: Interval
    verdict: str  # BETTER | TIES | WORSE
    paired: bool = True  # both scored on the same test leads
    note: str = ""
    version: str = ""  # the champion's version number

    def sentence(self) -> str:
        kind = "champion" if self.against == "champion" else "baseline"
        said = WORDS[f"{kind}_{self.verdict}"].format(
            label=self.label, version=self.version, diff=self.difference.text(".4f", signed=True)
        )
        return said + ("" if self.paired else WORDS["unpaired"].format(note=self.note))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "difference": self.difference.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comparison:
        return cls(**{**data, "difference": Interval(**data["difference"])})


@dataclass(frozen=True)
class Verdict:
    """The combined model on its test window: AUC, lift@10 and ECE with their intervals, and
    what that means against chance, the best baseline and the champion."""

    rows: int
    wins: int
    auc: Interval
    lift_top10: Interval
    ece: Interval
    ece_noise: float  # 95th percentile of a perfectly calibrated model's ECE here
    baseline: Comparison | None = None
    champion: Comparison | None = None
    method: str = (
        f"DeLong {CONFIDENCE:.0%} intervals for AUC (differences paired on the same leads); "
        f"{RESAMPLES} bootstrap resamples for lift@10 and ECE"
    )
    # What the test rows are and what the model ranks: the account model's verdict says
    # "account rows" and "accounts" where the lead model's says "leads".
    unit: str = "leads"
    ranks: str = "leads"

    @property
    def no_signal(self) -> bool:
        """The AUC interval reaches 0.5: the ranking cannot be told from chance."""
        return self.auc.low <= CHANCE_AUC

    @property
    def word(self) -> str:
        """The one-word verdict against chance and the best baseline."""
        if self.no_signal:
            return NO_SIGNAL
        return self.baseline.verdict if self.baseline is not None else BETTER

    def headline(self) -> str:
        if self.no_signal:
            return WORDS[NO_SIGNAL].format(auc=self.auc.text(), ranks=self.ranks)
        if self.baseline is not None:
            return self.baseline.sentence()
        return WORDS["signal"].format(auc=self.auc.text())

    def lines(self) -> list[str]:
        """The verdict as the CLI prints it and the report's first box shows it."""
        out = [f"verdict on {self.rows:,} test {self.unit} ({self.wins:,} wins): {self.headline()}"]
        if not self.no_signal:
            out.append("  " + WORDS["signal"].format(auc=self.auc.text()))
        if self.baseline is not None and self.no_signal:
            out.append("  " + self.baseline.sentence())
        if self.champion is not None:
            out.append("  " + self.champion.sentence())
        out.append("  " + WORDS["lift"].format(lift=self.lift_top10.text(".2f")))
        out.append(
            "  " + WORDS["calibration"].format(ece=self.ece.text(".4f"), noise=self.ece_noise)
        )
        out.append(f"  ({self.method})")
        return out

    def with_champion(self, comparison: Comparison | None) -> Verdict:
        return replace(self, champion=comparison)

    def metrics(self) -> dict[str, float]:
        """The intervals as run metrics (`verdict_*`)."""
        out: dict[str, float] = {"verdict_ece_noise": self.ece_noise}
        for name, interval in (
            ("auc", self.auc),
            ("lift_top10", self.lift_top10),
            ("ece", self.ece),
        ):
            out[f"verdict_{name}_low"] = interval.low
            out[f"verdict_{name}_high"] = interval.high
        for kind, comparison in (("baseline", self.baseline), ("champion", self.champion)):
            if comparison is not None:
                out[f"verdict_{kind}_auc_diff"] = comparison.difference.estimate
                out[f"verdict_{kind}_auc_diff_low"] = comparison.difference.low
                out[f"verdict_{kind}_auc_diff_high"] = comparison.difference.high
        return {k: float(v) for k, v in out.items() if np.isfinite(v)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "wins": self.wins,
            "word": self.word,
            "headline": self.headline(),
            "lines": self.lines(),
            "no_signal": self.no_signal,
            "auc": self.auc.to_dict(),
            "lift_top10": self.lift_top10.to_dict(),
            "ece": self.ece.to_dict(),
            "ece_noise": self.ece_noise,
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "champion": None if self.champion is None else self.champion.to_dict(),
            "method": self.method,
            "unit": self.unit,
            "ranks": self.ranks,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        return cls(
            rows=int(data["rows"]),
            wins=int(data["wins"]),
            auc=Interval(**data["auc"]),
            lift_top10=Interval(**data["lift_top10"]),
            ece=Interval(**data["ece"]),
            ece_noise=float(data["ece_noise"]),
            baseline=None
            if data.get("baseline") is None
            else Comparison.from_dict(data["baseline"]),
            champion=None
            if data.get("champion") is None
            else Comparison.from_dict(data["champion"]),
            method=str(data.get("method", cls.method)),
            unit=str(data.get("unit", cls.unit)),
            ranks=str(data.get("ranks", cls.ranks)),
        )


# ---------------------------------------------------------------- the statistics


def delong(y: npt.ArrayLike, *scores: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """AUCs of each score on the same rows and their DeLong covariance matrix.

    The fast form (Sun and Xu, 2014): mid-ranks among the won, the lost and all rows give
    each row's placement value; their covariances, scaled by the class sizes, are the
    covariance of the AUCs. Ties count half, as in the AUC itself.
    """
    labels = np.asarray(y, dtype=bool)
    won = [np.asarray(s, dtype=float)[labels] for s in scores]
    lost = [np.asarray(s, dtype=float)[~labels] for s in scores]
    m, n = len(won[0]), len(lost[0])
    if m == 0 or n == 0:
        k = len(scores)
        return np.full(k, np.nan), np.full((k, k), np.nan)
    v01 = np.empty((len(scores), m))
    v10 = np.empty((len(scores), n))
    aucs = np.empty(len(scores))
    for i, (w, lo) in enumerate(zip(won, lost, strict=True)):
        all_ranks = rankdata(np.concatenate([w, lo]))
        aucs[i] = (all_ranks[:m].sum() - m * (m + 1) / 2) / (m * n)
        v01[i] = (all_ranks[:m] - rankdata(w)) / n
        v10[i] = 1.0 - (all_ranks[m:] - rankdata(lo)) / m
    cov = np.atleast_2d(np.cov(v01)) / m + np.atleast_2d(np.cov(v10)) / n
    return aucs, cov


def _z() -> float:
    return float(norm.ppf(0.5 + CONFIDENCE / 2))


def _normal(estimate: float, variance: float) -> Interval:
    half = _z() * float(np.sqrt(max(variance, 0.0)))
    return Interval(float(estimate), float(estimate - half), float(estimate + half))


def auc_interval(y: npt.ArrayLike, p: npt.ArrayLike) -> Interval:
    aucs, cov = delong(y, p)
    return _normal(aucs[0], cov[0, 0])


def auc_difference(y: npt.ArrayLike, p: npt.ArrayLike, other: npt.ArrayLike) -> Interval:
    """AUC(p) − AUC(other) on the same rows, with the paired DeLong interval."""
    aucs, cov = delong(y, p, other)
    return _normal(aucs[0] - aucs[1], cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])


def word_for(difference: Interval) -> str:
    """BETTER or WORSE only when the whole interval says so; otherwise the two tie."""
    if difference.low > 0:
        return BETTER
    if difference.high < 0:
        return WORSE
    return TIES


def _percentiles(values: list[float], estimate: float) -> Interval:
    """The resamples' percentile interval, moved so their median sits on the estimate.

    Why recentre: a resample repeats rows, which adds noise the real window does not have,
    and the ECE (a sum of absolute gaps) only grows with noise, so the plain percentile
    interval can lie wholly above the estimate it is meant to bracket.
    """
    finite = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    if len(finite) == 0 or not np.isfinite(estimate):
        return Interval(estimate, float("nan"), float("nan"))
    tail = 100 * (1 - CONFIDENCE) / 2
    low, middle, high = np.percentile(finite, [tail, 50, 100 - tail])
    shift = estimate - middle
    return Interval(float(estimate), float(max(low + shift, 0.0)), float(high + shift))


def bootstrap_lift_and_ece(
    y: npt.ArrayLike, p: npt.ArrayLike, resamples: int = RESAMPLES, seed: int = SEED
) -> tuple[Interval, Interval]:
    """Percentile intervals of lift@10 and ECE over resamples of the rows, computed by the
    logged definitions themselves (`training.evaluate`).

    Why sort first: rows are ordered by score once, and each resample draws sorted row
    numbers, so every resample is already in score order and the metrics' own sorts find
    nothing to do (`tests/benchmarks/bench_verdict.py` times the whole verdict).
    """
    y_arr, p_arr = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    order = np.argsort(p_arr, kind="stable")
    y_sorted, p_sorted = y_arr[order], p_arr[order]
    rng = np.random.default_rng(seed)
    lifts, eces = [], []
    for _ in range(resamples):
        idx = np.sort(rng.integers(0, len(y_arr), len(y_arr)))
        y_r, p_r = y_sorted[idx], p_sorted[idx]
        lifts.append(lift_and_capture(y_r[::-1], p_r[::-1])[0])
        eces.append(expected_calibration_error(y_r, p_r))
    return (
        _percentiles(lifts, lift_and_capture(y_arr, p_arr)[0]),
        _percentiles(eces, expected_calibration_error(y_arr, p_arr)),
    )


def ece_noise(p: npt.ArrayLike, resamples: int = RESAMPLES, seed: int = SEED + 1) -> float:
    """The ECE a perfectly calibrated model shows on these leads by chance (95th percentile):
    labels drawn from its own probabilities, binned as the logged ECE bins them."""
    p_sorted = np.sort(np.clip(np.asarray(p, dtype=float), 0.0, 1.0))
    rng = np.random.default_rng(seed)
    draws = [
        expected_calibration_error(rng.random(len(p_sorted)) < p_sorted, p_sorted)
        for _ in range(resamples)
    ]
    return float(np.percentile(draws, 100 * CONFIDENCE)) if draws else float("nan")


# ---------------------------------------------------------------- verdicts


def best_baseline(y: npt.ArrayLike, probabilities: Mapping[str, npt.ArrayLike]) -> str | None:
    """The baseline with the highest test AUC, where any was scored."""
    aucs = {
        name: float(delong(y, p)[0][0])
        for name, p in probabilities.items()
        if name in BASELINE_NAMES
    }
    finite = {k: v for k, v in aucs.items() if np.isfinite(v)}
    return max(finite, key=lambda k: finite[k]) if finite else None


def against_baseline(
    y: npt.ArrayLike, p: npt.ArrayLike, name: str, other: npt.ArrayLike
) -> Comparison:
    difference = auc_difference(y, p, other)
    return Comparison(
        against=name,
        label=BASELINE_LABELS.get(name, name),
        difference=difference,
        verdict=word_for(difference),
    )


def against_champion(
    y: npt.ArrayLike,
    p: npt.ArrayLike,
    version: str,
    *,
    champion_p: npt.ArrayLike | None = None,
    champion_auc: Interval | None = None,
    note: str = "",
) -> Comparison | None:
    """The candidate against the champion: paired on this window when the champion could be
    scored here, else against the champion's own logged AUC interval (its own window), the
    two variances added; None when neither is known."""
    if champion_p is not None:
        difference = auc_difference(y, p, champion_p)
        paired = True
    elif champion_auc is not None and np.isfinite(champion_auc.estimate):
        own = auc_interval(y, p)
        var = ((own.high - own.low) ** 2 + (champion_auc.high - champion_auc.low) ** 2) / (
            2 * _z()
        ) ** 2
        difference = _normal(own.estimate - champion_auc.estimate, var)
        paired = False
    else:
        return None
    return Comparison(
        against="champion",
        label=f"champion version {version}",
        difference=difference,
        verdict=word_for(difference),
        paired=paired,
        note=note,
        version=str(version),
    )


def verdict_for(
    y: npt.ArrayLike,
    p: npt.ArrayLike,
    baselines: Mapping[str, npt.ArrayLike] | None = None,
    *,
    resamples: int = RESAMPLES,
    unit: str = Verdict.unit,
    ranks: str = Verdict.ranks,
) -> Verdict:
    """The combined model's verdict on one window, against chance and the best baseline;
    `unit` and `ranks` name the test rows and what is ranked (`Verdict`)."""
    y_arr = np.asarray(y, dtype=int)
    p_arr = np.asarray(p, dtype=float)
    lift, ece = bootstrap_lift_and_ece(y_arr, p_arr, resamples)
    best = best_baseline(y_arr, baselines or {})
    return Verdict(
        rows=len(y_arr),
        wins=int(y_arr.sum()),
        auc=auc_interval(y_arr, p_arr),
        lift_top10=lift,
        ece=ece,
        ece_noise=ece_noise(p_arr, resamples),
        baseline=None
        if best is None
        else against_baseline(y_arr, p_arr, best, np.asarray((baselines or {})[best])),
        method=Verdict.method.replace("same leads", f"same {unit}"),
        unit=unit,
        ranks=ranks,
    )
