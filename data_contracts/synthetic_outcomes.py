"""Synthetic lifecycle outcomes drawn from the known latent model.

Part of `data_contracts.synthetic`. A lead wins with probability

    p_win = sigmoid(a + b·fit + c·interest + d·fit·interest + e·(tau - 0.5))

(tau: creation time as a fraction of the two-year span, a mild drift of the base rate).
Winners walk every stage; the others drop out along the way, further the better their odds.
Stage times are cumulative (capped) delays, so they never run backwards and every deal is
decided within a year of its snapshot; every row after the extraction moment is cut off:
deals still open then are the censored ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from data_contracts.synthetic_events import DAY_US
from data_contracts.synthetic_leads import _pick, _take
from data_contracts.vocab import REJECT_REASONS, STAGES

LATENT_MODEL: dict[str, float] = {"a": -3.35, "b": 1.0, "c": 1.1, "d": 0.25, "e": -0.3}

# Median delay in days between stages, and log-normal spread.
DELAYS: dict[str, tuple[float, float]] = {
    "accepted": (0.6, 1.0),
    "meeting_set": (6.0, 0.8),
    "sales_decision": (2.0, 0.8),
    "opportunity": (5.0, 0.9),
    "closed_won": (60.0, 0.85),
    "closed_lost": (75.0, 0.85),
}
_S = {name: i for i, name in enumerate(STAGES)}


def p_win(
    fit: np.ndarray, interest: np.ndarray, tau: np.ndarray, group: np.ndarray | float = 0.0
) -> np.ndarray:
    """The true probability that a lead is eventually won; `group` adds the buying group's
    part on the log-odds scale (0 unless the generator is asked for it)."""
    m = LATENT_MODEL
    z = m["a"] + m["b"] * fit + m["c"] * interest + m["d"] * fit * interest + m["e"] * (tau - 0.5)
    return 1.0 / (1.0 + np.exp(-(z + group)))


@dataclass
class Lifecycle:
    """Outcome rows of a chunk plus per-lead deal times the sales-led events depend on."""

    table_parts: dict[str, np.ndarray]
    opp_t: np.ndarray  # opportunity time (µs), a huge value when there is none
    close_t: np.ndarray
    won: np.ndarray  # drawn win (whether or not the close falls before the data end)


NEVER = np.iinfo(np.int64).max // 2


MAX_STEP_DAYS = 30.0  # no hand-over step drags on longer than a month
MAX_CLOSE_DAYS = 365  # every deal is decided within a year of the snapshot


def _delay(rng: np.random.Generator, stage: str, n: int, cap: float = MAX_STEP_DAYS) -> np.ndarray:
    median, sigma = DELAYS[stage]
    days = np.minimum(np.exp(rng.normal(np.log(median), sigma, n)), cap)
    return (days * DAY_US).astype(np.int64)


def lifecycle(
    rng: np.random.Generator,
    snap: np.ndarray,
    is_mql: np.ndarray,
    p: np.ndarray,
    fit: np.ndarray,
    employees: np.ndarray,
    end: int,
) -> Lifecycle:
    """Draw each lead's walk through the stages from its true win probability."""
    n = len(snap)
    won = rng.random(n) < p
    odds = np.log(p / (1 - p)) + 3.0  # around 0 for a typical lead

    def step(base: float | np.ndarray) -> np.ndarray:
        return won | (rng.random(n) < 1.0 / (1.0 + np.exp(-(base + 0.35 * odds))))

    accepted = step(np.where(is_mql, 1.4, -3.0))
    meeting = accepted & step(0.3)
    sales_ok = step(0.5)
    sa, sr = meeting & sales_ok, meeting & ~sales_ok
    opp = sa & step(0.5)

    t_acc = snap + _delay(rng, "accepted", n)
    t_meet = t_acc + _delay(rng, "meeting_set", n)
    t_dec = t_meet + _delay(rng, "sales_decision", n)
    t_opp = t_dec + _delay(rng, "opportunity", n)
    lag = np.where(won, _delay(rng, "closed_won", n, 999), _delay(rng, "closed_lost", n, 999))
    t_close = np.minimum(t_opp + lag, snap + MAX_CLOSE_DAYS * DAY_US)

    rating = np.clip(np.round(2.7 + 0.3 * odds + 1.0 * won + rng.normal(0, 0.8, n)), 1, 5)
    amount = np.round(12_000 * (employees / 100.0) ** 0.35 * rng.lognormal(0.0, 0.6, n), -2)
    won_amount = np.round(amount * rng.lognormal(-0.05, 0.15, n), -2)
    reason_p = np.array([0.15, 0.1, 0.15, 0.15, 0.12, 0.06, 0.04, 0.1, 0.08, 0.05])
    poor = reason_p * np.where(np.array(REJECT_REASONS) == "poor_fit", 4.0, 1.0)
    reason = np.where(fit < -0.5, _pick(rng, poor, n), _pick(rng, reason_p, n))

    rows = np.arange(n)
    nan = np.full(n, np.nan)
    none = np.full(n, -1)
    spec = [
        ("mql", is_mql, snap, none, nan, none),
        ("accepted", accepted, t_acc, none, nan, none),
        ("meeting_set", meeting, t_meet, none, nan, rating),
        ("sales_accepted", sa, t_dec, none, nan, none),
        ("sales_rejected", sr, t_dec, reason, nan, none),
        ("opportunity", opp, t_opp, none, amount, none),
        ("closed_won", opp & won, t_close, none, won_amount, none),
        ("closed_lost", opp & ~won, t_close, none, amount, none),
    ]
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("lead", "stage", "t", "r", "a", "m")}
    for stage, mask, t, r, a, m in spec:
        keep = mask & (t < end)
        for key, values in zip(
            ("lead", "stage", "t", "r", "a", "m"),
            (rows, np.full(n, _S[stage]), t, r, a, m),
            strict=True,
        ):
            cols[key].append(values[keep])
    parts = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.lexsort((parts["t"], parts["lead"]))
    return Lifecycle(
        table_parts={k: v[order] for k, v in parts.items()},
        opp_t=np.where(opp, t_opp, NEVER),
        close_t=np.where(opp, t_close, NEVER),
        won=won & opp,
    )


def outcomes_table(life: Lifecycle, lead_ids: pa.Array) -> pa.Table:
    """The contract table for a chunk's outcome rows."""
    p = life.table_parts
    r, m = p["r"].astype(np.int64), p["m"].astype(np.int64)
    return pa.table(
        {
            "lead_id": lead_ids.take(pa.array(p["lead"])),
            "stage": _take(list(STAGES), p["stage"]),
            "occurred_at": pa.array(p["t"], type=pa.timestamp("us", tz="UTC")),
            "reject_reason": _take(list(REJECT_REASONS), np.maximum(r, 0), r < 0),
            "amount": pa.array(p["a"], type=pa.float64(), from_pandas=True),
            "meeting_rating": pa.array(m, type=pa.int64(), mask=m < 0),
        }
    )
