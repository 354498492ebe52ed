"""The fit × interest quadrant policy: who gets called now, who is nurtured, who gets resources.

A policy is data (pydantic, JSON round-trip) so marketing and sales can read, sign off and
override it without touching the model. `propose_policy` derives thresholds from validation
scores so that `sales_now` matches sales capacity with the best win rate that capacity allows.

This module holds the one rule that puts a lead in a quadrant (`quadrant_codes`) and the one
map from probability to a 0–100 score (`to_score`); the scorer, training and the report use
them rather than copies. The quadrant names come from `data_contracts.vocab.QUADRANTS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from data_contracts.vocab import QUADRANTS, SCORE_MAX, TIERS

__all__ = ["QUADRANTS", "QuadrantAction", "QuadrantPolicy", "propose_policy", "to_score"]

# (high fit, high interest) of each quadrant, in the order of QUADRANTS.
QUADRANT_SIDES: dict[str, tuple[bool, bool]] = {
    q: (code < 2, code % 2 == 0) for code, q in enumerate(QUADRANTS)
}


def to_score(probability: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The 0–100 score a person reads: the calibrated probability in percent, rounded."""
    p = np.asarray(probability, dtype=float)
    return np.clip(np.rint(SCORE_MAX * p), 0, SCORE_MAX).astype(np.int64)


def quadrant_codes(
    fit_score: npt.ArrayLike,
    interest_score: npt.ArrayLike,
    fit_threshold: float,
    interest_threshold: float,
) -> npt.NDArray[np.int64]:
    """Index into QUADRANTS per lead: a score >= its threshold counts as high."""
    low_fit = np.asarray(fit_score, dtype=float) < fit_threshold
    low_int = np.asarray(interest_score, dtype=float) < interest_threshold
    return (2 * low_fit + low_int).astype(np.int64)


class QuadrantAction(BaseModel):
    """What happens to a lead that lands in one quadrant."""

    model_config = ConfigDict(extra="forbid")

    action: str
    tier: int = Field(ge=min(TIERS), le=max(TIERS))
    speed_to_lead_minutes: int = Field(ge=0)
    description: str


def _default_actions() -> dict[str, QuadrantAction]:
    defaults = {
        "sales_now": QuadrantAction(
            action="immediate_contact",
            tier=1,
            speed_to_lead_minutes=5,
            description="High fit, high interest: a BDR calls within minutes.",
        ),
        "nurture": QuadrantAction(
            action="marketing_nurture",
            tier=2,
            speed_to_lead_minutes=1440,
            description="High fit, low interest: marketing keeps nurturing until intent shows.",
        ),
        "order_taker": QuadrantAction(
            action="order_taker",
            tier=3,
            speed_to_lead_minutes=240,
            description="Low fit, high interest: sales takes the order, no concessions.",
        ),
        "group_resources": QuadrantAction(
            action="group_resources",
            tier=4,
            speed_to_lead_minutes=10080,
            description="Low fit, low interest: newsletter, recordings, group sessions.",
        ),
    }
    return {q: defaults[q] for q in QUADRANTS}


class QuadrantPolicy(BaseModel):
    """Thresholds on the 0–100 fit and interest scores and the action per quadrant.

    A lead is "high" on an axis when its score is >= the threshold. `actions` has exactly
    one entry per quadrant; a policy file written before `actions` existed (one top-level
    key per quadrant) still loads.
    """

    model_config = ConfigDict(extra="forbid")

    fit_threshold: int = Field(default=50, ge=0, le=101)
    interest_threshold: int = Field(default=50, ge=0, le=101)
    actions: dict[str, QuadrantAction] = Field(default_factory=_default_actions)
    proposed_by: Literal["training", "user"] = "user"
    rationale: str = ""
    # Per quadrant: {"share": ..., "win_rate": ..., "n": ...} on the fold the policy came from;
    # win_rate is None for a quadrant the fold left empty (JSON has no NaN).
    expected: dict[str, dict[str, float | None]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _gather_flat_actions(cls, data: Any) -> Any:
        """Older policy files held each quadrant's action as a top-level key."""
        if isinstance(data, dict) and any(q in data for q in QUADRANTS):
            data = dict(data)
            actions = dict(data.get("actions") or {})
            for q in QUADRANTS:
                if q in data:
                    actions[q] = data.pop(q)
            data["actions"] = actions
        return data

    @field_validator("actions")
    @classmethod
    def _one_action_per_quadrant(
        cls, value: dict[str, QuadrantAction]
    ) -> dict[str, QuadrantAction]:
        missing = [q for q in QUADRANTS if q not in value]
        unknown = sorted(set(value) - set(QUADRANTS))
        if missing or unknown:
            raise ValueError(
                f"actions must name each quadrant {list(QUADRANTS)} once"
                + (f"; missing {missing}" if missing else "")
                + (f"; unknown {unknown}" if unknown else "")
            )
        return {q: value[q] for q in QUADRANTS}

    def codes(
        self, fit_score: npt.ArrayLike, interest_score: npt.ArrayLike
    ) -> npt.NDArray[np.int64]:
        """Index into QUADRANTS per lead, under this policy's thresholds."""
        return quadrant_codes(
            fit_score, interest_score, self.fit_threshold, self.interest_threshold
        )

    def assign(
        self, fit_score: npt.ArrayLike, interest_score: npt.ArrayLike
    ) -> npt.NDArray[np.object_]:
        """Quadrant name per lead (vectorised; scores >= threshold count as high)."""
        return np.asarray(QUADRANTS, dtype=object)[self.codes(fit_score, interest_score)]

    def save(self, path: str | Path) -> Path:
        """Write the policy as indented JSON (it is reviewed by humans)."""
        path = Path(path)
        path.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> QuadrantPolicy:
        """Read a policy written by `save` (or by hand)."""
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))


def _quadrant_stats(
    fit: npt.NDArray[np.int64],
    interest: npt.NDArray[np.int64],
    y: npt.NDArray[np.float64],
    tf: int,
    ti: int,
) -> dict[str, dict[str, float | None]]:
    codes = quadrant_codes(fit, interest, tf, ti)
    out: dict[str, dict[str, float | None]] = {}
    for code, q in enumerate(QUADRANTS):
        mask = codes == code
        n = int(mask.sum())
        out[q] = {
            "n": float(n),
            "share": round(n / max(len(y), 1), 4),
            "win_rate": round(float(y[mask].mean()), 4) if n else None,
        }
    return out


def propose_policy(
    fit_score: npt.ArrayLike,
    interest_score: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    sales_now_share: float = 0.15,
    min_sales_now_win_rate: float | None = None,
    share_tolerance: float = 0.1,
) -> QuadrantPolicy:
    """Thresholds giving `sales_now` about `sales_now_share` of leads at the best win rate.

    Searches every pair of integer thresholds (0–101) on the validation scores. Pairs whose
    sales_now share is within ±`share_tolerance` (relative) of the target are candidates; the
    one with the highest win rate wins (ties: share closest to target). With
    `min_sales_now_win_rate`, capacity is a ceiling: if no candidate reaches the minimum, the
    largest sales_now that does is taken. If nothing qualifies, the share closest to target.
    """
    fit = np.clip(np.rint(np.asarray(fit_score, dtype=float)), 0, 100).astype(np.int64)
    interest = np.clip(np.rint(np.asarray(interest_score, dtype=float)), 0, 100).astype(np.int64)
    labels = np.asarray(y, dtype=float)
    if not (len(fit) == len(interest) == len(labels)) or len(labels) == 0:
        raise ValueError("fit_score, interest_score and y must be non-empty and equally long")
    if not 0 < sales_now_share < 1:
        raise ValueError("sales_now_share must be in (0, 1)")

    # counts[i, j] = number of leads with fit >= i and interest >= j (i, j in 0..101).
    hist = np.zeros((102, 102))
    wins = np.zeros((102, 102))
    np.add.at(hist, (fit, interest), 1.0)
    np.add.at(wins, (fit, interest), labels)
    counts = hist[::-1, ::-1].cumsum(0).cumsum(1)[::-1, ::-1]
    won = wins[::-1, ::-1].cumsum(0).cumsum(1)[::-1, ::-1]
    n = float(len(labels))
    share = counts / n
    with np.errstate(invalid="ignore", divide="ignore"):
        win_rate = np.where(counts > 0, won / counts, -1.0)
    gap = np.abs(share - sales_now_share)

    lo, hi = sales_now_share * (1 - share_tolerance), sales_now_share * (1 + share_tolerance)
    in_band = (share >= lo) & (share <= hi) & (counts > 0)
    note = ""
    if in_band.any():
        key = np.where(in_band, win_rate - 1e-6 * gap, -np.inf)
        tf, ti = np.unravel_index(int(np.argmax(key)), key.shape)
    else:
        tf, ti = np.unravel_index(int(np.argmin(np.where(counts > 0, gap, np.inf))), gap.shape)
        note = " No threshold pair reached the target share band; took the closest share."

    if min_sales_now_win_rate is not None and win_rate[tf, ti] < min_sales_now_win_rate:
        ok = (win_rate >= min_sales_now_win_rate) & (share <= hi) & (counts > 0)
        if ok.any():
            tf, ti = np.unravel_index(int(np.argmax(np.where(ok, share, -np.inf))), share.shape)
            note += (
                f" The minimum win rate {min_sales_now_win_rate:.1%} forced a smaller sales_now"
                " than capacity allows."
            )
        else:
            note += (
                f" No threshold pair reaches the minimum win rate {min_sales_now_win_rate:.1%};"
                " kept the best win rate at capacity."
            )

    t_fit, t_int = int(tf), int(ti)
    stats = _quadrant_stats(fit, interest, labels, t_fit, t_int)
    overall = float(labels.mean())
    parts = ", ".join(
        f"{q} {s['share']:.1%} of leads at {s['win_rate']:.1%} win rate"
        if s["win_rate"] is not None
        else f"{q} no leads"
        for q, s in stats.items()
    )
    rationale = (
        f"Proposed on {int(n)} validation leads (overall win rate {overall:.1%}) for a sales_now"
        f" capacity of {sales_now_share:.0%} of leads: fit >= {t_fit}, interest >= {t_int}. Expected: "
        f"{parts}.{note}"
    )
    return QuadrantPolicy(
        fit_threshold=t_fit,
        interest_threshold=t_int,
        proposed_by="training",
        rationale=rationale,
        expected=stats,
    )
