"""Labels: did the lead win within a horizon of its snapshot, and do we know yet?

The snapshot is when marketing hands the lead over (its first `mql` outcome, else
`created_at`); features are computed as of that moment. A lead whose horizon runs past the
data end is *censored*: an open deal there must not be counted as a loss (that would teach the
model that recent leads are bad). Leads in that window that already closed are censored too:
wins close faster than losses, so keeping only the resolved ones would over-represent wins
(measured on generated data: 27% win rate among resolved recent leads against 9% overall).
Every labelled lead therefore had its whole horizon observed: complete cohorts only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from data_contracts.vocab import TERMINAL_STAGES
from features._table import lead_index
from features._time import NAT, US_PER_DAY, epoch_us, from_epoch_us, scalar_us

_NONE = int(np.iinfo(np.int64).max)


def _first_at(n: int, codes: np.ndarray[Any, Any], times: np.ndarray[Any, Any], mask: Any) -> Any:
    """Earliest time per lead among the outcomes in `mask` (`_NONE` where there is none)."""
    out = np.full(n, _NONE, dtype=np.int64)
    np.minimum.at(out, codes[mask], times[mask])
    return out


def _times(values: np.ndarray[Any, Any]) -> pd.DatetimeIndex:
    return from_epoch_us(np.where(values == _NONE, NAT, values))


def make_labels(
    leads: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    horizon_days: int = 180,
    data_end: Any,
) -> pd.DataFrame:
    """One row per lead (order of `leads`), indexed by lead_id.

    Columns: `snapshot_at`; `label` (Int8: 1 = closed_won with snapshot < won_at <= snapshot
    + horizon; 0 = lost/rejected or no win within the horizon; <NA> = censored); `censored`
    (the horizon has not elapsed by `data_end`); `open` (no terminal stage yet); `won_at`
    (first win); `closed_at` and `terminal_stage` (the win if any, else the first terminal
    stage; NaT/<NA> while open).
    """
    ids = lead_index(leads)
    n = len(ids)
    created = epoch_us(leads["created_at"]) if n else np.zeros(0, dtype=np.int64)
    if len(outcomes):
        code = np.asarray(ids.get_indexer(pd.Index(outcomes["lead_id"])), dtype=np.int64)
        stage = outcomes["stage"].astype("str").to_numpy()
        at = epoch_us(outcomes["occurred_at"])
        ok = (code >= 0) & (at != NAT)
    else:
        code = at = np.zeros(0, dtype=np.int64)
        stage = np.zeros(0, dtype=object)
        ok = np.zeros(0, dtype=bool)

    mql = _first_at(n, code, at, ok & (stage == "mql"))
    won = _first_at(n, code, at, ok & (stage == "closed_won"))
    terminal_codes = {s: _first_at(n, code, at, ok & (stage == s)) for s in TERMINAL_STAGES}
    stacked = np.stack([terminal_codes[s] for s in TERMINAL_STAGES])
    first_terminal = stacked.min(axis=0)
    first_stage = np.asarray(TERMINAL_STAGES, dtype=object)[stacked.argmin(axis=0)]

    snapshot = np.where(mql != _NONE, mql, created)
    horizon = int(horizon_days * US_PER_DAY)
    end = scalar_us(data_end)
    has_won = won != _NONE
    won_in = has_won & (won > snapshot) & (won <= snapshot + horizon)
    closed = first_terminal != _NONE
    elapsed = snapshot + horizon <= end
    censored = ~elapsed

    label = pd.array(won_in.astype(np.int8), dtype="Int8")
    label[censored] = pd.NA
    closed_at = np.where(has_won, won, first_terminal)
    terminal = np.where(has_won, "closed_won", np.where(closed, first_stage, None))
    return pd.DataFrame(
        {
            "snapshot_at": from_epoch_us(snapshot),
            "label": label,
            "censored": censored,
            "open": ~(closed | has_won),
            "won_at": _times(won),
            "closed_at": _times(closed_at),
            "terminal_stage": pd.array(terminal, dtype="str"),
        },
        index=ids,
    )
